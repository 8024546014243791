// keyway scenario: run scripted scenarios against a fresh simulated lock (docs/scenarios.md).
import type { Command } from 'commander';
import {
  formatHeader,
  formatStep,
  formatSummary,
  loadScenario,
  registerBuiltinSteps,
  resultJson,
  runScenario,
  ScenarioError,
  stepKinds,
} from '../../sim/scenario/index.ts';
import { useColor } from '../CliError.ts';

interface RunFlags {
  json?: boolean;
  keepGoing?: boolean;
  keepData?: boolean;
}

/** Exit codes: 0 every scenario passed, 1 an expectation failed, 2 a scenario file is invalid. */
function runFiles(files: string[], flags: RunFlags): void {
  const style = { color: useColor() };
  const json: Array<Record<string, unknown>> = [];
  let failed = false;
  let invalid = false;
  for (const file of files) {
    try {
      const scenario = loadScenario(file);
      if (flags.json !== true) process.stdout.write(`${formatHeader(scenario)}\n`);
      const result = runScenario(scenario, {
        keepGoing: flags.keepGoing === true,
        keepDataDir: flags.keepData === true,
        onStep: (step) => {
          if (flags.json !== true) process.stdout.write(`${formatStep(step, scenario.timeZone, style)}\n`);
        },
      });
      if (!result.ok) failed = true;
      if (flags.json === true) json.push(resultJson(result));
      else {
        process.stdout.write(`${formatSummary(result, style)}\n`);
        if (result.dataDir !== null) process.stdout.write(`data kept in ${result.dataDir}\n`);
        if (files.length > 1) process.stdout.write('\n');
      }
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      invalid = true;
      process.stderr.write(`keyway: ${err.message}\n`);
      if (flags.json === true) json.push({ file, ok: false, invalid: true, error: err.message, at: err.at });
    }
  }
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify({ ok: !failed && !invalid, scenarios: json }, null, 2)}\n`);
  } else if (files.length > 1) {
    process.stdout.write(
      `${failed || invalid ? 'some scenarios did not pass' : `all ${files.length} scenarios passed`}\n`,
    );
  }
  process.exitCode = invalid ? 2 : failed ? 1 : 0;
}

export function register(program: Command): void {
  const scenario = program
    .command('scenario')
    .description('run scripted scenarios against a simulated lock (format: docs/scenarios.md)');
  scenario
    .command('run')
    .description(
      'run scenario files (YAML or JSON); exit 0 if all pass, 1 if an expectation fails, 2 if a file is invalid',
    )
    .argument('<file...>', 'scenario files')
    .option('--json', 'print the results as one JSON document')
    .option('--keep-going', 'run the remaining steps after a failing one')
    .option('--keep-data', "keep each scenario's data directory (printed) for inspection with keyway admin")
    .action((files: string[], flags: RunFlags) => runFiles(files, flags));
  scenario
    .command('steps')
    .description('list the step kinds a scenario may use')
    .option('--json', 'print as JSON')
    .action((flags: { json?: boolean }) => {
      registerBuiltinSteps();
      const kinds = stepKinds().map((k) => ({
        name: k.name,
        summary: k.summary,
        as: k.actor ?? 'none',
        modifiers: k.modifiers ?? [],
      }));
      if (flags.json === true) process.stdout.write(`${JSON.stringify(kinds, null, 2)}\n`);
      else {
        for (const k of kinds) {
          const as =
            k.as === 'required' ? ' (needs as: NAME)' : k.as === 'optional' ? ' (as: NAME optional)' : '';
          process.stdout.write(`${k.name.padEnd(18)} ${k.summary}${as}\n`);
        }
      }
    });
}
