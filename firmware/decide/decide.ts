// "May this credential open (or lock) this door now?" as one pure function of the request, the user's
// stored state, the credentials presented, the settings and the lock time. No I/O, no clock reads: the
// caller supplies everything and applies the returned effects (inside its transaction).
import { isWithinSchedules, validityCheck } from '../schedule/index.ts';
import type {
  AccessSchedule,
  CredentialRule,
  CredentialType,
  Decision,
  LockTime,
  Method,
  OperatingMode,
  OperationSource,
  Settings,
} from '../types.ts';
import type { User } from '../users/User.ts';

export interface DecisionRequest {
  operation: 'unlock' | 'lock';
  /** How the credential reached the lock ('app' = remote command / eKey over BLE). */
  method: Method;
  source: OperationSource;
  /** The wrong-code lockout is active. */
  lockedOut: boolean;
  /** Effective operating mode (the setting, or an active holiday's). */
  mode: OperatingMode;
  batteryPercent: number;
  /** The bolt must move for this operation (false when it already is where asked). */
  motorNeeded: boolean;
  /** The door sensor reports the door open (a bolt cannot be thrown into an open door). */
  doorOpen: boolean;
}

export interface UserState {
  user: Pick<
    User,
    | 'index'
    | 'role'
    | 'userType'
    | 'enabled'
    | 'validFrom'
    | 'validUntil'
    | 'methods'
    | 'sites'
    | 'credentialRule'
    | 'usesRemaining'
    | 'expiresAt'
  >;
  schedules: readonly AccessSchedule[];
}

/** What the caller must persist when the decision is a grant (before the bolt moves). */
export interface GrantEffects {
  /** Decrement usesRemaining by one. */
  consumeUse: boolean;
  /** Expiring user's first use: set expiresAt to this lock time. */
  setExpiresAt: LockTime | null;
}

export type EngineDecision = Decision<{ userIndex: number; duress: boolean; effects: GrantEffects }>;

const RULE_TYPES: Record<CredentialRule, number> = { single: 1, dual: 2, tri: 3 };

const SCHEDULED_TYPES = new Set(['WeekDaySchedule', 'YearDaySchedule', 'ScheduleRestricted']);

/** The schedules that restrict this user (by Matter user type), or null when none apply. */
export function applicableSchedules(state: UserState): AccessSchedule[] | null {
  const t = state.user.userType;
  const all = state.schedules;
  if (t === 'WeekDaySchedule') return all.filter((s) => s.kind === 'weekly');
  if (t === 'YearDaySchedule') return all.filter((s) => s.kind === 'yearday');
  if (SCHEDULED_TYPES.has(t) || all.length > 0) return [...all];
  return null;
}

const deny = (
  reason: Extract<EngineDecision, { granted: false }>['reason'],
  detail?: string,
): EngineDecision => (detail === undefined ? { granted: false, reason } : { granted: false, reason, detail });

/**
 * The decision. `credentials` are the distinct credential types this user presented within the
 * credential-rule window, this one included (empty when nothing matched). Checks run in a fixed order and
 * the first failing one is the reason, so a valid credential during a lockout reads `locked_out`.
 */
export function decide(
  request: DecisionRequest,
  state: UserState | null,
  credentials: readonly CredentialType[],
  settings: Settings,
  now: LockTime | null,
): EngineDecision {
  if (state === null || credentials.length === 0) return deny('invalid_credential');
  if (request.lockedOut) return deny('locked_out');
  const u = state.user;
  if (!u.sites.some((s) => settings.sites.includes(s))) return deny('wrong_lock');
  if (!u.enabled) return deny('disabled_user');
  if (u.userType === 'NonAccess') return deny('non_access_user');
  if (u.userType === 'RemoteOnly' && request.method !== 'app') {
    return deny('method_not_allowed', 'remote-only user');
  }
  if (!u.methods.includes(request.method)) return deny('method_not_allowed');

  switch (request.mode) {
    case 'Privacy':
      return deny('mode_restricted', 'Privacy: no external credential is accepted');
    case 'Vacation':
      if (
        request.method === 'pin' &&
        u.role !== 'owner' &&
        u.role !== 'admin' &&
        u.userType !== 'Programming'
      ) {
        return deny('mode_restricted', 'Vacation: the keypad accepts only owner and admin PINs');
      }
      break;
    case 'NoRemoteLockUnlock':
      if (request.method === 'app') return deny('mode_restricted', 'NoRemoteLockUnlock');
      break;
    case 'Passage':
      if (request.operation === 'lock') return deny('mode_restricted', 'Passage: the lock stays unlocked');
      break;
    case 'Normal':
      break;
  }

  const schedules = applicableSchedules(state);
  const needsTime =
    u.validFrom !== null || u.validUntil !== null || schedules !== null || u.userType === 'Expiring';
  if (needsTime && now === null) return deny('time_unknown');
  if (now !== null) {
    const v = validityCheck(now, u.validFrom, u.validUntil);
    if (v !== null) return deny(v);
    if (u.userType === 'Expiring' && u.expiresAt !== null && now >= u.expiresAt) {
      return deny('expired', 'expiring user timer ran out');
    }
    if (schedules !== null) {
      if (schedules.length === 0)
        return deny('outside_schedule', 'schedule-restricted user without schedules');
      if (!isWithinSchedules(schedules, now, settings.timeZone)) return deny('outside_schedule');
    }
  }
  if (u.usesRemaining !== null && u.usesRemaining <= 0) return deny('uses_exhausted');
  if (new Set(credentials).size < RULE_TYPES[u.credentialRule]) {
    return deny('credential_rule_incomplete', `${u.credentialRule} rule`);
  }
  if (request.operation === 'lock' && request.motorNeeded && request.doorOpen) return deny('door_open');
  if (request.motorNeeded && request.batteryPercent < settings.batteryCriticalPercent) {
    return deny('insufficient_battery');
  }
  const unlock = request.operation === 'unlock';
  return {
    granted: true,
    userIndex: u.index,
    duress: u.userType === 'Forced',
    effects: {
      consumeUse: unlock && u.usesRemaining !== null,
      setExpiresAt:
        unlock && u.userType === 'Expiring' && u.expiresAt === null && now !== null
          ? now + settings.expiringUserTimeoutMinutes * 60_000
          : null,
    },
  };
}
