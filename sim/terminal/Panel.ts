// The live panel of `keyway lock` on a TTY: the lock's state, the last events, and single keys for the
// keypad, inside button, door, battery and tamper switch.
import type { AuditEntry, LockEvent } from '../../firmware/index.ts';
import { formatLockTime } from '../scenario/time.ts';
import type { LockHost } from './LockHost.ts';

/** What a lock process adds to the panel: the claim label, the radio and the phones on it. */
export interface PanelProduct {
  /** The setup code and claim link while the lock is unclaimed. */
  claim(): { setupCode: string; link: string } | null;
  /** The claim link drawn as a QR code (already rendered). */
  claimQr(): string | null;
  bleState(): string;
  phones(): Array<{ address: string; since: number; user?: string }>;
  /** Ms left in the claim window (0 = closed). */
  claimWindowMs(): number;
}

export interface PanelOptions {
  color: boolean;
  speed: number;
  /** Shown in the title. */
  name: string;
  /** Extra lines under the state (e.g. how to create the owner). */
  notice?: string[];
  product?: PanelProduct;
}

const KEY_HELP =
  'keys: 0-9 # * keypad · b inside button · o/c door open/close · +/- battery · t tamper · q quit';
const MAX_EVENTS = 10;
const MAX_ACTIVITY = 6;

const row2 = (a: string, av: string): string => ` ${a.padEnd(9)}${av}`;

export type PanelAction = 'quit' | 'handled' | 'ignored';

export class Panel {
  private readonly events: string[] = [];
  private readonly activity: string[] = [];
  private typed = 0;
  private tamper = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: LockHost,
    private readonly out: NodeJS.WritableStream,
    private readonly options: PanelOptions,
  ) {}

  private paint(code: string, text: string): string {
    return this.options.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  start(): void {
    this.out.write('\u001b[?25l'); // hide the cursor while the panel owns the screen
    this.render();
    this.timer = setInterval(() => this.render(), 1000);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.out.write('\u001b[?25h\n');
  }

  onEvent(event: LockEvent): void {
    if (event.type === 'audit') this.events.push(this.describe(event.entry));
    if (event.type === 'keypad' && event.feedback !== 'key') this.typed = 0;
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    this.render();
  }

  /** A line of BLE activity or a log line (already free of secrets). */
  onActivity(line: string): void {
    this.activity.push(line);
    if (this.activity.length > MAX_ACTIVITY) this.activity.splice(0, this.activity.length - MAX_ACTIVITY);
  }

  private productLines(): string[] {
    const p = this.options.product;
    if (p === undefined) return [];
    const phones = p.phones();
    const lines = [
      row2('radio', p.bleState()),
      row2(
        'phones',
        phones.length === 0
          ? 'none connected'
          : phones.map((ph) => `${ph.address}${ph.user === undefined ? '' : ` (${ph.user})`}`).join(', '),
      ),
    ];
    const claim = p.claim();
    if (claim !== null) {
      const window = p.claimWindowMs();
      lines.push(
        '',
        this.paint('33;1', ` setup code ${claim.setupCode.slice(0, 4)}-${claim.setupCode.slice(4)}`) +
          (window > 0
            ? this.paint('32', `   claim window open: ${Math.ceil(window / 1000)} s`)
            : '   press b (or type the setup code and #) to open the claim window'),
        ` claim link ${claim.link}`,
      );
      const qr = p.claimQr();
      if (qr !== null) lines.push(...qr.split('\n').map((l) => ` ${l}`));
    }
    lines.push(
      '',
      ' radio and log activity:',
      ...(this.activity.length === 0 ? ['   (none yet)'] : this.activity.map((a) => `   ${a}`)),
    );
    return lines;
  }

  /** Handles one key press from the raw TTY. */
  key(ch: string): PanelAction {
    const board = this.host.board;
    if (/^[0-9#*]$/.test(ch)) {
      this.typed = ch === '#' || ch === '*' ? 0 : this.typed + 1;
      board.pressKey(ch);
    } else if (ch === 'b') board.pressButton();
    else if (ch === 'o') board.setDoor(true);
    else if (ch === 'c') board.setDoor(false);
    else if (ch === '+' || ch === '-') {
      const level = board.batteryPercent() + (ch === '+' ? 5 : -5);
      board.setBattery(Math.min(100, Math.max(0, Math.round(level))));
    } else if (ch === 't') {
      this.tamper = !this.tamper;
      board.setTamper(this.tamper);
    } else if (ch === 'q' || ch === '\u0003' || ch === '\u0004') return 'quit';
    else return 'ignored';
    this.render();
    return 'handled';
  }

  private describe(e: AuditEntry): string {
    const tz = this.host.lock.settings.timeZone;
    const when = e.time === null ? '--:--:--' : formatLockTime(e.time, tz).slice(15, 23);
    const who =
      e.userIndex === null || e.userIndex === undefined
        ? ''
        : ` ${this.host.lock.getUser(e.userIndex)?.name ?? `#${e.userIndex}`}`;
    const how = e.source === undefined ? '' : ` (${e.source})`;
    const why = e.reason === null || e.reason === undefined ? '' : ` ${e.reason}`;
    const text = `${when}  ${e.action}${e.result === 'failure' ? ' refused' : ''}${why}${who}${how}`;
    return e.result === 'failure' || e.kind === 'DoorLockAlarm' ? this.paint('31', text) : text;
  }

  render(): void {
    const s = this.host.lock.status();
    const tz = this.host.lock.settings.timeZone;
    const bolt =
      s.bolt === 'locked'
        ? this.paint('32;1', 'LOCKED')
        : s.bolt === 'unlocked'
          ? this.paint('33;1', 'UNLOCKED')
          : this.paint('31;1', s.bolt.toUpperCase());
    const row = (a: string, av: string, b: string, bv: string): string =>
      ` ${a.padEnd(9)}${av.padEnd(28)}${b.padEnd(9)}${bv}`;
    const lockout =
      s.lockedOutRemainingMs > 0 ? ` · keypad locked out ${Math.ceil(s.lockedOutRemainingMs / 1000)} s` : '';
    const lines = [
      this.paint('1', `keyway lock "${this.options.name}"  ${s.lockId}`) + `   (${this.host.dataDir})`,
      '',
      ` ${'bolt'.padEnd(9)}${bolt}${' '.repeat(Math.max(1, 28 - s.bolt.length))}${'door'.padEnd(9)}${s.door}`,
      row('battery', `${Math.round(s.batteryPercent * 10) / 10}%`, 'mode', s.mode),
      row('time', formatLockTime(s.time, tz), 'speed', `x${this.options.speed}`),
      row('keypad', '*'.repeat(this.typed) || '-', 'alarms', s.alarms.join(', ') || 'none'),
      ` ${'attempts'.padEnd(9)}${String(s.wrongAttempts)}${lockout}${s.setupMode ? this.paint('33', '   setup mode: no owner yet') : ''}`,
      ...(s.setupMode ? (this.options.notice ?? []).map((l) => ` ${l}`) : []),
      ...this.productLines(),
      '',
      ' last events:',
      ...(this.events.length === 0 ? ['   (none yet)'] : this.events.map((e) => `   ${e}`)),
      '',
      ` ${KEY_HELP}`,
    ];
    this.out.write(`\u001b[H\u001b[2J${lines.join('\n')}\n`);
  }
}
