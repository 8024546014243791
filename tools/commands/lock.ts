// keyway lock: a lock on the virtual board in this terminal, over a persistent data directory, on the
// radio with its GATT service. On a TTY: a live panel driven by single keys. Otherwise: commands on
// stdin, events as JSON lines on stdout, logs on stderr. `keyway lock ctl` drives a running lock from a
// script through its control socket.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { isKeywayError, isValidTimeZone, type LockEvent } from '../../firmware/index.ts';
import { sendControl } from '../../sim/product/ControlSocket.ts';
import {
  createLogger,
  formatLogLine,
  parseLogLevel,
  type LogLevel,
  type LogLine,
} from '../../sim/product/Logger.ts';
import { LockRuntime, parseRadioChoice, type RadioChoice } from '../../sim/product/LockRuntime.ts';
import type { BleActivity } from '../../sim/product/BleWiring.ts';
import { checkSetupCode } from '../../sim/product/SetupLabel.ts';
import { qrMatrix, renderQr } from '../../sim/product/TerminalQr.ts';
import { eventJson, statusJson } from '../../sim/terminal/apply.ts';
import { defaultDataDir } from '../../sim/terminal/dataDir.ts';
import type { LockHost } from '../../sim/terminal/LockHost.ts';
import { Panel } from '../../sim/terminal/Panel.ts';
import { CliError, useColor } from '../CliError.ts';

interface LockFlags {
  data?: string;
  name: string;
  speed: string;
  tz?: string;
  setupCode?: string;
  radio: string;
  hub?: string;
  trace?: string;
  logLevel?: string;
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

const stripCode = (err: { message: string }): string => err.message.replace(/^[a-z_]+: /, '');

/** Resolves --data / --name into a directory (shared with keyway admin). */
export function resolveDataDir(flags: { data?: string; name: string }): string {
  if (flags.data !== undefined) return flags.data;
  try {
    return defaultDataDir(flags.name);
  } catch (err) {
    throw new CliError(isKeywayError(err) ? stripCode(err) : String(err));
  }
}

/** Opens the host or fails with one line naming the directory (which is left as it was). */
export function openHost<T>(dataDir: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    if (isKeywayError(err)) {
      throw new CliError(`cannot use ${dataDir}: ${err.message} (nothing was changed)`);
    }
    throw err;
  }
}

async function openRuntime(dataDir: string, open: () => Promise<LockRuntime>): Promise<LockRuntime> {
  try {
    return await open();
  } catch (err) {
    if (isKeywayError(err) && err.code.startsWith('store_')) {
      throw new CliError(`cannot use ${dataDir}: ${err.message} (nothing was changed)`);
    }
    if (isKeywayError(err)) throw new CliError(stripCode(err));
    throw err;
  }
}

const grouped = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`;

function claimHint(code: string): string {
  return `claim it from a phone profile: keyway phone --profile NAME claim --setup-code ${code} (the lock asks for presence first: press b, type the setup code then #, or run keyway lock ctl claim-press)`;
}

function ownerHint(dataDir: string): string {
  return `or create the owner without a phone: keyway admin --data ${JSON.stringify(dataDir)} user add Owner --role owner --pin -`;
}

