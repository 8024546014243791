// The engine's facade: one Lock over one data directory. Everything the outside world does to a lock goes
// through here; decisions are delegated to the pure decide(), storage to the Store, motion to BoltMachine.
// Every change is one transaction with its audit entry, committed before the bolt moves.
import { AuditLog } from './audit/AuditLog.ts';
import { credentialLookup, normalizeCardUid, normalizeFingerprint } from './credentials/CredentialHash.ts';
import { CredentialRepo } from './credentials/CredentialRepo.ts';
import { RuleWindow } from './credentials/RuleWindow.ts';
import { CredentialFinder, type CredentialMatch } from './credentials/findCredential.ts';
import { decide, type DecisionRequest, type EngineDecision, type UserState } from './decide/decide.ts';
import { defaultSettings, mergeSettings, validateSettings } from './defaults.ts';
import { EkeyGate, virtualUserState } from './ekey/EkeyGate.ts';
import type { Revocation, TrustAnchor } from './ekey/EkeyStore.ts';
import type { EkeyProof, SessionPossession } from './ekey/Proof.ts';
import type { EkeyCommand, VerifyContext } from './ekey/Verify.ts';
import type { EkeyClaims } from './ekey/Cwt.ts';
import { KeywayError } from './errors.ts';
import { KeypadEntry, failureWeight } from './keypad/KeypadEntry.ts';
import { Lockout, parseLockoutState } from './lockout/Lockout.ts';
import { checkPin } from './pin/PinPolicy.ts';
import { activeHolidayMode, validateSchedule } from './schedule/index.ts';
import { BoltMachine, type BoltTarget } from './state/BoltMachine.ts';
import { Store } from './store/Store.ts';
import type {
  AccessSchedule,
  AlarmCode,
  AuditEntry,
  AuditRecord,
  BoardPort,
  BoltState,
  Clock,
  CredentialType,
  Decision,
  DenialReason,
  DoorState,
  EventSink,
  HolidaySchedule,
  LockEvent,
  LockTime,
  Method,
  OperatingMode,
  OperationSource,
  Random,
  Settings,
  TimerHandle,
} from './types.ts';
import { checkActor, checkGrant, checkMayManage } from './users/Roles.ts';
import type { User, UserSpec } from './users/User.ts';
import { UserRepo } from './users/UserRepo.ts';
import { applyUserPatch, normalizeUserSpec } from './users/userSpec.ts';

export type { UserSpec, User } from './users/User.ts';

export interface LockOptions {
  /** Holds keyway.db (SQLite, WAL), the secrets file (mode 0600) and the rollback counter file. */
  dataDir: string;
  clock: Clock;
  random: Random;
  board: BoardPort;
  events?: EventSink;
  /** Used only when the store is created (first open). */
  initialSettings?: Partial<Settings>;
}

/** duress is set (true) only for a Forced user: never forward it over an unauthenticated channel. */
export type OperationResult = Decision<{ userIndex: number | null; duress?: boolean }>;

export type CredentialSpec =
  | { type: 'pin'; pin: string; force?: boolean }
  | { type: 'card'; uid: string }
  | { type: 'fingerprint'; templateId: number }
  /** Registers an eKey holder key (raw Ed25519, 32 bytes) as this user's: a session that proves possession
   * of it acts as this user (ble-gatt). The eKey itself still decides what it opens. */
  | { type: 'ekey'; holder: Uint8Array };

/** What the lock tells about a credential: never the secret. */
export interface CredentialInfo {
  index: number;
  userIndex: number;
  type: CredentialType;
}

export interface LockStatus {
  lockId: string;
  bolt: BoltState;
  door: DoorState;
  batteryPercent: number;
  /** Effective mode: the setting, or an active holiday's. */
  mode: OperatingMode;
  /** Lock time, null when unknown. */
  time: LockTime | null;
  /** Lock time at which the wrong-code lockout ends (null if not locked out or time unknown). */
  lockedOutUntil: LockTime | null;
  /** Remaining lockout in ms (monotonic; also known when the time is not). 0 when not locked out. */
  lockedOutRemainingMs: number;
  wrongAttempts: number;
  /** No owner yet: the lock waits to be claimed. */
  setupMode: boolean;
  /** Active alarms (the silent duress alarm is never listed). */
  alarms: AlarmCode[];
}

export type AuditVerifyResult = ReturnType<AuditLog['verify']>;

/** The lock's audit log as the facade exposes it (acknowledging needs an owner or admin). */
export interface LockAudit {
  entries(fromSeq?: number, limit?: number): AuditEntry[];
  verify(): AuditVerifyResult;
  exportJsonl(fromSeq?: number): string;
  exportCsv(fromSeq?: number): string;
  /** Marks entries up to seq as pulled (owner/admin only); they may then be evicted. */
  acknowledge(actor: number, seq: number): void;
  /** The underlying log (stats, checkpoints, evicted ranges). */
  readonly log: AuditLog;
}

export type RemoteOp = 'unlock' | 'lock' | 'unlock_with_timeout';

/** Settings an admin may change; every other setting is a security setting (owner only). */
export const ADMIN_SETTINGS: readonly (keyof Settings)[] = [
  'timeZone',
  'autoRelockSeconds',
  'keypadIdleSeconds',
  'doorAjarSeconds',
  'operatingMode',
];

const SOURCES: readonly OperationSource[] = [
  'keypad',
  'button',
  'remote',
  'auto',
  'manual',
  'schedule',
  'proximity',
  'rfid',
  'biometric',
];
const KEYS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#']);

/** A credential presented to the lock, resolved (or not) to a stored user. */
interface Presentation {
  operation: 'unlock' | 'lock';
  method: Method;
  source: OperationSource;
  /** The credential as the audit names it (null: an authenticated remote command without one). */
  credential: { type: CredentialType; index?: number } | null;
  /** The user it belongs to, or null for an unknown credential (a wrong attempt). */
  userIndex: number | null;
  /** Credential types this presentation contributes to a dual/tri rule. */
  types: CredentialType[];
  /** Wrong attempts an unknown credential counts for. */
  weight: number;
  /** Does the wrong-code lockout block this channel? (Guessable credentials: yes.) */
  lockoutApplies: boolean;
  /** unlock_with_timeout: relock after this many ms instead of autoRelockSeconds. */
  relockMs?: number;
  /** The user's state when the credential lookup already loaded it (saves queries on the hot path). */
  state?: UserState | undefined;
  /**
   * eKey / offline PIN (firmware/ekey): no stored user; `state` holds its rights, onGrant commits its use
   * marks inside the grant's transaction (before the bolt moves), data goes into the audit entry.
   */
  virtual?: { onGrant: (() => void) | null; data: Record<string, string | number | boolean | null> };
}

function preloaded(m: CredentialMatch | null): UserState | undefined {
  return m === null ? undefined : { user: m.user, schedules: m.schedules };
}

function deny(reason: DenialReason, detail?: string): OperationResult {
  return detail === undefined ? { granted: false, reason } : { granted: false, reason, detail };
}

function nonNegInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new KeywayError('invalid_argument', `${name} must be a non-negative integer`);
  }
  return v;
}

export class Lock {
  readonly audit: LockAudit;

  private readonly store: Store;
  private readonly users: UserRepo;
  private readonly creds: CredentialRepo;
  private readonly finder: CredentialFinder;
  private log: AuditLog;
  private current: Settings;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly board: BoardPort;
  private readonly events: EventSink | undefined;
  private readonly lockout: Lockout;
  private readonly rules = new RuleWindow();
  /** eKeys, revocations, proof-of-possession challenges, offline PINs (firmware/ekey/EkeyGate.ts). */
  private readonly ekeys: EkeyGate;
  private readonly bolt: BoltMachine;
  private keypad: KeypadEntry;
  private door: DoorState;
  private readonly alarms = new Set<AlarmCode>();
  private holidays: Array<{ index: number; holiday: HolidaySchedule }>;
  /** Highest lock time seen (persisted): a clock reading well behind it is not trusted. */
  private timeHighWater: number;
  private relockTimer: TimerHandle | null = null;
  /** How long after the bolt settles unlocked to relock (null: settings.autoRelockSeconds). */
  private relockMs: number | null = null;
  /** The auto-relock came due while the door was open: relock once it closes. */
  private relockWhenClosed = false;
  private ajarTimer: TimerHandle | null = null;
  private closed = false;

