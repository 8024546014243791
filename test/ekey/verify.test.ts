// The lock's eKey verification: tampering, trust, time, audience, delegation chains, revocation, uses, cache.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeStrict, encodeCanonical, Tagged, type CborValue } from '../../firmware/codec/StrictCbor.ts';
import { decodeSign1, signSign1 } from '../../firmware/ekey/Cose.ts';
import { CLAIM } from '../../firmware/ekey/Cwt.ts';
import { mintRevocation } from '../../firmware/ekey/Mint.ts';
import { keyId } from '../../firmware/ekey/Keys.ts';
import {
  EKEY_COMMANDS,
  MAX_CHAIN_DEPTH,
  ekeyAuthorizes,
  schedulesWithin,
  type EkeyCommand,
} from '../../firmware/ekey/Verify.ts';
import { parseWeekly } from '../../firmware/schedule/index.ts';
import {
  admin,
  adminChain,
  DAY,
  guest,
  HOUR,
  LOCK,
  makeEnv,
  member,
  mint,
  owner,
  seededKey,
  stranger,
  T0,
  type Env,
} from './helpers.ts';

let env: Env;
beforeEach(() => (env = makeEnv()));
afterEach(() => env.close());

const verdict = (token: Uint8Array, over = {}): string => {
  const d = env.verifier.verify(token, env.ctx(over));
  return d.granted ? 'granted' : d.reason;
};

describe('a directly issued eKey', () => {
  it('is granted inside its window on its lock, with its claims', () => {
    const token = mint(env, owner, guest, { uses: 3, schedules: [parseWeekly('mon 09:00-17:00')] });
    const d = env.verifier.verify(token, env.ctx());
    expect(d.granted).toBe(true);
    if (!d.granted) return;
    expect(d.ekey.claims).toMatchObject({
      iss: keyId(owner.publicRaw),
      aud: [LOCK],
      role: 'guest',
      uses: 3,
      nbf: (T0 - HOUR) / 1000,
      exp: (T0 + DAY) / 1000,
      schedules: [{ kind: 'weekly', days: ['mon'], start: '09:00', end: '17:00' }],
    });
    expect(d.ekey.links).toHaveLength(1);
  });

  it('expired, not yet valid, wrong lock, unknown time, method not allowed', () => {
    const token = mint(env, owner, guest);
    expect(verdict(token, { now: T0 + DAY })).toBe('expired');
    expect(verdict(token, { now: T0 - 2 * HOUR })).toBe('not_yet_valid');
    expect(verdict(token, { lockId: 'lock-b' })).toBe('wrong_lock');
    expect(verdict(token, { lockId: 'lock-b', sites: [LOCK] })).toBe('granted');
    expect(verdict(token, { now: null })).toBe('time_unknown');
    expect(verdict(token, { method: 'pin' })).toBe('method_not_allowed');
  });

  it('outside its schedule (evaluated in the lock zone)', () => {
    const token = mint(env, owner, guest, { schedules: [parseWeekly('mon 09:00-12:00')] });
    expect(verdict(token)).toBe('outside_schedule'); // 12:00 UTC Monday: window ended
    expect(verdict(token, { timeZone: 'Europe/Berlin' })).toBe('outside_schedule'); // 13:00 Berlin
    expect(verdict(token, { timeZone: 'America/New_York' })).toBe('outside_schedule'); // 07:00 New York
    expect(verdict(token, { timeZone: 'America/New_York', now: T0 + 3 * HOUR })).toBe('granted'); // 10:00
  });
});

describe('THREATS 27: the clock-skew tolerance is asymmetric', () => {
  it('up to skew early at nbf, never after exp', () => {
    const from = T0;
    const until = T0 + HOUR;
    const token = mint(env, owner, guest, { from, until });
    const skewMs = 60_000;
    expect(verdict(token, { now: from - skewMs, skewMs })).toBe('granted');
    expect(verdict(token, { now: from - skewMs - 1, skewMs })).toBe('not_yet_valid');
    expect(verdict(token, { now: until - 1, skewMs })).toBe('granted');
    expect(verdict(token, { now: until, skewMs })).toBe('expired');
    expect(verdict(token, { now: until + 1, skewMs: 3_600_000 })).toBe('expired');
  });
});

