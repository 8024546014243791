// The main story over the virtual radio in one process: real bleno serving LockGattService in front of a
// real Lock, two phones as two independent real noble centrals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeClaims, decodeSign1 } from '../../firmware/index.ts';
import { installVirtualRadio, type RadioHandle } from '../../sim/radio/index.ts';
import { LockGattService } from '../../ble-gatt/server/LockGattService.ts';
import { NobleTransport, scanLocks, type Noble } from '../../ble-gatt/client/NobleTransport.ts';
import { PhoneSession, PhoneSessionError } from '../../ble-gatt/client/PhoneSession.ts';
import type { Phone } from '../../ble-gatt/client/Phone.ts';
import { matchesRotatingId, rotatingId, ridEpoch } from '../../ble-gatt/server/Advertising.ts';
import { DAY, HOUR, T0 } from '../helpers/lockFixture.ts';
import { makeWorld, SETUP_CODE, type World } from '../ble-gatt/server/world.ts';
import { findLock, overRadio } from './radio.ts';

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PhoneSessionError) return `${err.kind}:${err.reason}`;
    throw err;
  }
  return 'ok';
}

describe('over the virtual radio (bleno and noble in one process)', () => {
  let radio: RadioHandle;
  let noble: Noble;
  let noble2: Noble;
  let world: World;
  let gatt: LockGattService;
  let owner: Phone;
  let guest: Phone;

  beforeAll(async () => {
    radio = installVirtualRadio({ hub: 'in-process', name: 'gatt-test' });
    const bleno = radio.loadBleno();
    noble = radio.loadNoble();
    noble2 = radio.newNoble();
    world = makeWorld();
    gatt = await LockGattService.start({
      bleno,
      service: world.service,
      time: () => world.f.lock.status().time,
    });
    owner = world.phone('owner');
    guest = world.phone('guest');
  });

  afterAll(async () => {
    await gatt?.stop();
    await radio?.close();
    world?.close();
  });

  it('claim -> unlock -> guest eKey -> schedule -> revoke, each step in its own connection', async () => {
    const now = (): number => world.f.lock.status().time!;

    // Advertising: setup flag, no name, a random identifier while unclaimed.
    const heard = await scanLocks(noble, { ms: 3000, until: () => true });
    expect(heard).toHaveLength(1);
    expect(heard[0]!.setup).toBe(true);
    expect(heard[0]!.peripheral.advertisement.localName).toBeUndefined();

    world.presence = true;
    const setupLock = await findLock(noble, { setup: true });
    const t0 = await NobleTransport.connect(setupLock.peripheral);
    const rec = await owner.claim(t0, { setupCode: SETUP_CODE, ownerName: 'Ana' });
    await t0.close();
    const lockId = rec.lockId;
    expect(world.f.lock.status().setupMode).toBe(false);

    // Once claimed, the identifier is the rotating one, recognisable with the lock key only.
    gatt.refreshAdvertising();
    const mine = await findLock(noble, { lockKey: rec.lockKey, now: now() });
    expect(mine.setup).toBe(false);
    expect(Buffer.from(mine.rid)).toEqual(Buffer.from(rotatingId(rec.lockKey, ridEpoch(now()))));
    expect(matchesRotatingId(new Uint8Array(32).fill(9), mine.rid, now())).toBe(false);

    // Owner unlocks: two GATT round trips after connecting (status read, handshake with the request).
    const rt = await overRadio(noble, owner, lockId, now(), async (t) => {
      await owner.once(t, lockId, 'unlock', {});
      return t.roundTrips + 1; // + the write/notify exchange of the handshake (writes without response)
    });
    expect(rt).toBe(2);
    expect(world.f.lock.status().bolt).toBe('unlocking');
    world.f.clock.advance(1000);
    expect(world.f.lock.status().bolt).toBe('unlocked');
    world.f.clock.advance(31_000);

    // Owner issues a guest eKey (weekdays 9-17) to the second phone, which imports the bundle.
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
    guest.importBundle(owner.bundle(lockId, ekey));
    await overRadio(noble2, guest, lockId, now(), (t) => guest.once(t, lockId, 'unlock', {}));
    expect(world.f.lock.audit.entries(1).at(-1)).toMatchObject({
      action: 'unlock',
      result: 'success',
      credential: { type: 'ekey' },
    });
    world.f.clock.advance(32_000);

    world.f.clock.advance(8 * HOUR); // Monday 20:00
    expect(
      await outcome(overRadio(noble2, guest, lockId, now(), (t) => guest.once(t, lockId, 'unlock', {}))),
    ).toBe('refused:outside_schedule');
    world.f.clock.advance(14 * HOUR); // Tuesday 10:00
    await overRadio(noble2, guest, lockId, now(), (t) => guest.once(t, lockId, 'unlock', {}));
    world.f.clock.advance(32_000);

    // Revocation while the guest holds an open session: the session dies (THREATS 17).
    const guestFound = await findLock(noble2, { lockKey: rec.lockKey, now: now() });
    const gt = await NobleTransport.connect(guestFound.peripheral);
    // bleno serves one connection at a time: the owner revokes right after the guest's session closes.
    const { session } = await guest.open(gt, lockId);
    expect((await session.request('status', {})).lockId).toBe(lockId);
    await session.close();
    const cti = decodeClaims(decodeSign1(ekey).payload).cti;
    await overRadio(noble, owner, lockId, now(), (t) =>
      owner.once(t, lockId, 'revoke', { cti, until: T0 + 7 * DAY }),
    );
    expect(
      await outcome(overRadio(noble2, guest, lockId, now(), (t) => guest.once(t, lockId, 'unlock', {}))),
    ).toBe('refused:revoked');
    expect(world.f.lock.status().bolt).toBe('locked');

    // The pulled audit log matches the lock's and verifies.
    const pulled = await overRadio(noble, owner, lockId, now(), (t) =>
      owner.withSession(t, lockId, (s) => owner.pullAudit(s, lockId, 1)),
    );
    const lockEntries = world.f.lock.audit.entries(1, pulled.entries.length);
    expect(pulled.entries).toEqual(lockEntries);
  });

  it('large messages are fragmented to the MTU and reassembled (audit pull streams many notifications)', async () => {
    const lockId = world.f.lock.status().lockId;
    for (let i = 0; i < 60; i++) world.f.lock.pressKey(i % 2 === 0 ? '5' : '#');
    const stats = await overRadio(noble, owner, lockId, world.f.lock.status().time!, async (t) => {
      const got = await owner.withSession(t, lockId, (s) => owner.pullAudit(s, lockId, 1));
      expect(got.entries).toEqual(world.f.lock.audit.entries(1, got.entries.length));
      expect(got.entries.length).toBeGreaterThan(40);
      return t.stats;
    });
    expect(stats.notifications).toBeGreaterThan(10);
    expect(gatt.stats.bytesOut).toBeGreaterThan(4096);
  });

  it('a phone that never subscribes or handshakes is timed out; the radio path refuses stale challenges', async () => {
    const found = await findLock(noble, {
      lockKey: owner.lockRecord(world.f.lock.status().lockId).lockKey,
      now: world.f.lock.status().time!,
    });
    const t = await NobleTransport.connect(found.peripheral);
    const first = await PhoneSession.readStatus(t);
    const second = await PhoneSession.readStatus(t);
    expect(Buffer.from(second.status.ch)).toEqual(Buffer.from(first.status.ch)); // one challenge per connection
    world.f.clock.advance(11_000);
    world.service.sweep();
    await new Promise((r) => setTimeout(r, 100));
    await expect(t.readStatus()).rejects.toThrow(/read status|not connected/);
    await t.close();
  });
});
