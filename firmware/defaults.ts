// Default settings and the validation every settings change goes through.
import { KeywayError } from './errors.ts';
import type { OperatingMode, Random, Settings } from './types.ts';

export const OPERATING_MODES: readonly OperatingMode[] = [
  'Normal',
  'Vacation',
  'Privacy',
  'NoRemoteLockUnlock',
  'Passage',
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The settings a new lock starts with; the lock id is random (8 bytes, hex). */
export function defaultSettings(random: Random): Settings {
  const lockId = hex(random.bytes(8));
  return {
    lockId,
    sites: [lockId],
    timeZone: 'UTC',
    autoRelockSeconds: 30,
    wrongCodeLimit: 5,
    lockoutSeconds: [15, 60, 300, 900, 3600],
    minPinLength: 4,
    maxPinLength: 10,
    maxKeypadEntry: 16,
    antiPeeping: false,
    keypadIdleSeconds: 10,
    operatingMode: 'Normal',
    requirePinForRemote: false,
    expiringUserTimeoutMinutes: 60,
    doorAjarSeconds: 60,
    batteryCriticalPercent: 5,
    clockSkewSeconds: 60,
    capacities: { users: 10_000, credentialsPerUser: 10, schedulesPerUser: 10, auditEntries: 100_000 },
  };
}

function outOfRange(name: string, why: string): never {
  throw new KeywayError('out_of_range', `setting ${name} ${why}`);
}

function int(s: Record<string, unknown>, name: string, min: number, max: number): void {
  const v = s[name];
  if (typeof v !== 'number' || !Number.isInteger(v)) outOfRange(name, 'must be an integer');
  if (v < min || v > max) outOfRange(name, `must be between ${min} and ${max} (got ${v})`);
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const SITE_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const KNOWN_KEYS = new Set<string>(Object.keys(defaultSettings({ bytes: (n) => new Uint8Array(n) })));

/** Throws out_of_range (or invalid_argument for unknown keys / wrong shapes) naming the first bad setting. */
export function validateSettings(settings: Settings): void {
  const s = settings as unknown as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!KNOWN_KEYS.has(k)) throw new KeywayError('invalid_argument', `unknown setting ${k}`);
  }
  if (typeof settings.lockId !== 'string' || !SITE_RE.test(settings.lockId)) {
    outOfRange('lockId', 'must be 1-64 characters of letters, digits and ._:-');
  }
  if (!Array.isArray(settings.sites) || settings.sites.length < 1 || settings.sites.length > 32) {
    outOfRange('sites', 'must be a list of 1 to 32 names');
  }
  for (const site of settings.sites) {
    if (typeof site !== 'string' || !SITE_RE.test(site)) outOfRange('sites', `has an invalid name`);
  }
  if (new Set(settings.sites).size !== settings.sites.length) outOfRange('sites', 'has duplicates');
  if (!settings.sites.includes(settings.lockId)) outOfRange('sites', 'must include the lock id');
  if (typeof settings.timeZone !== 'string' || !isTimeZone(settings.timeZone)) {
    outOfRange('timeZone', 'must be an IANA time zone name');
  }
  int(s, 'autoRelockSeconds', 0, 86_400);
  int(s, 'wrongCodeLimit', 1, 100);
  if (
    !Array.isArray(settings.lockoutSeconds) ||
    settings.lockoutSeconds.length < 1 ||
    settings.lockoutSeconds.length > 16
  ) {
    outOfRange('lockoutSeconds', 'must be a list of 1 to 16 tiers');
  }
  let prev = 0;
  for (const t of settings.lockoutSeconds) {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 86_400) {
      outOfRange('lockoutSeconds', 'tiers must be integers between 1 and 86400');
    }
    if (t < prev) outOfRange('lockoutSeconds', 'tiers must not decrease (the lockout escalates)');
    prev = t;
  }
  int(s, 'minPinLength', 4, 12);
  int(s, 'maxPinLength', 4, 12);
  if (settings.maxPinLength < settings.minPinLength) outOfRange('maxPinLength', 'must be >= minPinLength');
  int(s, 'maxKeypadEntry', 4, 32);
  if (settings.maxKeypadEntry < settings.maxPinLength) {
    outOfRange('maxKeypadEntry', 'must be >= maxPinLength');
  }
  if (typeof settings.antiPeeping !== 'boolean') outOfRange('antiPeeping', 'must be true or false');
  int(s, 'keypadIdleSeconds', 1, 300);
  if (!OPERATING_MODES.includes(settings.operatingMode)) {
    outOfRange('operatingMode', `must be one of ${OPERATING_MODES.join(', ')}`);
  }
  if (typeof settings.requirePinForRemote !== 'boolean') {
    outOfRange('requirePinForRemote', 'must be true or false');
  }
  int(s, 'expiringUserTimeoutMinutes', 1, 525_600);
  int(s, 'doorAjarSeconds', 1, 86_400);
  int(s, 'batteryCriticalPercent', 0, 50);
  int(s, 'clockSkewSeconds', 0, 3600);
  const c = settings.capacities as unknown as Record<string, unknown> | undefined;
  if (typeof c !== 'object' || c === null) outOfRange('capacities', 'must be an object');
  for (const k of Object.keys(c)) {
    if (!['users', 'credentialsPerUser', 'schedulesPerUser', 'auditEntries'].includes(k)) {
      throw new KeywayError('invalid_argument', `unknown setting capacities.${k}`);
    }
  }
  int(c, 'users', 1, 100_000);
  int(c, 'credentialsPerUser', 1, 100);
  int(c, 'schedulesPerUser', 1, 100);
  int(c, 'auditEntries', 100, 10_000_000);
}

/** Applies a patch (capacities merged one level deep) and validates the result. */
export function mergeSettings(base: Settings, patch: Partial<Settings>): Settings {
  if (typeof patch !== 'object' || patch === null) {
    throw new KeywayError('invalid_argument', 'settings patch must be an object');
  }
  const merged: Settings = {
    ...base,
    ...patch,
    capacities: { ...base.capacities, ...(patch.capacities ?? {}) },
  };
  // A new lock id without explicit sites: the sites follow the id.
  if (patch.lockId !== undefined && patch.sites === undefined) {
    merged.sites = [patch.lockId, ...base.sites.filter((x) => x !== base.lockId)];
  }
  validateSettings(merged);
  return structuredClone(merged);
}
