import { KeywayError, type LockTime, type TimerHandle } from '../../firmware/index.ts';
import { checkDrift, type RtcClock } from './RtcClock.ts';

interface PendingTimer {
  readonly id: number;
  /** True elapsed time (ms since the clock was created) at which it fires. */
  readonly due: number;
  readonly fn: () => void;
}

export interface SimClockOptions {
  /** RTC reading at creation; null = unknown. Default: 2026-01-01T00:00:00Z. */
  start?: LockTime | null;
  driftPpm?: number;
}

/** Timers firing in one advance() beyond this are a runaway loop (a timer re-arming itself with 0 ms). */
const MAX_TIMERS_PER_ADVANCE = 1_000_000;

/**
 * A fully simulated clock: nothing happens until advance() is called, and then every timer fires in due
 * order (ties in the order they were set) with the clock reading exactly its due time. Deterministic.
 *
 * Three notions of time: true elapsed time (drives timers), monotonic (elapsed since the last reboot),
 * and the RTC (settable, drifting by driftPpm, null when unknown).
 */
export class SimClock implements RtcClock {
  private elapsed = 0;
  private bootAt = 0;
  private rtcBase: LockTime | null;
  private rtcSetAt = 0;
  private drift: number;
  private nextId = 1;
  private timers: PendingTimer[] = [];
  private advancing = false;

  constructor(options: SimClockOptions = {}) {
    this.rtcBase = options.start === undefined ? Date.UTC(2026, 0, 1) : options.start;
    this.drift = checkDrift(options.driftPpm ?? 0);
  }

  now(): LockTime | null {
    if (this.rtcBase === null) return null;
    return this.rtcBase + Math.round((this.elapsed - this.rtcSetAt) * (1 + this.drift / 1e6));
  }

  monotonic(): number {
    return this.elapsed - this.bootAt;
  }

  set(time: LockTime): void {
    if (!Number.isFinite(time))
      throw new KeywayError('invalid_argument', `clock time must be finite, got ${time}`);
    this.rtcBase = Math.floor(time);
    this.rtcSetAt = this.elapsed;
  }

  unknown(): void {
    this.rtcBase = null;
  }

  get driftPpm(): number {
    return this.drift;
  }

  setDrift(ppm: number): void {
    checkDrift(ppm);
    // Re-base so the reading so far is kept and only the rate changes from now on.
    const current = this.now();
    if (current !== null) this.set(current);
    this.drift = ppm;
  }

  reboot(): void {
    this.timers = [];
    this.bootAt = this.elapsed;
  }

  close(): void {
    this.timers = [];
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: PendingTimer = { id: this.nextId++, due: this.elapsed + delay, fn };
    // Keep sorted by due time; equal due times stay in insertion order (ids grow).
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.due > timer.due) i--;
    this.timers.splice(i, 0, timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Number of timers waiting to fire. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Milliseconds until the next timer fires, or null when none is pending. */
  nextTimerIn(): number | null {
    const first = this.timers[0];
    return first === undefined ? null : first.due - this.elapsed;
  }

  /**
   * Let ms of true time pass, firing every timer that falls due on the way (including timers set by those
   * callbacks) at its due time. A throwing callback propagates after the clock stands at its due time.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new KeywayError(
        'invalid_argument',
        `can only advance by a finite, non-negative duration, got ${ms}`,
      );
    }
    if (this.advancing)
      throw new KeywayError('internal', 'SimClock.advance() called from inside a timer callback');
    const target = this.elapsed + ms;
    this.advancing = true;
    try {
      let fired = 0;
      for (;;) {
        const first = this.timers[0];
        if (first === undefined || first.due > target) break;
        if (++fired > MAX_TIMERS_PER_ADVANCE) {
          throw new KeywayError(
            'internal',
            `more than ${MAX_TIMERS_PER_ADVANCE} timers fired in one advance()`,
          );
        }
        this.timers.shift();
        this.elapsed = first.due;
        first.fn();
      }
      this.elapsed = target;
    } finally {
      this.advancing = false;
    }
  }
}