async function runLock(flags: LockFlags): Promise<void> {
  const speed = parseSpeed(flags.speed);
  const dataDir = resolveDataDir(flags);
  const tz = flags.tz ?? hostTimeZone();
  if (!isValidTimeZone(tz))
    throw new CliError(`--tz: unknown time zone "${tz}" (expected an IANA name such as Europe/Berlin)`);
  let radio: RadioChoice;
  let setupCode: string | undefined;
  try {
    radio = parseRadioChoice(flags.radio);
    setupCode = flags.setupCode === undefined ? undefined : checkSetupCode(flags.setupCode);
  } catch (err) {
    throw new CliError(isKeywayError(err) ? stripCode(err) : String(err));
  }
  if (radio !== 'virtual' && (flags.hub !== undefined || flags.trace !== undefined))
    throw new CliError('--hub and --trace apply to the virtual radio only (--radio virtual)');
  const panelMode = process.stdin.isTTY === true && process.stdout.isTTY === true && flags.json !== true;
  let level: LogLevel;
  try {
    level = flags.logLevel === undefined ? (panelMode ? 'info' : 'warn') : parseLogLevel(flags.logLevel);
  } catch (err) {
    throw new CliError(`--log-level: ${isKeywayError(err) ? stripCode(err) : String(err)}`);
  }

  let panel: Panel | null = null;
  let rt: LockRuntime | null = null;
  const early: Array<() => void> = [];
  const later = (f: () => void): void => {
    if (rt === null) early.push(f);
    else f();
  };
  const onLog = (line: LogLine): void => {
    const text = formatLogLine(line);
    if (panel !== null) panel.onActivity(text.slice(13));
    else if (!panelMode) process.stderr.write(`${text}\n`);
    else early.push(() => panel?.onActivity(text.slice(13)));
  };
  const log = createLogger({ level, sink: onLog, scope: `lock ${flags.name}` });
  const onEvent = (e: LockEvent): void =>
    later(() => {
      if (panel !== null) panel.onEvent(e);
      else if (!panelMode && rt !== null) process.stdout.write(`${JSON.stringify(eventJson(rt.host, e))}\n`);
    });
  const onBle = (a: BleActivity): void => {
    const t = new Date(a.time).toISOString().slice(11, 19);
    later(() => {
      if (panel !== null) panel.onActivity(`${t} ${a.text}`);
      else if (!panelMode)
        process.stdout.write(
          `${JSON.stringify({ type: 'ble', ...a, time: new Date(a.time).toISOString() })}\n`,
        );
    });
  };

  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      panel?.stop();
      if (process.stdin.isTTY === true && panelMode) process.stdin.setRawMode(false);
      process.stdin.pause();
      await rt?.stop();
      if (!panelMode) process.stdout.write(`${JSON.stringify({ type: 'shutdown', dataDir })}\n`);
      finish();
    })();
    return stopping;
  };
  const onSignal = (): void => void shutdown();
  // Signals during start-up are honoured once the lock is up (the store is then closed properly).
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const runtime = await openRuntime(dataDir, () =>
    LockRuntime.start({
      dataDir,
      name: flags.name,
      speed,
      timeZone: tz,
      radio,
      log,
      onEvent,
      onBle,
      onQuit: () => void shutdown(),
      ...(flags.hub === undefined ? {} : { hub: flags.hub }),
      ...(flags.trace === undefined ? {} : { trace: flags.trace }),
      ...(setupCode === undefined ? {} : { setupCode }),
    }),
  ).catch((err: unknown) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  });
  rt = runtime;
  const h: LockHost = runtime.host;
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
  if (runtime.ignoredSetupCode !== null)
    process.stderr.write(
      'keyway: --setup-code applies to a new lock only; this lock keeps the code on its label\n',
    );
  const claim = runtime.claimInfo();
  const notice =
    claim === null
      ? []
      : [
          radio === 'none' ? 'No owner yet (the radio is off: --radio none).' : claimHint(claim.setupCode),
          ownerHint(dataDir),
        ];
  let qrCache: { link: string; text: string } | null = null;
  const claimQr = (): string | null => {
    const c = runtime.claimInfo();
    if (c === null) return null;
    if (qrCache?.link !== c.link)
      qrCache = { link: c.link, text: renderQr(qrMatrix(c.link), { color: useColor() }) };
    return qrCache.text;
  };

  if (panelMode) {
    panel = new Panel(h, process.stdout, {
      color: useColor(),
      speed,
      name: flags.name,
      notice,
      product: {
        claim: () => runtime.claimInfo(),
        claimQr,
        bleState: () => runtime.bleState(),
        phones: () => runtime.phones(),
        claimWindowMs: () => runtime.presence.remainingMs(),
      },
    });
    for (const f of early.splice(0)) f();
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
      name: flags.name,
      created: h.created,
      speed,
      radio,
      lockId: status.lockId,
      timeZone: h.lock.settings.timeZone,
      setupMode: status.setupMode,
      ...(claim === null
        ? {}
        : { setupCode: claim.setupCode, claimLink: claim.link, hint: notice.join('; ') }),
    };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
    if (claim !== null) {
      // The lock's "screen" for a person watching stderr: the label and its QR code.
      process.stderr.write(`keyway: setup code ${grouped(claim.setupCode)}  claim link ${claim.link}\n`);
      if (process.stderr.isTTY === true) process.stderr.write(`${claimQr() ?? ''}\n`);
    }
    for (const f of early.splice(0)) f();
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    void (async () => {
      for await (const line of lines) {
        if (stopping !== null) break;
        if (/^\s*(quit|exit)\s*$/.test(line)) break;
        const reply = await runtime.command(line, 'stdin');
        if (!reply.ok) {
          process.stdout.write(`${JSON.stringify({ type: 'error', line, message: reply.error })}\n`);
        } else if (/^\s*status\s*$/.test(line)) {
          process.stdout.write(
            `${JSON.stringify({ ...statusJson(runtime.status()), phones: runtime.phones(), ble: runtime.bleState() })}\n`,
          );
        } else if (/^\s*claim-press\s*$/.test(line)) {
          process.stdout.write(
            `${JSON.stringify({ type: 'claim-window', ms: runtime.presence.remainingMs() })}\n`,
          );
        }
      }
      // End of input (or quit): shut down cleanly.
      await shutdown();
    })();
  }
  await done;
}

// ---------------------------------------------------------------- keyway lock ctl

interface CtlFlags {
  data?: string;
  name: string;
  json?: boolean;
  timeout: string;
}

