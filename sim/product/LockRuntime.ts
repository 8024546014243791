// One running keyway lock, as `keyway lock` starts it: the engine on the virtual board over a data
// directory, the claim label and presence window of a factory-new lock, the control socket, and (unless
// --radio none) the radio with the lock's GATT service. The CLI only draws it (panel or JSON lines).
import { setTimeout as sleep } from 'node:timers/promises';
import type { LockEvent, LockStatus } from '../../firmware/index.ts';
import { isKeywayError, KeywayError } from '../../firmware/index.ts';
import { CryptoRandom } from '../clock/index.ts';
import type { RadioMode } from '../radio/index.ts';
import { applyCommand, eventJson, statusJson } from '../terminal/apply.ts';
import { parseCommand } from '../terminal/commands.ts';
import { LockHost } from '../terminal/LockHost.ts';
import { formatClaimLink } from './ClaimLink.ts';
import { ControlServer, type ControlReply } from './ControlSocket.ts';
import type { Logger } from './Logger.ts';
import { PresenceWindow, presenceInputs } from './Presence.ts';
import { startBle, type BleActivity, type BleEndpoint } from './BleWiring.ts';
import { loadOrCreateLabel } from './SetupLabel.ts';

export type RadioChoice = 'none' | RadioMode;

export function parseRadioChoice(text: string): RadioChoice {
  if (text === 'none' || text === 'virtual' || text === 'hci') return text;
  const m = /^hci:(\d{1,4})$/.exec(text);
  if (m) return `hci:${Number(m[1])}`;
  throw new KeywayError('invalid_argument', `--radio must be virtual, hci, hci:N or none, got "${text}"`);
}

export interface LockRuntimeOptions {
  dataDir: string;
  /** The lock's local name (panel title, radio device name, claim link). */
  name: string;
  speed?: number;
  /** Time zone of a new lock. */
  timeZone?: string;
  radio: RadioChoice;
  /** Virtual radio only: the hub address, or 'auto' (the per-user hub, started if none runs). */
  hub?: string;
  /** Virtual radio only: write a btsnoop trace here. */
  trace?: string;
  /** The setup code of a new lock (default: random). */
  setupCode?: string;
  log: Logger;
  onEvent?: (event: LockEvent) => void;
  onBle?: (activity: BleActivity) => void;
  /** Serve <dataDir>/ctl.sock (default true). */
  control?: boolean;
  presenceWindowMs?: number;
  /** Called when a `quit` arrives over the control socket. */
  onQuit?: () => void;
}

export interface ClaimInfo {
  setupCode: string;
  link: string;
}

export class LockRuntime {
  private ctl: ControlServer | null = null;
  private ble: BleEndpoint | null = null;
  private stopping: Promise<void> | null = null;
  private collecting: LockEvent[] | null = null;
  /** Lock events that arrived before the caller's handler was wired. */
  private readonly listeners = new Set<(event: LockEvent) => void>();
  readonly presence: PresenceWindow;
  private setupCode: string | null = null;
  /** A --setup-code that was ignored because the lock already had a label. */
  ignoredSetupCode: string | null = null;

  private constructor(
    readonly host: LockHost,
    private readonly options: LockRuntimeOptions,
  ) {
    this.presence = new PresenceWindow(
      options.presenceWindowMs === undefined ? {} : { windowMs: options.presenceWindowMs },
    );
  }

  /** Opens the data directory and starts everything; on failure, what was started is stopped again. */
  static async start(options: LockRuntimeOptions): Promise<LockRuntime> {
    let rt: LockRuntime | null = null;
    const host = LockHost.open({
      dataDir: options.dataDir,
      purpose: `keyway lock ${options.name}`,
      speed: options.speed ?? 1,
      ...(options.timeZone === undefined ? {} : { initialSettings: { timeZone: options.timeZone } }),
      onEvent: (e) => rt?.dispatch(e),
    });
    rt = new LockRuntime(host, options);
    try {
      await rt.init();
    } catch (err) {
      await rt.stop();
      throw err;
    }
    return rt;
  }

  private async init(): Promise<void> {
    const { options, host } = this;
    const log = options.log;
    if (host.lock.status().setupMode) this.refreshLabel(options.setupCode);
    host.board.attach(presenceInputs(host.lock, this.presence, () => this.setupCode));
    this.presence.onOpen((reason, ms) =>
      log.info('claim window open', { by: reason, seconds: Math.round(ms / 1000) }),
    );
    if (options.control !== false) {
      this.ctl = await ControlServer.listen(options.dataDir, (line) => this.command(line, 'ctl'));
      log.debug('control socket listening', { path: this.ctl.path });
    }
    if (options.radio !== 'none') {
      this.ble = await startBle({
        runtime: this,
        radio: options.radio,
        name: options.name,
        log: log.child('ble'),
        onActivity: (a) => options.onBle?.(a),
        ...(options.hub === undefined ? {} : { hub: options.hub }),
        ...(options.trace === undefined ? {} : { trace: options.trace }),
      });
    }
    const s = host.lock.status();
    log.info('lock started', {
      name: options.name,
      lockId: s.lockId,
      dataDir: options.dataDir,
      radio: options.radio,
      setupMode: s.setupMode,
      created: host.created,
    });
  }

