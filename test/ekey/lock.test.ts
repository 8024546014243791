// eKeys and offline PINs through the real Lock (real SQLite store in a temp dir, fake clock and board):
// proof of possession, uses counted before the bolt moves and across restarts, revocation, rollback.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signProof } from '../../firmware/ekey/Proof.ts';
import { mintEkey, mintRevocation, type MintSpec } from '../../firmware/ekey/Mint.ts';
import type { KeyPair } from '../../firmware/ekey/Keys.ts';
import { OfflinePinKey } from '../../firmware/offline-pin/OfflinePin.ts';
import { OFFLINE_SECRET_FILE } from '../../firmware/ekey/EkeyGate.ts';
import { isKeywayError } from '../../firmware/errors.ts';
import type { Lock } from '../../firmware/Lock.ts';
import { cleanup, startLock, T0, HOUR, DAY, type Fixture } from '../helpers/lockFixture.ts';
import { admin, guest, member, owner, stranger } from './helpers.ts';
import { decodeClaims } from '../../firmware/ekey/Cwt.ts';
import { decodeSign1 } from '../../firmware/ekey/Cose.ts';

let f: Fixture;
let ownerIndex: number;

beforeEach(() => {
  f = startLock({ settings: { lockId: 'front-door', sites: ['front-door'] } });
  ownerIndex = f.lock.createOwner({ name: 'Olivia' }).index;
  f.lock.installTrustAnchor(ownerIndex, owner.publicRaw, 'Olivia phone');
});
afterEach(() => cleanup(f));

const mint = (issuer: KeyPair, holder: KeyPair, over: Partial<MintSpec> = {}): Uint8Array =>
  mintEkey(
    issuer,
    { holder: holder.publicRaw, aud: 'front-door', from: T0 - HOUR, until: T0 + DAY, ...over },
    f.random,
  );
const cti = (token: Uint8Array): Uint8Array => decodeClaims(decodeSign1(token).payload).cti;

/** What a phone does: ask for a challenge, sign the proof with the holder key, present. */
function present(lock: Lock, token: Uint8Array, holder: KeyPair, command: 'unlock' | 'lock' = 'unlock') {
  const challenge = lock.ekeyChallenge('phone');
  const signature = signProof(holder.privateKey, {
    challenge,
    lockId: 'front-door',
    command,
    cti: cti(token),
  });
  return lock.presentEkey(token, { challenge, signature, session: 'phone' }, command);
}

const lastAudit = (lock: Lock) => lock.audit.entries().at(-1)!;

