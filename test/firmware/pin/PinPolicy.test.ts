import { describe, expect, it } from 'vitest';
import { checkPin, weakness } from '../../../firmware/pin/PinPolicy.ts';

const opts = { minLength: 4, maxLength: 10 };

describe('checkPin', () => {
  it.each(['2580', '1357', '8264', '0102', '12354', '9876012', '1122'])('accepts %s', (pin) => {
    expect(checkPin(pin, opts)).toEqual({ ok: true });
  });

  it.each([
    ['12a4', 'not_digits'],
    ['12 34', 'not_digits'],
    ['١٢٣٤', 'not_digits'], // Arabic-Indic digits are not keypad digits
    ['-123', 'not_digits'],
    ['', 'too_short'],
    ['582', 'too_short'],
    ['58261937410', 'too_long'],
    ['0000', 'weak_repeated'],
    ['7777777', 'weak_repeated'],
    ['1234', 'weak_sequence'],
    ['0123', 'weak_sequence'],
    ['3456789', 'weak_sequence'],
    ['9876', 'weak_sequence'],
    ['3210', 'weak_sequence'],
    ['7890', 'weak_sequence'], // 0 follows 9 on the keypad
    ['8901', 'weak_sequence'],
    ['9012', 'weak_sequence'],
    ['1098', 'weak_sequence'],
    ['0987', 'weak_sequence'],
    ['1234567890', 'weak_sequence'],
  ])('refuses %j as %s', (pin, code) => {
    const r = checkPin(pin, opts);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      if (pin.length > 0) expect(r.message).not.toContain(pin);
    }
  });

  it('force accepts weak PINs but never overrides digits or length', () => {
    expect(checkPin('1234', { ...opts, force: true })).toEqual({ ok: true });
    expect(checkPin('0000', { ...opts, force: true })).toEqual({ ok: true });
    expect(checkPin('111', { ...opts, force: true })).toMatchObject({ ok: false, code: 'too_short' });
    expect(checkPin('11111111111', { ...opts, force: true })).toMatchObject({ ok: false, code: 'too_long' });
    expect(checkPin('12x4', { ...opts, force: true })).toMatchObject({ ok: false, code: 'not_digits' });
  });

  it('messages say what is wrong without the PIN', () => {
    const r = checkPin('582', opts);
    expect(r).toEqual({ ok: false, code: 'too_short', message: 'a PIN needs at least 4 digits (got 3)' });
    const w = checkPin('4444', opts);
    expect(w.ok === false && w.message).toBe(
      'a PIN made of one repeated digit is too easy to guess (force to accept it)',
    );
  });

  it('counts exactly 20 weak codes per length of 4 or more (10 repeated + 10 up + 10 down - overlaps none)', () => {
    let repeated = 0;
    let sequence = 0;
    for (let i = 0; i < 10_000; i++) {
      const k = weakness(String(i).padStart(4, '0'));
      if (k === 'repeated') repeated++;
      if (k === 'sequence') sequence++;
    }
    expect(repeated).toBe(10);
    expect(sequence).toBe(20);
  });
});
