// THREATS.md items 1-3, 9-12, 15, 17, 39-41 tried through the same interface an attacker has: the bytes
// a phone (or a radio recorder) sends to the lock's GATT characteristics.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeClaims, decodeSign1, keyPairFromSeed, mintEkey } from '../../../firmware/index.ts';
import {
  decodeIncoming,
  decodeStatus,
  encodeRequest,
  encodeSealed,
  encodeWire,
  keyPairFromPrivate,
} from '../../../ble-gatt/index.ts';
import { PhoneSessionError } from '../../../ble-gatt/client/PhoneSession.ts';
import type { Phone } from '../../../ble-gatt/client/Phone.ts';
import { DAY, HOUR, T0 } from '../../helpers/lockFixture.ts';
import { SeededRandom } from '../../helpers/SeededRandom.ts';
import { makeWorld, SETUP_CODE, type World } from './world.ts';
import { RawLink, ikByHand, sendRequest } from './raw.ts';

let worlds: World[] = [];
afterEach(() => {
  for (const w of worlds) w.close();
  worlds = [];
});

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PhoneSessionError) return `${err.kind}:${err.reason}`;
    throw err;
  }
  return 'ok';
}

interface Claimed {
  w: World;
  owner: Phone;
  guest: Phone;
  lockId: string;
  guestEkey: Uint8Array;
}

async function claimed(opts: Parameters<typeof makeWorld>[0] = {}): Promise<Claimed> {
  const w = makeWorld(opts);
  worlds.push(w);
  const owner = w.phone('owner');
  const guest = w.phone('guest');
  w.presence = true;
  const { lockId } = await owner.claim(w.link(), { setupCode: SETUP_CODE });
  const guestEkey = owner.mint({
    lockId,
    holder: guest.holderPublic,
    role: 'guest',
    from: T0 - HOUR,
    until: T0 + DAY,
  });
  guest.importBundle(owner.bundle(lockId, guestEkey));
  return { w, owner, guest, lockId, guestEkey };
}

function auditLength(w: World): number {
  return w.f.lock.audit.log.lastSeq;
}

describe('THREATS 1: passive replay of a recorded session', () => {
  it('a recorded unlock replayed on a new connection opens nothing', async () => {
    const { w, owner, lockId } = await claimed();
    const recorded: Uint8Array[] = [];
    await owner.once(
      w.link({ tap: (dir, f) => void (dir === 'to_lock' && recorded.push(f)) }),
      lockId,
      'unlock',
      {},
    );
    w.f.clock.advance(31_000 + 1000); // unlocked, then auto-relocked
    expect(w.f.lock.status().bolt).toBe('locked');
    const before = auditLength(w);
    const replay = new RawLink(w.service);
    replay.session.readStatus(); // the attacker reads the new challenge, but the recording holds the old one
    for (const f of recorded) replay.session.receive(f);
    expect(replay.alert()).toBe('stale_challenge');
    expect(replay.disconnected).toBe(true);
    expect(w.f.lock.status().bolt).toBe('locked');
    expect(auditLength(w)).toBe(before);
  });

  it('a sealed request replayed inside its own session kills the session', async () => {
    const { w, guest, guestEkey, lockId } = await claimed();
    const link = new RawLink(w.service);
    const rec = guest.lockRecord(lockId);
    const { channel } = ikByHand(link, {
      staticKey: guest.store.noiseKey(),
      lockKey: rec.lockKey,
      ekey: guestEkey,
      holderSeed: guest.store.holderSeed(),
    });
    const sealed = encodeSealed(channel!.seal(encodeRequest(1, 'unlock', {})));
    link.send(sealed);
    w.f.clock.advance(31_500);
    expect(w.f.lock.status().bolt).toBe('locked');
    const before = auditLength(w);
    link.send(sealed); // same nonce again
    expect(link.alert()).toBe('session_failed');
    expect(w.f.lock.status().bolt).toBe('locked');
    expect(auditLength(w)).toBe(before);
  });
});

