import { describe, expect, it } from 'vitest';
import { VirtualBoard, type LockInputs } from '../../sim/board/index.ts';
import { SimClock } from '../../sim/clock/index.ts';

/** Records what the board pushes into the lock (the lock itself is tested in test/firmware). */
function recorder(): LockInputs & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    pressKey: (k) => void calls.push(`key ${k}`),
    insideButton: () => calls.push('button'),
    doorChanged: (open) => void calls.push(`door ${open}`),
    tamperChanged: (on) => void calls.push(`tamper ${on}`),
    presentCard: (uid) => calls.push(`card ${uid}`),
    presentFingerprint: (id) => calls.push(`finger ${id}`),
  };
}

describe('VirtualBoard', () => {
  it('moves the bolt in travelMs, reporting ok only when it arrives, and drains the battery per run', () => {
    const clock = new SimClock();
    const board = new VirtualBoard({ clock, travelMs: 800, batteryPercent: 50, drainPerRun: 0.5 });
    const results: string[] = [];
    board.driveBolt('unlocked', (r) => results.push(r));
    expect(board.state()).toMatchObject({ bolt: 'unlocking', motorRunning: true, batteryPercent: 49.5 });
    clock.advance(799);
    expect(results).toEqual([]);
    clock.advance(1);
    expect(results).toEqual(['ok']);
    expect(board.state()).toMatchObject({ bolt: 'unlocked', motorRunning: false, motorRuns: 1 });
  });

  it('jams the next run only (next) or every run (always)', () => {
    const clock = new SimClock();
    const board = new VirtualBoard({ clock });
    const results: string[] = [];
    board.setJam('next');
    board.driveBolt('unlocked', (r) => results.push(r));
    clock.advance(800);
    expect(board.state().bolt).toBe('jammed');
    board.driveBolt('locked', (r) => results.push(r));
    clock.advance(800);
    board.setJam('always');
    board.driveBolt('unlocked', (r) => results.push(r));
    clock.advance(800);
    board.driveBolt('unlocked', (r) => results.push(r));
    clock.advance(800);
    expect(results).toEqual(['jammed', 'ok', 'jammed', 'jammed']);
  });

  it('queues a command given while the motor runs', () => {
    const clock = new SimClock();
    const board = new VirtualBoard({ clock, travelMs: 100 });
    const log: string[] = [];
    board.driveBolt('unlocked', (r) => log.push(`unlocked ${r} @${clock.monotonic()}`));
    board.driveBolt('locked', (r) => log.push(`locked ${r} @${clock.monotonic()}`));
    clock.advance(500);
    expect(log).toEqual(['unlocked ok @100', 'locked ok @200']);
    expect(board.state().bolt).toBe('locked');
  });

  it('with a flat battery the motor does not turn: the run reports jammed, asynchronously', () => {
    const clock = new SimClock();
    const board = new VirtualBoard({ clock, batteryPercent: 0 });
    const results: string[] = [];
    board.driveBolt('unlocked', (r) => results.push(r));
    expect(results).toEqual([]);
    clock.advance(0);
    expect(results).toEqual(['jammed']);
    expect(board.state().motorRuns).toBe(0);
  });

  it('forwards keypad, button, door, tamper, card and finger inputs to the attached lock', () => {
    const board = new VirtualBoard({ clock: new SimClock() });
    const lock = recorder();
    board.attach(lock);
    board.typeKeys('12#');
    board.pressButton();
    board.setDoor(true);
    board.setDoor(true); // no change, no event
    board.setTamper(true);
    board.presentCard('04A1B2C3');
    board.presentFingerprint(3);
    expect(lock.calls).toEqual([
      'key 1',
      'key 2',
      'key #',
      'button',
      'door true',
      'tamper true',
      'card 04A1B2C3',
      'finger 3',
    ]);
    expect(board.doorOpen()).toBe(true);
  });

  it('refuses bad input before pressing anything', () => {
    const board = new VirtualBoard({ clock: new SimClock() });
    const lock = recorder();
    board.attach(lock);
    expect(() => board.typeKeys('12a#')).toThrow(/keys 0-9, # and \*/);
    expect(lock.calls).toEqual([]);
    expect(() => board.setBattery(101)).toThrow(/0 to 100/);
    expect(() => new VirtualBoard({ clock: new SimClock(), travelMs: -1 })).toThrow(/travel/);
  });
});
