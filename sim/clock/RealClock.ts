import { performance } from 'node:perf_hooks';
import { KeywayError, type LockTime, type TimerHandle } from '../../firmware/index.ts';
import { checkDrift, type RtcClock } from './RtcClock.ts';

export interface RealClockOptions {
  /** Simulated time runs this many times faster than the host's (1 = real time). */
  speed?: number;
  driftPpm?: number;
  /** RTC reading at start; null = unknown. Default: the host's wall time. */
  rtc?: LockTime | null;
  /** The host's monotonic milliseconds (injectable for tests). Default: performance.now. */
  hostNow?: () => number;
}

/**
 * A clock that follows the host's time, optionally sped up: after h real milliseconds the monotonic reading
 * has moved h × speed and a timer of t ms fires after t / speed real ms. The RTC can be set, drift and be
 * unknown, as on the simulated clock.
 */
export class RealClock implements RtcClock {
  readonly speed: number;
  private readonly hostNow: () => number;
  private hostStart: number;
  private rtcBase: LockTime | null;
  private rtcSetAt = 0;
  private drift: number;
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  constructor(options: RealClockOptions = {}) {
    const speed = options.speed ?? 1;
    if (!Number.isFinite(speed) || speed <= 0 || speed > 1_000_000) {
      throw new KeywayError(
        'out_of_range',
        `clock speed must be a number above 0 and at most 1000000, got ${speed}`,
      );
    }
    this.speed = speed;
    this.hostNow = options.hostNow ?? (() => performance.now());
    this.hostStart = this.hostNow();
    this.drift = checkDrift(options.driftPpm ?? 0);
    this.rtcBase = options.rtc === undefined ? Date.now() : options.rtc;
  }

  monotonic(): number {
    return (this.hostNow() - this.hostStart) * this.speed;
  }

  now(): LockTime | null {
    if (this.rtcBase === null) return null;
    return this.rtcBase + Math.round((this.monotonic() - this.rtcSetAt) * (1 + this.drift / 1e6));
  }

  set(time: LockTime): void {
    if (!Number.isFinite(time))
      throw new KeywayError('invalid_argument', `clock time must be finite, got ${time}`);
    this.rtcBase = Math.floor(time);
    this.rtcSetAt = this.monotonic();
  }

  unknown(): void {
    this.rtcBase = null;
  }

  get driftPpm(): number {
    return this.drift;
  }

  setDrift(ppm: number): void {
    checkDrift(ppm);
    const current = this.now();
    if (current !== null) this.set(current);
    this.drift = ppm;
  }

  reboot(): void {
    const rtc = this.now();
    this.close();
    this.hostStart = this.hostNow();
    // The RTC keeps running across a reboot; only the monotonic counter restarts.
    if (rtc !== null) this.set(rtc);
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms / this.speed : 0;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        fn();
      }, delay),
    );
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.timers.get(handle.id);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(handle.id);
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
