// A fake lock clock for tests: time moves only when the test says so; advance(ms) fires due timers in
// order (by due time, then by creation), each seeing the clock at its own due time.
import type { Clock, LockTime, TimerHandle } from '../../firmware/types.ts';

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private mono: number;
  /** RTC offset from the monotonic clock, or null when the time is unknown. */
  private rtcOffset: number | null;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(opts: { time?: LockTime | null; monotonic?: number } = {}) {
    this.mono = opts.monotonic ?? 0;
    const time = opts.time === undefined ? Date.UTC(2025, 0, 6, 12, 0, 0) : opts.time;
    this.rtcOffset = time === null ? null : time - this.mono;
  }

  now(): LockTime | null {
    return this.rtcOffset === null ? null : this.mono + this.rtcOffset;
  }

  monotonic(): number {
    return this.mono;
  }

  set(time: LockTime): void {
    this.rtcOffset = time - this.mono;
  }

  /** Simulate a power loss of the RTC: the time becomes unknown. */
  forgetTime(): void {
    this.rtcOffset = null;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = { id: this.nextId++, due: this.mono + Math.max(0, ms), fn };
    this.timers.push(t);
    return { id: t.id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.timers) {
        if (
          t.due <= end &&
          (next === undefined || t.due < next.due || (t.due === next.due && t.id < next.id))
        ) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.mono = Math.max(this.mono, next.due);
      next.fn();
    }
    this.mono = end;
  }
}
