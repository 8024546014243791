// The commands of docs/protocol.md section 9 run over a session against the real engine: management,
// credentials, schedules, settings, time sync, RequirePINforRemoteOperation and the shared lockout.
import { afterEach, describe, expect, it } from 'vitest';
import { PhoneSessionError, type PhoneSession } from '../../../ble-gatt/client/PhoneSession.ts';
import type { Phone } from '../../../ble-gatt/client/Phone.ts';
import { DAY, HOUR, T0 } from '../../helpers/lockFixture.ts';
import { makeWorld, SETUP_CODE, type World } from './world.ts';

let w: World | undefined;
afterEach(() => {
  w?.close();
  w = undefined;
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

async function setup(
  opts: Parameters<typeof makeWorld>[0] = {},
): Promise<{ world: World; owner: Phone; lockId: string }> {
  w = makeWorld(opts);
  w.presence = true;
  const owner = w.phone('owner');
  const { lockId } = await owner.claim(w.link(), { setupCode: SETUP_CODE, ownerName: 'Ana' });
  return { world: w, owner, lockId };
}

describe('management over a session', () => {
  it('users, credentials and schedules: add, list, modify, disable, remove', async () => {
    const { world, owner, lockId } = await setup();
    await owner.withSession(world.link(), lockId, async (s: PhoneSession) => {
      const { user } = await s.request('user.add', {
        role: 'member',
        name: 'Bea',
        validUntil: T0 + 30 * DAY,
        methods: ['pin', 'app'],
      });
      const pin = await s.request('cred.add', { type: 'pin', user, pin: '482913' });
      expect(pin).toEqual({ credential: expect.any(Number), user, type: 'pin' });
      const card = await s.request('cred.add', { type: 'card', user, uid: '04a1b2c3' });
      expect(card.type).toBe('card');
      expect(await outcome(s.request('cred.add', { type: 'pin', user, pin: '1234' }))).toBe(
        'refused:weak_pin',
      );
      expect(await outcome(s.request('cred.add', { type: 'pin', user, pin: '482913' }))).toBe(
        'refused:duplicate',
      );
      const { index } = await s.request('schedule.add', {
        user,
        schedule: { kind: 'weekly', days: ['sat', 'sun'], start: '10:00', end: '12:00' },
      });
      const holiday = await s.request('schedule.add', {
        schedule: { kind: 'holiday', from: '2025-12-24T00:00', until: '2025-12-26T23:59', mode: 'Vacation' },
      });
      expect(world.f.lock.listHolidays().map((h) => h.index)).toEqual([holiday.index]);
      const list = await s.request('user.list', {});
      expect(list.users.map((u) => [u.name, u.role])).toEqual([
        ['Ana', 'owner'],
        ['Bea', 'member'],
      ]);
      expect(list.next).toBeNull();
      await s.request('user.modify', { user, changes: { name: 'Beatriz' } });
      await s.request('user.disable', { user });
      expect(world.f.lock.getUser(user)).toMatchObject({ name: 'Beatriz', enabled: false });
      // The keypad PIN of a disabled user opens nothing.
      expect(world.f.lock.enterPin('482913')).toMatchObject({ granted: false, reason: 'disabled_user' });
      await s.request('schedule.remove', { user, index });
      await s.request('schedule.remove', { index: holiday.index });
      await s.request('cred.remove', { credential: card.credential });
      expect(world.f.lock.listCredentials(user).map((c) => c.type)).toEqual(['pin']);
      await s.request('user.remove', { user });
      expect(world.f.lock.getUser(user)).toBeNull();
      expect(await outcome(s.request('user.remove', { user }))).toBe('refused:not_found');
    });
    const actions = world.f.lock.audit
      .entries(1)
      .filter((e) => e.kind === 'LockUserChange')
      .map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['add_user', 'add_credential', 'add_schedule', 'modify_user', 'remove_user']),
    );
  });

  it('settings: the owner changes security settings, an admin only the others', async () => {
    const { world, owner, lockId } = await setup();
    const admin = world.phone('admin');
    const adminEkey = owner.mint({
      lockId,
      holder: admin.holderPublic,
      role: 'admin',
      from: T0 - DAY,
      until: T0 + DAY,
    });
    await owner.withSession(world.link(), lockId, async (s) => {
      const { user } = await s.request('user.add', { role: 'admin', name: 'Bo', validUntil: T0 + DAY });
      await s.request('cred.add', { type: 'ekey', user, ekey: adminEkey });
      const got = await s.request('settings.set', { changes: { wrongCodeLimit: 3, autoRelockSeconds: 10 } });
      expect(got.settings).toMatchObject({ lockId, wrongCodeLimit: 3, autoRelockSeconds: 10 });
    });
    admin.importBundle(owner.bundle(lockId, adminEkey));
    await admin.withSession(world.link(), lockId, async (s) => {
      expect((await s.request('settings.get', {})).settings.wrongCodeLimit).toBe(3);
      await s.request('settings.set', { changes: { autoRelockSeconds: 20 } });
      expect(await outcome(s.request('settings.set', { changes: { wrongCodeLimit: 10 } }))).toBe(
        'refused:not_authorized',
      );
      expect(await outcome(s.request('factory_reset', { confirm: 'factory_reset' }))).toBe(
        'refused:not_authorized',
      );
    });
    expect(world.f.lock.settings).toMatchObject({ wrongCodeLimit: 3, autoRelockSeconds: 20 });
  });

  it('time sync: admins only, never backwards beyond the tolerance, and possible when the time is lost', async () => {
    const { world, owner, lockId } = await setup();
    await owner.withSession(world.link(), lockId, async (s) => {
      expect((await s.request('time.sync', { time: T0 + HOUR })).time).toBe(T0 + HOUR);
      expect(await outcome(s.request('time.sync', { time: T0 }))).toBe('refused:clock_rollback');
      expect((await s.request('time.sync', { time: T0 + HOUR - 30_000 })).time).toBe(T0 + HOUR - 30_000);
    });
    // Power loss: the lock forgets the time; eKeys fail closed, but the owner may set it again.
    world.f.clock.forgetTime();
    expect(await outcome(owner.once(world.link(), lockId, 'unlock', {}))).toBe('refused:time_unknown');
    await owner.once(world.link(), lockId, 'time.sync', { time: T0 + 2 * HOUR });
    expect(world.f.lock.status().time).toBe(T0 + 2 * HOUR);
    await owner.once(world.link(), lockId, 'unlock', {});
    expect(world.f.lock.status().bolt).toBe('unlocking');
  });

  it('unlock_with_timeout relocks after the given seconds', async () => {
    const { world, owner, lockId } = await setup();
    await owner.once(world.link(), lockId, 'unlock_with_timeout', { seconds: 5 });
    world.f.clock.advance(1000);
    expect(world.f.lock.status().bolt).toBe('unlocked');
    world.f.clock.advance(5000);
    world.f.clock.advance(1000);
    expect(world.f.lock.status().bolt).toBe('locked');
  });
});

