// The main story over the pure LockSession <-> PhoneSession pair: claim -> owner unlocks -> owner issues
// a guest eKey to a second phone -> the guest unlocks inside its schedule, is refused outside it -> the
// owner revokes -> the guest is refused; an admin issues guest keys but cannot create admins; the pulled
// audit matches the lock's and verifies.
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, decodeClaims, decodeSign1, type AuditEntry } from '../../../firmware/index.ts';
import { PhoneSessionError } from '../../../ble-gatt/client/PhoneSession.ts';
import { HOUR, DAY, T0 } from '../../helpers/lockFixture.ts';
import { makeWorld, SETUP_CODE, type World } from './world.ts';

let w: World | undefined;
afterEach(() => {
  w?.close();
  w = undefined;
});

async function refusedWith(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PhoneSessionError) return `${err.kind}:${err.reason}`;
    throw err;
  }
  return 'granted';
}

function lastAudit(world: World): AuditEntry {
  const all = world.f.lock.audit.entries(1);
  return all[all.length - 1]!;
}

describe('claim, unlock, guest eKey, schedule, revoke', () => {
  it('runs the whole story and every step lands in the audit log', async () => {
    w = makeWorld();
    const world = w;
    const owner = world.phone('owner');
    const guest = world.phone('guest');
    expect(world.f.lock.status().setupMode).toBe(true);

    // Claim: presence at the lock, then SPAKE2+ with the setup code.
    world.presence = true;
    const rec = await owner.claim(world.link(), { setupCode: SETUP_CODE, ownerName: 'Ana' });
    const lockId = world.f.lock.status().lockId;
    expect(rec.lockId).toBe(lockId);
    expect(Buffer.from(rec.lockKey)).toEqual(Buffer.from(world.service.options.staticKey.publicKey));
    expect(Buffer.from(rec.deviceKey)).toEqual(Buffer.from(world.f.lock.devicePublicKey));
    expect(world.f.lock.status().setupMode).toBe(false);
    const ownerUser = world.f.lock.listUsers()[0]!;
    expect(ownerUser).toMatchObject({ role: 'owner', name: 'Ana' });
    expect(world.f.lock.listCredentials(ownerUser.index)).toEqual([
      { index: expect.any(Number), userIndex: ownerUser.index, type: 'ekey' },
    ]);
    expect(world.f.lock.trustAnchors().map((a) => Buffer.from(a.key).toString('hex'))).toEqual([
      Buffer.from(owner.holderPublic).toString('hex'),
    ]);
    expect(world.presence).toBe(false); // the claim closed the presence window

    // The owner unlocks in two round trips (status read + handshake with the early request).
    const link = world.link();
    await owner.once(link, lockId, 'unlock', {});
    expect(link.statusReads).toBe(1);
    world.f.clock.advance(1000);
    expect(world.f.lock.status().bolt).toBe('unlocked');
    expect(lastAudit(world)).toMatchObject({
      kind: 'LockOperation',
      action: 'unlock',
      source: 'remote',
      userIndex: ownerUser.index,
      result: 'success',
    });
    await owner.once(world.link(), lockId, 'lock', {});
    world.f.clock.advance(1000);
    expect(world.f.lock.status().bolt).toBe('locked');

    // The owner issues a weekday 09:00-17:00 guest eKey to the second phone (its public key only).
    const ekey = owner.mint({
      lockId,
      holder: guest.holderPublic,
      role: 'guest',
      from: T0 - HOUR,
      until: T0 + 7 * DAY,
      schedules: [
        { kind: 'weekly', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
      ],
    });
    const imported = guest.importBundle(JSON.parse(JSON.stringify(owner.bundle(lockId, ekey))));
    expect(imported.claims.role).toBe('guest');

    // Monday 12:00: inside the schedule.
    await guest.once(world.link(), lockId, 'unlock', {});
    expect(lastAudit(world)).toMatchObject({
      kind: 'LockOperation',
      action: 'unlock',
      result: 'success',
      credential: { type: 'ekey' },
    });
    world.f.clock.advance(31_000); // auto-relock
    expect(world.f.lock.status().bolt).toBe('locked');

    // Monday 20:00: outside it.
    world.f.clock.advance(8 * HOUR);
    expect(await refusedWith(guest.once(world.link(), lockId, 'unlock', {}))).toBe(
      'refused:outside_schedule',
    );
    expect(lastAudit(world)).toMatchObject({ kind: 'LockOperationError', reason: 'outside_schedule' });
    expect(world.f.lock.status().bolt).toBe('locked');

    // Tuesday 10:00: inside again; the owner revokes; the guest is refused.
    world.f.clock.advance(14 * HOUR);
    await guest.once(world.link(), lockId, 'unlock', {});
    world.f.clock.advance(31_000);
    const cti = decodeClaims(decodeSign1(ekey).payload).cti;
    await owner.once(world.link(), lockId, 'revoke', { cti, until: T0 + 7 * DAY });
    expect(lastAudit(world)).toMatchObject({
      kind: 'LockUserChange',
      action: 'revoke',
      userIndex: ownerUser.index,
    });
    expect(await refusedWith(guest.once(world.link(), lockId, 'unlock', {}))).toBe('refused:revoked');
    expect(world.f.lock.status().bolt).toBe('locked');
  });

  it('an admin issues guest keys but cannot create admins', async () => {
    w = makeWorld();
    const world = w;
    const owner = world.phone('owner');
    const admin = world.phone('admin');
    const guest = world.phone('guest');
    world.presence = true;
    const { lockId } = await owner.claim(world.link(), { setupCode: SETUP_CODE });

    // Owner: a stored admin user, an admin eKey that may delegate once, registered to that user.
    const adminEkey = owner.mint({
      lockId,
      holder: admin.holderPublic,
      role: 'admin',
      from: T0 - DAY,
      until: T0 + 30 * DAY,
      delegateDepth: 1,
    });
    const adminUser = await owner.withSession(world.link(), lockId, async (s) => {
      const { user } = await s.request('user.add', { role: 'admin', name: 'Bo', validUntil: T0 + 30 * DAY });
      const cred = await s.request('cred.add', { type: 'ekey', user, ekey: adminEkey });
      expect(cred).toEqual({ credential: expect.any(Number), user, type: 'ekey' });
      return user;
    });
    admin.importBundle(owner.bundle(lockId, adminEkey));

    // The admin's session acts as the registered admin user.
    const proof = await admin.withSession(world.link(), lockId, (s) =>
      s.request('proof', { ekey: adminEkey, sig: new Uint8Array(64) }).catch((e: unknown) => e),
    );
    expect(proof).toBeInstanceOf(PhoneSessionError); // a forged signature is refused ...
    expect((proof as PhoneSessionError).reason).toBe('proof_of_possession_failed');

    // ... the admin issues a guest eKey (chained to its own) to a third phone, who unlocks with it.
    const guestEkey = admin.mint({
      lockId,
      holder: guest.holderPublic,
      role: 'guest',
      from: T0,
      until: T0 + DAY,
    });
    expect(decodeClaims(decodeSign1(guestEkey).payload).chain).not.toBeNull();
    guest.importBundle(admin.bundle(lockId, guestEkey));
    await guest.once(world.link(), lockId, 'unlock', {});
    expect(world.f.lock.status().bolt).toBe('unlocking');

    // ... adds a guest user, but cannot create an admin, nor promote one, nor take over another admin.
    await admin.withSession(world.link(), lockId, async (s) => {
      const { user: g } = await s.request('user.add', { role: 'guest', name: 'Cy', validUntil: T0 + DAY });
      expect(world.f.lock.getUser(g)).toMatchObject({ role: 'guest', createdBy: adminUser });
      expect(
        await refusedWith(s.request('user.add', { role: 'admin', name: 'Di', validUntil: T0 + DAY })),
      ).toBe('refused:not_authorized');
      expect(await refusedWith(s.request('user.modify', { user: g, changes: { role: 'admin' } }))).toBe(
        'refused:not_authorized',
      );
      expect(await refusedWith(s.request('settings.set', { changes: { requirePinForRemote: true } }))).toBe(
        'refused:not_authorized',
      );
    });
    expect(
      world.f.lock
        .listUsers()
        .map((u) => u.role)
        .sort(),
    ).toEqual(['admin', 'guest', 'owner']);
    // An admin-issued admin eKey is no way round it: its holder is no registered user, so it manages nothing.
    const fake = world.phone('fake-admin');
    const sub = admin.mint({ lockId, holder: fake.holderPublic, role: 'admin', from: T0, until: T0 + DAY });
    fake.importBundle(admin.bundle(lockId, sub));
    expect(
      await refusedWith(fake.once(world.link(), lockId, 'user.add', { role: 'guest', validUntil: T0 + DAY })),
    ).toBe('refused:not_authorized');
  });

  it('the pulled audit log matches the lock and verifies with its device key', async () => {
    w = makeWorld();
    const world = w;
    const owner = world.phone('owner');
    world.presence = true;
    const { lockId } = await owner.claim(world.link(), { setupCode: SETUP_CODE });
    for (let i = 0; i < 30; i++) world.f.lock.pressKey(String(i % 10)); // some keypad noise
    await owner.once(world.link(), lockId, 'unlock', {});
    world.f.clock.advance(1000);
    const pulled = await owner.withSession(world.link(), lockId, (s) => owner.pullAudit(s, lockId, 1));
    const lockEntries = world.f.lock.audit.entries(1);
    expect(pulled.entries.map((e) => canonicalJson(e))).toEqual(
      lockEntries.slice(0, pulled.entries.length).map((e) => canonicalJson(e)),
    );
    expect(pulled.entries.length).toBeGreaterThan(5);
    expect(pulled.checkpoint?.seq).toBe(pulled.entries[pulled.entries.length - 1]!.seq);
    expect(pulled.next).toBe(pulled.entries[pulled.entries.length - 1]!.seq + 1);
    // Acknowledge, then pull only what is new.
    await owner.once(world.link(), lockId, 'audit.ack', { upTo: pulled.next - 1 });
    const again = await owner.withSession(world.link(), lockId, (s) =>
      owner.pullAudit(s, lockId, pulled.next),
    );
    expect(again.entries.map((e) => e.seq)[0]).toBe(pulled.next);
  });
});