function describeEvent(e: Record<string, unknown>): string | null {
  switch (e.type) {
    case 'keypad':
      return e.feedback === 'key' ? null : `keypad: ${String(e.feedback)}`;
    case 'bolt':
      return `bolt: ${String(e.state)}`;
    case 'door':
      return `door: ${String(e.state)}`;
    case 'alarm':
      return `alarm: ${String(e.code)}`;
    case 'audit': {
      const entry = e.entry as Record<string, unknown>;
      const who = typeof e.user === 'string' ? ` by ${e.user}` : '';
      const why = typeof entry.reason === 'string' ? ` (${entry.reason})` : '';
      return `audit #${String(entry.seq)}: ${String(entry.kind)} ${String(entry.action)} ${typeof entry.result === 'string' ? entry.result : ''}${why}${who}`.replace(
        /\s+$/,
        '',
      );
    }
    default:
      return null;
  }
}

async function runCtl(words: string[], flags: CtlFlags): Promise<void> {
  const dataDir = resolveDataDir(flags);
  const timeoutMs = Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)
    throw new CliError(`--timeout must be 1..600000 ms, got "${flags.timeout}"`);
  const line = words.join(' ');
  let reply;
  try {
    reply = await sendControl(dataDir, line, timeoutMs);
  } catch (err) {
    throw new CliError(
      isKeywayError(err) ? stripCode(err) : err instanceof Error ? err.message : String(err),
    );
  }
  if (flags.json === true) {
    const { id: _id, ...rest } = reply;
    process.stdout.write(`${JSON.stringify(rest)}\n`);
  } else if (reply.ok) {
    const out: string[] = [];
    for (const e of (reply.events as Array<Record<string, unknown>> | undefined) ?? []) {
      const d = describeEvent(e);
      if (d !== null) out.push(d);
    }
    if (typeof reply.claimWindowMs === 'number' && words[0] === 'claim-press')
      out.push(`claim window open for ${Math.ceil(reply.claimWindowMs / 1000)} s`);
    if (words[0] === 'status' && typeof reply.status === 'object' && reply.status !== null) {
      const s = reply.status as Record<string, unknown>;
      out.push(
        `bolt ${String(s.bolt)}, door ${String(s.door)}, battery ${String(s.batteryPercent)}%, mode ${String(s.mode)}, ${s.setupMode === true ? 'setup mode (unclaimed)' : 'claimed'}`,
        `radio: ${String(reply.ble)}; phones connected: ${(reply.phones as unknown[] | undefined)?.length ?? 0}`,
      );
    }
    process.stdout.write(out.length === 0 ? 'ok\n' : `${out.join('\n')}\n`);
  }
  if (!reply.ok) throw new CliError(String(reply.error ?? 'the lock refused the command'));
}

export function register(program: Command): void {
  const lock = program
    .command('lock')
    .description(
      'run a lock on the virtual board and the radio: a live panel on a TTY; otherwise commands on stdin and events as JSON lines',
    )
    .option(
      '--data <dir>',
      'data directory (default: $XDG_DATA_HOME/keyway/locks/<name> or ~/.local/share/keyway/locks/<name>)',
    )
    .option(
      '--name <name>',
      'lock name: the default data directory, the radio device name, the panel title',
      'default',
    )
    .option(
      '--radio <radio>',
      'virtual (the shared virtual air), hci or hci:N (a real adapter, Linux), none',
      'virtual',
    )
    .option(
      '--hub <address>',
      'virtual radio hub to join (default: $KEYWAY_RADIO_HUB, else the per-user hub, started if needed)',
    )
    .option(
      '--trace <file>',
      "write a btsnoop trace of the lock's radio (open it in Wireshark, or keyway trace FILE)",
    )
    .option('--speed <n>', "run the lock's clock N times faster than real time", '1')
    .option('--tz <zone>', "time zone of a new lock (default: this computer's)")
    .option(
      '--setup-code <digits>',
      'the 8-digit setup code of a new lock (default: random, kept on its label)',
    )
    .option('--log-level <level>', 'error, warn, info or debug (default: info on the panel, warn otherwise)')
    .option('--json', 'JSON lines on stdout and commands on stdin even on a TTY')
    .addHelpText(
      'after',
      '\nLine commands (stdin without a TTY, or keyway lock ctl): 1234# or keypad 1234# | button | door open|close |\n' +
        'battery N | tamper on|off | card UID | fingerprint N | jam on|off|next | claim-press | wait 5s | status | quit.\n' +
        'End of input, quit, SIGINT or SIGTERM shut the lock down cleanly. See README.md, "Walk-through: two terminals".',
    )
    .action((flags: LockFlags) => runLock(flags));
  lock
    .command('ctl')
    .description(
      'drive a running lock from a script: keypad 4071#, button, door open, claim-press, status, ...',
    )
    .argument('<command...>', 'a line command, e.g. keypad 4071#  (see keyway lock --help)')
    // --name, --data and --json are keyway lock's own options (before or after "ctl"): the running lock
    // is found by the same name or directory it was started with.
    .option('--timeout <ms>', 'how long to wait for the lock to answer', '10000')
    .configureHelp({ showGlobalOptions: true })
    .action((words: string[], _o: unknown, cmd: Command) => runCtl(words, cmd.optsWithGlobals<CtlFlags>()));
}