describe('presentEkey', () => {
  it('a valid eKey with its proof unlocks; the audit names the eKey, not a user', () => {
    const token = mint(owner, guest);
    expect(present(f.lock, token, guest)).toEqual({ granted: true, userIndex: null });
    expect(f.board.drives).toEqual(['unlocked']);
    const e = f.lock.audit.entries().find((x) => x.kind === 'LockOperation' && x.action === 'unlock')!;
    expect(e).toMatchObject({
      source: 'remote',
      userIndex: null,
      credential: { type: 'ekey' },
      result: 'success',
      data: { ekey: Buffer.from(cti(token)).toString('hex'), role: 'guest', chain: 1 },
    });
  });

  it('a valid eKey without the holder key opens nothing (no proof, proof by another key, replayed proof)', () => {
    const token = mint(owner, guest);
    expect(f.lock.presentEkey(token, null)).toMatchObject({
      granted: false,
      reason: 'proof_of_possession_failed',
    });
    const challenge = f.lock.ekeyChallenge();
    const forged = signProof(stranger.privateKey, {
      challenge,
      lockId: 'front-door',
      command: 'unlock',
      cti: cti(token),
    });
    expect(f.lock.presentEkey(token, { challenge, signature: forged })).toMatchObject({
      granted: false,
      reason: 'proof_of_possession_failed',
      detail: 'proof signature',
    });
    // THREATS 1/2: the real holder's proof, captured and replayed, after the challenge was consumed.
    const c2 = f.lock.ekeyChallenge();
    const good = {
      challenge: c2,
      signature: signProof(guest.privateKey, {
        challenge: c2,
        lockId: 'front-door',
        command: 'unlock',
        cti: cti(token),
      }),
    };
    expect(f.lock.presentEkey(token, good).granted).toBe(true);
    expect(f.lock.presentEkey(token, good)).toMatchObject({
      granted: false,
      reason: 'proof_of_possession_failed',
      detail: 'challenge unknown',
    });
    expect(f.board.drives).toEqual(['unlocked']);
    expect(lastAudit(f.lock)).toMatchObject({
      kind: 'LockOperationError',
      reason: 'proof_of_possession_failed',
      credential: { type: 'ekey' },
    });
  });

  it('THREATS 2/3: only the last challenge is valid; a proof for another lock or command fails', () => {
    const token = mint(owner, guest);
    const old = f.lock.ekeyChallenge();
    const fresh = f.lock.ekeyChallenge();
    const sign = (challenge: Uint8Array, lockId = 'front-door', command = 'unlock') =>
      signProof(guest.privateKey, { challenge, lockId, command, cti: cti(token) });
    expect(f.lock.presentEkey(token, { challenge: old, signature: sign(old) })).toMatchObject({
      detail: 'challenge stale',
    });
    expect(
      f.lock.presentEkey(token, { challenge: fresh, signature: sign(fresh, 'back-door') }),
    ).toMatchObject({
      reason: 'proof_of_possession_failed',
    });
    const c3 = f.lock.ekeyChallenge();
    expect(
      f.lock.presentEkey(token, { challenge: c3, signature: sign(c3, 'front-door', 'lock') }, 'unlock'),
    ).toMatchObject({
      reason: 'proof_of_possession_failed',
    });
    const c4 = f.lock.ekeyChallenge();
    f.clock.advance(31_000);
    expect(f.lock.presentEkey(token, { challenge: c4, signature: sign(c4) })).toMatchObject({
      detail: 'challenge expired',
    });
  });

  it('refusals from verification carry their reason and are audited', () => {
    expect(present(f.lock, mint(stranger, guest), guest)).toMatchObject({
      granted: false,
      reason: 'untrusted_issuer',
    });
    expect(present(f.lock, mint(owner, guest, { aud: 'back-door' }), guest)).toMatchObject({
      reason: 'wrong_lock',
    });
    f.clock.advance(DAY);
    expect(present(f.lock, mint(owner, guest), guest)).toMatchObject({ reason: 'expired' });
    expect(lastAudit(f.lock)).toMatchObject({
      kind: 'LockOperationError',
      reason: 'expired',
      userIndex: null,
    });
    expect(f.board.drives).toEqual([]);
  });

  it('the engine rules still apply: Privacy mode refuses an eKey', () => {
    f.lock.updateSettings(ownerIndex, { operatingMode: 'Privacy' });
    expect(present(f.lock, mint(owner, guest), guest)).toMatchObject({
      granted: false,
      reason: 'mode_restricted',
    });
  });

  it('an unknown clock refuses eKeys (time_unknown)', () => {
    f.clock.forgetTime();
    expect(present(f.lock, mint(owner, guest), guest)).toMatchObject({
      granted: false,
      reason: 'time_unknown',
    });
  });
});