describe('THREATS 2: stale and swapped challenges', () => {
  it('a challenge from another connection, an expired one, or one used twice is refused', async () => {
    const { w, guest, guestEkey, lockId } = await claimed();
    const rec = guest.lockRecord(lockId);
    const ik = {
      staticKey: guest.store.noiseKey(),
      lockKey: rec.lockKey,
      ekey: guestEkey,
      holderSeed: guest.store.holderSeed(),
    };
    // Swap: hs.init on A built from B's status.
    const a = new RawLink(w.service);
    const b = new RawLink(w.service);
    a.session.readStatus();
    expect(ikByHand(a, { ...ik, statusBytes: b.session.readStatus() }).channel).toBeNull();
    expect(a.alert()).toBe('stale_challenge');
    // B's own challenge still works once ...
    expect(ikByHand(b, ik).channel).not.toBeNull();
    // Expired: read, wait past the 30 s lifetime, answer.
    const c = new RawLink(w.service);
    const old = c.session.readStatus();
    w.f.clock.advance(31_000);
    expect(ikByHand(c, { ...ik, statusBytes: old }).channel).toBeNull();
    expect(c.alert()).toBe('stale_challenge');
    // A re-read after expiry gets a fresh challenge.
    const d = new RawLink(w.service);
    const first = decodeStatus(d.session.readStatus()).ch;
    w.f.clock.advance(31_000);
    const second = decodeStatus(d.session.readStatus()).ch;
    expect(Buffer.from(second)).not.toEqual(Buffer.from(first));
    // Never answer without reading: the lock has nothing to check the prologue against.
    const e = new RawLink(w.service);
    expect(ikByHand(e, { ...ik, statusBytes: c.session.readStatus() }).channel).toBeNull();
  });
});

describe('THREATS 3: replay to another lock, proofs moved between sessions', () => {
  it('a proof signed for one session or one lock does not work in another', async () => {
    const { w, owner, guest, guestEkey, lockId } = await claimed({ seed: 'lock-a' });
    // The same owner also claims lock B: it trusts the same owner key.
    const wb = makeWorld({ seed: 'lock-b' });
    worlds.push(wb);
    wb.presence = true;
    const recB = await owner.claim(wb.link(), { setupCode: SETUP_CODE });
    const rec = guest.lockRecord(lockId);
    // A's eKey at lock B: wrong lock (audience), refused and audited there.
    const linkB = new RawLink(wb.service);
    const before = auditLength(wb);
    const { channel, payload } = ikByHand(linkB, {
      staticKey: guest.store.noiseKey(),
      lockKey: recB.lockKey,
      ekey: guestEkey,
      holderSeed: guest.store.holderSeed(),
      req: { id: 1, cmd: 'unlock', args: {} },
    });
    expect(channel).not.toBeNull();
    expect(payload?.res).toEqual({ id: 1, err: { code: 'wrong_lock', message: expect.any(String) } });
    expect(wb.f.lock.status().bolt).toBe('locked');
    expect(auditLength(wb)).toBe(before + 1);
    // A proof signed over another session's handshake hash: refused.
    const link = new RawLink(w.service);
    const res = ikByHand(link, {
      staticKey: guest.store.noiseKey(),
      lockKey: rec.lockKey,
      ekey: guestEkey,
      holderSeed: guest.store.holderSeed(),
      signOver: new Uint8Array(32).fill(7),
      req: { id: 1, cmd: 'unlock', args: {} },
    });
    expect(res.payload?.res).toMatchObject({ id: 1, err: { code: 'proof_of_possession_failed' } });
    expect(w.f.lock.status().bolt).toBe('locked');
    // hs.init recorded at lock A replayed to lock B: B's challenge differs.
    const recorded: Uint8Array[] = [];
    await guest.once(
      w.link({ tap: (d, f) => void (d === 'to_lock' && recorded.push(f)) }),
      lockId,
      'unlock',
      {},
    );
    const atB = new RawLink(wb.service);
    atB.session.readStatus();
    for (const f of recorded) atB.session.receive(f);
    expect(atB.alert()).toBe('stale_challenge');
  });
});

