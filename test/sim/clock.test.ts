import { describe, expect, it } from 'vitest';
import { RealClock, SeededRandom, SimClock } from '../../sim/clock/index.ts';
import { isKeywayError } from '../../firmware/index.ts';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);

describe('SimClock', () => {
  it('fires timers in due order, ties in the order they were set, each at its due time', () => {
    const clock = new SimClock({ start: T0 });
    const log: string[] = [];
    clock.setTimer(300, () => log.push(`c@${clock.monotonic()}`));
    clock.setTimer(100, () => log.push(`a@${clock.monotonic()}`));
    clock.setTimer(100, () => log.push(`b@${clock.monotonic()}`));
    clock.advance(250);
    expect(log).toEqual(['a@100', 'b@100']);
    expect(clock.monotonic()).toBe(250);
    expect(clock.now()).toBe(T0 + 250);
    clock.advance(50);
    expect(log).toEqual(['a@100', 'b@100', 'c@300']);
  });

  it('fires timers set by callbacks within the same advance, and never early', () => {
    const clock = new SimClock({ start: T0 });
    const log: number[] = [];
    clock.setTimer(10, () => {
      log.push(clock.monotonic());
      clock.setTimer(0, () => log.push(clock.monotonic()));
      clock.setTimer(50, () => log.push(clock.monotonic()));
    });
    clock.advance(30);
    expect(log).toEqual([10, 10]);
    expect(clock.nextTimerIn()).toBe(30);
    clock.advance(30);
    expect(log).toEqual([10, 10, 60]);
  });

  it('clearTimer cancels; close and reboot drop every timer; reboot restarts monotonic at 0', () => {
    const clock = new SimClock({ start: T0 });
    let fired = 0;
    const h = clock.setTimer(5, () => fired++);
    clock.clearTimer(h);
    clock.advance(10);
    expect(fired).toBe(0);
    clock.setTimer(5, () => fired++);
    clock.reboot();
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.monotonic()).toBe(0);
    expect(clock.now()).toBe(T0 + 10); // the RTC keeps running across a reboot
    clock.advance(10);
    expect(fired).toBe(0);
  });

  it('models an RTC that loses its time, is set again, and drifts by ppm', () => {
    const clock = new SimClock({ start: T0, driftPpm: 100 });
    clock.advance(1_000_000);
    expect(clock.now()).toBe(T0 + 1_000_100);
    clock.unknown();
    expect(clock.now()).toBeNull();
    clock.advance(5000);
    expect(clock.now()).toBeNull();
    clock.set(T0);
    clock.setDrift(-50);
    clock.advance(2_000_000);
    expect(clock.now()).toBe(T0 + 1_999_900);
    expect(clock.driftPpm).toBe(-50);
  });

  it('refuses negative or non-finite advances and absurd drift with coded errors', () => {
    const clock = new SimClock();
    expect(() => clock.advance(-1)).toThrow(/non-negative/);
    expect(() => clock.advance(Number.NaN)).toThrow(/finite/);
    try {
      clock.setDrift(2e6);
      expect.unreachable();
    } catch (err) {
      expect(isKeywayError(err, 'out_of_range')).toBe(true);
    }
  });
});

describe('RealClock', () => {
  it('runs monotonic and RTC time at speed x host time, with drift', () => {
    let host = 1000;
    const clock = new RealClock({ speed: 50, rtc: T0, driftPpm: 1000, hostNow: () => host });
    host += 200;
    expect(clock.monotonic()).toBe(10_000);
    expect(clock.now()).toBe(T0 + 10_010);
    clock.set(T0 + 5);
    host += 100;
    expect(clock.now()).toBe(T0 + 5 + 5005);
    clock.unknown();
    expect(clock.now()).toBeNull();
    clock.close();
  });

  it('scales timers by the speed factor (a 10 s timer at x1000 fires after about 10 ms)', async () => {
    const clock = new RealClock({ speed: 1000 });
    const at = await new Promise<number>((resolve) =>
      clock.setTimer(10_000, () => resolve(clock.monotonic())),
    );
    expect(at).toBeGreaterThanOrEqual(9_000);
    expect(clock.pendingTimers()).toBe(0);
    clock.close();
  });

  it('refuses a speed that is not positive', () => {
    expect(() => new RealClock({ speed: 0 })).toThrow(/speed/);
    expect(() => new RealClock({ speed: -3 })).toThrow(/speed/);
  });
});

describe('SeededRandom', () => {
  it('is deterministic per seed and independent of how the stream is split', () => {
    const a = new SeededRandom('scenario-1');
    const b = new SeededRandom('scenario-1');
    const whole = a.bytes(80);
    const parts = new Uint8Array([...b.bytes(7), ...b.bytes(33), ...b.bytes(40)]);
    expect(parts).toEqual(whole);
    expect(new SeededRandom('scenario-2').bytes(80)).not.toEqual(whole);
    expect(new SeededRandom(7).bytes(4)).toEqual(new SeededRandom('7').bytes(4));
  });

  it('returns exactly n bytes, including 0', () => {
    const r = new SeededRandom('x');
    expect(r.bytes(0)).toHaveLength(0);
    expect(r.bytes(65)).toHaveLength(65);
    expect(() => r.bytes(-1)).toThrow(/non-negative/);
  });
});
