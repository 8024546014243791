// Credentials: PIN policy, keyed-hash storage, duplicates, cards, fingerprints, dual/tri rules, keypad entry.
import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../firmware/errors.ts';
import { DAY, T0, cleanup, startLock, type Fixture } from '../../helpers/lockFixture.ts';

let f: Fixture | undefined;
afterEach(() => cleanup(f));

function code(fn: () => unknown): ErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    return (err as { code: ErrorCode }).code;
  }
  return 'no error';
}

function world(settings = {}) {
  f = startLock({ settings });
  const owner = f.lock.createOwner({ name: 'Owner' }).index;
  const member = f.lock.addUser(owner, { name: 'M', role: 'member', permanent: true }).index;
  return { f, lock: f.lock, owner, member };
}

describe('PIN policy', () => {
  it('refuses weak PINs unless forced, wrong lengths and non-digits, with precise codes', () => {
    const w = world();
    expect(code(() => w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '0000' }))).toBe(
      'weak_pin',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '1234' }))).toBe(
      'weak_pin',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '9876' }))).toBe(
      'weak_pin',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '739' }))).toBe(
      'invalid_pin',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '73915820461' }))).toBe(
      'invalid_pin',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '73a1' }))).toBe(
      'invalid_pin',
    );
    expect(w.lock.listCredentials(w.member)).toEqual([]);
    const forced = w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '1234', force: true });
    expect(forced).toMatchObject({ userIndex: w.member, type: 'pin' });
    expect(w.lock.enterPin('1234').granted).toBe(true);
  });

  it('length bounds follow the settings', () => {
    const w = world({ minPinLength: 6, maxPinLength: 8 });
    expect(code(() => w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '73915' }))).toBe(
      'invalid_pin',
    );
    expect(w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '739158' }).type).toBe('pin');
  });

  it('refuses a duplicate PIN (any user) without saying whose', () => {
    const w = world();
    w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    let msg = '';
    try {
      w.lock.addCredential(w.owner, w.owner, { type: 'pin', pin: '7391' });
    } catch (err) {
      msg = (err as Error).message;
      expect((err as { code: string }).code).toBe('duplicate');
    }
    expect(msg).not.toContain('7391');
    expect(msg).not.toMatch(/user \d/);
  });

  it('allows one PIN to be a prefix of another: entry ends with # and nothing matches by rolling', () => {
    const w = world();
    const a = w.lock.addUser(w.owner, { role: 'member', permanent: true }).index;
    w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    w.lock.addCredential(w.owner, a, { type: 'pin', pin: '73915' });
    expect(w.lock.enterPin('7391')).toEqual({ granted: true, userIndex: w.member });
    expect(w.lock.enterPin('73915')).toEqual({ granted: true, userIndex: a });
    expect(w.lock.enterPin('739')).toEqual({ granted: false, reason: 'invalid_credential' });
  });

  it('never stores the PIN: the database holds only HMAC(pinKey, pin) from the separate secrets file', () => {
    const w = world();
    w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    w.lock.close();
    const dbBytes = fs.readFileSync(path.join(w.f.dir, 'keyway.db'));
    const wal = fs.existsSync(path.join(w.f.dir, 'keyway.db-wal'))
      ? fs.readFileSync(path.join(w.f.dir, 'keyway.db-wal'))
      : Buffer.alloc(0);
    expect(dbBytes.includes(Buffer.from('7391'))).toBe(false);
    expect(wal.includes(Buffer.from('7391'))).toBe(false);
    const secrets = JSON.parse(fs.readFileSync(path.join(w.f.dir, 'keyway.secrets'), 'utf8')) as {
      pinKey: string;
    };
    const expected = createHmac('sha256', Buffer.from(secrets.pinKey, 'hex'))
      .update('pin\u00007391')
      .digest();
    const db = new Database(path.join(w.f.dir, 'keyway.db'), { readonly: true });
    const rows = db.prepare("SELECT lookup FROM credentials WHERE type = 'pin'").all() as Array<{
      lookup: Buffer;
    }>;
    db.close();
    expect(rows.map((r) => r.lookup.toString('hex'))).toEqual([expected.toString('hex')]);
    expect(fs.statSync(path.join(w.f.dir, 'keyway.secrets')).mode & 0o777).toBe(0o600);
  });

  it('credential reads and audit entries never carry the secret', () => {
    const w = world();
    const c = w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    expect(Object.keys(c).sort()).toEqual(['index', 'type', 'userIndex']);
    w.lock.enterPin('7391');
    w.lock.enterPin('7390');
    expect(w.lock.audit.exportJsonl()).not.toContain('7391');
    expect(w.lock.audit.exportJsonl()).not.toContain('7390');
    expect(JSON.stringify(w.f.events)).not.toContain('7391');
  });

  it('rejects malformed keypad input to enterPin with invalid_pin', () => {
    const w = world();
    expect(code(() => w.lock.enterPin('12a4'))).toBe('invalid_pin');
    expect(code(() => w.lock.enterPin(''))).toBe('invalid_pin');
    expect(code(() => w.lock.enterPin('1'.repeat(17)))).toBe('invalid_pin');
  });
});

