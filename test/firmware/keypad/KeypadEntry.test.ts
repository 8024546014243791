import { describe, expect, it } from 'vitest';
import {
  KeypadEntry,
  failureWeight,
  pinCandidates,
  type KeypadOutcome,
} from '../../../firmware/keypad/KeypadEntry.ts';
import type { Clock, TimerHandle } from '../../../firmware/types.ts';

/** Minimal fake clock: timers fire only when advance() passes their due time. */
class FakeClock implements Clock {
  t = 0;
  #next = 1;
  timers = new Map<number, { due: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.#next++;
    this.timers.set(id, { due: this.t + ms, fn });
    return { id };
  }
  clearTimer(h: TimerHandle): void {
    this.timers.delete(h.id);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, x]) => x.due <= end)
        .sort((a, b) => a[1].due - b[1].due)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.t = due[1].due;
      due[1].fn();
    }
    this.t = end;
  }
}

/** de Bruijn sequence B(k, n) (Fredricksen-Kessler-Maiorana), linearised so every n-digit code appears. */
function deBruijn(k: number, n: number): string {
  const a = new Array<number>(k * n).fill(0);
  const seq: number[] = [];
  const db = (t: number, p: number): void => {
    if (t > n) {
      if (n % p === 0) seq.push(...a.slice(1, p + 1));
    } else {
      a[t] = a[t - p] as number;
      db(t + 1, p);
      for (let j = (a[t - p] as number) + 1; j < k; j++) {
        a[t] = j;
        db(t + 1, t);
      }
    }
  };
  db(1, 1);
  const s = seq.join('');
  return s + s.slice(0, n - 1);
}

function setup(maxEntry = 16, idleMs = 5000) {
  const clock = new FakeClock();
  let timeouts = 0;
  const pad = new KeypadEntry({ maxEntry, idleMs, clock, onTimeout: () => timeouts++ });
  const type = (keys: string): KeypadOutcome[] => [...keys].map((k) => pad.press(k));
  return { clock, pad, type, timeouts: () => timeouts };
}

describe('KeypadEntry', () => {
  it('buffers digits and submits them on #, then starts afresh', () => {
    const { pad, type } = setup();
    expect(type('2580')).toEqual(Array(4).fill({ kind: 'buffering' }));
    expect(pad.length).toBe(4);
    expect(pad.press('#')).toEqual({ kind: 'submit', digits: '2580' });
    expect(pad.length).toBe(0);
    type('13');
    expect(pad.press('#')).toEqual({ kind: 'submit', digits: '13' });
  });

  it('# on an empty buffer submits nothing', () => {
    const { pad } = setup();
    expect(pad.press('#')).toEqual({ kind: 'ignored' });
  });

  it('* clears', () => {
    const { pad, type } = setup();
    type('999');
    expect(pad.press('*')).toEqual({ kind: 'cleared' });
    expect(pad.length).toBe(0);
    type('12');
    expect(pad.press('#')).toEqual({ kind: 'submit', digits: '12' });
  });

  it('ignores unknown keys without touching the buffer', () => {
    const { pad, type } = setup();
    type('12');
    for (const k of ['A', '', '12', 'x', ' ', '٣', '##']) expect(pad.press(k)).toEqual({ kind: 'ignored' });
    expect(pad.length).toBe(2);
  });

  it('an entry beyond maxEntry overflows once, swallows digits until # or *, and submits nothing', () => {
    const { pad, type } = setup(6);
    expect(type('123456').every((o) => o.kind === 'buffering')).toBe(true);
    expect(pad.press('7')).toEqual({ kind: 'overflow' });
    expect(pad.length).toBe(0);
    expect(type('2580')).toEqual(Array(4).fill({ kind: 'ignored' }));
    expect(pad.press('#')).toEqual({ kind: 'cleared' });
    type('2580');
    expect(pad.press('#')).toEqual({ kind: 'submit', digits: '2580' });
    type('1234567');
    expect(pad.press('*')).toEqual({ kind: 'cleared' });
    expect(type('1#')).toEqual([{ kind: 'buffering' }, { kind: 'submit', digits: '1' }]);
  });

  it('the idle timeout clears the buffer and reports it; every key restarts it', () => {
    const { pad, type, clock, timeouts } = setup(16, 5000);
    type('12');
    clock.advance(4999);
    expect(pad.length).toBe(2);
    type('3'); // restarts the timer
    clock.advance(4999);
    expect(pad.length).toBe(3);
    expect(timeouts()).toBe(0);
    clock.advance(1);
    expect(pad.length).toBe(0);
    expect(timeouts()).toBe(1);
    type('4');
    expect(pad.press('#')).toEqual({ kind: 'submit', digits: '4' });
    clock.advance(60_000); // nothing pending after a submit
    expect(timeouts()).toBe(1);
    expect(clock.timers.size).toBe(0);
  });

  it('the idle timeout also ends an overflowed entry', () => {
    const { pad, type, clock, timeouts } = setup(4, 1000);
    type('12345');
    clock.advance(1000);
    expect(timeouts()).toBe(1);
    type('2580');
    expect(pad.press('#')).toEqual({ kind: 'submit', digits: '2580' });
  });

  it('clear() discards the entry and cancels the timer', () => {
    const { pad, type, clock, timeouts } = setup();
    type('12');
    pad.clear();
    expect(pad.length).toBe(0);
    expect(clock.timers.size).toBe(0);
    clock.advance(10_000);
    expect(timeouts()).toBe(0);
  });

  it('refuses nonsensical options', () => {
    const clock = new FakeClock();
    expect(() => new KeypadEntry({ maxEntry: 0, idleMs: 1000, clock })).toThrow(
      /maxEntry must be a positive integer/,
    );
    expect(() => new KeypadEntry({ maxEntry: 4, idleMs: 0, clock })).toThrow(
      /idleMs must be a positive number/,
    );
  });
});

