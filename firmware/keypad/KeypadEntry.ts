// Keypad entry buffer (THREATS 30): digits accumulate, '#' submits and resets, '*' clears, an idle timeout
// clears. There is no rolling match: nothing is ever tested until '#', and an entry longer than maxEntry is
// void as a whole, so typing a de Bruijn sequence never tests a single code. See docs/keypad.md.
import type { Clock, TimerHandle } from '../types.ts';
import { KeywayError } from '../errors.ts';

export type KeypadOutcome =
  | { kind: 'buffering' }
  | { kind: 'cleared' }
  | { kind: 'submit'; digits: string }
  | { kind: 'overflow' }
  | { kind: 'ignored' };

export interface KeypadEntryOptions {
  /** Longest entry accepted; one more digit voids the entry ('overflow'). */
  maxEntry: number;
  /** Idle time after the last key press after which the entry is cleared. */
  idleMs: number;
  clock: Clock;
  /** Called when the idle timeout cleared a non-empty (or voided) entry. */
  onTimeout?: () => void;
}

/**
 * States: idle (empty), buffering (1..maxEntry digits), void (an entry overflowed; digits are swallowed
 * until '#', '*' or the idle timeout, so the overflow counts once and no part of it is ever submitted).
 */
export class KeypadEntry {
  readonly #maxEntry: number;
  readonly #idleMs: number;
  readonly #clock: Clock;
  readonly #onTimeout: (() => void) | undefined;
  #digits = '';
  #void = false;
  #timer: TimerHandle | null = null;

  constructor(opts: KeypadEntryOptions) {
    if (!Number.isSafeInteger(opts.maxEntry) || opts.maxEntry < 1) {
      throw new KeywayError(
        'invalid_argument',
        `maxEntry must be a positive integer (got ${String(opts.maxEntry)})`,
      );
    }
    if (!Number.isFinite(opts.idleMs) || opts.idleMs <= 0) {
      throw new KeywayError(
        'invalid_argument',
        `idleMs must be a positive number (got ${String(opts.idleMs)})`,
      );
    }
    this.#maxEntry = opts.maxEntry;
    this.#idleMs = opts.idleMs;
    this.#clock = opts.clock;
    this.#onTimeout = opts.onTimeout;
  }

  /** Digits currently buffered (0 while idle or void). */
  get length(): number {
    return this.#digits.length;
  }

  press(key: string): KeypadOutcome {
    if (key.length === 1 && key >= '0' && key <= '9') return this.#digit(key);
    if (key === '*') {
      this.clear();
      return { kind: 'cleared' };
    }
    if (key === '#') {
      if (this.#void) {
        this.clear();
        return { kind: 'cleared' };
      }
      if (this.#digits.length === 0) return { kind: 'ignored' };
      const digits = this.#digits;
      this.clear();
      return { kind: 'submit', digits };
    }
    return { kind: 'ignored' };
  }

  /** Discards the entry and stops the idle timer (also used by the engine on lockout and close). */
  clear(): void {
    this.#digits = '';
    this.#void = false;
    if (this.#timer !== null) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = null;
    }
  }

  #digit(d: string): KeypadOutcome {
    this.#restartTimer();
    if (this.#void) return { kind: 'ignored' };
    if (this.#digits.length >= this.#maxEntry) {
      this.#digits = '';
      this.#void = true;
      return { kind: 'overflow' };
    }
    this.#digits += d;
    return { kind: 'buffering' };
  }

  #restartTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = this.#clock.setTimer(this.#idleMs, () => {
      this.#timer = null;
      this.#digits = '';
      this.#void = false;
      this.#onTimeout?.();
    });
  }
}

/**
 * The codes one submitted entry is tested against: the entry itself first, then (anti-peeping) every
 * contiguous substring whose length is in [minLen, maxLen], longest first, each once.
 */
export function pinCandidates(entry: string, minLen: number, maxLen: number, antiPeeping: boolean): string[] {
  if (!antiPeeping) return [entry];
  const seen = new Set<string>([entry]);
  const out = [entry];
  for (let len = Math.min(maxLen, entry.length); len >= minLen && len >= 1; len--) {
    for (let i = 0; i + len <= entry.length; i++) {
      const s = entry.slice(i, i + len);
      if (!seen.has(s)) {
        seen.add(s);
        out.push(s);
      }
    }
  }
  return out;
}

/**
 * How many wrong attempts a failed entry counts for. Without anti-peeping: 1. With it: the largest number of
 * distinct codes of any one length the entry tested (at least 1). An attacker who knows the PIN length L gets
 * no more L-digit guesses per lockout window than by typing codes one at a time; see docs/keypad.md.
 */
export function failureWeight(entry: string, minLen: number, maxLen: number, antiPeeping: boolean): number {
  if (!antiPeeping) return 1;
  let weight = 1;
  for (let len = Math.max(1, minLen); len <= Math.min(maxLen, entry.length); len++) {
    const distinct = new Set<string>();
    for (let i = 0; i + len <= entry.length; i++) distinct.add(entry.slice(i, i + len));
    if (distinct.size > weight) weight = distinct.size;
  }
  return weight;
}
