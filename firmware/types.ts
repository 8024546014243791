// Shared vocabulary of the firmware. Names follow the Matter DoorLock cluster where one exists.
// Every layer speaks these types; change them only with care (several modules depend on them).

/** Milliseconds since the Unix epoch, as the lock's real-time clock reports it. */
export type LockTime = number;

export type Role = 'owner' | 'admin' | 'member' | 'guest';

/** Matter DoorLock UserTypeEnum. */
export type UserType =
  | 'Unrestricted'
  | 'YearDaySchedule'
  | 'WeekDaySchedule'
  | 'Programming'
  | 'NonAccess'
  | 'Forced'
  | 'Disposable'
  | 'Expiring'
  | 'ScheduleRestricted'
  | 'RemoteOnly';

/** How a credential reaches the lock. `app` is an eKey/remote command over BLE. */
export type Method = 'pin' | 'card' | 'fingerprint' | 'app';
export const METHODS: readonly Method[] = ['pin', 'card', 'fingerprint', 'app'];

export type CredentialType = 'pin' | 'card' | 'fingerprint' | 'ekey';

/** single: any one credential opens; dual: two different types; tri: three different types. */
export type CredentialRule = 'single' | 'dual' | 'tri';

/** Matter OperatingModeEnum. */
export type OperatingMode = 'Normal' | 'Vacation' | 'Privacy' | 'NoRemoteLockUnlock' | 'Passage';

