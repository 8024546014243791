import { KeywayError, type Clock, type LockTime } from '../../firmware/index.ts';

/**
 * A lock RTC as the simulator models it: the firmware's Clock port plus the knobs a test bench has.
 * Both the simulated and the real-time clock implement it.
 */
export interface RtcClock extends Clock {
  /** Set the RTC (a time sync, or a technician setting it after power loss). */
  set(time: LockTime): void;
  /** Power loss without a backup cell: the RTC reads null until set() is called again. */
  unknown(): void;
  /** The RTC runs fast (positive) or slow (negative) by this many parts per million of true time. */
  setDrift(ppm: number): void;
  readonly driftPpm: number;
  /** The board rebooted: monotonic time restarts at 0; pending timers are cancelled. */
  reboot(): void;
  /** Cancel every pending timer (used on shutdown). */
  close(): void;
}

/** Validates a drift figure: a finite ppm within what a crystal (or a badly broken one) does. */
export function checkDrift(ppm: number): number {
  if (!Number.isFinite(ppm) || Math.abs(ppm) > 1_000_000) {
    throw new KeywayError(
      'out_of_range',
      `clock drift must be a finite number of ppm within ±1000000, got ${ppm}`,
    );
  }
  return ppm;
}