describe('THREATS 9: a guest invokes admin commands', () => {
  it('every management command is refused and nothing changes', async () => {
    const { w, guest, lockId } = await claimed();
    const settings = JSON.stringify(w.f.lock.settings);
    const users = JSON.stringify(w.f.lock.listUsers());
    const time = w.f.lock.status().time;
    await guest.withSession(w.link(), lockId, async (s) => {
      const tries: Array<[string, Promise<unknown>]> = [
        ['user.list', s.request('user.list', {})],
        ['user.add', s.request('user.add', { role: 'admin', name: 'x', permanent: true })],
        ['user.modify', s.request('user.modify', { user: 1, changes: { name: 'y' } })],
        ['user.disable', s.request('user.disable', { user: 1 })],
        ['user.remove', s.request('user.remove', { user: 1 })],
        ['cred.add', s.request('cred.add', { type: 'pin', user: 1, pin: '135790' })],
        ['cred.remove', s.request('cred.remove', { credential: 1 })],
        [
          'schedule.add',
          s.request('schedule.add', {
            user: 1,
            schedule: { kind: 'weekly', days: ['mon'], start: '09:00', end: '10:00' },
          }),
        ],
        ['revoke', s.request('revoke', { cti: new Uint8Array(16), until: T0 + DAY })],
        ['audit.pull', s.request('audit.pull', { from: 1 })],
        ['audit.ack', s.request('audit.ack', { upTo: 1 })],
        ['time.sync', s.request('time.sync', { time: T0 - DAY })],
        ['settings.get', s.request('settings.get', {})],
        ['settings.set', s.request('settings.set', { changes: { operatingMode: 'Passage' } })],
        ['factory_reset', s.request('factory_reset', { confirm: 'factory_reset' })],
      ];
      for (const [name, p] of tries)
        expect([name, await outcome(p)]).toEqual([name, 'refused:not_authorized']);
      // ... while the guest's own rights still work in the same session.
      expect((await s.request('status', {})).lockId).toBe(lockId);
    });
    expect(JSON.stringify(w.f.lock.settings)).toBe(settings);
    expect(JSON.stringify(w.f.lock.listUsers())).toBe(users);
    expect(w.f.lock.status().time).toBe(time);
    expect(w.f.lock.status().setupMode).toBe(false);
  });
});

describe('THREATS 10: plaintext and downgraded frames', () => {
  it('a clear request, an old version, an unknown pattern or clear text after the handshake is refused', async () => {
    const { w, guest, guestEkey, lockId } = await claimed();
    const cases: Array<[string, Uint8Array, string]> = [
      ['clear request', encodeWire({ id: 1, cmd: 'unlock', args: {} }), 'bad_message'],
      [
        'version 0',
        encodeWire({ t: 'hs.init', v: 0, p: 'IK', ch: new Uint8Array(16), m: new Uint8Array(96) }),
        'bad_message',
      ],
      [
        'version 2',
        encodeWire({ t: 'hs.init', v: 2, p: 'IK', ch: new Uint8Array(16), m: new Uint8Array(96) }),
        'unsupported_version',
      ],
      [
        'pattern NN',
        encodeWire({ t: 'hs.init', v: 1, p: 'NN', ch: new Uint8Array(16), m: new Uint8Array(96) }),
        'bad_message',
      ],
      [
        'encryption off flag',
        encodeWire({
          t: 'hs.init',
          v: 1,
          p: 'IK',
          ch: new Uint8Array(16),
          m: new Uint8Array(96),
          enc: false,
        }),
        'bad_message',
      ],
      ['sealed before handshake', encodeSealed(new Uint8Array(40)), 'bad_message'],
      ['short frame', new Uint8Array([0x01]), 'bad_message'],
    ];
    for (const [name, bytes, alert] of cases) {
      const link = new RawLink(w.service);
      link.session.readStatus();
      link.send(bytes);
      expect([name, link.alert(), link.disconnected]).toEqual([name, alert, true]);
    }
    // XX (which reveals the lock's static key) on a claimed lock.
    const xx = new RawLink(w.service);
    const st = decodeStatus(xx.session.readStatus());
    xx.clear({ t: 'hs.init', v: 1, p: 'XX', ch: st.ch, m: new Uint8Array(32) });
    expect(xx.alert()).toBe('not_in_setup_mode');
    // After the handshake: a clear request or a tampered sealed one ends the session.
    const link = new RawLink(w.service);
    const rec = guest.lockRecord(lockId);
    const ik = ikByHand(link, {
      staticKey: guest.store.noiseKey(),
      lockKey: rec.lockKey,
      ekey: guestEkey,
      holderSeed: guest.store.holderSeed(),
    });
    expect(ik.channel).not.toBeNull();
    link.send(encodeWire({ id: 2, cmd: 'unlock', args: {} }));
    expect(link.alert()).toBe('bad_message');
    const link2 = new RawLink(w.service);
    const ik2 = ikByHand(link2, {
      staticKey: guest.store.noiseKey(),
      lockKey: rec.lockKey,
      ekey: guestEkey,
      holderSeed: guest.store.holderSeed(),
    });
    const sealed = ik2.channel!.seal(encodeRequest(3, 'unlock', {}));
    sealed[0]! ^= 1;
    link2.send(encodeSealed(sealed));
    expect(link2.alert()).toBe('session_failed');
    expect(w.f.lock.status().bolt).toBe('locked');
  });
});