describe('THREATS 5: tampering with any signed field breaks the signature', () => {
  it.each<[string, number, CborValue]>([
    ['nbf (notBefore)', CLAIM.nbf, (T0 - 30 * DAY) / 1000],
    ['exp (notAfter)', CLAIM.exp, (T0 + 365 * DAY) / 1000],
    ['weekday mask', CLAIM.schedules, [[0, 127, 0, 1439]]],
    ['role', CLAIM.role, 'owner'],
    ['lock id (aud)', CLAIM.aud, 'lock-b'],
    ['uses', CLAIM.uses, 1000],
    [
      'holder key',
      CLAIM.cnf,
      new Map([
        [
          1,
          new Map<number, CborValue>([
            [1, 1],
            [-1, 6],
            [-2, stranger.publicRaw],
          ]),
        ],
      ]),
    ],
  ])('%s', (_name, label, value) => {
    const token = mint(env, owner, guest, { uses: 2, schedules: [parseWeekly('mon 09:00-17:00')] });
    const claims = decodeClaimsMap(decodeSign1(token).payload);
    claims.set(label, value);
    const tampered = reassemble(token, encodeCanonical(claims));
    const d = env.verifier.verify(tampered, env.ctx({ lockId: 'lock-b', sites: [LOCK] }));
    expect(d).toMatchObject({ granted: false, reason: 'bad_signature' });
  });

  it('a single flipped payload bit anywhere is refused (bad_signature or malformed, never granted)', () => {
    const token = mint(env, owner, guest);
    const msg = decodeSign1(token);
    for (let i = 0; i < msg.payload.length; i++) {
      const p = Uint8Array.from(msg.payload);
      p[i]! ^= 0x01;
      const d = env.verifier.verify(reassemble(token, p), env.ctx());
      expect(d.granted, `byte ${i}`).toBe(false);
      if (!d.granted) expect(['bad_signature', 'malformed', 'untrusted_issuer']).toContain(d.reason);
    }
  });
});

function decodeClaimsMap(payload: Uint8Array): Map<number, CborValue> {
  return decodeStrict(payload) as Map<number, CborValue>;
}
/** The same COSE_Sign1 with another payload and the original signature. */
function reassemble(token: Uint8Array, payload: Uint8Array): Uint8Array {
  const m = decodeSign1(token);
  return encodeCanonical(new Tagged(18, [m.protectedBytes, m.unprotected, payload, m.signature]));
}

describe('THREATS 6: validity comes only from the signed token and the lock clock', () => {
  it('there is no way to pass a validity or a time from the client; the lock time decides', () => {
    const token = mint(env, owner, guest, { from: T0 - HOUR, until: T0 + HOUR });
    // A client claiming "now is T0" does not help once the lock's own clock says otherwise.
    const clientAsserted = { now: T0 + 2 * HOUR, clientTime: T0 } as unknown as Record<string, unknown>;
    expect(verdict(token, clientAsserted)).toBe('expired');
  });
});

describe('THREATS 7: forged, self-signed and revoked issuers', () => {
  it('an eKey signed by a key that is not a trust anchor', () => {
    expect(verdict(mint(env, stranger, guest))).toBe('untrusted_issuer');
  });

  it('a self-signed eKey carrying its own public key', () => {
    expect(verdict(mint(env, guest, guest, { role: 'owner' }))).toBe('untrusted_issuer');
  });

  it("a stranger's key claiming the owner's iss fails the signature", () => {
    const token = mint(env, stranger, guest);
    const m = decodeClaimsMap(decodeSign1(token).payload);
    m.set(CLAIM.iss, keyId(owner.publicRaw));
    const resigned = encodeCanonical(
      new Tagged(18, [
        decodeSign1(token).protectedBytes,
        new Map(),
        encodeCanonical(m),
        decodeSign1(token).signature,
      ]),
    );
    expect(verdict(resigned)).toBe('bad_signature');
  });

  it('a revoked issuer key, a removed anchor, several anchors', () => {
    const token = mint(env, owner, guest);
    expect(verdict(token)).toBe('granted');
    env.store.addRevocation({ kind: 'issuer', id: owner.publicRaw, until: null }, T0);
    expect(verdict(token)).toBe('revoked');
    const second = seededKey('co-owner');
    env.store.addTrustAnchor(second.publicRaw, 'co-owner', T0);
    const t2 = mint(env, second, guest);
    expect(verdict(t2)).toBe('granted');
    env.store.removeTrustAnchor(second.publicRaw);
    expect(verdict(t2)).toBe('untrusted_issuer');
  });
});