describe('THREATS 19: one-time eKey', () => {
  it('the use is committed before the bolt moves and survives a restart', () => {
    const token = mint(owner, guest, { uses: 1 });
    let usedBeforeMotor: boolean | null = null;
    const drive = f.board.driveBolt.bind(f.board);
    f.board.driveBolt = (target, done) => {
      // Power cut at the moment the motor starts: what is on disk right now?
      const db = new Database(path.join(f.dir, 'keyway.db'), { readonly: true });
      usedBeforeMotor =
        (db.prepare('SELECT used FROM ekey_uses').get() as { used: number } | undefined)?.used === 1;
      db.close();
      drive(target, done);
    };
    expect(present(f.lock, token, guest).granted).toBe(true);
    expect(usedBeforeMotor).toBe(true);
    f.reopen();
    expect(present(f.lock, token, guest)).toMatchObject({ granted: false, reason: 'uses_exhausted' });
  });

  it('lock commands do not consume uses', () => {
    const token = mint(owner, guest, { uses: 1 });
    expect(present(f.lock, token, guest, 'lock').granted).toBe(true);
    expect(present(f.lock, token, guest).granted).toBe(true);
    expect(present(f.lock, token, guest)).toMatchObject({ reason: 'uses_exhausted' });
  });

  it('a command above the eKey role is refused with a readable detail', () => {
    const check = (token: Uint8Array, holder: KeyPair, command: 'add_user' | 'settings') => {
      const challenge = f.lock.ekeyChallenge('phone');
      const signature = signProof(holder.privateKey, {
        challenge,
        lockId: 'front-door',
        command,
        cti: cti(token),
      });
      return f.lock.checkEkey(token, { challenge, signature, session: 'phone' }, command);
    };
    expect(check(mint(owner, guest), guest, 'add_user')).toEqual({
      granted: false,
      reason: 'not_authorized',
      detail: 'a guest eKey may not use add_user',
    });
    expect(check(mint(owner, admin, { role: 'admin' }), admin, 'settings')).toEqual({
      granted: false,
      reason: 'not_authorized',
      detail: 'an admin eKey may not use settings',
    });
    expect(check(mint(owner, admin, { role: 'admin' }), admin, 'add_user')).toMatchObject({ granted: true });
  });
});

describe('revocation through the lock', () => {
  it('THREATS 16: an admin user revokes; the old eKey is refused, also after a restart', () => {
    const token = mint(owner, guest);
    expect(present(f.lock, token, guest).granted).toBe(true);
    f.lock.revokeEkey(ownerIndex, { kind: 'cti', id: cti(token), until: T0 + DAY });
    expect(present(f.lock, token, guest)).toMatchObject({ granted: false, reason: 'revoked' });
    f.reopen();
    expect(present(f.lock, token, guest)).toMatchObject({ granted: false, reason: 'revoked' });
    expect(f.lock.audit.entries().some((e) => e.action === 'revoke' && e.security)).toBe(true);
  });

  it('a guest user cannot revoke; a signed revocation from the issuing admin is accepted', () => {
    const g = f.lock.addUser(ownerIndex, { role: 'guest', validUntil: T0 + DAY }).index;
    expect(() => f.lock.revokeEkey(g, { kind: 'holder', id: guest.publicRaw, until: null })).toThrow(
      /not_authorized/,
    );
    const adminKey = mint(owner, admin, { role: 'admin', delegateDepth: 1, until: T0 + 7 * DAY });
    const guestKey = mint(admin, guest, { chain: adminKey });
    expect(present(f.lock, guestKey, guest).granted).toBe(true);
    const r = mintRevocation(
      admin,
      { kind: 'cti', id: cti(guestKey), chain: adminKey, evidence: guestKey, issuedAt: T0 },
      f.random,
    );
    expect(f.lock.presentRevocation(r)).toEqual({ granted: true });
    expect(present(f.lock, guestKey, guest)).toMatchObject({ granted: false, reason: 'revoked' });
  });

  it("revoking a manager's key as issuer takes all the manager's guests with it", () => {
    const managerKey = mint(owner, member, { role: 'member', delegateDepth: 1, until: T0 + 7 * DAY });
    const g1 = mint(member, guest, { chain: managerKey });
    const g2 = mint(member, stranger, { chain: managerKey });
    expect([present(f.lock, g1, guest).granted, present(f.lock, g2, stranger).granted]).toEqual([true, true]);
    const r = mintRevocation(owner, { kind: 'issuer', id: member.publicRaw, issuedAt: T0 }, f.random);
    expect(f.lock.presentRevocation(r).granted).toBe(true);
    expect(present(f.lock, g1, guest)).toMatchObject({ reason: 'revoked' });
    expect(present(f.lock, g2, stranger)).toMatchObject({ reason: 'revoked' });
  });

  it('only an owner installs trust anchors', () => {
    const a = f.lock.addUser(ownerIndex, { role: 'admin', permanent: true }).index;
    expect(() => f.lock.installTrustAnchor(a, stranger.publicRaw)).toThrow(/not_authorized/);
    expect(f.lock.trustAnchors().map((t) => t.label)).toEqual(['Olivia phone']);
  });
});

