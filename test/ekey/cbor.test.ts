// Strict CBOR: the one deterministic encoding in, a precise sub-reason for everything else.
import { describe, expect, it } from 'vitest';
import {
  CborError,
  decodeStrict,
  encodeCanonical,
  Tagged,
  type CborFailure,
  type StrictCborOptions,
} from '../../firmware/codec/StrictCbor.ts';
import { isKeywayError } from '../../firmware/errors.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function failure(input: string, opts?: StrictCborOptions): { failure: CborFailure; offset: number } {
  try {
    decodeStrict(hex(input), opts);
  } catch (err) {
    expect(isKeywayError(err, 'malformed')).toBe(true);
    const e = err as CborError;
    return { failure: e.failure, offset: e.offset };
  }
  throw new Error(`accepted ${input}`);
}

describe('encodeCanonical', () => {
  it('uses shortest heads at every boundary (RFC 8949 appendix A)', () => {
    const cases: Array<[unknown, string]> = [
      [0, '00'],
      [23, '17'],
      [24, '1818'],
      [255, '18ff'],
      [256, '190100'],
      [65535, '19ffff'],
      [65536, '1a00010000'],
      [4294967295, '1affffffff'],
      [4294967296, '1b0000000100000000'],
      [-1, '20'],
      [-24, '37'],
      [-25, '3818'],
      [-65537, '3a00010000'],
      ['IETF', '6449455446'],
      [new Uint8Array([1, 2]), '420102'],
      [[1, [2, 3]], '8201820203'],
      [true, 'f5'],
      [null, 'f6'],
      [new Tagged(18, []), 'd280'],
    ];
    for (const [v, h] of cases) expect(toHex(encodeCanonical(v)), String(v)).toBe(h);
  });

  it('sorts map keys bytewise by encoding: positive ints, negative ints, then text', () => {
    const m = new Map<number | string, unknown>([
      ['a', 1],
      [-1, 2],
      [10, 3],
      [1, 4],
      [-65537, 5],
    ]);
    // 01, 0a, 20, 3a00010000, 6161
    expect(toHex(encodeCanonical(m))).toBe('a5' + '0104' + '0a03' + '2002' + '3a0001000005' + '616101');
  });

  it('refuses non-integers unless floats are asked for, then shortest float', () => {
    expect(() => encodeCanonical(1.5)).toThrow(/not a safe integer/);
    expect(toHex(encodeCanonical(1.5, { floats: true }))).toBe('f93e00');
    expect(toHex(encodeCanonical(100000.5, { floats: true }))).toBe('fa47c35040');
    expect(toHex(encodeCanonical(1.1, { floats: true }))).toBe('fb3ff199999999999a');
  });
});

describe('decodeStrict', () => {
  it('round-trips nested values', () => {
    const v = new Map<number | string, unknown>([
      [1, 'iss'],
      [3, ['a', 'b']],
      [-65538, [[0, 9, 540, 720]]],
      [8, new Map([[1, new Map([[1, 1]])]])],
    ]);
    const bytes = encodeCanonical(v);
    expect(decodeStrict(bytes)).toEqual(v);
    expect(toHex(encodeCanonical(decodeStrict(bytes)))).toBe(toHex(bytes));
  });

  it('decodes tags only when allowed', () => {
    expect(decodeStrict(hex('d280'), { tags: [18] })).toEqual(new Tagged(18, []));
    expect(failure('d280')).toEqual({ failure: 'forbidden_tag', offset: 0 });
  });

  it.each<[string, string, CborFailure, number]>([
    ['empty input', '', 'empty', 0],
    ['a truncated head', '19 01', 'truncated', 1],
    ['a truncated string', '43 0102', 'truncated', 1],
    ['trailing bytes', '01 02', 'trailing_bytes', 1],
    ['1-byte form for < 24', '18 17', 'non_shortest', 0],
    ['2-byte form for < 256', '19 00ff', 'non_shortest', 0],
    ['4-byte form for < 65536', '1a 0000ffff', 'non_shortest', 0],
    ['8-byte form for < 2^32', '1b 00000000ffffffff', 'non_shortest', 0],
    ['non-shortest negative', '38 00', 'non_shortest', 0],
    ['non-shortest length', '58 01 00', 'non_shortest', 0],
    ['an indefinite-length array', '9f 01 ff', 'indefinite_length', 0],
    ['an indefinite-length string', '5f 41 00 ff', 'indefinite_length', 0],
    ['a stray break', 'ff', 'indefinite_length', 0],
    ['reserved additional info', '1c', 'reserved_info', 0],
    ['an integer beyond 2^53', '1b 0020000000000000', 'int_out_of_range', 0],
    ['invalid UTF-8', '62 c328', 'invalid_utf8', 0],
    ['a duplicate map key', 'a2 01 00 01 00', 'duplicate_key', 3],
    ['unsorted map keys', 'a2 02 00 01 00', 'unsorted_keys', 3],
    ['a float', 'f9 3e00', 'forbidden_float', 0],
    ['undefined', 'f7', 'forbidden_simple', 0],
    ['an unassigned simple value', 'f0', 'forbidden_simple', 0],
    ['a two-byte simple value below 32', 'f8 10', 'non_shortest', 0],
    ['an array claiming more items than bytes', '9a 7fffffff 00', 'truncated', 5],
  ])('refuses %s', (_name, input, want, offset) => {
    expect(failure(input)).toEqual({ failure: want, offset });
  });

  it('finds duplicate keys also when order is not required', () => {
    expect(failure('a2 02 00 02 01', { sortedKeys: false }).failure).toBe('duplicate_key');
    expect(decodeStrict(hex('a2 02 00 01 00'), { sortedKeys: false })).toEqual(
      new Map([
        [2, 0],
        [1, 0],
      ]),
    );
  });

  it('enforces size, depth, item and key-type limits', () => {
    expect(failure('43 010203', { maxBytes: 3 }).failure).toBe('too_large');
    expect(failure('81 81 81 00', { maxDepth: 2 }).failure).toBe('too_deep');
    expect(failure('83 01 02 03', { maxItems: 3 }).failure).toBe('too_many_items');
    expect(failure('a1 6161 00', { keyTypes: 'int' }).failure).toBe('bad_key_type');
    expect(failure('a1 80 00').failure).toBe('bad_key_type');
  });

  it('accepts only shortest floats when floats are allowed', () => {
    expect(decodeStrict(hex('f9 3e00'), { floats: true })).toBe(1.5);
    expect(failure('fa 3fc00000', { floats: true }).failure).toBe('non_shortest');
    expect(failure('fb 3ff8000000000000', { floats: true }).failure).toBe('non_shortest');
    expect(decodeStrict(hex('fb 3ff199999999999a'), { floats: true })).toBe(1.1);
  });

  it('never crashes on random bytes: a value or a CborError', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let i = 0; i < 3000; i++) {
      const b = Uint8Array.from({ length: 1 + (i % 12) }, rnd);
      try {
        decodeStrict(b, { tags: [18], floats: true });
      } catch (err) {
        expect(err).toBeInstanceOf(CborError);
      }
    }
  });
});