describe('THREATS 9: role-based command authorization', () => {
  it('a guest eKey authorizes lock, unlock and status only', () => {
    const allowed = EKEY_COMMANDS.filter((c) => ekeyAuthorizes({ role: 'guest' }, c));
    expect(allowed.sort()).toEqual(['lock', 'status', 'unlock', 'unlock_with_timeout']);
    for (const c of ['add_user', 'set_time', 'change_mode', 'read_log', 'firmware'] as EkeyCommand[]) {
      expect(ekeyAuthorizes({ role: 'guest' }, c), c).toBe(false);
      expect(ekeyAuthorizes({ role: 'member' }, c), c).toBe(false);
    }
    expect(ekeyAuthorizes({ role: 'admin' }, 'add_user')).toBe(true);
    expect(ekeyAuthorizes({ role: 'admin' }, 'firmware')).toBe(false);
    expect(ekeyAuthorizes({ role: 'owner' }, 'firmware')).toBe(true);
    expect(ekeyAuthorizes({ role: 'owner' }, 'nonsense' as EkeyCommand)).toBe(false);
  });
});

describe('delegation chains', () => {
  it('owner -> admin -> guest is granted with all links', () => {
    const { guestKey } = adminChain(env);
    const d = env.verifier.verify(guestKey, env.ctx());
    expect(d.granted).toBe(true);
    if (d.granted) expect(d.ekey.links.map((l) => l.claims.role)).toEqual(['admin', 'guest']);
  });

  it(`a chain of ${MAX_CHAIN_DEPTH} links is accepted, ${MAX_CHAIN_DEPTH + 1} is too deep`, () => {
    const a = mint(env, owner, admin, { role: 'admin', delegateDepth: 8, until: T0 + 7 * DAY });
    const m = mint(env, admin, member, { role: 'member', delegateDepth: 7, chain: a });
    const g = mint(env, member, guest, { role: 'guest', delegateDepth: 6, chain: m });
    expect(verdict(g)).toBe('granted');
    const g2 = mint(env, guest, stranger, { chain: g });
    expect(verdict(g2)).toBe('chain_too_deep');
  });

  it('a parent that may not delegate', () => {
    const a = mint(env, owner, admin, { role: 'admin' });
    expect(verdict(mint(env, admin, guest, { chain: a }))).toBe('chain_widens_rights');
  });

  it.each<[string, Record<string, unknown>]>([
    ['a higher role', { role: 'owner' }],
    ['more delegation depth', { delegateDepth: 2 }],
    ['more methods', { methods: ['app', 'pin'] }],
    ['another lock', { aud: [LOCK, 'lock-b'] }],
    ['an earlier start', { from: T0 - 2 * HOUR }],
    ['a later end', { until: T0 + 8 * DAY }],
  ])('a child with %s widens rights', (_n, over) => {
    const a = mint(env, owner, admin, {
      role: 'admin',
      delegateDepth: 2,
      from: T0 - HOUR,
      until: T0 + 7 * DAY,
    });
    expect(verdict(mint(env, admin, guest, { chain: a, ...over }))).toBe('chain_widens_rights');
  });

  it('uses: a limited parent needs limited children', () => {
    const a = mint(env, owner, admin, { role: 'admin', delegateDepth: 1, uses: 5 });
    expect(verdict(mint(env, admin, guest, { chain: a }))).toBe('chain_widens_rights');
    expect(verdict(mint(env, admin, guest, { chain: a, uses: 6 }))).toBe('chain_widens_rights');
    expect(verdict(mint(env, admin, guest, { chain: a, uses: 5 }))).toBe('granted');
  });

  it('schedules: a wider child schedule is refused statically; the parent schedule also applies at use', () => {
    const a = mint(env, owner, admin, {
      role: 'admin',
      delegateDepth: 1,
      schedules: [parseWeekly('mon-fri 08:00-18:00')],
    });
    expect(verdict(mint(env, admin, guest, { chain: a }))).toBe('chain_widens_rights'); // none = always
    expect(
      verdict(mint(env, admin, guest, { chain: a, schedules: [parseWeekly('mon-sat 09:00-12:00')] })),
    ).toBe('chain_widens_rights');
    const inside = mint(env, admin, guest, { chain: a, schedules: [parseWeekly('mon,thu 09:00-17:00')] });
    expect(verdict(inside)).toBe('granted');
    expect(verdict(inside, { now: T0 + 6 * HOUR })).toBe('outside_schedule'); // Monday 18:00
  });

  it('schedulesWithin handles midnight-crossing windows and year-day windows', () => {
    const night = parseWeekly('fri 22:00-06:00');
    expect(schedulesWithin([parseWeekly('fri-sat')], [night])).toBe(true);
    expect(schedulesWithin([parseWeekly('fri')], [night])).toBe(false);
    expect(
      schedulesWithin(
        [parseWeekly('sun 20:00-23:59'), parseWeekly('mon 00:00-08:00')],
        [parseWeekly('sun 22:00-07:00')],
      ),
    ).toBe(true);
    const yd = { kind: 'yearday' as const, from: '2025-01-01T00:00', until: '2025-01-31T23:59' };
    expect(
      schedulesWithin([yd], [{ kind: 'yearday', from: '2025-01-05T00:00', until: '2025-01-06T00:00' }]),
    ).toBe(true);
    expect(
      schedulesWithin([yd], [{ kind: 'yearday', from: '2024-12-31T00:00', until: '2025-01-06T00:00' }]),
    ).toBe(false);
    expect(schedulesWithin([], [night])).toBe(true);
  });

  it('iss of a child must name the parent holder key', () => {
    const a = mint(env, owner, admin, { role: 'admin', delegateDepth: 1 });
    // A stranger signs with the admin's eKey as chain: iss is the stranger, not the admin.
    const forged = mint(env, stranger, guest, { chain: null });
    const m = decodeClaimsMap(decodeSign1(forged).payload);
    m.set(CLAIM.chain, a);
    const payload = encodeCanonical(m);
    expect(verdict(signSign1(payload, stranger.privateKey))).toBe('untrusted_issuer');
  });
});