  /** Makes (or reads) the label while the lock is unclaimed. */
  private refreshLabel(requested?: string): void {
    const label = loadOrCreateLabel(this.options.dataDir, new CryptoRandom(), requested);
    this.setupCode = label.code;
    if (label.ignored !== undefined) this.ignoredSetupCode = label.ignored;
  }

  get lock(): LockHost['lock'] {
    return this.host.lock;
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  get name(): string {
    return this.options.name;
  }

  /** The claim code and link while the lock is in setup mode, else null. Shown on the lock's own screen. */
  claimInfo(): ClaimInfo | null {
    if (!this.host.lock.status().setupMode) return null;
    if (this.setupCode === null) this.refreshLabel(); // e.g. after a factory reset
    const code = this.setupCode as string;
    return {
      setupCode: code,
      link: formatClaimLink({ code, lockId: this.host.lock.status().lockId, name: this.options.name }),
    };
  }

  /** The setup code for the GATT service's claim verifier (null once claimed). */
  currentSetupCode(): string | null {
    return this.claimInfo()?.setupCode ?? null;
  }

  /** Phones connected over BLE now. */
  phones(): Array<{ address: string; since: number; user?: string }> {
    return this.ble?.phones() ?? [];
  }

  bleState(): string {
    return this.ble?.state() ?? (this.options.radio === 'none' ? 'off (--radio none)' : 'starting');
  }

  onEvent(listener: (event: LockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private dispatch(e: LockEvent): void {
    this.collecting?.push(e);
    if (e.type === 'audit' && e.entry.kind === 'LockUserChange' && !this.host.lock.status().setupMode) {
      this.presence.close();
    }
    this.options.onEvent?.(e);
    for (const l of this.listeners) l(e);
  }

  /**
   * Carries out one line command (stdin or control socket) and answers with the events it caused at once
   * and the status after it. Bad input is an error reply, never a throw.
   */
  async command(line: string, from: 'stdin' | 'ctl' = 'ctl'): Promise<ControlReply> {
    const cmd = parseCommand(line);
    if ('error' in cmd) return { ok: false, error: cmd.error };
    this.options.log.debug('command', { from, command: cmd.kind });
    const status = (): Record<string, unknown> => statusJson(this.host.lock.status());
    switch (cmd.kind) {
      case 'none':
        return { ok: true };
      case 'quit':
        this.options.onQuit?.();
        return { ok: true };
      case 'wait':
        await sleep(cmd.ms / (this.options.speed ?? 1));
        return { ok: true, status: status() };
      case 'status':
        return {
          ok: true,
          status: status(),
          phones: this.phones(),
          ble: this.bleState(),
          claimWindowMs: this.presence.remainingMs(),
        };
      case 'claim-press':
        if (!this.host.lock.status().setupMode) return { ok: false, error: 'the lock is already claimed' };
        this.presence.open('gesture');
        return { ok: true, claimWindowMs: this.presence.remainingMs() };
      case 'factory-reset': {
        // The reset button inside the case: physical access, so no owner is needed (the audit records it).
        this.host.lock.factoryReset('physical');
        this.presence.close();
        this.refreshLabel();
        this.options.log.warn(
          'factory reset (physical): users, keys and secrets wiped; the lock is unclaimed',
        );
        return { ok: true, status: status() };
      }
      case 'keys':
      case 'button':
      case 'door':
      case 'battery':
      case 'tamper':
      case 'card':
      case 'fingerprint':
      case 'jam': {
        const events: LockEvent[] = [];
        this.collecting = events;
        try {
          applyCommand(this.host, cmd);
        } catch (err) {
          if (!isKeywayError(err)) throw err;
          return { ok: false, error: err.message.replace(/^[a-z_]+: /, '') };
        } finally {
          this.collecting = null;
        }
        return { ok: true, events: events.map((e) => eventJson(this.host, e)), status: status() };
      }
    }
  }

  status(): LockStatus {
    return this.host.lock.status();
  }

  /** Stops the radio, the control socket and the engine (the store is closed). Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const log = this.options.log;
      try {
        await this.ble?.stop();
      } catch (err) {
        log.warn('radio did not stop cleanly', { error: err });
      }
      try {
        await this.ctl?.close();
      } catch (err) {
        log.warn('control socket did not close cleanly', { error: err });
      }
      this.host.close();
      log.info('lock stopped', { name: this.options.name });
    })();
    return this.stopping;
  }
}
