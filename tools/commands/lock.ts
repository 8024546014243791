// keyway lock: a lock on the virtual board in this terminal, over a persistent data directory.
// On a TTY: a live panel driven by single keys. Otherwise: commands on stdin, events as JSON lines on stdout.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { isKeywayError, isValidTimeZone, type LockEvent } from '../../firmware/index.ts';
import { applyCommand, eventJson, statusJson } from '../../sim/terminal/apply.ts';
import { parseCommand } from '../../sim/terminal/commands.ts';
import { defaultDataDir } from '../../sim/terminal/dataDir.ts';
import { LockHost } from '../../sim/terminal/LockHost.ts';
import { Panel } from '../../sim/terminal/Panel.ts';
import { CliError, useColor } from '../CliError.ts';

interface LockFlags {
  data?: string;
  name: string;
  speed: string;
  tz?: string;
  setupCode?: string;
  json?: boolean;
}

export function parseSpeed(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 100_000)
    throw new CliError(`--speed must be a number above 0 and at most 100000, got "${text}"`);
  return n;
}

/** The computer's time zone: the default for a new lock. */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

/** Resolves --data / --name into a directory (shared with keyway admin). */
export function resolveDataDir(flags: { data?: string; name: string }): string {
  if (flags.data !== undefined) return flags.data;
  try {
    return defaultDataDir(flags.name);
  } catch (err) {
    throw new CliError(isKeywayError(err) ? err.message.replace(/^[a-z_]+: /, '') : String(err));
  }
}

/** Opens the host or fails with one line naming the directory (which is left as it was). */
export function openHost(dataDir: string, open: () => LockHost): LockHost {
  try {
    return open();
  } catch (err) {
    if (isKeywayError(err)) {
      throw new CliError(`cannot use ${dataDir}: ${err.message} (nothing was changed)`);
    }
    throw err;
  }
}

function ownerHint(dataDir: string): string[] {
  return [
    'No owner yet. Create one (with a PIN typed on stdin) in another terminal:',
    `  keyway admin --data ${JSON.stringify(dataDir)} user add Owner --role owner --pin -`,
    'then restart the lock, or run keyway admin before starting it.',
  ];
}

async function runLock(flags: LockFlags): Promise<void> {
  const speed = parseSpeed(flags.speed);
  const dataDir = resolveDataDir(flags);
  const tz = flags.tz ?? hostTimeZone();
  if (!isValidTimeZone(tz))
    throw new CliError(`--tz: unknown time zone "${tz}" (expected an IANA name such as Europe/Berlin)`);
  if (flags.setupCode !== undefined && !/^\d{6,10}$/.test(flags.setupCode)) {
    throw new CliError('--setup-code must be 6 to 10 digits');
  }
  const panelMode = process.stdin.isTTY === true && process.stdout.isTTY === true && flags.json !== true;
  let panel: Panel | null = null;
  let host: LockHost | null = null;
  const pending: LockEvent[] = [];
  const onEvent = (e: LockEvent): void => {
    if (host === null) {
      pending.push(e);
      return;
    }
    if (panel !== null) panel.onEvent(e);
    else if (!panelMode) process.stdout.write(`${JSON.stringify(eventJson(host, e))}\n`);
  };
  host = openHost(dataDir, () =>
    LockHost.open({ dataDir, purpose: 'keyway lock', speed, initialSettings: { timeZone: tz }, onEvent }),
  );
  const h = host;
  const status = h.lock.status();
  if (h.created)
    process.stderr.write(
      `keyway: created a new lock in ${dataDir} (time zone ${h.lock.settings.timeZone})\n`,
    );
  else if (flags.tz !== undefined && flags.tz !== h.lock.settings.timeZone) {
    process.stderr.write(
      `keyway: --tz applies to a new lock only; this lock's time zone is ${h.lock.settings.timeZone}\n`,
    );
  }
  const notice = status.setupMode
    ? [
        ...ownerHint(dataDir),
        ...(flags.setupCode === undefined
          ? []
          : [`setup code (for claiming over Bluetooth, later): ${flags.setupCode}`]),
      ]
    : [];

  let stopping: Promise<void> | null = null;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      panel?.stop();
      if (process.stdin.isTTY === true) process.stdin.setRawMode(false);
      process.stdin.pause();
      h.close();
      if (!panelMode) process.stdout.write(`${JSON.stringify({ type: 'shutdown', dataDir })}\n`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      finish();
      await Promise.resolve();
    })();
    return stopping;
  };
  const onSignal = (): void => void shutdown();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (panelMode) {
    panel = new Panel(h, process.stdout, { color: useColor(), speed, name: flags.name, notice });
    for (const e of pending) panel.onEvent(e);
    panel.start();
    process.stdin.setRawMode(true);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      for (const ch of chunk) {
        try {
          if (panel?.key(ch) === 'quit') void shutdown();
        } catch (err) {
          if (!isKeywayError(err)) throw err;
        }
      }
    });
    process.stdin.resume();
  } else {
    const ready = {
      type: 'ready',
      dataDir,
      created: h.created,
      speed,
      lockId: status.lockId,
      timeZone: h.lock.settings.timeZone,
      setupMode: status.setupMode,
      ...(status.setupMode ? { hint: notice.join(' ') } : {}),
    };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
    for (const e of pending) process.stdout.write(`${JSON.stringify(eventJson(h, e))}\n`);
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    void (async () => {
      for await (const line of lines) {
        if (stopping !== null) break;
        const cmd = parseCommand(line);
        if ('error' in cmd) {
          process.stdout.write(`${JSON.stringify({ type: 'error', line, message: cmd.error })}\n`);
          continue;
        }
        if (cmd.kind === 'quit') break;
        if (cmd.kind === 'wait') {
          await sleep(cmd.ms / speed);
          continue;
        }
        if (cmd.kind === 'status') {
          process.stdout.write(`${JSON.stringify(statusJson(h.lock.status()))}\n`);
          continue;
        }
        try {
          applyCommand(h, cmd);
        } catch (err) {
          if (!isKeywayError(err)) throw err;
          process.stdout.write(`${JSON.stringify({ type: 'error', line, message: err.message })}\n`);
        }
      }
      // End of input (or quit): shut down cleanly.
      await shutdown();
    })();
  }
  await done;
}

export function register(program: Command): void {
  program
    .command('lock')
    .description(
      'run a lock on the virtual board: a live panel on a TTY; otherwise commands on stdin and events as JSON lines',
    )
    .option(
      '--data <dir>',
      'data directory (default: $XDG_DATA_HOME/keyway/locks/<name> or ~/.local/share/keyway/locks/<name>)',
    )
    .option('--name <name>', 'lock name, used for the default data directory', 'default')
    .option('--speed <n>', "run the lock's clock N times faster than real time", '1')
    .option('--tz <zone>', "time zone of a new lock (default: this computer's)")
    .option(
      '--setup-code <digits>',
      'setup code shown while the lock has no owner (for claiming over Bluetooth)',
    )
    .option('--json', 'JSON lines on stdout and commands on stdin even on a TTY')
    .addHelpText(
      'after',
      '\nLine commands (without a TTY): 1234# | button | door open|close | battery N | tamper on|off | card UID |\n' +
        'fingerprint N | jam on|off|next | wait 5s | status | quit. End of input or SIGINT/SIGTERM shut the lock down.\n' +
        'Create the owner and PINs with keyway admin (see docs/scenarios.md, "The terminal lock").',
    )
    .action((flags: LockFlags) => runLock(flags));
}
