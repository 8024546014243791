// Validation and defaults for user specs and patches: every field checked, with an error naming it.
import { KeywayError } from '../errors.ts';
import {
  METHODS,
  type CredentialRule,
  type Method,
  type Role,
  type Settings,
  type UserType,
} from '../types.ts';
import type { User, UserSpec } from './User.ts';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'guest'];
export const USER_TYPES: readonly UserType[] = [
  'Unrestricted',
  'YearDaySchedule',
  'WeekDaySchedule',
  'Programming',
  'NonAccess',
  'Forced',
  'Disposable',
  'Expiring',
  'ScheduleRestricted',
  'RemoteOnly',
];
const RULES: readonly CredentialRule[] = ['single', 'dual', 'tri'];
const SPEC_KEYS = new Set([
  'name',
  'role',
  'userType',
  'enabled',
  'validFrom',
  'validUntil',
  'permanent',
  'methods',
  'sites',
  'credentialRule',
  'usesRemaining',
  'mayShare',
]);
export const MAX_NAME_CHARS = 32;
const SITE_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const bad = (field: string, why: string): never => {
  throw new KeywayError('invalid_argument', `${field} ${why}`);
};

export function validateName(name: unknown): string | null {
  if (name === undefined || name === null) return null;
  if (typeof name !== 'string') return bad('name', 'must be a string');
  const chars = [...name].length;
  if (chars < 1 || chars > MAX_NAME_CHARS)
    bad('name', `must have 1 to ${MAX_NAME_CHARS} characters (got ${chars})`);
  if (/[\p{Cc}\p{Cf}\p{Cs}]/u.test(name) || name.trim() !== name || name.trim() === '') {
    bad('name', 'must not contain control characters or leading/trailing spaces');
  }
  return name;
}

function time(field: string, v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new KeywayError('out_of_range', `${field} must be a lock time (ms since epoch, >= 0)`);
  }
  return v;
}

function bool(field: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') return bad(field, 'must be true or false');
  return v;
}

function methods(v: unknown): Method[] {
  if (v === undefined) return [...METHODS];
  if (!Array.isArray(v) || v.length === 0) return bad('methods', 'must be a non-empty list');
  for (const m of v) if (!METHODS.includes(m as Method)) bad('methods', `has an unknown method ${String(m)}`);
  if (new Set(v).size !== v.length) bad('methods', 'has duplicates');
  return [...(v as Method[])];
}

function sites(v: unknown, settings: Settings): string[] {
  if (v === undefined) return [...settings.sites];
  if (!Array.isArray(v) || v.length === 0 || v.length > 32)
    return bad('sites', 'must be a list of 1 to 32 names');
  for (const s of v) if (typeof s !== 'string' || !SITE_RE.test(s)) bad('sites', 'has an invalid name');
  if (new Set(v).size !== v.length) bad('sites', 'has duplicates');
  return [...(v as string[])];
}

function uses(v: unknown, userType: UserType): number | null {
  if (v === undefined) return userType === 'Disposable' ? 1 : null;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1_000_000) {
    throw new KeywayError('out_of_range', 'usesRemaining must be an integer 0..1000000 or null');
  }
  return v;
}

function checkKeys(spec: object): void {
  if (typeof spec !== 'object' || spec === null) bad('user', 'must be an object');
  for (const k of Object.keys(spec)) if (!SPEC_KEYS.has(k)) bad(k, 'is not a user field');
}

export type NewUser = Omit<User, 'index' | 'createdBy' | 'modifiedBy' | 'expiresAt'>;

/** Full, validated user fields from a spec, with defaults. */
export function normalizeUserSpec(spec: UserSpec, settings: Settings, hasSchedules = false): NewUser {
  checkKeys(spec);
  if (!ROLES.includes(spec.role)) bad('role', `must be one of ${ROLES.join(', ')}`);
  const userType =
    spec.userType ?? (spec.role === 'guest' && hasSchedules ? 'ScheduleRestricted' : 'Unrestricted');
  if (!USER_TYPES.includes(userType)) bad('userType', `must be one of ${USER_TYPES.join(', ')}`);
  const validFrom = time('validFrom', spec.validFrom);
  const validUntil = time('validUntil', spec.validUntil);
  if (validFrom !== null && validUntil !== null && validFrom >= validUntil) {
    bad('validUntil', 'must be after validFrom');
  }
  const credentialRule = spec.credentialRule ?? 'single';
  if (!RULES.includes(credentialRule)) bad('credentialRule', `must be one of ${RULES.join(', ')}`);
  return {
    name: validateName(spec.name),
    role: spec.role,
    userType,
    enabled: bool('enabled', spec.enabled, true),
    validFrom,
    validUntil,
    permanent: bool('permanent', spec.permanent, false),
    methods: methods(spec.methods),
    sites: sites(spec.sites, settings),
    credentialRule,
    usesRemaining: uses(spec.usesRemaining, userType),
    mayShare: bool('mayShare', spec.mayShare, false),
  };
}

/** The user after a patch, validated as a whole. */
export function applyUserPatch(user: User, patch: Partial<UserSpec>, settings: Settings): User {
  checkKeys(patch);
  const spec: UserSpec = {
    name: user.name ?? undefined,
    role: user.role,
    userType: user.userType,
    enabled: user.enabled,
    validFrom: user.validFrom,
    validUntil: user.validUntil,
    permanent: user.permanent,
    methods: user.methods,
    sites: user.sites,
    credentialRule: user.credentialRule,
    usesRemaining: user.usesRemaining,
    mayShare: user.mayShare,
    ...patch,
  };
  if ('name' in patch && patch.name === undefined) delete spec.name;
  const n = normalizeUserSpec(spec, settings);
  // A patched Disposable user without an explicit count keeps its count.
  if (!('usesRemaining' in patch)) n.usesRemaining = user.usesRemaining;
  return { ...user, ...n };
}
