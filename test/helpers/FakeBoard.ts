// A fake lock board: the motor takes travelMs of fake-clock time and can be told to jam; battery and door
// sensor are plain fields.
import type { BoardPort } from '../../firmware/types.ts';
import type { FakeClock } from './FakeClock.ts';

export class FakeBoard implements BoardPort {
  battery = 100;
  door: boolean | null = false;
  /** The next motor runs end jammed while this is true. */
  jam = false;
  travelMs: number;
  /** Every motor command, in order. */
  readonly drives: Array<'locked' | 'unlocked'> = [];

  constructor(
    private readonly clock: FakeClock,
    opts: { travelMs?: number } = {},
  ) {
    this.travelMs = opts.travelMs ?? 500;
  }

  driveBolt(target: 'locked' | 'unlocked', done: (result: 'ok' | 'jammed') => void): void {
    this.drives.push(target);
    const jam = this.jam;
    this.clock.setTimer(this.travelMs, () => done(jam ? 'jammed' : 'ok'));
  }

  batteryPercent(): number {
    return this.battery;
  }

  doorOpen(): boolean | null {
    return this.door;
  }
}