describe('de Bruijn attack (THREATS 30)', () => {
  const sequence = deBruijn(10, 4);
  it('the generated sequence contains every 4-digit code', () => {
    expect(sequence.length).toBe(10_003);
    const codes = new Set<string>();
    for (let i = 0; i + 4 <= sequence.length; i++) codes.add(sequence.slice(i, i + 4));
    expect(codes.size).toBe(10_000);
  });

  it('typed without # never submits anything', () => {
    const { type } = setup(16);
    const outcomes = type(sequence);
    expect(outcomes.filter((o) => o.kind === 'submit')).toEqual([]);
    expect(outcomes.filter((o) => o.kind === 'overflow')).toHaveLength(1);
  });

  it('typed without # but pausing (idle timeouts) never submits anything either', () => {
    const { type, clock, timeouts } = setup(16, 5000);
    const outcomes: KeypadOutcome[] = [];
    for (let i = 0; i < sequence.length; i += 16) {
      outcomes.push(...type(sequence.slice(i, i + 16)));
      clock.advance(5000);
    }
    expect(outcomes.some((o) => o.kind === 'submit')).toBe(false);
    expect(timeouts()).toBe(Math.ceil(sequence.length / 16));
  });

  it('typed with # at the end counts as an overflow, not a submission', () => {
    const { type } = setup(16);
    const outcomes = type(sequence + '#');
    expect(outcomes.filter((o) => o.kind === 'submit')).toEqual([]);
    expect(outcomes.filter((o) => o.kind === 'overflow')).toHaveLength(1);
    expect(outcomes.at(-1)).toEqual({ kind: 'cleared' });
  });

  it('typed in maximal chunks each ending with #, each chunk costs as many attempts as codes it tests', () => {
    const { type } = setup(16);
    let tested = 0;
    let charged = 0;
    for (let i = 0; i + 16 <= 16 * 20; i += 13) {
      const out = type(sequence.slice(i, i + 16) + '#').at(-1);
      expect(out?.kind).toBe('submit');
      if (out?.kind === 'submit') {
        tested += pinCandidates(out.digits, 4, 4, true).filter((c) => c.length === 4).length;
        charged += failureWeight(out.digits, 4, 4, true);
      }
    }
    expect(charged).toBeGreaterThanOrEqual(tested);
  });
});

describe('pinCandidates', () => {
  it('is just the entry without anti-peeping', () => {
    expect(pinCandidates('9912583', 4, 6, false)).toEqual(['9912583']);
  });

  it('lists the entry, then every substring of an allowed length, longest first, once each', () => {
    expect(pinCandidates('12345', 4, 4, true)).toEqual(['12345', '1234', '2345']);
    expect(pinCandidates('123456', 4, 5, true)).toEqual(['123456', '12345', '23456', '1234', '2345', '3456']);
    expect(pinCandidates('1111111', 4, 6, true)).toEqual(['1111111', '111111', '11111', '1111']);
    expect(pinCandidates('2580', 4, 10, true)).toEqual(['2580']);
    expect(pinCandidates('25', 4, 10, true)).toEqual(['25']);
  });
});

describe('failureWeight', () => {
  it('is 1 without anti-peeping', () => {
    expect(failureWeight('1234567890123456', 4, 10, false)).toBe(1);
  });

  it('is the most distinct codes of one length the entry tested', () => {
    expect(failureWeight('9182736450192837', 4, 10, true)).toBe(13); // 16 digits: 13 four-digit windows
    expect(failureWeight('1234567890123456', 4, 10, true)).toBe(10); // 1234, 2345, 3456 occur twice
    expect(failureWeight('2580', 4, 10, true)).toBe(1);
    expect(failureWeight('25801', 4, 10, true)).toBe(2);
    expect(failureWeight('11111111', 4, 8, true)).toBe(1);
    expect(failureWeight('258', 4, 10, true)).toBe(1);
    // More distinct 3-digit than 2-digit windows: the larger count is charged.
    expect(failureWeight('0000100', 2, 3, true)).toBe(4);
  });
});
