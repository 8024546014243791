// keyway radio: the virtual radio's hub (so several processes share one air), a runner that puts any
// bleno/noble program on the virtual radio, and a status view.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { KeywayError } from '../../firmware/errors.ts';
import { validateFaults } from '../../sim/radio/Faults.ts';
import { Hub } from '../../sim/radio/Hub.ts';
import type { HubStatus } from '../../sim/radio/Hub.ts';
import { defaultHubAddress, parseHubAddress } from '../../sim/radio/HubAddress.ts';
import { HubClient, connectOnce } from '../../sim/radio/HubClient.ts';
import { CliError } from '../CliError.ts';

const REGISTER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sim/radio/register.js');

function cli<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof KeywayError) throw new CliError(err.message.replace(/^[a-z_]+: /, ''));
    throw err;
  }
}

async function hubAnswers(address: string): Promise<boolean> {
  try {
    (await connectOnce(address)).destroy();
    return true;
  } catch {
    return false;
  }
}

async function runHub(flags: { socket?: string; idleExit?: string }): Promise<void> {
  const address = flags.socket ?? process.env.KEYWAY_RADIO_HUB ?? defaultHubAddress();
  cli(() => parseHubAddress(address));
  const idleMs = flags.idleExit === undefined ? undefined : Number(flags.idleExit);
  if (idleMs !== undefined && (!Number.isFinite(idleMs) || idleMs < 0))
    throw new CliError(`--idle-exit must be a number of milliseconds, got "${flags.idleExit}"`);
  let hub: Hub;
  try {
    hub = await Hub.start({ address, ...(idleMs !== undefined ? { idleMs } : {}) });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message.replace(/^[a-z_]+: /, '') : String(err));
  }
  process.stderr.write(`keyway radio hub listening at ${hub.address} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void hub.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    hub.once('idle', stop);
  });
}

interface ExecFlags {
  hub?: string;
  name?: string;
  trace?: string;
  faults?: string;
}

async function exec(command: string[], flags: ExecFlags): Promise<void> {
  if (command.length === 0)
    throw new CliError('radio exec: nothing to run (usage: keyway radio exec -- node app.js)');
  if (flags.faults !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.faults);
    } catch {
      throw new CliError('--faults must be JSON, e.g. \'{"packetDelayMs":5}\'');
    }
    cli(() => validateFaults(parsed as object));
  }
  // Join the hub named; otherwise the child joins the per-user default hub, which it starts (as a
  // detached process that exits 5 s after its last client) if none is running.
  const address = flags.hub ?? process.env.KEYWAY_RADIO_HUB ?? 'auto';
  if (address !== 'auto') {
    cli(() => parseHubAddress(address));
    if (!(await hubAnswers(address))) throw new CliError(`no radio hub answers at ${address}`);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYWAY_RADIO_HUB: address,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(REGISTER).href}`.trim(),
  };
  if (flags.name) env.KEYWAY_RADIO_NAME = flags.name;
  if (flags.trace) env.KEYWAY_RADIO_TRACE = path.resolve(flags.trace);
  if (flags.faults) env.KEYWAY_RADIO_FAULTS = flags.faults;
  const [cmd, ...args] = command as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`keyway: cannot run ${cmd}: ${err.message}\n`);
      resolve(127);
    });
    child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 1)));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  process.exitCode = code;
}

function formatStatus(s: HubStatus): string {
  const lines = [
    `hub ${s.address} (pid ${s.pid}): ${s.clients} client(s), ${s.devices.length} device(s), ${s.links} link(s)`,
  ];
  for (const d of s.devices) {
    const what = [d.advertising && 'advertising', d.scanning && 'scanning', d.initiating && 'connecting']
      .filter(Boolean)
      .join(', ');
    lines.push(
      `  ${d.address}  ${d.name.padEnd(20)} pid ${String(d.pid).padEnd(7)} links ${d.links}  ${what}`,
    );
  }
  return lines.join('\n');
}

async function status(flags: { hub?: string; json?: boolean }): Promise<void> {
  const address = flags.hub ?? process.env.KEYWAY_RADIO_HUB ?? defaultHubAddress();
  cli(() => parseHubAddress(address));
  if (!(await hubAnswers(address))) throw new CliError(`no radio hub answers at ${address}`);
  const client = new HubClient(address);
  try {
    const s = await client.status();
    process.stdout.write((flags.json ? JSON.stringify(s) : formatStatus(s)) + '\n');
  } finally {
    await client.close();
  }
}

export function register(program: Command): void {
  const radio = program
    .command('radio')
    .description('the virtual radio: run a hub, run any bleno/noble program on it, show who is on the air');
  radio
    .command('hub')
    .description('run a radio hub in the foreground so processes on this machine share one air')
    .option('--socket <path>', 'Unix socket path (or tcp:127.0.0.1:PORT); default: per-user socket')
    .option('--idle-exit <ms>', 'exit after this long without clients')
    .action((flags: { socket?: string; idleExit?: string }) => runHub(flags));
  radio
    .command('exec')
    .description('run a command with bleno/noble on the virtual radio, e.g. keyway radio exec -- node app.js')
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .option('--hub <address>', 'hub to join (default: the running default hub, or a private one)')
    .option('--name <name>', 'device name shown by keyway radio status')
    .option('--trace <file>', "write a btsnoop trace of the program's controller")
    .option('--faults <json>', 'modelled timing and faults, e.g. \'{"packetDelayMs":5}\'')
    .action((command: string[], flags: ExecFlags) => exec(command, flags));
  radio
    .command('status')
    .description('list the devices and links on a running hub')
    .option('--hub <address>', 'hub address (default: the per-user hub)')
    .option('--json', 'print JSON')
    .action((flags: { hub?: string; json?: boolean }) => status(flags));
}
