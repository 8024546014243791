// keyway trace FILE: a readable decode of a btsnoop trace written by the virtual radio (--trace) or by
// any other tool that writes HCI H4 btsnoop (Android's HCI snoop log, btmon -w in btsnoop mode).
import fs from 'node:fs';
import type { Command } from 'commander';
import { KeywayError } from '../../firmware/errors.ts';
import { readBtsnoop } from '../../sim/radio/Btsnoop.ts';
import { decodeTrace, formatTrace } from '../../sim/radio/TraceDecode.ts';
import { CliError } from '../CliError.ts';

function trace(file: string, flags: { json?: boolean }): void {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new CliError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let packets;
  try {
    packets = decodeTrace(readBtsnoop(bytes, file));
  } catch (err) {
    if (err instanceof KeywayError) throw new CliError(err.message.replace(/^[a-z_]+: /, ''));
    throw err;
  }
  process.stdout.write((flags.json ? JSON.stringify(packets) : formatTrace(packets)) + '\n');
}

export function register(program: Command): void {
  program
    .command('trace')
    .description('print a readable decode of a btsnoop HCI trace (from --trace)')
    .argument('<file>', 'btsnoop file')
    .option('--json', 'one JSON array of decoded packets')
    .action((file: string, flags: { json?: boolean }) => trace(file, flags));
}