export type WeekDay = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEK_DAYS: readonly WeekDay[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** "HH:MM", 24-hour, local time in the lock's time zone. An end of "23:59" means through 23:59:59. */
export type LocalTimeOfDay = string;

/**
 * Local date-time without zone, "YYYY-MM-DDTHH:MM" (seconds optional), interpreted in the lock's zone.
 * Year-day windows are in local time, as Matter's YearDay schedules are in local epoch.
 */
export type LocalDateTime = string;

/** Weekly window: on the given days from start to end local time. end < start crosses midnight. */
export interface WeekDaySchedule {
  kind: 'weekly';
  days: WeekDay[];
  start: LocalTimeOfDay;
  end: LocalTimeOfDay;
}

/** Absolute window in local time (year-day). */
export interface YearDaySchedule {
  kind: 'yearday';
  from: LocalDateTime;
  until: LocalDateTime;
}

/** Holiday window: while active, the lock's operating mode is `mode`. */
export interface HolidaySchedule {
  kind: 'holiday';
  from: LocalDateTime;
  until: LocalDateTime;
  mode: OperatingMode;
}

export type AccessSchedule = WeekDaySchedule | YearDaySchedule;

/**
 * Why something was refused. Matter OperationErrorEnum (Unspecified, InvalidCredential, DisabledUserDenied,
 * Restricted, InsufficientBattery) refined into a closed set. Keep in sync with docs/firmware.md.
 */
export type DenialReason =
  | 'invalid_credential'
  | 'disabled_user'
  | 'outside_schedule'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'locked_out'
  | 'mode_restricted'
  | 'insufficient_battery'
  | 'time_unknown'
  | 'wrong_lock'
  | 'uses_exhausted'
  | 'method_not_allowed'
  | 'non_access_user'
  | 'credential_rule_incomplete'
  | 'not_authorized'
  | 'bad_signature'
  | 'untrusted_issuer'
  | 'chain_too_deep'
  | 'chain_widens_rights'
  | 'proof_of_possession_failed'
  | 'malformed'
  | 'jammed'
  | 'door_open';

/** The same closed set at run time (for parsers and wire codecs); the compiler keeps it complete. */
export const DENIAL_REASONS = Object.keys({
  invalid_credential: true,
  disabled_user: true,
  outside_schedule: true,
  expired: true,
  not_yet_valid: true,
  revoked: true,
  locked_out: true,
  mode_restricted: true,
  insufficient_battery: true,
  time_unknown: true,
  wrong_lock: true,
  uses_exhausted: true,
  method_not_allowed: true,
  non_access_user: true,
  credential_rule_incomplete: true,
  not_authorized: true,
  bad_signature: true,
  untrusted_issuer: true,
  chain_too_deep: true,
  chain_widens_rights: true,
  proof_of_possession_failed: true,
  malformed: true,
  jammed: true,
  door_open: true,
} satisfies Record<DenialReason, true>) as DenialReason[];

export type Decision<T = object> =
  ({ granted: true } & T) | { granted: false; reason: DenialReason; detail?: string };

/** Where an operation came from (Matter OperationSourceEnum, simplified). */
export type OperationSource =
  | 'keypad'
  | 'button'
  | 'remote'
  | 'auto'
  | 'manual'
  | 'schedule'
  | 'proximity'
  /** Card reader (Matter Rfid). */
  | 'rfid'
  /** Fingerprint reader (Matter Biometric). */
  | 'biometric';

export type BoltState = 'locked' | 'unlocked' | 'locking' | 'unlocking' | 'jammed';
export type DoorState = 'closed' | 'open' | 'ajar' | 'forced_open' | 'unknown';

/** Matter AlarmCodeEnum plus the silent duress alarm. */
export type AlarmCode =
  | 'LockJammed'
  | 'LockFactoryReset'
  | 'WrongCodeEntryLimit'
  | 'FrontEsceutcheonRemoved'
  | 'DoorForcedOpen'
  | 'DoorAjar'
  | 'ForcedUser'
  | 'BatteryCritical'
  | 'Tamper'
  | 'StoreRollback';

export interface Settings {
  lockId: string;
  /** Lock ids / site names this lock answers to (users may be limited to some of them). */
  sites: string[];
  timeZone: string;
  autoRelockSeconds: number;
  wrongCodeLimit: number;
  /** Escalating lockout tiers in seconds: first lockout uses [0], then [1], ... the last repeats. */
  lockoutSeconds: number[];
  minPinLength: number;
  maxPinLength: number;
  /** Longest keypad entry accepted when the PIN is hidden among extra digits (anti-peeping). */
  maxKeypadEntry: number;
  /** Accept a PIN hidden among extra digits (up to maxKeypadEntry). Off by default. */
  antiPeeping: boolean;
  keypadIdleSeconds: number;
  operatingMode: OperatingMode;
  requirePinForRemote: boolean;
  expiringUserTimeoutMinutes: number;
  doorAjarSeconds: number;
  batteryCriticalPercent: number;
  /** Tolerated clock skew for eKey validity (never extends validity by more than this). */
  clockSkewSeconds: number;
  capacities: { users: number; credentialsPerUser: number; schedulesPerUser: number; auditEntries: number };
}

/** Ports: everything the firmware needs from the world comes through these. */
export interface Clock {
  /** The RTC's reading in ms since epoch, or null when the time is unknown (after power loss). */
  now(): LockTime | null;
  /** Milliseconds since boot; always known and never goes backwards. Used for timeouts. */
  monotonic(): number;
  /** Run fn after ms of (simulated or real) time. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Sets the RTC (time sync by an admin). Optional: a clock without it cannot be set through the lock. */
  set?(time: LockTime): void;
}
export interface TimerHandle {
  readonly id: number;
}

export interface Random {
  bytes(n: number): Uint8Array;
}

/** Actuators and sensors of the lock board. Inputs (keys, button, door, tamper) are pushed into the Lock. */
export interface BoardPort {
  /** Start the motor; call done when the bolt reaches target or jams. Travel takes time. */
  driveBolt(target: 'locked' | 'unlocked', done: (result: 'ok' | 'jammed') => void): void;
  batteryPercent(): number;
  doorOpen(): boolean | null;
}

/** Audit entry kinds, shaped after Matter's DoorLock events. */
export type AuditKind =
  | 'LockOperation'
  | 'LockOperationError'
  | 'LockUserChange'
  | 'DoorLockAlarm'
  | 'DoorStateChange'
  | 'SettingsChange'
  | 'System';

/** What the engine hands to the audit log; seq, time and hashes are added by the log. */
export interface AuditRecord {
  kind: AuditKind;
  /** e.g. 'unlock', 'lock', 'add_user', 'remove_credential', 'WrongCodeEntryLimit', 'open', 'erase_user' */
  action: string;
  source?: OperationSource;
  /** The acting or affected user's index; never a name (names are erasable personal data). */
  userIndex?: number | null;
  /** For user changes: the user being changed. */
  targetUserIndex?: number | null;
  credential?: { type: CredentialType; index?: number } | null;
  result?: 'success' | 'failure';
  reason?: DenialReason | null;
  /** Small structured extra data (never a secret). */
  data?: Record<string, string | number | boolean | null>;
  /** Security-relevant entries are never evicted before an admin pulled them. */
  security?: boolean;
}

export interface AuditEntry extends AuditRecord {
  seq: number;
  /** Lock time when written, or null if the clock was unknown. */
  time: LockTime | null;
  /** Monotonic ms since boot (helps order entries when time was unknown). */
  boot: number;
  /** hex SHA-256 of the previous entry's hash and this entry's canonical body. */
  hash: string;
  prevHash: string;
}

/** Events the engine emits to whoever is listening (panel, GATT notifications, scenario runner). */
export type LockEvent =
  | { type: 'audit'; entry: AuditEntry }
  | { type: 'bolt'; state: BoltState }
  | { type: 'door'; state: DoorState }
  | { type: 'alarm'; code: AlarmCode; silent: boolean }
  | { type: 'keypad'; feedback: 'accepted' | 'rejected' | 'cleared' | 'timeout' | 'key' };

export interface EventSink {
  emit(event: LockEvent): void;
}
