// Offline PINs (THREATS 22, 34): the owner mints a keypad PIN for a window without contacting the lock, from
// a 32-byte secret the owner and the lock share since the claim. PIN = HMAC-SHA256(K, params) reduced to
// OFFLINE_PIN_DIGITS decimal digits, K = HKDF-SHA256(secret, salt, "pin-key" + lock id). The lock
// recognises a PIN by recomputing the bounded set of candidates whose window contains "now" and comparing
// each in constant time. The odds of guessing are stated in docs/ekeys.md and computed in the tests from
// the constants below and the lockout settings.
import { createHmac, hkdfSync } from 'node:crypto';
import { encodeCanonical } from '../codec/StrictCbor.ts';
import { constantTimeEqual } from '../crypto/constantTime.ts';
import { KeywayError } from '../errors.ts';
import { localMs, localToEpoch } from '../schedule/zone.ts';
import type { LockTime, Settings } from '../types.ts';

export const OFFLINE_PIN_DIGITS = 10;
/** Longest hourly window (hours). */
export const MAX_HOURS = 72;
/** Longest daily-bound window (days, both ends included). */
export const MAX_DAYS = 31;
/** A one-time PIN must be used within this many hours of its start. */
export const ONE_TIME_WINDOW_HOURS = 24;

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MODULUS = 10n ** BigInt(OFFLINE_PIN_DIGITS);
const VARIANT_CODE = { hourly: 1, daily: 2, once: 3 } as const;

export type OfflinePinVariant = keyof typeof VARIANT_CODE;

export type OfflinePinSpec =
  | { variant: 'hourly'; /** rounded down to the hour */ from: LockTime; hours: number }
  | { variant: 'daily'; /** local dates YYYY-MM-DD, both included */ fromDate: string; untilDate: string }
  | { variant: 'once'; /** rounded down to the hour */ from: LockTime };

export interface OfflinePinMatch {
  variant: OfflinePinVariant;
  /** 8-byte id (revocations and the used-once mark refer to it). */
  id: Uint8Array;
  /** Window [from, until) in lock time; for 'once' the activation window. */
  from: LockTime;
  until: LockTime;
}

export interface MintedOfflinePin extends OfflinePinMatch {
  pin: string;
}

/** Candidates the lock computes per attempt, per variant (the whole set, whatever the time). */
export const CANDIDATES = {
  hourly: (MAX_HOURS * (MAX_HOURS + 1)) / 2,
  daily: (MAX_DAYS * (MAX_DAYS + 1)) / 2,
  once: ONE_TIME_WINDOW_HOURS,
} as const;
export const CANDIDATES_PER_ATTEMPT = CANDIDATES.hourly + CANDIDATES.daily + CANDIDATES.once;

/** Derives the PIN key once per (secret, lock). */
export class OfflinePinKey {
  private readonly key: Buffer;

  constructor(
    secret: Uint8Array,
    readonly lockId: string,
  ) {
    if (!(secret instanceof Uint8Array) || secret.length !== 32) {
      throw new KeywayError('invalid_argument', 'the offline PIN secret is 32 bytes');
    }
    if (typeof lockId !== 'string' || lockId.length === 0)
      throw new KeywayError('invalid_argument', 'lock id required');
    this.key = Buffer.from(hkdfSync('sha256', secret, 'keyway-offline-pin-v1', `pin-key\u0000${lockId}`, 32));
  }

  private mac(label: string, variant: OfflinePinVariant, start: number, length: number): Buffer {
    return createHmac('sha256', this.key)
      .update(encodeCanonical([label, this.lockId, VARIANT_CODE[variant], start, length]))
      .digest();
  }

  /** The PIN digits for (variant, start, length). */
  pinFor(variant: OfflinePinVariant, start: number, length: number): string {
    const m = this.mac('keyway-offline-pin', variant, start, length);
    return (m.readBigUInt64BE(0) % MODULUS).toString().padStart(OFFLINE_PIN_DIGITS, '0');
  }

  idFor(variant: OfflinePinVariant, start: number, length: number): Uint8Array {
    return new Uint8Array(this.mac('keyway-offline-pin-id', variant, start, length).subarray(0, 8));
  }

  /** The owner's side: mint a PIN for a window (tz: the lock's time zone, for daily-bound PINs). */
  mint(spec: OfflinePinSpec, tz: string): MintedOfflinePin {
    const p = params(spec, tz);
    return {
      ...p,
      pin: this.pinFor(p.variant, p.start, p.length),
      id: this.idFor(p.variant, p.start, p.length),
    };
  }