  private constructor(options: LockOptions, store: Store, settings: Settings) {
    this.store = store;
    this.clock = options.clock;
    this.random = options.random;
    this.board = options.board;
    this.events = options.events;
    this.current = settings;
    this.users = new UserRepo(store.db);
    this.creds = new CredentialRepo(store.db);
    this.finder = new CredentialFinder(store.db, store.secrets.pinKey);
    this.ekeys = new EkeyGate(
      store.db,
      options.random,
      () => this.clock.monotonic(),
      options.dataDir,
      settings.lockId,
    );
    this.log = this.makeLog();
    this.timeHighWater = Number(store.getMeta('time_hwm') ?? '0');
    this.lockout = new Lockout(
      parseLockoutState(store.getMeta('lockout')),
      this.now(),
      this.clock.monotonic(),
    );
    this.holidays = this.loadHolidays();
    const boltTarget: BoltTarget = store.getMeta('bolt_target') === 'unlocked' ? 'unlocked' : 'locked';
    this.bolt = new BoltMachine(this.board, boltTarget, {
      changed: (state) => this.emit({ type: 'bolt', state }),
      settled: (target, result) => this.boltSettled(target, result),
    });
    const doorOpen = this.board.doorOpen();
    this.door = doorOpen === null ? 'unknown' : doorOpen ? 'open' : 'closed';
    this.keypad = this.makeKeypad();
    const currentLog = (): AuditLog => this.log;
    this.audit = {
      entries: (fromSeq, limit) => currentLog().entries(fromSeq, limit),
      verify: () => currentLog().verify(),
      exportJsonl: (fromSeq) => currentLog().exportJsonl(fromSeq),
      exportCsv: (fromSeq) => currentLog().exportCsv(fromSeq),
      acknowledge: (actor, seq) => this.acknowledgeAudit(actor, seq),
      get log() {
        return currentLog();
      },
    };
  }

