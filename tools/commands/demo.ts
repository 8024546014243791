// keyway demo: the whole story (claim, PIN, guest eKey, schedule, revoke, audit) against a temporary lock,
// printing each step; exit 0 only if every step behaved as expected.
import type { Command } from 'commander';
import { runDemo } from '../../sim/product/Demo.ts';
import { CliError } from '../CliError.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole story by itself on a temporary lock and two phones: claim, PIN, guest eKey, schedule, revoke, audit',
    )
    .option('--keep', 'keep the temporary directory (lock data, the guest eKey bundle) and print where it is')
    .action(async (flags: { keep?: boolean }) => {
      const result = await runDemo({
        out: (line) => process.stdout.write(`${line}\n`),
        keep: flags.keep === true,
      });
      if (!result.ok) {
        const failed = result.steps.find((s) => !s.ok);
        throw new CliError(`demo failed at "${failed?.title ?? '?'}"`);
      }
    });
}
