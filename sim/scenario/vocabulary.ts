// Closed sets from firmware/types.ts as runtime lists, so the parser can refuse typos (the firmware's own lists
// where it has them; elsewhere Record types make tsc complain here when the firmware adds a member).
import { METHODS } from '../../firmware/index.ts';
import type {
  AlarmCode,
  BoltState,
  CredentialRule,
  CredentialType,
  DoorState,
  ErrorCode,
  Method,
  OperatingMode,
  OperationSource,
  AuditKind,
} from '../../firmware/index.ts';

const keys = <T extends string>(r: Record<T, true>): T[] => Object.keys(r) as T[];

export { ROLES, USER_TYPES, DENIAL_REASONS } from '../../firmware/index.ts';
export const METHOD_NAMES: readonly Method[] = METHODS;
export const CREDENTIAL_TYPES = keys<CredentialType>({
  pin: true,
  card: true,
  fingerprint: true,
  ekey: true,
});
export const CREDENTIAL_RULES = keys<CredentialRule>({ single: true, dual: true, tri: true });
export const MODES = keys<OperatingMode>({
  Normal: true,
  Vacation: true,
  Privacy: true,
  NoRemoteLockUnlock: true,
  Passage: true,
});
export const BOLT_STATES = keys<BoltState>({
  locked: true,
  unlocked: true,
  locking: true,
  unlocking: true,
  jammed: true,
});
export const DOOR_STATES = keys<DoorState>({
  closed: true,
  open: true,
  ajar: true,
  forced_open: true,
  unknown: true,
});
export const SOURCES = keys<OperationSource>({
  keypad: true,
  button: true,
  remote: true,
  auto: true,
  manual: true,
  schedule: true,
  proximity: true,
  rfid: true,
  biometric: true,
});
export const AUDIT_KINDS = keys<AuditKind>({
  LockOperation: true,
  LockOperationError: true,
  LockUserChange: true,
  DoorLockAlarm: true,
  DoorStateChange: true,
  SettingsChange: true,
  System: true,
});
export const ALARM_CODES = keys<AlarmCode>({
  LockJammed: true,
  LockFactoryReset: true,
  WrongCodeEntryLimit: true,
  FrontEsceutcheonRemoved: true,
  DoorForcedOpen: true,
  DoorAjar: true,
  ForcedUser: true,
  BatteryCritical: true,
  Tamper: true,
  StoreRollback: true,
});
export const ERROR_CODES = keys<ErrorCode>({
  invalid_argument: true,
  out_of_range: true,
  invalid_schedule: true,
  weak_pin: true,
  invalid_pin: true,
  malformed: true,
  not_found: true,
  duplicate: true,
  not_authorized: true,
  capacity_exceeded: true,
  time_bound_required: true,
  time_unknown: true,
  store_corrupt: true,
  store_newer_version: true,
  store_foreign: true,
  store_rollback: true,
  store_io: true,
  crypto: true,
  protocol: true,
  internal: true,
});