  /** Opens (or creates) the lock in options.dataDir; refuses a corrupt, foreign, newer or rolled-back store. */
  static open(options: LockOptions): Lock {
    if (typeof options !== 'object' || options === null) {
      throw new KeywayError('invalid_argument', 'Lock.open needs options');
    }
    if (typeof options.dataDir !== 'string' || options.dataDir === '') {
      throw new KeywayError('invalid_argument', 'dataDir must be a directory path');
    }
    const initial = mergeSettings(defaultSettings(options.random), options.initialSettings ?? {});
    const store = Store.open(options.dataDir, options.random);
    try {
      let settings: Settings;
      const saved = store.getMeta('settings');
      if (saved === null) {
        settings = initial;
        store.transaction(() => {
          store.setMeta('settings', JSON.stringify(settings));
          store.setMeta('bolt_target', 'locked');
        });
      } else {
        try {
          settings = JSON.parse(saved) as Settings;
          validateSettings(settings);
        } catch (err) {
          throw new KeywayError('store_corrupt', 'the stored settings are not valid', { cause: err });
        }
      }
      const lock = new Lock(options, store, settings);
      lock.write((audit) =>
        audit({
          kind: 'System',
          action: saved === null ? 'store_created' : 'boot',
          data: { generation: store.currentGeneration },
        }),
      );
      if (lock.bolt.state === 'unlocked') lock.startRelock();
      return lock;
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** Stops timers and closes the store. The lock cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelRelock();
    if (this.ajarTimer !== null) this.clock.clearTimer(this.ajarTimer);
    this.ajarTimer = null;
    this.keypad.clear();
    this.bolt.stop();
    this.store.close();
  }

  /** The lock's raw 32-byte Ed25519 device public key (verifies signed audit checkpoints). Not secret. */
  get devicePublicKey(): Uint8Array {
    const spki = this.store.secrets.devicePublicKey.export({ format: 'der', type: 'spki' });
    return new Uint8Array(spki.subarray(spki.length - 32));
  }

  get settings(): Settings {
    return structuredClone(this.current);
  }

  status(): LockStatus {
    this.live();
    const mono = this.clock.monotonic();
    const now = this.now();
    const alarms = new Set(this.alarms);
    if (this.lockout.active(mono)) alarms.add('WrongCodeEntryLimit');
    if (this.bolt.state === 'jammed') alarms.add('LockJammed');
    alarms.delete('BatteryCritical');
    if (this.board.batteryPercent() < this.current.batteryCriticalPercent) alarms.add('BatteryCritical');
    return {
      lockId: this.current.lockId,
      bolt: this.bolt.state,
      door: this.door,
      batteryPercent: this.board.batteryPercent(),
      mode: this.effectiveMode(now),
      time: now,
      lockedOutUntil: this.lockout.until(now, mono),
      lockedOutRemainingMs: this.lockout.remainingMs(mono),
      wrongAttempts: this.lockout.attempts(mono),
      setupMode: this.users.countRole('owner') === 0,
      alarms: [...alarms].sort(),
    };
  }

  // ---------------------------------------------------------------- physical inputs

  /** A key on the outside keypad: '0'-'9', '#' submits, '*' clears. Results go to events and the audit. */
  pressKey(key: string): void {
    this.live();
    if (typeof key !== 'string' || !KEYS.has(key)) {
      throw new KeywayError('invalid_argument', 'a key must be one of 0-9, * and #');
    }
    const out = this.keypad.press(key);
    switch (out.kind) {
      case 'buffering':
        this.emit({ type: 'keypad', feedback: 'key' });
        return;
      case 'cleared':
        this.emit({ type: 'keypad', feedback: 'cleared' });
        return;
      case 'ignored':
        return;
      case 'overflow':
        // An over-long entry is void as a whole and counts as one wrong attempt (no rolling match).
        this.present({
          operation: 'unlock',
          method: 'pin',
          source: 'keypad',
          credential: { type: 'pin' },
          userIndex: null,
          types: ['pin'],
          weight: 1,
          lockoutApplies: true,
        });
        this.emit({ type: 'keypad', feedback: 'rejected' });
        return;
      case 'submit': {
        const r = this.enterPin(out.digits, 'keypad');
        this.emit({ type: 'keypad', feedback: r.granted ? 'accepted' : 'rejected' });
        return;
      }
    }
  }

  /** The inside button toggles: unlocked -> lock, otherwise unlock. Works in every mode (no credential). */
  insideButton(): OperationResult {
    this.live();
    const target: BoltTarget = this.bolt.target === 'unlocked' ? 'locked' : 'unlocked';
    if (target === 'locked') return this.lockNow('button');
    const motor = this.bolt.needsMotor('unlocked');
    if (motor && this.batteryCritical()) return this.refuseBattery('unlock', 'button', null);
    this.write((audit) => {
      this.store.setMeta('bolt_target', 'unlocked');
      audit({
        kind: 'LockOperation',
        action: 'unlock',
        source: 'button',
        userIndex: null,
        result: 'success',
      });
    });
    this.moveBolt('unlocked', null);
    return { granted: true, userIndex: null };
  }

  /** Door sensor: DoorStateChange; DoorForcedOpen if opened while bolted; DoorAjar after doorAjarSeconds. */
  doorChanged(open: boolean): void {
    this.live();
    if (typeof open !== 'boolean')
      throw new KeywayError('invalid_argument', 'door state must be true or false');
    if (open === this.doorIsOpen() && this.door !== 'unknown') return;
    if (open) {
      const forced = this.bolt.state === 'locked' || this.bolt.state === 'locking';
      this.door = forced ? 'forced_open' : 'open';
      if (forced) this.alarms.add('DoorForcedOpen');
      this.write((audit) => {
        audit({ kind: 'DoorStateChange', action: 'open', data: { forced } });
        if (forced)
          audit({ kind: 'DoorLockAlarm', action: 'DoorForcedOpen', result: 'failure', security: true });
      });
      this.emit({ type: 'door', state: this.door });
      if (forced) this.emit({ type: 'alarm', code: 'DoorForcedOpen', silent: false });
      if (this.ajarTimer !== null) this.clock.clearTimer(this.ajarTimer);
      this.ajarTimer = this.clock.setTimer(this.current.doorAjarSeconds * 1000, () => this.doorAjar());
    } else {
      this.door = 'closed';
      if (this.ajarTimer !== null) this.clock.clearTimer(this.ajarTimer);
      this.ajarTimer = null;
      this.alarms.delete('DoorAjar');
      this.alarms.delete('DoorForcedOpen');
      this.write((audit) => audit({ kind: 'DoorStateChange', action: 'closed' }));
      this.emit({ type: 'door', state: 'closed' });
      if (this.relockWhenClosed) {
        this.relockWhenClosed = false;
        if (this.bolt.target === 'unlocked' && this.effectiveMode(this.now()) !== 'Passage')
          this.lockNow('auto');
      }
    }
  }

  /** Tamper switch (front escutcheon removed). */
  tamperChanged(active: boolean): void {
    this.live();
    if (typeof active !== 'boolean') {
      throw new KeywayError('invalid_argument', 'tamper state must be true or false');
    }
    if (active === this.alarms.has('Tamper')) return;
    if (active) {
      this.alarms.add('Tamper');
      this.write((audit) =>
        audit({ kind: 'DoorLockAlarm', action: 'Tamper', result: 'failure', security: true }),
      );
      this.emit({ type: 'alarm', code: 'Tamper', silent: false });
    } else {
      this.alarms.delete('Tamper');
      this.write((audit) => audit({ kind: 'System', action: 'tamper_cleared' }));
    }
  }

  // ---------------------------------------------------------------- credentials presented

  /** A PIN entry (the keypad's '#' calls this). Entry: 1..maxKeypadEntry digits. */
  enterPin(pin: string, source: OperationSource = 'keypad'): OperationResult {
    this.live();
    this.checkSource(source);
    const s = this.current;
    if (typeof pin !== 'string' || !/^[0-9]+$/.test(pin) || pin.length > s.maxKeypadEntry) {
      throw new KeywayError('invalid_pin', `a PIN entry is 1 to ${s.maxKeypadEntry} digits`);
    }
    const match = this.finder.findPin(pin, s);
    if (match === null) {
      const offline = this.offlinePin(pin, source);
      if (offline !== null) return offline;
    }
    return this.present({
      operation: 'unlock',
      method: 'pin',
      source,
      credential: { type: 'pin', index: match?.credential.index },
      userIndex: match?.user.index ?? null,
      state: preloaded(match),
      types: ['pin'],
      weight: failureWeight(pin, s.minPinLength, s.maxPinLength, s.antiPeeping),
      lockoutApplies: true,
    });
  }

  /** A card at the reader (hex UID of 4, 7 or 10 bytes). */
  presentCard(uid: string): OperationResult {
    this.live();
    const match = this.finder.find('card', normalizeCardUid(uid));
    return this.present({
      operation: 'unlock',
      method: 'card',
      source: 'rfid',
      credential: { type: 'card', index: match?.credential.index },
      userIndex: match?.user.index ?? null,
      state: preloaded(match),
      types: ['card'],
      weight: 1,
      lockoutApplies: true,
    });
  }

  /** A finger on the reader, identified by its template id. */
  presentFingerprint(templateId: number): OperationResult {
    this.live();
    const match = this.finder.find('fingerprint', normalizeFingerprint(templateId));
    return this.present({
      operation: 'unlock',
      method: 'fingerprint',
      source: 'biometric',
      credential: { type: 'fingerprint', index: match?.credential.index },
      userIndex: match?.user.index ?? null,
      state: preloaded(match),
      types: ['fingerprint'],
      weight: 1,
      lockoutApplies: true,
    });
  }

  /**
   * A command from an authenticated remote session (BLE/app) on behalf of userIndex. With
   * requirePinForRemote the user's own PIN must come along; a wrong one counts toward the shared lockout.
   */
  remoteOperation(
    userIndex: number,
    op: RemoteOp,
    opts: { pin?: string; timeoutSeconds?: number } = {},
  ): OperationResult {
    this.live();
    nonNegInt('userIndex', userIndex);
    if (op !== 'unlock' && op !== 'lock' && op !== 'unlock_with_timeout') {
      throw new KeywayError(
        'invalid_argument',
        'remote operation must be unlock, lock or unlock_with_timeout',
      );
    }
    let relockMs: number | undefined;
    if (op === 'unlock_with_timeout') {
      const t = opts.timeoutSeconds;
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 86_400) {
        throw new KeywayError('out_of_range', 'timeoutSeconds must be an integer 1..86400');
      }
      relockMs = t * 1000;
    } else if (opts.timeoutSeconds !== undefined) {
      throw new KeywayError('invalid_argument', 'timeoutSeconds only goes with unlock_with_timeout');
    }
    const operation = op === 'lock' ? 'lock' : 'unlock';
    const base = {
      operation,
      method: 'app',
      source: 'remote',
      weight: 1,
      ...(relockMs === undefined ? {} : { relockMs }),
    } as const;
    const user = this.users.get(userIndex);
    if (user === null) {
      return this.refuse(base, userIndex, null, 'invalid_credential', 'unknown user');
    }
    const pinGiven = opts.pin !== undefined;
    if (this.current.requirePinForRemote && !pinGiven) {
      return this.refuse(base, userIndex, null, 'invalid_credential', 'PIN required for remote operation');
    }
    if (!pinGiven) {
      return this.present({ ...base, credential: null, userIndex, types: ['ekey'], lockoutApplies: false });
    }
    const pin = opts.pin;
    if (typeof pin !== 'string' || !/^[0-9]{1,32}$/.test(pin)) {
      throw new KeywayError('invalid_pin', 'a PIN is 1 to 32 digits');
    }
    const match = this.finder.find('pin', pin);
    const own = match !== null && match.user.index === userIndex;
    return this.present({
      ...base,
      credential: { type: 'pin', index: own ? match.credential.index : undefined },
      userIndex: own ? userIndex : null,
      state: own ? preloaded(match) : undefined,
      types: ['ekey', 'pin'],
      lockoutApplies: true,
    });
  }

  // ---------------------------------------------------------------- eKeys and offline PINs (firmware/ekey/)

  /** A fresh proof-of-possession challenge for a session; only the last one per session is valid. */
  ekeyChallenge(session = 'default'): Uint8Array {
    this.live();
    if (typeof session !== 'string' || session.length === 0 || session.length > 64) {
      throw new KeywayError('invalid_argument', 'session must be 1..64 characters');
    }
    return this.ekeys.challenges.issue(session);
  }