describe('cards and fingerprints', () => {
  it('cards by UID (normalised) and fingerprints by template id; duplicates refused', () => {
    const w = world();
    w.lock.addCredential(w.owner, w.member, { type: 'card', uid: '04:A1:B2:C3' });
    w.lock.addCredential(w.owner, w.member, { type: 'fingerprint', templateId: 12 });
    expect(code(() => w.lock.addCredential(w.owner, w.owner, { type: 'card', uid: '04a1b2c3' }))).toBe(
      'duplicate',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.owner, { type: 'fingerprint', templateId: 12 }))).toBe(
      'duplicate',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.owner, { type: 'card', uid: 'xyz' }))).toBe(
      'invalid_argument',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.owner, { type: 'fingerprint', templateId: -1 }))).toBe(
      'out_of_range',
    );
    expect(code(() => w.lock.addCredential(w.owner, w.owner, { type: 'ekey' } as never))).toBe(
      'invalid_argument',
    );
    expect(w.lock.presentCard('04A1B2C3')).toEqual({ granted: true, userIndex: w.member });
    expect(w.lock.presentFingerprint(12)).toEqual({ granted: true, userIndex: w.member });
    expect(w.lock.presentCard('04a1b2c4')).toEqual({ granted: false, reason: 'invalid_credential' });
    expect(w.lock.presentFingerprint(13)).toEqual({ granted: false, reason: 'invalid_credential' });
    // the same digits as a PIN are a different credential
    expect(w.lock.enterPin('0012')).toEqual({ granted: false, reason: 'invalid_credential' });
    const sources = w.lock.audit
      .entries()
      .filter((e) => e.kind.startsWith('LockOperation'))
      .map((e) => e.source);
    expect(sources).toEqual(['rfid', 'biometric', 'rfid', 'biometric', 'keypad']);
  });

  it('removing a credential makes it invalid', () => {
    const w = world();
    const c = w.lock.addCredential(w.owner, w.member, { type: 'card', uid: '04a1b2c3d4e5f6' });
    w.lock.removeCredential(w.owner, c.index);
    expect(w.lock.presentCard('04a1b2c3d4e5f6')).toEqual({ granted: false, reason: 'invalid_credential' });
    expect(code(() => w.lock.removeCredential(w.owner, c.index))).toBe('not_found');
  });
});

describe('credential rules', () => {
  it('dual: card then PIN within 30 s opens; the first alone does not; too slow starts over', () => {
    const w = world();
    const u = w.lock.addUser(w.owner, { role: 'member', permanent: true, credentialRule: 'dual' }).index;
    w.lock.addCredential(w.owner, u, { type: 'card', uid: '04a1b2c3' });
    w.lock.addCredential(w.owner, u, { type: 'pin', pin: '7391' });
    expect(w.lock.presentCard('04a1b2c3')).toMatchObject({
      granted: false,
      reason: 'credential_rule_incomplete',
    });
    w.f.clock.advance(20_000);
    expect(w.lock.enterPin('7391')).toEqual({ granted: true, userIndex: u });
    w.f.clock.advance(60_000);
    expect(w.lock.presentCard('04a1b2c3')).toMatchObject({ reason: 'credential_rule_incomplete' });
    w.f.clock.advance(31_000);
    expect(w.lock.enterPin('7391')).toMatchObject({ reason: 'credential_rule_incomplete' });
    // the same type twice is not two factors
    expect(w.lock.enterPin('7391')).toMatchObject({ reason: 'credential_rule_incomplete' });
    expect(w.lock.status().wrongAttempts).toBe(0); // valid but incomplete is no wrong attempt
  });

  it('tri needs three types', () => {
    const w = world();
    const u = w.lock.addUser(w.owner, { role: 'member', permanent: true, credentialRule: 'tri' }).index;
    w.lock.addCredential(w.owner, u, { type: 'card', uid: '04a1b2c3' });
    w.lock.addCredential(w.owner, u, { type: 'pin', pin: '7391' });
    w.lock.addCredential(w.owner, u, { type: 'fingerprint', templateId: 4 });
    expect(w.lock.presentCard('04a1b2c3').granted).toBe(false);
    expect(w.lock.enterPin('7391').granted).toBe(false);
    expect(w.lock.presentFingerprint(4)).toEqual({ granted: true, userIndex: u });
  });
});

