// THREATS 14: fuzzed frames and fragments, before and after the handshake. The lock must never throw at
// the transport, and nothing about the lock may change (users, settings, bolt, audit log).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWire } from '../../../ble-gatt/index.ts';
import { DAY, HOUR, T0 } from '../../helpers/lockFixture.ts';
import { makeWorld, SETUP_CODE, type World } from './world.ts';
import { RawLink, ikByHand } from './raw.ts';

let w: World | undefined;
afterEach(() => {
  w?.close();
  w = undefined;
});

function snapshot(world: World): string {
  const l = world.f.lock;
  return JSON.stringify({
    users: l.listUsers(),
    settings: l.settings,
    bolt: l.status().bolt,
    audit: l.audit.log.lastSeq,
    anchors: l.trustAnchors().length,
  });
}

const fragmentArb = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 300 }),
  // Plausible headers with random lengths and bodies.
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ maxLength: 200 }),
    )
    .map(([h, len, body]) => Uint8Array.from([h, len >> 8, len & 0xff, ...body])),
  // Whole valid-looking messages: CBOR maps with protocol keys and wrong values.
  fc
    .record({
      t: fc.constantFrom('hs.init', 'hs.fin', 'hs.resp', 'alert', 'x'),
      v: fc.integer({ min: 0, max: 300 }),
      p: fc.constantFrom('IK', 'XX', 'NN', ''),
      ch: fc.uint8Array({ maxLength: 20 }),
      m: fc.uint8Array({ maxLength: 120 }),
    })
    .map((r) => {
      const msg = encodeWire(r);
      return Uint8Array.from([0xc0, msg.length >> 8, msg.length & 0xff, ...msg]);
    }),
);

describe('THREATS 14: fuzzed frames and fragments', () => {
  it('random fragments on a fresh connection: no crash, no change', async () => {
    w = makeWorld({ limits: { challengeBurst: 100_000, maxSessions: 100_000 } });
    const world = w;
    world.presence = true;
    const owner = world.phone('owner');
    await owner.claim(world.link(), { setupCode: SETUP_CODE });
    const before = snapshot(world);
    fc.assert(
      fc.property(fc.array(fragmentArb, { minLength: 1, maxLength: 12 }), fc.boolean(), (frags, read) => {
        const link = new RawLink(world.service);
        if (read) link.session.readStatus();
        for (const f of frags) link.session.receive(f);
        link.session.closed();
        expect(snapshot(world)).toBe(before);
      }),
      { numRuns: 300 },
    );
  });

  it('random sealed messages and fragments inside an established session: no crash, no change', async () => {
    w = makeWorld({ limits: { challengeBurst: 100_000, maxSessions: 100_000 } });
    const world = w;
    world.presence = true;
    const owner = world.phone('owner');
    const guest = world.phone('guest');
    const { lockId } = await owner.claim(world.link(), { setupCode: SETUP_CODE });
    const ekey = owner.mint({
      lockId,
      holder: guest.holderPublic,
      role: 'guest',
      from: T0 - HOUR,
      until: T0 + DAY,
    });
    guest.importBundle(owner.bundle(lockId, ekey));
    const before = snapshot(world);
    fc.assert(
      fc.property(fc.array(fragmentArb, { minLength: 1, maxLength: 8 }), (frags) => {
        const link = new RawLink(world.service);
        const { channel } = ikByHand(link, {
          staticKey: guest.store.noiseKey(),
          lockKey: guest.lockRecord(lockId).lockKey,
          ekey,
          holderSeed: guest.store.holderSeed(),
        });
        expect(channel).not.toBeNull();
        for (const f of frags) link.session.receive(f);
        link.session.closed();
        expect(snapshot(world)).toBe(before);
      }),
      { numRuns: 150 },
    );
  });

  it('out-of-order, duplicated and interleaved fragments of a real message are refused cleanly', () => {
    w = makeWorld();
    const world = w;
    const link = new RawLink(world.service, 23);
    link.session.readStatus();
    // A 100-byte message at MTU 23 is 6 fragments; deliver them shuffled.
    const msg = encodeWire({ t: 'alert', code: 'x'.repeat(80) });
    const frags = [] as Uint8Array[];
    const size = 20;
    for (let at = 0, seq = 0; at < msg.length; seq++) {
      const first = at === 0;
      const take = Math.min(size - (first ? 3 : 1), msg.length - at);
      const last = at + take === msg.length;
      const head = (first ? 0x80 : 0) | (last ? 0x40 : 0) | (seq & 15);
      frags.push(
        Uint8Array.from([
          head,
          ...(first ? [msg.length >> 8, msg.length & 255] : []),
          ...msg.subarray(at, at + take),
        ]),
      );
      at += take;
    }
    link.session.receive(frags[0]!);
    link.session.receive(frags[2]!);
    expect(link.alert()).toBe('frame_error');
    const dup = new RawLink(world.service, 23);
    dup.session.receive(frags[0]!);
    dup.session.receive(frags[1]!);
    dup.session.receive(frags[1]!);
    expect(dup.alert()).toBe('frame_error');
    const inter = new RawLink(world.service, 23);
    inter.session.receive(frags[0]!);
    inter.session.receive(frags[0]!);
    expect(inter.alert()).toBe('frame_error');
  });
});