describe('THREATS 16 and cascading revocation', () => {
  it('revoking a guest cti refuses the old eKey', () => {
    const { guestKey } = adminChain(env);
    expect(verdict(guestKey)).toBe('granted');
    const cti = (env.verifier.verify(guestKey, env.ctx()) as { ekey: { claims: { cti: Uint8Array } } }).ekey
      .claims.cti;
    env.store.addRevocation({ kind: 'cti', id: cti, until: T0 + DAY }, T0);
    expect(verdict(guestKey)).toBe('revoked');
  });

  it('revoking the admin (parent) cti refuses every eKey it issued', () => {
    const { adminKey, guestKey } = adminChain(env);
    const cti = (env.verifier.verify(adminKey, env.ctx()) as { ekey: { claims: { cti: Uint8Array } } }).ekey
      .claims.cti;
    env.store.addRevocation({ kind: 'cti', id: cti, until: null }, T0);
    const d = env.verifier.verify(guestKey, env.ctx());
    expect(d).toMatchObject({ granted: false, reason: 'revoked', detail: 'chain link 0: eKey id revoked' });
  });

  it('revoking an issuer key cascades through deeper chains; holder revocation too', () => {
    const a = mint(env, owner, admin, { role: 'admin', delegateDepth: 2, until: T0 + 7 * DAY });
    const m = mint(env, admin, member, { role: 'member', delegateDepth: 1, chain: a });
    const g = mint(env, member, guest, { chain: m });
    const direct = mint(env, admin, stranger, { chain: a });
    expect([verdict(g), verdict(direct)]).toEqual(['granted', 'granted']);
    env.store.addRevocation({ kind: 'issuer', id: admin.publicRaw, until: null }, T0);
    expect([verdict(g), verdict(direct), verdict(a)]).toEqual(['revoked', 'revoked', 'granted']);
    env.store.addRevocation({ kind: 'holder', id: admin.publicRaw, until: null }, T0);
    expect(verdict(a)).toBe('revoked');
  });

  it('revocations are pruned only after the revoked key would have expired (+ tolerance)', () => {
    const token = mint(env, owner, guest, { until: T0 + DAY });
    const cti = (env.verifier.verify(token, env.ctx()) as { ekey: { claims: { cti: Uint8Array } } }).ekey
      .claims.cti;
    env.store.addRevocation({ kind: 'cti', id: cti, until: T0 + DAY }, T0);
    env.store.addRevocation({ kind: 'holder', id: stranger.publicRaw, until: null }, T0);
    expect(env.store.prune(T0 + DAY + 60_000, 60_000)).toBe(0);
    expect(verdict(token, { now: T0 + DAY - 1 })).toBe('revoked');
    expect(env.store.prune(T0 + DAY + 60_001, 60_000)).toBe(1);
    expect(env.store.revocations()).toEqual([{ kind: 'holder', id: stranger.publicRaw, until: null }]);
  });
});

