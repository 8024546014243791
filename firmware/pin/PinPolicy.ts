// PIN policy (THREATS 35): digits only, length within the lock's bounds, and no trivially guessable PIN
// (one repeated digit, a straight run up or down) unless the caller forces it. See docs/keypad.md.
//
// Runs wrap around 9 -> 0 (7890, 8901, 9012 ascending; 1098, 0987 descending): on a phone-style keypad
// 0 follows 9, and "7890"/"890" style codes appear in published lists of the most common PINs. Treating
// them as weak costs only 20 more refused codes per length.

export type PinProblem = 'not_digits' | 'too_short' | 'too_long' | 'weak_repeated' | 'weak_sequence';

export type PinCheck = { ok: true } | { ok: false; code: PinProblem; message: string };

export interface PinPolicyOptions {
  minLength: number;
  maxLength: number;
  /** Accept a weak PIN deliberately. Never overrides the digit and length rules. */
  force?: boolean;
}

const DIGITS = /^[0-9]*$/;

/** Checks a PIN against the policy. Messages never contain the PIN itself. */
export function checkPin(pin: string, opts: PinPolicyOptions): PinCheck {
  if (!DIGITS.test(pin)) return fail('not_digits', 'a PIN may contain only the digits 0-9');
  if (pin.length < opts.minLength) {
    return fail('too_short', `a PIN needs at least ${opts.minLength} digits (got ${pin.length})`);
  }
  if (pin.length > opts.maxLength) {
    return fail('too_long', `a PIN may have at most ${opts.maxLength} digits (got ${pin.length})`);
  }
  if (opts.force === true) return { ok: true };
  const weak = weakness(pin);
  if (weak === 'repeated') {
    return fail(
      'weak_repeated',
      'a PIN made of one repeated digit is too easy to guess (force to accept it)',
    );
  }
  if (weak === 'sequence') {
    return fail(
      'weak_sequence',
      'a PIN that is a straight run of digits (up or down, 9 wrapping to 0) is too easy to guess (force to accept it)',
    );
  }
  return { ok: true };
}

/** 'repeated' (0000), 'sequence' (1234, 9876, 8901, 1098) or null. Exported for the docs' tables and tests. */
export function weakness(pin: string): 'repeated' | 'sequence' | null {
  if (pin.length < 2) return null;
  const first = pin.charCodeAt(0) - 48;
  const step = (pin.charCodeAt(1) - 48 - first + 10) % 10;
  if (step !== 0 && step !== 1 && step !== 9) return null;
  for (let i = 1; i < pin.length; i++) {
    const d = pin.charCodeAt(i) - 48;
    if (d !== (first + i * step) % 10) return null;
  }
  return step === 0 ? 'repeated' : 'sequence';
}

function fail(code: PinProblem, message: string): PinCheck {
  return { ok: false, code, message };
}
