// keyway pin: offline PINs the owner mints without contacting the lock (docs/ekeys.md, "Offline PINs").
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { parseSecretFile, secretFileText } from '../../firmware/ekey/EkeyGate.ts';
import { isKeywayError } from '../../firmware/errors.ts';
import { writeFileAtomic } from '../../firmware/store/atomicFile.ts';
import {
  MAX_DAYS,
  MAX_HOURS,
  ONE_TIME_WINDOW_HOURS,
  OfflinePinKey,
  type OfflinePinSpec,
} from '../../firmware/offline-pin/OfflinePin.ts';
import { CliError } from '../CliError.ts';
import { checkZone, parseTimeArg } from './ekey.ts';

const strip = (m: string): string => m.replace(/^[a-z_]+: /, '');

interface OfflineFlags {
  secret: string;
  lock: string;
  from?: string;
  until?: string;
  hours?: string;
  daily?: boolean;
  once?: boolean;
  tz: string;
  json?: boolean;
}

export function register(program: Command): void {
  const pin = program.command('pin').description('offline PINs');

  pin
    .command('secret')
    .description('make a 32-byte offline-PIN secret file (mode 0600) to share with the lock at claim')
    .requiredOption('--out <file>', 'file to write')
    .option('--force', 'overwrite an existing file')
    .action((flags: { out: string; force?: boolean }) => {
      if (fs.existsSync(flags.out) && flags.force !== true)
        throw new CliError(`${flags.out} exists (use --force)`);
      writeFileAtomic(flags.out, secretFileText(new Uint8Array(randomBytes(32))), 0o600);
      process.stdout.write(`wrote ${flags.out} (0600)\n`);
    });

  pin
    .command('offline')
    .description(
      `mint an offline PIN: --from TIME --hours N (N <= ${MAX_HOURS}), --daily --from DATE --until DATE ` +
        `(<= ${MAX_DAYS} days), or --once --from TIME (use within ${ONE_TIME_WINDOW_HOURS} h)`,
    )
    .requiredOption('--secret <file>', 'the offline-PIN secret shared with the lock')
    .requiredOption('--lock <id>', 'lock id')
    .option('--from <time>', 'start (rounded down to the hour), or first date with --daily (YYYY-MM-DD)')
    .option('--until <date>', 'last date with --daily (YYYY-MM-DD, included)')
    .option('--hours <n>', 'hourly window length')
    .option('--daily', 'valid all day, every day from --from to --until (dates in the lock zone)')
    .option('--once', 'valid once, within 24 hours of --from')
    .option('--tz <zone>', "the lock's time zone (local times and --daily dates)", 'UTC')
    .option('--json', 'one JSON object')
    .action((flags: OfflineFlags) => {
      const tz = checkZone(flags.tz);
      let text: string;
      try {
        text = fs.readFileSync(flags.secret, 'utf8');
      } catch {
        throw new CliError(`cannot read ${flags.secret}`);
      }
      const modes = [flags.hours !== undefined, flags.daily === true, flags.once === true].filter(
        Boolean,
      ).length;
      if (modes !== 1) throw new CliError('choose one of --hours N, --daily or --once');
      if (flags.from === undefined) throw new CliError('--from is required');
      let spec: OfflinePinSpec;
      if (flags.daily === true) {
        if (flags.until === undefined) throw new CliError('--daily needs --until DATE');
        spec = { variant: 'daily', fromDate: flags.from, untilDate: flags.until };
      } else if (flags.once === true) {
        spec = { variant: 'once', from: parseTimeArg('--from', flags.from, tz) };
      } else {
        const hours = Number(flags.hours);
        if (!Number.isInteger(hours)) throw new CliError('--hours: a whole number');
        spec = { variant: 'hourly', from: parseTimeArg('--from', flags.from, tz), hours };
      }
      try {
        const key = new OfflinePinKey(parseSecretFile(text, flags.secret), flags.lock);
        const m = key.mint(spec, tz);
        const out = {
          pin: m.pin,
          id: Buffer.from(m.id).toString('hex'),
          variant: m.variant,
          from: new Date(m.from).toISOString(),
          until: new Date(m.until).toISOString(),
          lock: flags.lock,
        };
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        const what = m.variant === 'once' ? 'one-time, use before' : 'valid until';
        process.stdout.write(
          `PIN ${m.pin} then #\n  ${m.variant} for ${flags.lock}, from ${out.from}, ${what} ${out.until}\n  id ${out.id} (to revoke it)\n`,
        );
      } catch (err) {
        if (isKeywayError(err)) throw new CliError(strip(err.message));
        throw err;
      }
    });
}