describe('THREATS 11: default or derived keys', () => {
  it('guessed lock keys, self-made eKeys and the old setup code get nowhere after commissioning', async () => {
    const { w, guest, lockId } = await claimed();
    const before = auditLength(w);
    const guesses = [
      new Uint8Array(32).fill(0xff),
      new Uint8Array(Buffer.from(lockId.padEnd(64, '0').slice(0, 64), 'hex')),
      keyPairFromPrivate(new Uint8Array(32).fill(1)).publicKey,
    ];
    for (const lockKey of guesses) {
      const link = new RawLink(w.service);
      expect(ikByHand(link, { staticKey: guest.store.noiseKey(), lockKey }).channel).toBeNull();
      expect(link.alert()).toBe('handshake_failed');
    }
    // An eKey signed by a key the lock never trusted (the holder signs its own owner eKey).
    const selfKey = keyPairFromSeed(new SeededRandom('self').bytes(32));
    const forged = mintEkey(
      selfKey,
      { holder: guest.holderPublic, aud: lockId, from: T0 - HOUR, until: T0 + DAY, role: 'owner' },
      new SeededRandom('f'),
    );
    const link = new RawLink(w.service);
    const res = ikByHand(link, {
      staticKey: guest.store.noiseKey(),
      lockKey: guest.lockRecord(lockId).lockKey,
      ekey: forged,
      holderSeed: guest.store.holderSeed(),
      req: { id: 1, cmd: 'unlock', args: {} },
    });
    expect(res.payload?.res).toMatchObject({ err: { code: 'untrusted_issuer' } });
    // The setup code no longer claims anything.
    w.presence = true;
    expect(await outcome(w.phone('thief').claim(w.link(), { setupCode: SETUP_CODE }))).toBe(
      'refused:already_claimed',
    );
    expect(w.f.lock.status().bolt).toBe('locked');
    expect(w.f.lock.listUsers()).toHaveLength(1);
    expect(auditLength(w)).toBe(before + 1); // only the refused unlock
  });
});

describe('THREATS 12 and 39: challenge throttling, floods, timeouts', () => {
  it('challenges are random and single-use, and a connection flood is throttled', async () => {
    const { w } = await claimed({ limits: { challengeBurst: 5, challengeRefillMs: 1000 } });
    w.f.clock.advance(10_000); // refill after the claim's connections
    const seen = new Set<string>();
    const links: RawLink[] = [];
    for (let i = 0; i < 5; i++) {
      const l = new RawLink(w.service);
      links.push(l);
      seen.add(Buffer.from(decodeStatus(l.session.readStatus()).ch).toString('hex'));
      l.session.closed();
    }
    expect(seen.size).toBe(5);
    const flooded = new RawLink(w.service);
    expect(flooded.alert()).toBe('rate_limited');
    expect(flooded.disconnected).toBe(true);
    w.f.clock.advance(1000);
    const later = new RawLink(w.service);
    expect(later.alert()).toBeNull();
    expect(later.disconnected).toBe(false);
  });

  it('too many sessions at once are refused busy; idle and half-open ones time out', async () => {
    const { w } = await claimed({ limits: { maxSessions: 2 } });
    const a = new RawLink(w.service);
    const b = new RawLink(w.service);
    const c = new RawLink(w.service);
    expect([a.alert(), b.alert(), c.alert()]).toEqual([null, null, 'busy']);
    w.f.clock.advance(10_001);
    w.service.sweep();
    expect([a.alert(), b.alert()]).toEqual(['timeout', 'timeout']);
    expect(w.service.sessions()).toHaveLength(0);
    // A partial message left hanging is dropped after its 5 s.
    const d = new RawLink(w.service);
    d.session.receive(new Uint8Array([0x80, 0x00, 0x40, 1, 2, 3]));
    w.f.clock.advance(5001);
    w.service.sweep();
    expect(d.alert()).toBe('frame_error');
  });

  it('an established session that floods requests is rate-limited, then dropped', async () => {
    const { w, guest, guestEkey, lockId } = await claimed({
      limits: { requestBurst: 4, requestRefillMs: 1000, maxRateLimited: 3 },
    });
    const link = new RawLink(w.service);
    const rec = guest.lockRecord(lockId);
    const { channel } = ikByHand(link, {
      staticKey: guest.store.noiseKey(),
      lockKey: rec.lockKey,
      ekey: guestEkey,
      holderSeed: guest.store.holderSeed(),
    });
    const codes: string[] = [];
    for (let i = 1; i <= 8; i++) {
      const n = link.received.length;
      sendRequest(link, channel!, { id: i, cmd: 'status', args: {} });
      const m = link.received[n];
      if (m === undefined) break;
      const inc = decodeIncoming(m);
      codes.push(
        inc.kind === 'sealed' ? 'sealed' : inc.message.t === 'alert' ? `alert:${inc.message.code}` : 'clear',
      );
    }
    expect(codes).toEqual([
      'sealed',
      'sealed',
      'sealed',
      'sealed',
      'sealed',
      'sealed',
      'sealed',
      'alert:rate_limited',
    ]);
    expect(link.disconnected).toBe(true);
  });
});

