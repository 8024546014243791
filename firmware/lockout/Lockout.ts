// One wrong-attempt counter for every channel (keypad, card, fingerprint, remote PIN), persisted, with
// escalating lockout tiers: reaching settings.wrongCodeLimit starts a lockout of lockoutSeconds[level], the
// next one of lockoutSeconds[level + 1], and so on (the last tier repeats). A granted credential resets the
// counter and the escalation. The remaining time runs on the monotonic clock; across a restart it resumes
// from the saved lock time, or starts over in full when the time is unknown (fail safe).
import { KeywayError } from '../errors.ts';
import type { LockTime, Settings } from '../types.ts';

export interface LockoutState {
  /** Wrong attempts since the last lockout or success. */
  attempts: number;
  /** Number of lockouts since the last success (selects the tier). */
  level: number;
  /** Lock time the current lockout ends (null if none, or if the time was unknown when it started). */
  untilTime: LockTime | null;
  /** Length of the current lockout (0 if none). */
  tierMs: number;
}

export const NO_LOCKOUT: LockoutState = { attempts: 0, level: 0, untilTime: null, tierMs: 0 };

export function parseLockoutState(json: string | null): LockoutState {
  if (json === null) return { ...NO_LOCKOUT };
  try {
    const p = JSON.parse(json) as LockoutState;
    const ok =
      Number.isInteger(p.attempts) &&
      Number.isInteger(p.level) &&
      Number.isInteger(p.tierMs) &&
      (p.untilTime === null || Number.isInteger(p.untilTime));
    if (ok) return p;
  } catch {
    // fall through
  }
  throw new KeywayError('store_corrupt', 'lockout state is not valid');
}

export class Lockout {
  private state: LockoutState;
  /** Monotonic ms at which the current lockout ends (0 = none). */
  private untilMono = 0;

  constructor(saved: LockoutState, now: LockTime | null, monotonicNow: number) {
    this.state = { ...saved };
    if (saved.tierMs > 0) {
      let remaining = saved.tierMs;
      if (saved.untilTime !== null && now !== null) {
        remaining = Math.min(Math.max(saved.untilTime - now, 0), saved.tierMs);
      }
      this.untilMono = monotonicNow + remaining;
    }
  }

  active(monotonicNow: number): boolean {
    return this.untilMono > monotonicNow;
  }

  remainingMs(monotonicNow: number): number {
    return Math.max(0, this.untilMono - monotonicNow);
  }

  /** The lock time the lockout ends, when known. */
  until(now: LockTime | null, monotonicNow: number): LockTime | null {
    if (!this.active(monotonicNow) || now === null) return null;
    return now + this.remainingMs(monotonicNow);
  }

  attempts(monotonicNow: number): number {
    return this.state.tierMs > 0 && !this.active(monotonicNow) ? 0 : this.state.attempts;
  }

  /**
   * Count `weight` wrong attempts. Returns the new state to persist and, when the limit was reached, the
   * lockout just started (in seconds).
   */
  recordFailure(
    weight: number,
    settings: Settings,
    now: LockTime | null,
    monotonicNow: number,
  ): { state: LockoutState; startedSeconds: number | null } {
    const s = this.state;
    // A lockout that has run out resets the counter (but not the escalation level).
    if (s.tierMs > 0 && !this.active(monotonicNow)) {
      s.attempts = 0;
      s.tierMs = 0;
      s.untilTime = null;
    }
    s.attempts += weight;
    let startedSeconds: number | null = null;
    if (s.attempts >= settings.wrongCodeLimit) {
      const tiers = settings.lockoutSeconds;
      startedSeconds = tiers[Math.min(s.level, tiers.length - 1)] ?? 60;
      s.level += 1;
      s.attempts = 0;
      s.tierMs = startedSeconds * 1000;
      s.untilTime = now === null ? null : now + s.tierMs;
      this.untilMono = monotonicNow + s.tierMs;
    }
    return { state: { ...s }, startedSeconds };
  }

  /** A granted credential: counter and escalation back to zero. */
  recordSuccess(): LockoutState {
    this.state = { ...NO_LOCKOUT };
    this.untilMono = 0;
    return { ...this.state };
  }

  /** True when there is anything to reset (saves a write on the common path). */
  get dirty(): boolean {
    return this.state.attempts !== 0 || this.state.level !== 0 || this.state.tierMs !== 0;
  }
}