describe('signed revocations', () => {
  const cti = (t: Uint8Array): Uint8Array =>
    (env.verifier.verify(t, env.ctx()) as { ekey: { claims: { cti: Uint8Array } } }).ekey.claims.cti;

  it('the owner key may revoke anything', () => {
    const r = mintRevocation(owner, { kind: 'holder', id: guest.publicRaw, issuedAt: T0 }, env.random);
    expect(env.verifier.verifyRevocation(r, env.ctx())).toMatchObject({
      granted: true,
      revocation: { kind: 'holder', until: null },
    });
  });

  it('the admin who issued a guest eKey may revoke it (with its own eKey and the guest eKey as evidence)', () => {
    const { adminKey, guestKey } = adminChain(env);
    const r = mintRevocation(
      admin,
      { kind: 'cti', id: cti(guestKey), chain: adminKey, evidence: guestKey, issuedAt: T0 },
      env.random,
    );
    const d = env.verifier.verifyRevocation(r, env.ctx());
    expect(d).toMatchObject({ granted: true, revocation: { kind: 'cti', until: T0 + DAY } });
  });

  it('refuses a stranger, an admin revoking what it did not issue, a tampered revocation, an eKey as revocation', () => {
    const { adminKey, guestKey } = adminChain(env);
    const other = mint(env, owner, member);
    const s = mintRevocation(stranger, { kind: 'cti', id: cti(guestKey), issuedAt: T0 }, env.random);
    expect(env.verifier.verifyRevocation(s, env.ctx())).toMatchObject({
      granted: false,
      reason: 'untrusted_issuer',
    });
    const notHis = mintRevocation(
      admin,
      { kind: 'cti', id: cti(other), chain: adminKey, evidence: other, issuedAt: T0 },
      env.random,
    );
    expect(env.verifier.verifyRevocation(notHis, env.ctx())).toMatchObject({
      granted: false,
      reason: 'not_authorized',
    });
    const noEvidence = mintRevocation(
      admin,
      { kind: 'cti', id: cti(guestKey), chain: adminKey, issuedAt: T0 },
      env.random,
    );
    expect(env.verifier.verifyRevocation(noEvidence, env.ctx())).toMatchObject({
      granted: false,
      reason: 'not_authorized',
    });
    const good = mintRevocation(owner, { kind: 'holder', id: guest.publicRaw, issuedAt: T0 }, env.random);
    const msg = decodeSign1(good);
    const m = decodeClaimsMap(msg.payload);
    m.set(-65551, stranger.publicRaw);
    const tampered = encodeCanonical(
      new Tagged(18, [msg.protectedBytes, msg.unprotected, encodeCanonical(m), msg.signature]),
    );
    expect(env.verifier.verifyRevocation(tampered, env.ctx())).toMatchObject({
      granted: false,
      reason: 'bad_signature',
    });
    expect(env.verifier.verifyRevocation(guestKey, env.ctx())).toMatchObject({
      granted: false,
      reason: 'malformed',
    });
  });
});

describe('uses and the cache', () => {
  it('uses are counted per link; the count is checked every time, cached or not', () => {
    const token = mint(env, owner, guest, { uses: 2 });
    const cti = (env.verifier.verify(token, env.ctx()) as { ekey: { claims: { cti: Uint8Array } } }).ekey
      .claims.cti;
    env.store.recordUse(cti, T0 + DAY);
    expect(verdict(token)).toBe('granted');
    env.store.recordUse(cti, T0 + DAY);
    expect(verdict(token)).toBe('uses_exhausted');
  });

  it('a repeat skips the signature work but not time, revocation or schedule checks', () => {
    const token = mint(env, owner, guest, { schedules: [parseWeekly('mon 09:00-17:00')] });
    const before = env.verifier.signatureChecks;
    const first = env.verifier.verify(token, env.ctx());
    expect(first).toMatchObject({ granted: true, ekey: { cached: false } });
    expect(env.verifier.signatureChecks).toBe(before + 1);
    expect(env.verifier.verify(token, env.ctx())).toMatchObject({ granted: true, ekey: { cached: true } });
    expect(env.verifier.signatureChecks).toBe(before + 1);
    expect(verdict(token, { now: T0 + 6 * HOUR })).toBe('outside_schedule');
    expect(verdict(token, { now: T0 + 2 * DAY })).toBe('expired');
    env.store.addRevocation({ kind: 'holder', id: guest.publicRaw, until: null }, T0);
    expect(verdict(token)).toBe('revoked');
    expect(env.verifier.signatureChecks).toBe(before + 1);
  });

  it('failures are not cached', () => {
    const token = mint(env, stranger, guest);
    expect(verdict(token)).toBe('untrusted_issuer');
    env.store.addTrustAnchor(stranger.publicRaw, null, T0);
    expect(verdict(token)).toBe('granted');
    expect(env.verifier.cacheSize).toBe(1);
  });
});