  /**
   * The lock's side: the window whose PIN equals `pin` and contains `now`, or null. Computes every candidate
   * (CANDIDATES_PER_ATTEMPT) whatever the entry, and compares each in constant time.
   */
  match(pin: string, now: LockTime, tz: string): OfflinePinMatch | null {
    if (typeof pin !== 'string' || pin.length !== OFFLINE_PIN_DIGITS || !/^[0-9]+$/.test(pin)) return null;
    const entry = Buffer.from(pin, 'ascii');
    let found: { variant: OfflinePinVariant; start: number; length: number } | null = null;
    const check = (variant: OfflinePinVariant, start: number, length: number): void => {
      const candidate = Buffer.from(this.pinFor(variant, start, length), 'ascii');
      if (constantTimeEqual(candidate, entry) && found === null) found = { variant, start, length };
    };
    const h = Math.floor(now / HOUR);
    for (let start = h - MAX_HOURS + 1; start <= h; start++) {
      for (let n = h - start + 1; n <= MAX_HOURS; n++) check('hourly', start, n);
    }
    const today = Math.floor(localMs(now, tz) / DAY);
    for (let d0 = today - MAX_DAYS + 1; d0 <= today; d0++) {
      for (let n = today - d0 + 1; n <= MAX_DAYS; n++) check('daily', d0, n);
    }
    for (let start = h - ONE_TIME_WINDOW_HOURS + 1; start <= h; start++)
      check('once', start, ONE_TIME_WINDOW_HOURS);
    if (found === null) return null;
    const f = found as { variant: OfflinePinVariant; start: number; length: number };
    return { ...window(f.variant, f.start, f.length, tz), id: this.idFor(f.variant, f.start, f.length) };
  }
}

function params(spec: OfflinePinSpec, tz: string): OfflinePinMatch & { start: number; length: number } {
  const fail = (m: string): never => {
    throw new KeywayError('invalid_argument', m);
  };
  switch (spec.variant) {
    case 'hourly': {
      if (!Number.isInteger(spec.hours) || spec.hours < 1 || spec.hours > MAX_HOURS) {
        fail(`hours must be 1..${MAX_HOURS}`);
      }
      const start = Math.floor(spec.from / HOUR);
      return { ...window('hourly', start, spec.hours, tz), id: new Uint8Array(), start, length: spec.hours };
    }
    case 'once': {
      const start = Math.floor(spec.from / HOUR);
      return {
        ...window('once', start, ONE_TIME_WINDOW_HOURS, tz),
        id: new Uint8Array(),
        start,
        length: ONE_TIME_WINDOW_HOURS,
      };
    }
    case 'daily': {
      const d0 = dayNumber(spec.fromDate);
      const d1 = dayNumber(spec.untilDate);
      const length = d1 - d0 + 1;
      if (length < 1 || length > MAX_DAYS) fail(`a daily-bound PIN covers 1..${MAX_DAYS} days`);
      return { ...window('daily', d0, length, tz), id: new Uint8Array(), start: d0, length };
    }
    default:
      return fail('variant must be hourly, daily or once');
  }
}

function window(
  variant: OfflinePinVariant,
  start: number,
  length: number,
  tz: string,
): Pick<OfflinePinMatch, 'variant' | 'from' | 'until'> {
  if (variant === 'daily') {
    return {
      variant,
      from: localToEpoch(dateText(start) + 'T00:00', tz),
      until: localToEpoch(dateText(start + length) + 'T00:00', tz),
    };
  }
  return { variant, from: start * HOUR, until: (start + length) * HOUR };
}

function dayNumber(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (m === null) throw new KeywayError('invalid_argument', `date "${date}" is not YYYY-MM-DD`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (dateText(t / DAY) !== date) throw new KeywayError('invalid_argument', `date "${date}" does not exist`);
  return t / DAY;
}

const dateText = (day: number): string => new Date(day * DAY).toISOString().slice(0, 10);

// ------------------------------------------------------------------------------------------ odds

/**
 * Most wrong keypad attempts an attacker can make in 24 hours under the lockout settings (escalating tiers,
 * the last repeating), assuming the attacker has no valid credential to reset the escalation with.
 */
export function maxWrongAttemptsPerDay(s: Pick<Settings, 'wrongCodeLimit' | 'lockoutSeconds'>): number {
  let t = 0;
  let level = 0;
  let attempts = 0;
  while (t < 86_400) {
    attempts += s.wrongCodeLimit;
    t += s.lockoutSeconds[Math.min(level, s.lockoutSeconds.length - 1)]!;
    level++;
  }
  return attempts;
}

/** P(at least one success in a day) for random guesses against `candidates` valid PINs of `digits` digits. */
export function guessOddsPerDay(candidates: number, digits: number, attemptsPerDay: number): number {
  const p = candidates / 10 ** digits;
  return 1 - Math.pow(1 - p, attemptsPerDay);
}