describe('THREATS 15: claiming', () => {
  it('needs physical presence, the right code, setup mode; failures back off', async () => {
    const w = makeWorld({ limits: { claimAttempts: 3, claimLockoutMs: 60_000 } });
    worlds.push(w);
    const thief = w.phone('thief');
    w.presence = false;
    expect(await outcome(thief.claim(w.link(), { setupCode: SETUP_CODE }))).toBe('refused:not_authorized');
    expect(w.f.lock.status().setupMode).toBe(true);
    w.presence = true;
    for (let i = 0; i < 3; i++) {
      expect(await outcome(thief.claim(w.link(), { setupCode: '11111111' }))).toBe('refused:claim_failed');
    }
    // Locked out now, even with the right code.
    expect(await outcome(thief.claim(w.link(), { setupCode: SETUP_CODE }))).toBe('refused:rate_limited');
    w.f.clock.advance(60_001);
    const owner = w.phone('owner');
    const rec = await owner.claim(w.link(), { setupCode: SETUP_CODE });
    expect(rec.lockId).toBe(w.f.lock.status().lockId);
    expect(w.f.lock.listUsers()).toHaveLength(1);
    // A claimed lock refuses a second claim (XX is refused outright).
    w.presence = true;
    expect(await outcome(thief.claim(w.link(), { setupCode: SETUP_CODE }))).toBe('refused:already_claimed');
  });
});

describe('THREATS 17: revocation during an open session', () => {
  it('the guest session dies and its next command fails', async () => {
    const { w, owner, guest, guestEkey, lockId } = await claimed();
    const { session } = await guest.open(w.link(), lockId);
    expect((await session.request('status', {})).lockId).toBe(lockId);
    const cti = decodeClaims(decodeSign1(guestEkey).payload).cti;
    await owner.once(w.link(), lockId, 'revoke', { cti, until: T0 + DAY });
    expect(await outcome(session.request('unlock', {}))).toBe('alert:session_failed');
    expect(session.closed).toBe(true);
    expect(w.f.lock.status().bolt).toBe('locked');
    expect(w.events.some((e) => e.kind === 'close' && e.why === 'access withdrawn: revoked')).toBe(true);
  });
});

describe('THREATS 40: nothing identifying in clear', () => {
  it('the status holds only the version, the setup flag and a per-connection challenge', async () => {
    const { w, lockId } = await claimed();
    const bytes = new RawLink(w.service).session.readStatus();
    const st = decodeStatus(bytes);
    expect(Object.keys(st).sort()).toEqual(['ch', 'setup', 'v']);
    expect(st.setup).toBe(false);
    expect(Buffer.from(bytes).includes(Buffer.from(lockId))).toBe(false);
    expect(Buffer.from(bytes).includes(Buffer.from(lockId, 'hex'))).toBe(false);
  });
});

describe('THREATS 41: factory reset', () => {
  it('only the owner may reset over BLE; the reset wipes ownership, keys and secrets and is audited', async () => {
    const { w, owner, guest, lockId } = await claimed();
    expect(await outcome(guest.once(w.link(), lockId, 'factory_reset', { confirm: 'factory_reset' }))).toBe(
      'refused:not_authorized',
    );
    const open = await guest.open(w.link(), lockId);
    await owner.once(w.link(), lockId, 'factory_reset', { confirm: 'factory_reset' });
    const s = w.f.lock.status();
    expect(s.setupMode).toBe(true);
    expect(w.f.lock.listUsers()).toEqual([]);
    expect(w.f.lock.trustAnchors()).toEqual([]);
    const last = w.f.lock.audit.entries(1).at(-1)!;
    expect(last).toMatchObject({
      kind: 'System',
      action: 'factory_reset',
      userIndex: 1,
      data: { by: 'owner' },
    });
    expect(w.f.lock.audit.verify().ok).toBe(true);
    // Open sessions died; the old owner's eKey no longer works; the lock waits for a new owner.
    expect(open.session.closed).toBe(true);
    expect(await outcome(owner.once(w.link(), lockId, 'unlock', {}))).toBe('refused:untrusted_issuer');
    w.presence = true;
    const newOwner = w.phone('new-owner');
    await newOwner.claim(w.link(), { setupCode: SETUP_CODE });
    expect(w.f.lock.listUsers().map((u) => u.role)).toEqual(['owner']);
  });
});
