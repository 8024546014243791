// Framing byte for byte, every reassembly failure with its code, and round-trip / garbage properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBleError, type BleErrorReason } from '../../ble-gatt/errors.ts';
import { Reassembler, fragment, fragmentSizeForMtu } from '../../ble-gatt/Framing.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

class ManualClock {
  t = 1000;
  monotonic(): number {
    return this.t;
  }
}

function expectReason(fn: () => unknown, reason: BleErrorReason): void {
  try {
    fn();
  } catch (err) {
    expect(isBleError(err) ? err.reason : err).toBe(reason);
    return;
  }
  expect.unreachable(`expected ${reason}`);
}

describe('fragment()', () => {
  it('puts a short message in one fragment: FIRST|LAST, seq 0, length BE, data', () => {
    expect(fragment(hex('a1 61 74 01'), 23).map(toHex)).toEqual([
      // c0 = FIRST|LAST seq 0 | 0004 = length | message
      'c00004a1617401',
    ]);
  });

  it('splits at MTU 23 into 20-byte writes: 17 data bytes first, then 19 per continuation', () => {
    const msg = seq(40);
    const frags = fragment(msg, 23);
    expect(frags.map(toHex)).toEqual([
      // 80 FIRST seq 0, 0028 = 40 bytes, data 00..10
      '800028' + toHex(seq(17)),
      // 01 continuation seq 1, data 11..23
      '01' + toHex(seq(19, 17)),
      // 42 LAST seq 2, data 24..27
      '42' + toHex(seq(4, 36)),
    ]);
    for (const f of frags) expect(f.length).toBeLessThanOrEqual(20);
  });

  it('wraps the sequence nibble after 15', () => {
    const frags = fragment(seq(17 + 19 * 16), 23);
    expect(frags).toHaveLength(17);
    expect(frags.map((f) => f[0])).toEqual([0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x40]);
  });

  it('caps a fragment at 512 bytes even at MTU 517', () => {
    expect(fragmentSizeForMtu(517)).toBe(512);
    expect(fragmentSizeForMtu(185)).toBe(182);
    const frags = fragment(seq(1000), 517);
    expect(frags.map((f) => f.length)).toEqual([512, 1 + (1000 - 509)]);
  });

  it('refuses empty and oversize messages and impossible MTUs', () => {
    expectReason(() => fragment(new Uint8Array(0), 23), 'frame.empty');
    expectReason(() => fragment(new Uint8Array(4097), 23), 'frame.too_large');
    expectReason(() => fragment(seq(4), 22), 'frame.bad_header');
    expectReason(() => fragment(seq(4), 518), 'frame.bad_header');
    expectReason(() => fragment(seq(4), 23.5), 'frame.bad_header');
  });
});