describe('THREATS 18: restoring an older copy of the eKey tables', () => {
  it('is detected by the store rollback counter', () => {
    const token = mint(owner, guest, { uses: 1 });
    f.lock.close();
    const copy = path.join(f.dir, 'old.db');
    fs.copyFileSync(path.join(f.dir, 'keyway.db'), copy);
    f.reopen();
    expect(present(f.lock, token, guest).granted).toBe(true);
    f.lock.close();
    for (const ext of ['-wal', '-shm']) fs.rmSync(path.join(f.dir, `keyway.db${ext}`), { force: true });
    fs.copyFileSync(copy, path.join(f.dir, 'keyway.db'));
    let error: unknown = null;
    try {
      f.reopen();
    } catch (err) {
      error = err;
    }
    expect(isKeywayError(error, 'store_rollback')).toBe(true);
  });
});

describe('offline PINs at the keypad', () => {
  const secret = new Uint8Array(32).fill(7);
  const key = () => new OfflinePinKey(secret, 'front-door');
  const type = (lock: Lock, digits: string) => {
    for (const d of digits) lock.pressKey(d);
    lock.pressKey('#');
  };

  beforeEach(() => f.lock.setOfflinePinSecret(ownerIndex, secret));

  it('the secret file is private', () => {
    expect(fs.statSync(path.join(f.dir, OFFLINE_SECRET_FILE)).mode & 0o777).toBe(0o600);
  });

  it('an hourly PIN opens inside its window only', () => {
    const pin = key().mint({ variant: 'hourly', from: T0, hours: 2 }, 'UTC').pin;
    expect(f.lock.enterPin(pin)).toEqual({ granted: true, userIndex: null });
    f.clock.advance(2 * HOUR);
    expect(f.lock.enterPin(pin)).toMatchObject({ granted: false, reason: 'invalid_credential' });
  });

  it('THREATS 19/22: a one-time PIN works once (also across a restart) and not after its activation window', () => {
    const once = key().mint({ variant: 'once', from: T0 }, 'UTC');
    type(f.lock, once.pin);
    expect(f.board.drives).toEqual(['unlocked']);
    f.reopen();
    expect(f.lock.enterPin(once.pin)).toMatchObject({ granted: false, reason: 'uses_exhausted' });
    const late = key().mint({ variant: 'once', from: T0 - 24 * HOUR }, 'UTC');
    expect(f.lock.enterPin(late.pin)).toMatchObject({ granted: false, reason: 'invalid_credential' });
  });

  it('a revoked offline PIN is refused', () => {
    const m = key().mint({ variant: 'daily', fromDate: '2025-01-06', untilDate: '2025-01-08' }, 'UTC');
    f.lock.revokeEkey(ownerIndex, { kind: 'offline_pin', id: m.id, until: m.until });
    expect(f.lock.enterPin(m.pin)).toMatchObject({ granted: false, reason: 'revoked' });
  });

  it('a wrong 10-digit entry counts toward the lockout like any wrong PIN', () => {
    const before = f.lock.status().wrongAttempts;
    expect(f.lock.enterPin('1234509876')).toMatchObject({ reason: 'invalid_credential' });
    expect(f.lock.status().wrongAttempts).toBe(before + 1);
  });
});