describe('keypad', () => {
  it('digits then # submit; * clears; idle timeout clears; feedback events', () => {
    const w = world();
    w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    for (const k of '73') w.lock.pressKey(k);
    w.lock.pressKey('*');
    for (const k of '7391#') w.lock.pressKey(k);
    expect(w.f.board.drives).toEqual(['unlocked']);
    for (const k of '73') w.lock.pressKey(k);
    w.f.clock.advance(10_000); // idle timeout
    for (const k of '91#') w.lock.pressKey(k);
    const feedback = w.f.events.flatMap((e) => (e.type === 'keypad' ? [e.feedback] : []));
    expect(feedback).toEqual([
      'key',
      'key',
      'cleared',
      'key',
      'key',
      'key',
      'key',
      'accepted',
      'key',
      'key',
      'timeout',
      'key',
      'key',
      'rejected',
    ]);
    expect(() => w.lock.pressKey('A')).toThrow(/invalid_argument/);
  });

  it('no rolling match: a de Bruijn-style stream never opens and an over-long entry counts once', () => {
    const w = world();
    w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    for (const k of '00007391') w.lock.pressKey(k); // 8 digits > maxPinLength? no: 10; still no match
    w.lock.pressKey('#');
    expect(w.f.board.drives).toEqual([]);
    for (const k of '12345678901') w.lock.pressKey(k); // 11 digits: overflow, void entry
    for (const k of '7391#') w.lock.pressKey(k); // swallowed until # ends the void entry
    expect(w.f.board.drives).toEqual([]);
    expect(w.lock.status().wrongAttempts).toBe(2);
  });

  it('anti-peeping: the PIN hidden among extra digits opens; failures weigh what they tested', () => {
    const w = world({ antiPeeping: true, maxKeypadEntry: 12 });
    w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    expect(w.lock.enterPin('55739188')).toEqual({ granted: true, userIndex: w.member });
    expect(w.lock.enterPin('55555')).toEqual({ granted: false, reason: 'invalid_credential' });
    expect(w.lock.status().wrongAttempts).toBe(1); // only one distinct code of any length in 55555
    expect(w.lock.enterPin('0123456')).toEqual({ granted: false, reason: 'invalid_credential' });
    // + 4 distinct 4-digit codes = 5 = the limit: the first lockout tier starts
    expect(w.lock.status()).toMatchObject({ wrongAttempts: 0, lockedOutRemainingMs: 15_000 });
  });
});

describe('remote operations with a PIN', () => {
  it('requirePinForRemote: the user own PIN must come along; a wrong PIN counts toward the shared lockout', () => {
    const w = world({ requirePinForRemote: true, wrongCodeLimit: 3 });
    w.lock.addCredential(w.owner, w.member, { type: 'pin', pin: '7391' });
    w.lock.addCredential(w.owner, w.owner, { type: 'pin', pin: '5820' });
    expect(w.lock.remoteOperation(w.member, 'unlock')).toMatchObject({
      granted: false,
      reason: 'invalid_credential',
    });
    expect(w.lock.status().wrongAttempts).toBe(0);
    expect(w.lock.remoteOperation(w.member, 'unlock', { pin: '5820' })).toMatchObject({
      reason: 'invalid_credential',
    }); // someone else's
    expect(w.lock.remoteOperation(w.member, 'unlock', { pin: '7391' })).toEqual({
      granted: true,
      userIndex: w.member,
    });
    expect(w.lock.status().wrongAttempts).toBe(0); // success resets
  });

  it('bad remote arguments are errors, not decisions', () => {
    const w = world();
    expect(code(() => w.lock.remoteOperation(w.member, 'open' as never))).toBe('invalid_argument');
    expect(code(() => w.lock.remoteOperation(w.member, 'unlock_with_timeout'))).toBe('out_of_range');
    expect(code(() => w.lock.remoteOperation(w.member, 'unlock', { timeoutSeconds: 5 }))).toBe(
      'invalid_argument',
    );
    expect(code(() => w.lock.remoteOperation(-1, 'unlock'))).toBe('invalid_argument');
    expect(w.lock.remoteOperation(4242, 'unlock')).toMatchObject({
      granted: false,
      reason: 'invalid_credential',
    });
  });

  it('a time-bound guest cannot use remote after expiry', () => {
    const w = world();
    const g = w.lock.addUser(w.owner, { role: 'guest', validUntil: T0 + DAY }).index;
    expect(w.lock.remoteOperation(g, 'unlock').granted).toBe(true);
    w.f.clock.advance(DAY);
    expect(w.lock.remoteOperation(g, 'unlock')).toMatchObject({ reason: 'expired' });
  });
});