describe('Reassembler', () => {
  const make = (limits = {}, mtu?: number) => {
    const clock = new ManualClock();
    return { clock, r: new Reassembler({ clock, limits, mtu }) };
  };

  it('reassembles fragments and is ready for the next message', () => {
    const { r } = make();
    const [a, b, c] = fragment(seq(40), 23) as [Uint8Array, Uint8Array, Uint8Array];
    expect(r.push(a)).toBeNull();
    expect(r.busy).toBe(true);
    expect(r.push(b)).toBeNull();
    expect(toHex(r.push(c)!)).toBe(toHex(seq(40)));
    expect(r.busy).toBe(false);
    expect(toHex(r.push(hex('c0000107'))!)).toBe('07');
  });

  const cases: [string, string[], BleErrorReason][] = [
    ['an empty write', [''], 'frame.truncated'],
    ['a header without data', ['01'], 'frame.truncated'],
    ['a first fragment cut inside its length', ['c000'], 'frame.truncated'],
    ['a first fragment with length but no data', ['c00001'], 'frame.truncated'],
    ['reserved bits', ['f0000107'], 'frame.bad_header'],
    ['declared length 0', ['c0000007'], 'frame.empty'],
    ['declared length over 4 KiB', ['80100107'], 'frame.too_large'],
    ['a continuation first', ['0107'], 'frame.unexpected_continuation'],
    ['a LAST continuation first', ['4107'], 'frame.unexpected_continuation'],
    ['a first fragment with sequence 3', ['83000207'], 'frame.out_of_order'],
    ['a new message inside another', ['8000030102', '80000101'], 'frame.interleaved'],
    ['a duplicated fragment', ['80000501', '0102', '0102'], 'frame.duplicate'],
    ['a missing fragment', ['80000501', '0102', '4304'], 'frame.out_of_order'],
    ['fragments out of order', ['80000501', '0203'], 'frame.out_of_order'],
    ['more data than declared', ['80000201', '410203'], 'frame.overrun'],
    ['more data than declared in one fragment', ['c000020102ff'], 'frame.overrun'],
    ['LAST before the declared length', ['80000401', '4102'], 'frame.length_mismatch'],
    ['declared length reached without LAST', ['80000201', '0102'], 'frame.length_mismatch'],
    ['a single fragment whose length disagrees', ['c0000301'], 'frame.length_mismatch'],
  ];
  for (const [name, frags, reason] of cases) {
    it(`refuses ${name} with ${reason}`, () => {
      const { r } = make();
      const bytes = frags.map(hex);
      for (const f of bytes.slice(0, -1)) expect(r.push(f)).toBeNull();
      expectReason(() => r.push(bytes.at(-1)!), reason);
      // The partial message is gone; a fresh message is accepted.
      expect(r.busy).toBe(false);
      expect(toHex(r.push(hex('c00001aa'))!)).toBe('aa');
    });
  }

  it('refuses a fragment longer than the MTU allows', () => {
    const { r } = make({}, 23);
    expectReason(() => r.push(new Uint8Array(21).fill(0)), 'frame.fragment_too_long');
  });

  it('limits the fragment count', () => {
    const { r } = make({ maxFragments: 3 });
    r.push(hex('80000a01'));
    r.push(hex('0102'));
    r.push(hex('0203'));
    expectReason(() => r.push(hex('0304')), 'frame.too_many_fragments');
  });

  it('limits the time between first and last fragment with the injected clock', () => {
    const { r, clock } = make({ timeoutMs: 5000 });
    r.push(hex('80000301'));
    clock.t += 5000;
    expect(r.push(hex('0102'))).toBeNull();
    clock.t += 1;
    expectReason(() => r.push(hex('4203')), 'frame.timeout');
  });

  it('expire() drops a stale partial message and lets a new first fragment in', () => {
    const { r, clock } = make({ timeoutMs: 100 });
    r.push(hex('80000301'));
    expect(r.expire()).toBe(false);
    clock.t += 101;
    expect(r.expire()).toBe(true);
    expect(r.busy).toBe(false);
    r.push(hex('80000301'));
    clock.t += 101;
    // A new FIRST after the old one timed out replaces it without error.
    expect(toHex(r.push(hex('c00001bb'))!)).toBe('bb');
  });

  it('round-trips any message at any MTU (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 4096 }),
        fc.integer({ min: 23, max: 517 }),
        (msg, mtu) => {
          const r = new Reassembler({ clock: new ManualClock(), mtu });
          const frags = fragment(msg, mtu);
          const size = fragmentSizeForMtu(mtu);
          let out: Uint8Array | null = null;
          frags.forEach((f, i) => {
            expect(f.length).toBeLessThanOrEqual(size);
            out = r.push(f);
            if (i < frags.length - 1) expect(out).toBeNull();
          });
          expect(out).not.toBeNull();
          expect(Buffer.from(out!).equals(Buffer.from(msg))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws anything but a coded frame error on garbage (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 60 }), (writes) => {
        const r = new Reassembler({
          clock: new ManualClock(),
          limits: { maxMessageSize: 256, maxFragments: 16 },
        });
        for (const w of writes) {
          try {
            const out = r.push(w);
            if (out !== null) expect(out.length).toBeLessThanOrEqual(256);
          } catch (err) {
            expect(isBleError(err)).toBe(true);
            expect((err as { reason: string }).reason.startsWith('frame.')).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
