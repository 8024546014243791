// keyway fleet: N lock processes on one air (for load tests and multi-lock demos), stopped together.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isKeywayError } from '../../firmware/index.ts';
import { claimFleet, Fleet, MAX_FLEET } from '../../sim/product/Fleet.ts';
import { defaultHubAddress } from '../../sim/radio/index.ts';
import { parseRadioChoice } from '../../sim/product/LockRuntime.ts';
import { checkSetupCode } from '../../sim/product/SetupLabel.ts';
import { CliError } from '../CliError.ts';
import { parseSpeed } from './lock.ts';

interface FleetFlags {
  count: string;
  baseDir?: string;
  prefix: string;
  radio: string;
  hub?: string;
  speed: string;
  tz?: string;
  setupCode?: string;
  logLevel?: string;
  json?: boolean;
  claim?: boolean;
  profilesDir?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,50}$/;

async function runFleet(flags: FleetFlags): Promise<void> {
  const count = Number(flags.count);
  if (!Number.isInteger(count) || count < 1 || count > MAX_FLEET)
    throw new CliError(`--count must be a whole number from 1 to ${MAX_FLEET}, got "${flags.count}"`);
  if (!NAME.test(flags.prefix))
    throw new CliError('--prefix must be 1-51 letters, digits, dots, dashes or underscores');
  const speed = parseSpeed(flags.speed);
  if (flags.claim === true && flags.radio !== 'virtual')
    throw new CliError('--claim works on the virtual radio only (--radio virtual)');
  if (flags.profilesDir !== undefined && flags.claim !== true)
    throw new CliError('--profiles-dir goes with --claim');
  try {
    parseRadioChoice(flags.radio);
    if (flags.setupCode !== undefined) flags.setupCode = checkSetupCode(flags.setupCode);
  } catch (err) {
    throw new CliError(isKeywayError(err) ? err.message.replace(/^[a-z_]+: /, '') : String(err));
  }
  // A base directory we made ourselves is removed at the end; one that was named is kept.
  const ownBase = flags.baseDir === undefined;
  const baseDir =
    flags.baseDir === undefined ? mkdtempSync(join(tmpdir(), 'keyway-fleet-')) : resolve(flags.baseDir);

  let stopRequested = false;
  let wake: () => void = () => undefined;
  const stopSignal = new Promise<void>((r) => (wake = r));
  const onSignal = (): void => {
    stopRequested = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.stderr.write(`keyway: starting ${count} lock(s) in ${baseDir} ...\n`);
    let fleet: Fleet;
    try {
      fleet = await Fleet.start({
        count,
        baseDir,
        prefix: flags.prefix,
        radio: flags.radio,
        speed,
        ...(flags.hub === undefined ? {} : { hub: flags.hub }),
        ...(flags.tz === undefined ? {} : { tz: flags.tz }),
        ...(flags.setupCode === undefined ? {} : { setupCodes: Array<string>(count).fill(flags.setupCode) }),
        ...(flags.logLevel === undefined ? {} : { logLevel: flags.logLevel }),
      });
    } catch (err) {
      throw new CliError(isKeywayError(err) ? err.message.replace(/^[a-z_]+: /, '') : String(err));
    }
    const claimed = new Map<string, string>();
    if (flags.claim === true) {
      process.stderr.write(`keyway: claiming each lock with a phone profile of the same name ...\n`);
      try {
        const hub = flags.hub ?? process.env.KEYWAY_RADIO_HUB ?? defaultHubAddress();
        for (const c of await claimFleet(fleet, {
          hub,
          ...(flags.profilesDir === undefined ? {} : { profilesDir: flags.profilesDir }),
        }))
          claimed.set(c.name, c.lockId);
      } catch (err) {
        await fleet.stop();
        throw new CliError(
          `claiming the fleet failed: ${err instanceof Error ? err.message.replace(/^[a-z_]+: /, '') : String(err)}`,
        );
      }
    }
    for (const m of fleet.members) {
      const r = m.ready as { lockId?: string; setupMode?: boolean; setupCode?: string };
      if (flags.json === true) {
        process.stdout.write(
          `${JSON.stringify({ type: 'lock', name: m.name, dataDir: m.dataDir, pid: m.child.pid, lockId: r.lockId, setupMode: r.setupMode && !claimed.has(m.name), ...(r.setupCode === undefined || claimed.has(m.name) ? {} : { setupCode: r.setupCode }), ...(claimed.has(m.name) ? { profile: m.name } : {}) })}\n`,
        );
      } else {
        const state = claimed.has(m.name)
          ? `claimed by phone profile ${m.name}`
          : r.setupMode === true
            ? `setup code ${String(r.setupCode)}`
            : 'claimed';
        process.stdout.write(`${m.name}\t${m.dataDir}\tpid ${String(m.child.pid)}\t${state}\n`);
      }
    }
    process.stderr.write(
      `keyway: ${count} lock(s) running; drive one with keyway lock ctl --data DIR ...; Ctrl-C stops them all\n`,
    );
    if (flags.json === true) process.stdout.write(`${JSON.stringify({ type: 'ready', count })}\n`);
    const crashed = await Promise.race([stopSignal.then(() => null), fleet.anyExit()]);
    if (crashed !== null && !stopRequested)
      process.stderr.write(`keyway: lock ${crashed.name} exited on its own; stopping the others\n`);
    const exits = await fleet.stop();
    const bad = exits.filter((e) => e.code !== 0);
    if (flags.json === true) process.stdout.write(`${JSON.stringify({ type: 'stopped', exits })}\n`);
    else
      process.stderr.write(
        `keyway: stopped ${exits.length - bad.length} of ${exits.length} lock(s) cleanly\n`,
      );
    if (bad.length > 0 || crashed !== null) {
      throw new CliError(
        `${bad.map((b) => `${b.name} exited ${b.code ?? b.signal ?? '?'}`).join(', ') || 'a lock exited early'}`,
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (ownBase) rmSync(baseDir, { recursive: true, force: true });
  }
}

export function register(program: Command): void {
  program
    .command('fleet')
    .description(
      'run N lock processes side by side on one air (load tests); Ctrl-C or SIGTERM stops them all',
    )
    .requiredOption('--count <n>', `how many locks (1-${MAX_FLEET})`)
    .option(
      '--base-dir <dir>',
      "parent of the locks' data directories, kept afterwards (default: a temporary one, removed)",
    )
    .option('--prefix <name>', 'lock names are PREFIX-1 .. PREFIX-N', 'fleet')
    .option('--radio <radio>', 'virtual, hci, hci:N or none', 'virtual')
    .option('--hub <address>', 'virtual radio hub (default: $KEYWAY_RADIO_HUB, else the per-user hub)')
    .option('--speed <n>', "run the locks' clocks N times faster", '1')
    .option('--tz <zone>', 'time zone of new locks')
    .option('--setup-code <digits>', 'the same setup code for every new lock (scripted claims)')
    .option('--log-level <level>', 'log level of each lock (logs go to its stderr)')
    .option(
      '--claim',
      'claim each lock with a phone profile of the same name (then: keyway phone --profile fleet-1 unlock)',
    )
    .option(
      '--profiles-dir <dir>',
      'where --claim makes the phone profiles (default: the usual profiles directory)',
    )
    .option('--json', 'one JSON line per lock, then {"type":"ready"}; {"type":"stopped"} at the end')
    .action((flags: FleetFlags) => runFleet(flags));
}