describe('RequirePINforRemoteOperation and the shared lockout', () => {
  it('asks for the PIN, counts wrong ones with the keypad, and refuses eKey-only holders', async () => {
    const { world, owner, lockId } = await setup();
    const guest = world.phone('guest');
    const ekey = owner.mint({
      lockId,
      holder: guest.holderPublic,
      role: 'guest',
      from: T0 - HOUR,
      until: T0 + DAY,
    });
    guest.importBundle(owner.bundle(lockId, ekey));
    await owner.withSession(world.link(), lockId, async (s) => {
      await s.request('cred.add', { type: 'pin', user: 1, pin: '915273' });
      await s.request('settings.set', { changes: { requirePinForRemote: true, wrongCodeLimit: 3 } });
    });
    expect(await outcome(owner.once(world.link(), lockId, 'unlock', {}))).toBe('refused:pin_required');
    expect(await outcome(guest.once(world.link(), lockId, 'unlock', {}))).toBe('refused:pin_required');
    expect(await outcome(owner.once(world.link(), lockId, 'unlock', { pin: '111111' }))).toBe(
      'refused:invalid_credential',
    );
    world.f.lock.enterPin('222222'); // a wrong PIN at the keypad: the same counter
    expect(world.f.lock.status().wrongAttempts).toBe(2);
    expect(await outcome(owner.once(world.link(), lockId, 'unlock', { pin: '333333' }))).toBe(
      'refused:invalid_credential',
    );
    expect(world.f.lock.status().lockedOutRemainingMs).toBeGreaterThan(0);
    // Locked out: even the right PIN is refused, over BLE as at the keypad.
    expect(await outcome(owner.once(world.link(), lockId, 'unlock', { pin: '915273' }))).toBe(
      'refused:locked_out',
    );
    world.f.clock.advance(16_000);
    await owner.once(world.link(), lockId, 'unlock', { pin: '915273' });
    expect(world.f.lock.status().bolt).toBe('unlocking');
  });
});
