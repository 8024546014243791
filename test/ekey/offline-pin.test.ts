// Offline PINs: derivation, windows, the bounded search, and the guessing odds (THREATS 22, 34).
import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../firmware/defaults.ts';
import {
  CANDIDATES,
  CANDIDATES_PER_ATTEMPT,
  MAX_DAYS,
  MAX_HOURS,
  OFFLINE_PIN_DIGITS,
  OfflinePinKey,
  guessOddsPerDay,
  maxWrongAttemptsPerDay,
} from '../../firmware/offline-pin/OfflinePin.ts';
import { HOUR, T0 } from './helpers.ts';

const secret = new Uint8Array(32).map((_, i) => i);
const key = new OfflinePinKey(secret, 'front-door');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('derivation', () => {
  it('is deterministic, 10 digits, and bound to the secret, the lock, the variant and the window', () => {
    const a = key.mint({ variant: 'hourly', from: T0 + 25 * 60_000, hours: 3 }, 'UTC');
    expect(a.pin).toMatch(/^\d{10}$/);
    expect(a).toMatchObject({ variant: 'hourly', from: T0, until: T0 + 3 * HOUR });
    expect(key.mint({ variant: 'hourly', from: T0, hours: 3 }, 'UTC').pin).toBe(a.pin);
    const others = [
      key.mint({ variant: 'hourly', from: T0, hours: 4 }, 'UTC').pin,
      key.mint({ variant: 'hourly', from: T0 + HOUR, hours: 3 }, 'UTC').pin,
      key.mint({ variant: 'once', from: T0 }, 'UTC').pin,
      new OfflinePinKey(secret, 'back-door').mint({ variant: 'hourly', from: T0, hours: 3 }, 'UTC').pin,
      new OfflinePinKey(new Uint8Array(32), 'front-door').mint(
        { variant: 'hourly', from: T0, hours: 3 },
        'UTC',
      ).pin,
    ];
    for (const o of others) expect(o).not.toBe(a.pin);
    expect(hex(a.id)).toHaveLength(16);
  });

  it('refuses bad parameters', () => {
    expect(() => key.mint({ variant: 'hourly', from: T0, hours: MAX_HOURS + 1 }, 'UTC')).toThrow(
      /hours must be 1..72/,
    );
    expect(() => key.mint({ variant: 'hourly', from: T0, hours: 0 }, 'UTC')).toThrow(/hours/);
    expect(() =>
      key.mint({ variant: 'daily', fromDate: '2025-01-01', untilDate: '2025-02-01' }, 'UTC'),
    ).toThrow(/1..31 days/);
    expect(() =>
      key.mint({ variant: 'daily', fromDate: '2025-02-30', untilDate: '2025-03-01' }, 'UTC'),
    ).toThrow(/does not exist/);
    expect(() => new OfflinePinKey(new Uint8Array(16), 'x')).toThrow(/32 bytes/);
  });
});

describe('the lock search', () => {
  it('hourly: valid from the rounded start hour up to (not including) the end', () => {
    const m = key.mint({ variant: 'hourly', from: T0, hours: 2 }, 'UTC');
    expect(key.match(m.pin, T0 - 1, 'UTC')).toBeNull();
    expect(key.match(m.pin, T0, 'UTC')).toEqual({
      variant: 'hourly',
      id: m.id,
      from: T0,
      until: T0 + 2 * HOUR,
    });
    expect(key.match(m.pin, T0 + 2 * HOUR - 1, 'UTC')?.variant).toBe('hourly');
    expect(key.match(m.pin, T0 + 2 * HOUR, 'UTC')).toBeNull();
  });

  it('hourly: the longest window is found at its last hour', () => {
    const m = key.mint({ variant: 'hourly', from: T0, hours: MAX_HOURS }, 'UTC');
    expect(key.match(m.pin, T0 + MAX_HOURS * HOUR - 1, 'UTC')?.until).toBe(T0 + MAX_HOURS * HOUR);
  });

  it('daily-bound: every day of the range in the lock zone, both ends included', () => {
    const m = key.mint(
      { variant: 'daily', fromDate: '2025-01-06', untilDate: '2025-01-08' },
      'Europe/Berlin',
    );
    const berlinMidnight = Date.UTC(2025, 0, 5, 23, 0);
    expect(m.from).toBe(berlinMidnight);
    expect(m.until).toBe(berlinMidnight + 3 * 24 * HOUR);
    expect(key.match(m.pin, berlinMidnight - 1, 'Europe/Berlin')).toBeNull();
    expect(key.match(m.pin, berlinMidnight, 'Europe/Berlin')?.variant).toBe('daily');
    expect(key.match(m.pin, m.until - 1, 'Europe/Berlin')?.variant).toBe('daily');
    expect(key.match(m.pin, m.until, 'Europe/Berlin')).toBeNull();
    const longest = key.mint({ variant: 'daily', fromDate: '2025-01-01', untilDate: '2025-01-31' }, 'UTC');
    expect(key.match(longest.pin, Date.UTC(2025, 0, 31, 23, 59), 'UTC')?.variant).toBe('daily');
  });

  it('THREATS 22: a one-time PIN is refused after its 24 h activation window', () => {
    const m = key.mint({ variant: 'once', from: T0 }, 'UTC');
    expect(key.match(m.pin, T0 + 24 * HOUR - 1, 'UTC')?.variant).toBe('once');
    expect(key.match(m.pin, T0 + 24 * HOUR, 'UTC')).toBeNull();
    expect(key.match(m.pin, T0 - 1, 'UTC')).toBeNull();
  });

  it('ignores entries that are not 10 digits', () => {
    const m = key.mint({ variant: 'once', from: T0 }, 'UTC');
    expect(key.match(m.pin.slice(1), T0, 'UTC')).toBeNull();
    expect(key.match(`${m.pin}0`, T0, 'UTC')).toBeNull();
  });
});

describe('THREATS 34: offline-code space enumeration', () => {
  it('the candidate set per attempt is as documented', () => {
    expect(CANDIDATES).toEqual({ hourly: (72 * 73) / 2, daily: (31 * 32) / 2, once: 24 });
    expect(CANDIDATES_PER_ATTEMPT).toBe(3148);
    expect(MAX_DAYS).toBe(31);
  });

  it('with the default lockout, P(success per day) <= 1e-4', () => {
    const s = defaultSettings({ bytes: (n) => new Uint8Array(n) });
    const attempts = maxWrongAttemptsPerDay(s);
    // 5 tries, then 15 s, 60 s, 300 s, 900 s and 3600 s lockouts, the last repeating: 28 rounds of 5.
    expect(attempts).toBe(140);
    const p = guessOddsPerDay(CANDIDATES_PER_ATTEMPT, OFFLINE_PIN_DIGITS, attempts);
    expect(p).toBeCloseTo(140 * 3148e-10, 8);
    expect(p).toBeLessThanOrEqual(1e-4);
  });

  it('a weaker lockout breaks the bound (so the docs warn about it)', () => {
    const attempts = maxWrongAttemptsPerDay({ wrongCodeLimit: 10, lockoutSeconds: [60] });
    expect(attempts).toBe(14_400);
    expect(guessOddsPerDay(CANDIDATES_PER_ATTEMPT, OFFLINE_PIN_DIGITS, attempts)).toBeGreaterThan(1e-4);
  });
});
