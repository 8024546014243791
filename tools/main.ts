// The keyway command line: the composition root. Each subcommand lives in tools/commands/<name>.ts
// and exports `register(program)`; they are loaded here so `keyway --help` lists them all.
import { Command, CommanderError } from 'commander';
import { CliError } from './CliError.ts';

type Registrar = (program: Command) => void;

const commandModules: Array<() => Promise<{ register: Registrar }>> = [
  // one line per command module (keep sorted)
  () => import('./commands/admin.ts'),
  () => import('./commands/demo.ts'),
  () => import('./commands/ekey.ts'),
  () => import('./commands/fleet.ts'),
  () => import('./commands/keys.ts'),
  () => import('./commands/lock.ts'),
  () => import('./commands/phone.ts'),
  () => import('./commands/pin.ts'),
  () => import('./commands/radio.ts'),
  () => import('./commands/scenario.ts'),
  () => import('./commands/trace.ts'),
];

/**
 * `keyway --help | head` closes the pipe early: stdout then fails with EPIPE, which is not an error of
 * ours. Stop writing quietly (exit as the reader left us) instead of crashing on an unhandled 'error'.
 */
function ignoreEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      stream.write = () => true;
      return;
    }
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  ignoreEpipe(process.stdout);
  const program = new Command('keyway')
    .description('keyway: a virtual smart lock (credential engine, BLE GATT service, virtual radio)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showSuggestionAfterError();
  for (const load of commandModules) (await load()).register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit with code 0; usage errors were already printed by commander.
      return err.exitCode;
    }
    if (err instanceof CliError) {
      process.stderr.write(`keyway: ${err.message}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`keyway: ${message.split('\n')[0] ?? 'error'}\n`);
    return 1;
  }
}