  /**
   * An eKey presented over the app channel with the holder's proof over the lock's last challenge: verified
   * offline (signature, chain, trust, revocation, time, schedule, uses), then the engine's mode, battery and
   * door rules. A use is counted before the bolt moves. Refusals are audited and never count as wrong codes.
   */
  presentEkey(
    token: Uint8Array,
    proof: EkeyProof | SessionPossession | null,
    command: RemoteOp = 'unlock',
    opts: { timeoutSeconds?: number } = {},
  ): OperationResult {
    this.live();
    if (command !== 'unlock' && command !== 'lock' && command !== 'unlock_with_timeout') {
      throw new KeywayError('invalid_argument', 'an eKey command is unlock, lock or unlock_with_timeout');
    }
    let relockMs: number | undefined;
    if (command === 'unlock_with_timeout') {
      const t = opts.timeoutSeconds;
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 86_400) {
        throw new KeywayError('out_of_range', 'timeoutSeconds must be an integer 1..86400');
      }
      relockMs = t * 1000;
    }
    const operation = command === 'lock' ? 'lock' : 'unlock';
    const base = { operation, source: 'remote' } as const;
    if (!(token instanceof Uint8Array)) throw new KeywayError('invalid_argument', 'an eKey token is bytes');
    const a = this.ekeys.admitEkey(token, proof, command, this.ekeyContext());
    if (!a.ok) return this.refuse(base, null, { type: 'ekey' }, a.reason, a.detail);
    if (this.current.requirePinForRemote) {
      // The setting asks for the acting user's own PIN with every remote lock/unlock (docs/firmware.md). An
      // eKey holder is no stored user and has no PIN on this lock, so an eKey alone cannot satisfy it.
      return this.refuse(
        base,
        null,
        { type: 'ekey' },
        'invalid_credential',
        'PIN required for remote operation',
      );
    }
    const claims = a.ekey.claims;
    return this.present({
      ...base,
      method: 'app',
      credential: { type: 'ekey' },
      userIndex: null,
      state: virtualUserState(a.role, a.methods, [...this.current.sites]),
      types: ['ekey'],
      weight: 1,
      lockoutApplies: false,
      ...(relockMs === undefined ? {} : { relockMs }),
      virtual: {
        onGrant: operation === 'unlock' ? a.commitUse : null,
        data: {
          ekey: Buffer.from(claims.cti).toString('hex'),
          role: claims.role,
          chain: a.ekey.links.length,
        },
      },
    });
  }

  /**
   * Checks an eKey and its proof for any command (for the BLE session: management commands need a role
   * that allows them, THREATS 9). Consumes the challenge; changes nothing else.
   */
  checkEkey(
    token: Uint8Array,
    proof: EkeyProof | SessionPossession | null,
    command: EkeyCommand,
  ): Decision<{ claims: EkeyClaims }> {
    this.live();
    const a = this.ekeys.admitEkey(token, proof, command, this.ekeyContext());
    if (!a.ok) return { granted: false, reason: a.reason, detail: a.detail };
    return { granted: true, claims: a.ekey.claims };
  }

  /** Owner only: trust eKeys signed by this Ed25519 public key (installed at claim; several allowed). */
  installTrustAnchor(actor: number, key: Uint8Array, label: string | null = null): void {
    this.live();
    const a = this.actor(actor);
    if (a.role !== 'owner')
      throw new KeywayError('not_authorized', 'only an owner may install a trust anchor');
    this.write((audit) => {
      this.ekeys.store.addTrustAnchor(key, label, this.now());
      audit({ kind: 'SettingsChange', action: 'add_trust_anchor', userIndex: a.index, security: true });
    });
  }

  removeTrustAnchor(actor: number, key: Uint8Array): void {
    this.live();
    const a = this.actor(actor);
    if (a.role !== 'owner')
      throw new KeywayError('not_authorized', 'only an owner may remove a trust anchor');
    this.write((audit) => {
      if (!this.ekeys.store.removeTrustAnchor(key))
        throw new KeywayError('not_found', 'no such trust anchor');
      audit({ kind: 'SettingsChange', action: 'remove_trust_anchor', userIndex: a.index, security: true });
    });
  }

  trustAnchors(): TrustAnchor[] {
    this.live();
    return this.ekeys.store.trustAnchors();
  }

  /** Owner or admin (a lock user) revokes an eKey id, an issuer key (cascading), a holder key or an offline PIN. */
  revokeEkey(actor: number, r: Revocation): void {
    this.live();
    const a = this.actor(actor);
    this.ownerOrAdmin(a, 'revoke eKeys');
    this.write((audit) => {
      this.ekeys.revoke(r, this.now(), this.current.clockSkewSeconds * 1000);
      audit({
        kind: 'LockUserChange',
        action: 'revoke',
        userIndex: a.index,
        security: true,
        data: { kind: r.kind, id: Buffer.from(r.id).toString('hex') },
      });
    });
  }

  /** A signed revocation from any admin's phone (see Verify.verifyRevocation for who may revoke what). */
  presentRevocation(token: Uint8Array): Decision {
    this.live();
    if (!(token instanceof Uint8Array)) throw new KeywayError('invalid_argument', 'a revocation is bytes');
    const d = this.ekeys.verifier.verifyRevocation(token, this.ekeyContext());
    if (!d.granted) {
      this.write((audit) =>
        audit({
          kind: 'LockOperationError',
          action: 'revoke',
          source: 'remote',
          result: 'failure',
          reason: d.reason,
          security: true,
          ...(d.detail === undefined ? {} : { data: { detail: d.detail } }),
        }),
      );
      return { granted: false, reason: d.reason, ...(d.detail === undefined ? {} : { detail: d.detail }) };
    }
    this.write((audit) => {
      this.ekeys.revoke(d.revocation, this.now(), this.current.clockSkewSeconds * 1000);
      audit({
        kind: 'LockUserChange',
        action: 'revoke',
        source: 'remote',
        security: true,
        data: { kind: d.revocation.kind, id: Buffer.from(d.revocation.id).toString('hex'), by: d.by },
      });
    });
    return { granted: true };
  }

  /** Owner only: the 32-byte secret shared with the owner for offline PINs (kept beside the database, 0600). */
  setOfflinePinSecret(actor: number, secret: Uint8Array): void {
    this.live();
    const a = this.actor(actor);
    if (a.role !== 'owner')
      throw new KeywayError('not_authorized', 'only an owner may set the offline PIN secret');
    this.ekeys.setOfflineSecret(secret, this.current.lockId);
    this.write((audit) =>
      audit({ kind: 'SettingsChange', action: 'set_offline_pin_secret', userIndex: a.index, security: true }),
    );
  }

  private ekeyContext(): VerifyContext {
    return {
      lockId: this.current.lockId,
      sites: this.current.sites,
      now: this.now(),
      timeZone: this.current.timeZone,
      skewMs: this.current.clockSkewSeconds * 1000,
      method: 'app',
    };
  }

  /** A keypad entry no stored PIN matched: an offline PIN valid now? null: treat as a wrong attempt. */
  private offlinePin(pin: string, source: OperationSource): OperationResult | null {
    if (this.lockout.active(this.clock.monotonic())) return null; // present() refuses: locked_out
    const m = this.ekeys.admitOfflinePin(pin, this.now(), this.current.timeZone);
    if (m === null) return null;
    const p = { operation: 'unlock', source } as const;
    if (!m.ok) return this.refuse(p, null, { type: 'pin' }, m.reason, m.detail);
    return this.present({
      ...p,
      method: 'pin',
      credential: { type: 'pin' },
      userIndex: null,
      state: virtualUserState('guest', ['pin'], [...this.current.sites]),
      types: ['pin'],
      weight: 1,
      lockoutApplies: true,
      virtual: {
        onGrant: m.commitUse,
        data: { offlinePin: Buffer.from(m.match.id).toString('hex'), variant: m.match.variant },
      },
    });
  }

  /** Lock without a credential (the outside lock key, the auto-relock, the inside button). */
  lockNow(source: OperationSource): OperationResult {
    this.live();
    this.checkSource(source);
    const now = this.now();
    const inside = source === 'button' || source === 'manual';
    if (!inside && this.effectiveMode(now) === 'Passage') {
      return this.refuse({ operation: 'lock', source }, null, null, 'mode_restricted', 'Passage');
    }
    const motor = this.bolt.needsMotor('locked');
    if (motor && this.doorIsOpen()) {
      return this.refuse({ operation: 'lock', source }, null, null, 'door_open');
    }
    if (motor && this.batteryCritical()) return this.refuseBattery('lock', source, null);
    this.write((audit) => {
      this.store.setMeta('bolt_target', 'locked');
      audit({ kind: 'LockOperation', action: 'lock', source, userIndex: null, result: 'success' });
    });
    this.moveBolt('locked', null);
    return { granted: true, userIndex: null };
  }

  // ---------------------------------------------------------------- management

  /** The first owner; only in setup mode (no owner yet). */
  createOwner(spec: Omit<UserSpec, 'role'>): User {
    this.live();
    if (this.users.countRole('owner') > 0) {
      throw new KeywayError('not_authorized', 'the lock already has an owner');
    }
    const u = normalizeUserSpec(this.ownerDefaults({ ...spec, role: 'owner' }), this.current);
    return this.insertUser(u, null);
  }

  addUser(actor: number, spec: UserSpec): User {
    this.live();
    const a = this.actor(actor);
    const u = normalizeUserSpec(this.ownerDefaults(spec), this.current);
    checkGrant(a, u, null);
    return this.insertUser(u, a.index);
  }

  modifyUser(actor: number, index: number, patch: Partial<UserSpec>): User {
    return this.changeUser(actor, index, patch, 'modify_user');
  }

  setUserEnabled(actor: number, index: number, enabled: boolean): User {
    if (typeof enabled !== 'boolean')
      throw new KeywayError('invalid_argument', 'enabled must be true or false');
    return this.changeUser(actor, index, { enabled }, enabled ? 'enable_user' : 'disable_user');
  }

  /** Removes the user with its credentials and schedules. */
  removeUser(actor: number, index: number): void {
    this.deleteUser(actor, index, 'remove_user');
  }

  /** Erases the user and its personal data (name); audit entries never held it, so the chain still verifies. */
  eraseUser(actor: number, index: number): void {
    this.deleteUser(actor, index, 'erase_user');
    // Move the WAL into the file (secure_delete overwrote freed pages) so no copy of the name lingers.
    this.store.checkpoint();
  }

  getUser(index: number): User | null {
    this.live();
    return this.users.get(nonNegInt('index', index));
  }

  listUsers(): User[] {
    this.live();
    return this.users.list();
  }

  findUserByName(name: string): User | null {
    this.live();
    if (typeof name !== 'string') throw new KeywayError('invalid_argument', 'name must be a string');
    return this.users.findByName(name);
  }

  addCredential(actor: number, userIndex: number, spec: CredentialSpec): CredentialInfo {
    this.live();
    const a = this.actor(actor);
    const target = this.userOrThrow(userIndex);
    checkMayManage(a, target);
    const { type, value } = this.credentialValue(spec);
    const lookup = credentialLookup(this.store.secrets.pinKey, type, value);
    return this.write((audit) => {
      if (this.creds.countForUser(target.index) >= this.current.capacities.credentialsPerUser) {
        throw new KeywayError(
          'capacity_exceeded',
          `user ${target.index} already has ${this.current.capacities.credentialsPerUser} credentials`,
        );
      }
      // The message never says whose credential it is.
      if (this.creds.findByLookup(lookup) !== null) {
        throw new KeywayError('duplicate', `this ${type} is already in use on this lock`);
      }
      const index = this.creds.insert(target.index, type, lookup);
      audit({
        kind: 'LockUserChange',
        action: 'add_credential',
        userIndex: a.index,
        targetUserIndex: target.index,
        credential: { type, index },
      });
      return { index, userIndex: target.index, type };
    });
  }

  removeCredential(actor: number, credentialIndex: number): void {
    this.live();
    const a = this.actor(actor);
    const cred = this.creds.get(nonNegInt('credentialIndex', credentialIndex));
    if (cred === null) throw new KeywayError('not_found', `credential ${credentialIndex} does not exist`);
    const target = this.userOrThrow(cred.userIndex);
    checkMayManage(a, target);
    this.write((audit) => {
      this.creds.delete(cred.index);
      audit({
        kind: 'LockUserChange',
        action: 'remove_credential',
        userIndex: a.index,
        targetUserIndex: target.index,
        credential: { type: cred.type, index: cred.index },
      });
    });
  }

  /** The stored user an eKey holder key is registered to (credential type 'ekey'), or null. */
  userForEkeyHolder(holder: Uint8Array): User | null {
    this.live();
    if (!(holder instanceof Uint8Array) || holder.length !== 32) return null;
    return this.finder.find('ekey', Buffer.from(holder).toString('hex'))?.user ?? null;
  }

  /**
   * Factory reset, by an owner (actor index) or physically at the lock ('physical'): one transaction wipes
   * users (and so their credentials and schedules), holidays, trust anchors, revocations, eKey use counters
   * and used offline PINs; the offline-PIN secret file is deleted and the settings go back to defaults
   * (lockId, sites and time zone kept). The lock is then in setup mode again. The audit log is kept and
   * records the reset (it is the lock's history, hash-chained); the wrong-code lockout is kept too.
   */
  factoryReset(actor: number | 'physical'): void {
    this.live();
    let by: number | null = null;
    if (actor !== 'physical') {
      const a = this.actor(actor);
      if (a.role !== 'owner')
        throw new KeywayError('not_authorized', `a ${a.role} cannot factory reset the lock`);
      by = a.index;
    }
    const next = mergeSettings(defaultSettings(this.random), {
      lockId: this.current.lockId,
      sites: this.current.sites,
      timeZone: this.current.timeZone,
    });
    this.write((audit) => {
      const db = this.store.db;
      for (const table of ['credentials', 'schedules', 'users', 'holidays']) {
        db.prepare(`DELETE FROM ${table}`).run();
      }
      this.ekeys.store.wipe();
      this.store.setMeta('settings', JSON.stringify(next));
      audit({
        kind: 'System',
        action: 'factory_reset',
        userIndex: by,
        security: true,
        data: { by: actor === 'physical' ? 'physical' : 'owner' },
      });
    });
    this.ekeys.clearOfflineSecret();
    const before = this.current;
    this.current = next;
    this.holidays = this.loadHolidays();
    this.keypad.clear();
    this.keypad = this.makeKeypad();
    if (next.capacities.auditEntries !== before.capacities.auditEntries) this.log = this.makeLog();
    if (next.operatingMode !== before.operatingMode) this.modeChanged(next.operatingMode);
  }

  listCredentials(userIndex?: number): CredentialInfo[] {
    this.live();
    const rows = this.creds.list(userIndex === undefined ? undefined : nonNegInt('userIndex', userIndex));
    return rows.map((r) => ({ index: r.index, userIndex: r.userIndex, type: r.type }));
  }

  addSchedule(actor: number, userIndex: number, schedule: AccessSchedule): number {
    this.live();
    const a = this.actor(actor);
    const target = this.userOrThrow(userIndex);
    checkMayManage(a, target);
    const clean = cleanSchedule(schedule);
    return this.write((audit) => {
      if (this.users.countSchedules(target.index) >= this.current.capacities.schedulesPerUser) {
        throw new KeywayError(
          'capacity_exceeded',
          `user ${target.index} already has ${this.current.capacities.schedulesPerUser} schedules`,
        );
      }
      const index = this.users.addSchedule(target.index, clean);
      audit({
        kind: 'LockUserChange',
        action: 'add_schedule',
        userIndex: a.index,
        targetUserIndex: target.index,
        data: { schedule: index, scheduleKind: clean.kind },
      });
      return index;
    });
  }

  removeSchedule(actor: number, userIndex: number, scheduleIndex: number): void {
    this.live();
    const a = this.actor(actor);
    const target = this.userOrThrow(userIndex);
    checkMayManage(a, target);
    nonNegInt('scheduleIndex', scheduleIndex);
    this.write((audit) => {
      if (!this.users.removeSchedule(target.index, scheduleIndex)) {
        throw new KeywayError('not_found', `user ${target.index} has no schedule ${scheduleIndex}`);
      }
      audit({
        kind: 'LockUserChange',
        action: 'remove_schedule',
        userIndex: a.index,
        targetUserIndex: target.index,
        data: { schedule: scheduleIndex },
      });
    });
  }

  listSchedules(userIndex: number): Array<{ index: number; schedule: AccessSchedule }> {
    this.live();
    return this.users.schedules(this.userOrThrow(userIndex).index);
  }

  addHoliday(actor: number, h: HolidaySchedule): number {
    this.live();
    const a = this.actor(actor);
    this.ownerOrAdmin(a, 'manage holidays');
    const clean = cleanHoliday(h);
    const index = this.write((audit) => {
      const i = Number(
        this.store.db.prepare('INSERT INTO holidays (body) VALUES (?)').run(JSON.stringify(clean))
          .lastInsertRowid,
      );
      audit({
        kind: 'SettingsChange',
        action: 'add_holiday',
        userIndex: a.index,
        security: true,
        data: { holiday: i, mode: clean.mode },
      });
      return i;
    });
    this.holidays = this.loadHolidays();
    return index;
  }

  removeHoliday(actor: number, index: number): void {
    this.live();
    const a = this.actor(actor);
    this.ownerOrAdmin(a, 'manage holidays');
    nonNegInt('index', index);
    this.write((audit) => {
      if (this.store.db.prepare('DELETE FROM holidays WHERE idx = ?').run(index).changes !== 1) {
        throw new KeywayError('not_found', `holiday ${index} does not exist`);
      }
      audit({
        kind: 'SettingsChange',
        action: 'remove_holiday',
        userIndex: a.index,
        security: true,
        data: { holiday: index },
      });
    });
    this.holidays = this.loadHolidays();
  }

  listHolidays(): Array<{ index: number; holiday: HolidaySchedule }> {
    this.live();
    return structuredClone(this.holidays);
  }

  /** Owner: any setting but lockId; admin: only ADMIN_SETTINGS. */
  updateSettings(actor: number, patch: Partial<Settings>): Settings {
    this.live();
    const a = this.actor(actor);
    if (typeof patch !== 'object' || patch === null) {
      throw new KeywayError('invalid_argument', 'settings patch must be an object');
    }
    const keys = Object.keys(patch) as (keyof Settings)[];
    if (a.role === 'admin') {
      const security = keys.filter((k) => !ADMIN_SETTINGS.includes(k));
      if (security.length > 0) {
        throw new KeywayError('not_authorized', `only an owner may change ${security.join(', ')}`);
      }
    } else if (a.role !== 'owner') {
      throw new KeywayError('not_authorized', `a ${a.role} cannot change settings`);
    }
    if (patch.lockId !== undefined && patch.lockId !== this.current.lockId) {
      throw new KeywayError('invalid_argument', 'lockId cannot change (eKeys and sites refer to it)');
    }
    const next = mergeSettings(this.current, patch);
    const before = this.current;
    this.write((audit) => {
      this.store.setMeta('settings', JSON.stringify(next));
      audit({
        kind: 'SettingsChange',
        action: 'update_settings',
        userIndex: a.index,
        security: true,
        data: { keys: keys.join(',') },
      });
    });
    this.current = next;
    if (next.capacities.auditEntries !== before.capacities.auditEntries) this.log = this.makeLog();
    if (
      next.antiPeeping !== before.antiPeeping ||
      next.maxKeypadEntry !== before.maxKeypadEntry ||
      next.maxPinLength !== before.maxPinLength ||
      next.keypadIdleSeconds !== before.keypadIdleSeconds
    ) {
      this.keypad.clear();
      this.keypad = this.makeKeypad();
    }
    if (next.operatingMode !== before.operatingMode) this.modeChanged(next.operatingMode);
    return this.settings;
  }

  /** Admin or owner sets the lock's clock; never backwards beyond clockSkewSeconds of the highest time seen. */
  setTime(actor: number, time: LockTime): void {
    this.live();
    const a = this.actor(actor);
    this.ownerOrAdmin(a, 'set the time');
    if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
      throw new KeywayError('out_of_range', 'time must be a lock time (ms since epoch)');
    }
    if (this.clock.set === undefined) throw new KeywayError('invalid_argument', 'this clock cannot be set');
    if (time < this.timeHighWater - this.current.clockSkewSeconds * 1000) {
      throw new KeywayError(
        'out_of_range',
        `time would go back ${Math.round((this.timeHighWater - time) / 1000)} s; at most ${this.current.clockSkewSeconds} s allowed`,
      );
    }
    const before = this.now();
    this.clock.set(time);
    this.write((audit) =>
      audit({
        kind: 'SettingsChange',
        action: 'set_time',
        userIndex: a.index,
        security: true,
        data: { from: before, to: time },
      }),
    );
  }

  // ---------------------------------------------------------------- internals: operations

  private present(p: Presentation): OperationResult {
    const mono = this.clock.monotonic();
    const now = this.now();
    if (p.lockoutApplies && this.lockout.active(mono)) {
      // Refused whatever the credential; the audit notes whether it would have been valid.
      return this.refuse(p, p.userIndex, p.credential, 'locked_out', undefined, {
        validCredential: p.userIndex !== null,
      });
    }
    if (p.userIndex === null && p.virtual === undefined) return this.wrongAttempt(p);
    const state = p.state ?? (p.userIndex === null ? null : this.loadState(p.userIndex));
    if (state === null) return this.refuse(p, p.userIndex, p.credential, 'invalid_credential');
    const user = state.user;
    const who = p.virtual === undefined ? user.index : null;
    const types = this.rules.presented(user.index, p.types, mono);
    const target: BoltTarget = p.operation === 'unlock' ? 'unlocked' : 'locked';
    this.batteryCritical(); // clears a past BatteryCritical alarm once the battery is fine again
    const request: DecisionRequest = {
      operation: p.operation,
      method: p.method,
      source: p.source,
      lockedOut: false,
      mode: this.effectiveMode(now),
      batteryPercent: this.board.batteryPercent(),
      motorNeeded: this.bolt.needsMotor(target),
      doorOpen: this.doorIsOpen(),
    };
    const d = decide(request, state, types, this.current, now);
    if (!d.granted) {
      if (d.reason === 'credential_rule_incomplete') this.rules.remember(user.index, types, mono);
      if (d.reason === 'insufficient_battery')
        return this.refuseBattery(p.operation, p.source, who, p.credential);
      return this.refuse(p, who, p.credential, d.reason, d.detail, p.virtual?.data);
    }
    return this.grant(p, d, target);
  }

  /** Commit the grant (audit, used-once marks, counters) and only then move the bolt. */
  private grant(
    p: Presentation,
    d: Extract<EngineDecision, { granted: true }>,
    target: BoltTarget,
  ): OperationResult {
    const who = p.virtual === undefined ? d.userIndex : null;
    this.write((audit) => {
      p.virtual?.onGrant?.();
      if (d.effects.consumeUse) this.users.consumeUse(d.userIndex);
      if (d.effects.setExpiresAt !== null) this.users.startExpiry(d.userIndex, d.effects.setExpiresAt);
      if (this.lockout.dirty) this.store.setMeta('lockout', JSON.stringify(this.lockout.recordSuccess()));
      this.store.setMeta('bolt_target', target);
      audit({
        kind: 'LockOperation',
        action: p.operation,
        source: p.source,
        userIndex: who,
        credential: p.credential,
        result: 'success',
        ...(p.relockMs === undefined && p.virtual === undefined
          ? {}
          : {
              data: {
                ...p.virtual?.data,
                ...(p.relockMs === undefined ? {} : { timeoutSeconds: p.relockMs / 1000 }),
              },
            }),
      });
      if (d.duress) {
        audit({
          kind: 'DoorLockAlarm',
          action: 'ForcedUser',
          userIndex: d.userIndex,
          result: 'success',
          security: true,
          data: { silent: true },
        });
      }
    });
    this.rules.clear(d.userIndex);
    if (d.duress) this.emit({ type: 'alarm', code: 'ForcedUser', silent: true });
    this.moveBolt(target, p.relockMs ?? null);
    return d.duress ? { granted: true, userIndex: who, duress: true } : { granted: true, userIndex: who };
  }

  /** An unknown credential: counts toward the shared lockout; reaching the limit starts a lockout tier. */
  private wrongAttempt(p: Presentation): OperationResult {
    const mono = this.clock.monotonic();
    const now = this.now();
    let started: number | null = null;
    this.write((audit) => {
      const r = this.lockout.recordFailure(p.weight, this.current, now, mono);
      this.store.setMeta('lockout', JSON.stringify(r.state));
      audit({
        kind: 'LockOperationError',
        action: p.operation,
        source: p.source,
        userIndex: null,
        credential: p.credential,
        result: 'failure',
        reason: 'invalid_credential',
        security: true,
        data: { weight: p.weight },
      });
      if (r.startedSeconds !== null) {
        started = r.startedSeconds;
        audit({
          kind: 'DoorLockAlarm',
          action: 'WrongCodeEntryLimit',
          source: p.source,
          result: 'failure',
          security: true,
          data: { lockoutSeconds: r.startedSeconds, level: r.state.level },
        });
      }
    });
    if (started !== null) {
      this.keypad.clear();
      this.emit({ type: 'alarm', code: 'WrongCodeEntryLimit', silent: false });
    }
    return deny('invalid_credential');
  }

  /** A refusal that is audited but does not count as a wrong attempt. */
  private refuse(
    p: { operation: 'unlock' | 'lock'; source: OperationSource },
    userIndex: number | null,
    credential: Presentation['credential'],
    reason: DenialReason,
    detail?: string,
    data?: Record<string, string | number | boolean | null>,
  ): OperationResult {
    this.write((audit) =>
      audit({
        kind: 'LockOperationError',
        action: p.operation,
        source: p.source,
        userIndex,
        credential,
        result: 'failure',
        reason,
        security: true,
        ...(data === undefined && detail === undefined
          ? {}
          : { data: { ...data, ...(detail === undefined ? {} : { detail }) } }),
      }),
    );
    return deny(reason, detail);
  }

  private refuseBattery(
    operation: 'unlock' | 'lock',
    source: OperationSource,
    userIndex: number | null,
    credential: Presentation['credential'] = null,
  ): OperationResult {
    const raise = !this.alarms.has('BatteryCritical');
    this.alarms.add('BatteryCritical');
    this.write((audit) => {
      audit({
        kind: 'LockOperationError',
        action: operation,
        source,
        userIndex,
        credential,
        result: 'failure',
        reason: 'insufficient_battery',
        security: true,
        data: { batteryPercent: this.board.batteryPercent() },
      });
      if (raise)
        audit({ kind: 'DoorLockAlarm', action: 'BatteryCritical', result: 'failure', security: true });
    });
    if (raise) this.emit({ type: 'alarm', code: 'BatteryCritical', silent: false });
    return deny('insufficient_battery');
  }

  private batteryCritical(): boolean {
    const critical = this.board.batteryPercent() < this.current.batteryCriticalPercent;
    if (!critical) this.alarms.delete('BatteryCritical');
    return critical;
  }

  // ---------------------------------------------------------------- internals: bolt, relock, door

  private moveBolt(target: BoltTarget, relockMs: number | null): void {
    this.cancelRelock();
    this.relockWhenClosed = false;
    this.relockMs = target === 'unlocked' ? relockMs : null;
    this.bolt.drive(target);
  }

  private boltSettled(target: BoltTarget, result: 'ok' | 'jammed'): void {
    if (this.closed) return;
    if (result === 'jammed') {
      this.write((audit) =>
        audit({
          kind: 'DoorLockAlarm',
          action: 'LockJammed',
          result: 'failure',
          security: true,
          data: { target },
        }),
      );
      this.emit({ type: 'alarm', code: 'LockJammed', silent: false });
      return;
    }
    if (target === 'unlocked' && this.bolt.target === 'unlocked') this.startRelock();
  }

  private startRelock(): void {
    this.cancelRelock();
    if (this.effectiveMode(this.now()) === 'Passage') return;
    const ms = this.relockMs ?? this.current.autoRelockSeconds * 1000;
    if (ms <= 0) return;
    this.relockTimer = this.clock.setTimer(ms, () => {
      this.relockTimer = null;
      this.autoRelock();
    });
  }

  private cancelRelock(): void {
    if (this.relockTimer !== null) this.clock.clearTimer(this.relockTimer);
    this.relockTimer = null;
  }

  private autoRelock(): void {
    if (this.closed || this.bolt.target !== 'unlocked') return;
    if (this.effectiveMode(this.now()) === 'Passage') return;
    if (this.doorIsOpen()) {
      this.relockWhenClosed = true;
      return;
    }
    this.lockNow('auto');
  }

  private doorAjar(): void {
    this.ajarTimer = null;
    if (this.closed || !this.doorIsOpen()) return;
    this.door = 'ajar';
    this.alarms.add('DoorAjar');
    this.write((audit) =>
      audit({ kind: 'DoorLockAlarm', action: 'DoorAjar', result: 'failure', security: true }),
    );
    this.emit({ type: 'door', state: 'ajar' });
    this.emit({ type: 'alarm', code: 'DoorAjar', silent: false });
  }

  private doorIsOpen(): boolean {
    return this.door === 'open' || this.door === 'ajar' || this.door === 'forced_open';
  }

  private modeChanged(mode: OperatingMode): void {
    if (mode === 'Passage') {
      // Passage: the lock stays unlocked.
      if (this.bolt.needsMotor('unlocked') && !this.batteryCritical()) {
        this.write((audit) => {
          this.store.setMeta('bolt_target', 'unlocked');
          audit({
            kind: 'LockOperation',
            action: 'unlock',
            source: 'auto',
            userIndex: null,
            result: 'success',
            data: { mode },
          });
        });
        this.moveBolt('unlocked', null);
      } else {
        this.cancelRelock();
      }
    } else if (this.bolt.target === 'unlocked' && this.relockTimer === null) {
      this.startRelock();
    }
  }

  // ---------------------------------------------------------------- internals: management

  private ownerDefaults<T extends UserSpec>(spec: T): T {
    // Owners are permanent unless given an end.
    if (typeof spec === 'object' && spec !== null && spec.role === 'owner' && spec.permanent === undefined) {
      return { ...spec, permanent: spec.validUntil === undefined || spec.validUntil === null };
    }
    return spec;
  }

  private insertUser(u: ReturnType<typeof normalizeUserSpec>, actor: number | null): User {
    return this.write((audit) => {
      if (this.users.countAll() >= this.current.capacities.users) {
        throw new KeywayError(
          'capacity_exceeded',
          `the lock holds at most ${this.current.capacities.users} users`,
        );
      }
      if (u.name !== null && this.users.findByName(u.name) !== null) {
        throw new KeywayError('duplicate', 'a user with this name exists');
      }
      const index = this.users.insert({ ...u, createdBy: actor, modifiedBy: actor, expiresAt: null });
      audit({
        kind: 'LockUserChange',
        action: 'add_user',
        userIndex: actor,
        targetUserIndex: index,
        security: u.role === 'owner' || u.role === 'admin',
        data: { role: u.role, userType: u.userType },
      });
      const created = this.users.get(index);
      if (created === null) throw new KeywayError('internal', 'inserted user vanished');
      return created;
    });
  }

  private changeUser(actor: number, index: number, patch: Partial<UserSpec>, action: string): User {
    this.live();
    const a = this.actor(actor);
    const target = this.userOrThrow(index);
    checkMayManage(a, target);
    if (typeof patch !== 'object' || patch === null) {
      throw new KeywayError('invalid_argument', 'user patch must be an object');
    }
    const next = applyUserPatch(target, patch, this.current);
    next.modifiedBy = a.index;
    checkGrant(a, next, target);
    if (
      target.role === 'owner' &&
      (next.role !== 'owner' || !next.enabled) &&
      this.users.countRole('owner') === 1
    ) {
      throw new KeywayError('invalid_argument', 'the last owner cannot be demoted or disabled');
    }
    return this.write((audit) => {
      if (next.name !== null && next.name !== target.name && this.users.findByName(next.name) !== null) {
        throw new KeywayError('duplicate', 'a user with this name exists');
      }
      this.users.update(next);
      audit({
        kind: 'LockUserChange',
        action,
        userIndex: a.index,
        targetUserIndex: target.index,
        security: target.role === 'owner' || target.role === 'admin' || next.role !== target.role,
        data: { fields: Object.keys(patch).sort().join(',') },
      });
      const after = this.users.get(target.index);
      if (after === null) throw new KeywayError('internal', 'updated user vanished');
      return after;
    });
  }

  private deleteUser(actor: number, index: number, action: 'remove_user' | 'erase_user'): void {
    this.live();
    const a = this.actor(actor);
    const target = this.userOrThrow(index);
    // Anyone may have their own data erased (except the last owner, below).
    if (!(action === 'erase_user' && a.index === target.index)) checkMayManage(a, target);
    if (target.role === 'owner' && this.users.countRole('owner') === 1) {
      throw new KeywayError('invalid_argument', 'the last owner cannot be removed');
    }
    this.write((audit) => {
      this.users.delete(target.index);
      audit({
        kind: 'LockUserChange',
        action,
        userIndex: a.index,
        targetUserIndex: target.index,
        security: true,
        data: { role: target.role },
      });
    });
    this.rules.clear(target.index);
  }

  private acknowledgeAudit(actor: number, seq: number): void {
    this.live();
    const a = this.actor(actor);
    this.ownerOrAdmin(a, 'acknowledge the audit log');
    nonNegInt('seq', seq);
    this.write((audit) => {
      this.log.acknowledge(seq);
      audit({ kind: 'System', action: 'audit_acknowledged', userIndex: a.index, data: { seq } });
    });
  }

  private credentialValue(spec: CredentialSpec): { type: CredentialType; value: string } {
    if (typeof spec !== 'object' || spec === null) {
      throw new KeywayError('invalid_argument', 'credential must be an object');
    }
    switch (spec.type) {
      case 'pin': {
        if (spec.force !== undefined && typeof spec.force !== 'boolean') {
          throw new KeywayError('invalid_argument', 'force must be true or false');
        }
        if (typeof spec.pin !== 'string')
          throw new KeywayError('invalid_pin', 'a PIN must be a string of digits');
        const c = checkPin(spec.pin, {
          minLength: this.current.minPinLength,
          maxLength: this.current.maxPinLength,
          force: spec.force === true,
        });
        if (!c.ok) {
          const weak = c.code === 'weak_repeated' || c.code === 'weak_sequence';
          throw new KeywayError(weak ? 'weak_pin' : 'invalid_pin', c.message);
        }
        return { type: 'pin', value: spec.pin };
      }
      case 'card':
        return { type: 'card', value: normalizeCardUid(spec.uid) };
      case 'fingerprint':
        return { type: 'fingerprint', value: normalizeFingerprint(spec.templateId) };
      case 'ekey': {
        if (!(spec.holder instanceof Uint8Array) || spec.holder.length !== 32) {
          throw new KeywayError('invalid_argument', 'an eKey holder key is 32 bytes (raw Ed25519)');
        }
        return { type: 'ekey', value: Buffer.from(spec.holder).toString('hex') };
      }
      default:
        throw new KeywayError(
          'invalid_argument',
          `credential type must be pin, card or fingerprint (eKeys are issued, not stored here)`,
        );
    }
  }

  private loadState(userIndex: number): UserState | null {
    const user = this.users.get(userIndex);
    return user === null ? null : { user, schedules: this.users.schedules(userIndex).map((x) => x.schedule) };
  }

  private actor(index: number): User {
    nonNegInt('actor', index);
    return checkActor(this.users.get(index), this.now());
  }

  private ownerOrAdmin(a: User, what: string): void {
    if (a.role !== 'owner' && a.role !== 'admin') {
      throw new KeywayError('not_authorized', `a ${a.role} cannot ${what}`);
    }
  }

  private userOrThrow(index: number): User {
    const u = this.users.get(nonNegInt('userIndex', index));
    if (u === null) throw new KeywayError('not_found', `user ${index} does not exist`);
    return u;
  }

  // ---------------------------------------------------------------- internals: plumbing

  /** The lock time, or null when unknown or behind the highest time seen by more than the tolerance. */
  private now(): LockTime | null {
    const t = this.clock.now();
    if (t === null || !Number.isFinite(t)) return null;
    if (t < this.timeHighWater - this.current.clockSkewSeconds * 1000) return null;
    return Math.floor(t);
  }

  private effectiveMode(now: LockTime | null): OperatingMode {
    if (now !== null && this.holidays.length > 0) {
      const m = activeHolidayMode(
        this.holidays.map((h) => h.holiday),
        now,
        this.current.timeZone,
      );
      if (m !== null) return m;
    }
    return this.current.operatingMode;
  }

  /**
   * One transaction: fn's changes plus the audit entries it appends, the time high-water mark and the
   * store generation. Events for the entries go out after the commit.
   */
  private write<T>(fn: (audit: (r: AuditRecord) => void) => T): T {
    const now = this.now();
    const boot = this.clock.monotonic();
    const entries: AuditEntry[] = [];
    const result = this.store.transaction(() => {
      const r = fn((record) => {
        entries.push(this.log.append(record, now, boot));
      });
      if (now !== null && now > this.timeHighWater) this.store.setMeta('time_hwm', String(now));
      return r;
    });
    if (now !== null && now > this.timeHighWater) this.timeHighWater = now;
    for (const entry of entries) this.emit({ type: 'audit', entry });
    return result;
  }

  private emit(event: LockEvent): void {
    if (this.events === undefined) return;
    try {
      this.events.emit(event);
    } catch {
      // A failing listener must not stop the lock; the audit log has the record.
    }
  }

  private makeLog(): AuditLog {
    return new AuditLog(this.store.db, {
      capacity: this.current.capacities.auditEntries,
      deviceKey: this.store.secrets.deviceKey,
    });
  }

  private makeKeypad(): KeypadEntry {
    const s = this.current;
    return new KeypadEntry({
      maxEntry: s.antiPeeping ? s.maxKeypadEntry : s.maxPinLength,
      idleMs: s.keypadIdleSeconds * 1000,
      clock: this.clock,
      onTimeout: () => this.emit({ type: 'keypad', feedback: 'timeout' }),
    });
  }

  private loadHolidays(): Array<{ index: number; holiday: HolidaySchedule }> {
    const rows = this.store.db.prepare('SELECT idx, body FROM holidays ORDER BY idx').all() as Array<{
      idx: number;
      body: string;
    }>;
    return rows.map((r) => ({ index: r.idx, holiday: JSON.parse(r.body) as HolidaySchedule }));
  }

  private checkSource(source: OperationSource): void {
    if (!SOURCES.includes(source))
      throw new KeywayError('invalid_argument', `unknown source ${String(source)}`);
  }

  private live(): void {
    if (this.closed) throw new KeywayError('store_io', 'the lock is closed');
  }
}

/** A validated copy holding only the schedule's own fields. */
function cleanSchedule(s: AccessSchedule): AccessSchedule {
  if (typeof s !== 'object' || s === null)
    throw new KeywayError('invalid_schedule', 'schedule must be an object');
  if (s.kind !== 'weekly' && s.kind !== 'yearday') {
    throw new KeywayError('invalid_schedule', 'kind: an access schedule is weekly or yearday');
  }
  validateSchedule(s);
  return s.kind === 'weekly'
    ? { kind: 'weekly', days: [...s.days], start: s.start, end: s.end }
    : { kind: 'yearday', from: s.from, until: s.until };
}

function cleanHoliday(h: HolidaySchedule): HolidaySchedule {
  if (typeof h !== 'object' || h === null || h.kind !== 'holiday') {
    throw new KeywayError('invalid_schedule', 'kind: a holiday schedule has kind holiday');
  }
  validateSchedule(h);
  return { kind: 'holiday', from: h.from, until: h.until, mode: h.mode };
}
