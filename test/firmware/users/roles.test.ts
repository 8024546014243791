// Role hierarchy and user management: exact error codes, and no partial change when refused.
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

function world() {
  f = startLock();
  const lock = f.lock;
  const owner = lock.createOwner({ name: 'Owner' }).index;
  const admin = lock.addUser(owner, { name: 'Admin', role: 'admin', permanent: true }).index;
  const admin2 = lock.addUser(owner, { name: 'Admin2', role: 'admin', permanent: true }).index;
  const member = lock.addUser(owner, { name: 'Member', role: 'member', validUntil: T0 + 30 * DAY }).index;
  const sharer = lock.addUser(owner, {
    name: 'Sharer',
    role: 'member',
    validUntil: T0 + 30 * DAY,
    mayShare: true,
  }).index;
  const guest = lock.addUser(owner, { name: 'Guest', role: 'guest', validUntil: T0 + DAY }).index;
  return { f, lock, owner, admin, admin2, member, sharer, guest };
}

describe('setup mode and the first owner', () => {
  it('createOwner works once; the lock leaves setup mode', () => {
    f = startLock();
    expect(f.lock.status().setupMode).toBe(true);
    const o = f.lock.createOwner({ name: 'Olivia' });
    expect(o).toMatchObject({ role: 'owner', permanent: true, createdBy: null, userType: 'Unrestricted' });
    expect(f.lock.status().setupMode).toBe(false);
    expect(code(() => f!.lock.createOwner({ name: 'Mallory' }))).toBe('not_authorized');
  });
});

describe('hierarchy refusals', () => {
  it('an admin cannot create, modify or remove admins or owners', () => {
    const w = world();
    expect(code(() => w.lock.addUser(w.admin, { role: 'admin', permanent: true }))).toBe('not_authorized');
    expect(code(() => w.lock.addUser(w.admin, { role: 'owner' }))).toBe('not_authorized');
    expect(code(() => w.lock.modifyUser(w.admin, w.admin2, { name: 'X' }))).toBe('not_authorized');
    expect(code(() => w.lock.modifyUser(w.admin, w.owner, { enabled: false }))).toBe('not_authorized');
    expect(code(() => w.lock.removeUser(w.admin, w.admin2))).toBe('not_authorized');
    expect(code(() => w.lock.removeUser(w.admin, w.owner))).toBe('not_authorized');
    expect(code(() => w.lock.addCredential(w.admin, w.owner, { type: 'pin', pin: '7391' }))).toBe(
      'not_authorized',
    );
    expect(code(() => w.lock.modifyUser(w.admin, w.member, { role: 'admin' }))).toBe('not_authorized');
    expect(code(() => w.lock.modifyUser(w.admin, w.admin, { role: 'owner' }))).toBe('not_authorized');
  });

  it('an admin manages members and guests', () => {
    const w = world();
    const m = w.lock.addUser(w.admin, { role: 'member', validUntil: T0 + DAY });
    expect(m.createdBy).toBe(w.admin);
    expect(w.lock.modifyUser(w.admin, m.index, { name: 'Renamed' }).modifiedBy).toBe(w.admin);
    w.lock.addCredential(w.admin, m.index, { type: 'pin', pin: '7391' });
    w.lock.removeUser(w.admin, m.index);
    expect(w.lock.getUser(m.index)).toBeNull();
    expect(w.lock.listCredentials(m.index)).toEqual([]);
  });

  it('a member may add guests only when the owner allowed sharing, and only within its own validity', () => {
    const w = world();
    expect(code(() => w.lock.addUser(w.member, { role: 'guest', validUntil: T0 + DAY }))).toBe(
      'not_authorized',
    );
    const g = w.lock.addUser(w.sharer, { role: 'guest', validUntil: T0 + DAY });
    expect(g.createdBy).toBe(w.sharer);
    expect(code(() => w.lock.addUser(w.sharer, { role: 'member', validUntil: T0 + DAY }))).toBe(
      'not_authorized',
    );
    expect(code(() => w.lock.addUser(w.sharer, { role: 'guest', validUntil: T0 + 31 * DAY }))).toBe(
      'not_authorized',
    );
    expect(code(() => w.lock.addUser(w.sharer, { role: 'guest', permanent: true }))).toBe('not_authorized');
    // a sharing member manages only the guests it created
    expect(code(() => w.lock.removeUser(w.sharer, w.guest))).toBe('not_authorized');
    w.lock.removeUser(w.sharer, g.index);
  });

  it('only the owner may let a member share', () => {
    const w = world();
    expect(
      code(() => w.lock.addUser(w.admin, { role: 'member', validUntil: T0 + DAY, mayShare: true })),
    ).toBe('not_authorized');
    expect(code(() => w.lock.modifyUser(w.admin, w.member, { mayShare: true }))).toBe('not_authorized');
    expect(w.lock.modifyUser(w.owner, w.member, { mayShare: true }).mayShare).toBe(true);
  });

  it('a guest only locks and unlocks', () => {
    const w = world();
    expect(code(() => w.lock.addUser(w.guest, { role: 'guest', validUntil: T0 + DAY }))).toBe(
      'not_authorized',
    );
    expect(code(() => w.lock.addCredential(w.guest, w.guest, { type: 'pin', pin: '7391' }))).toBe(
      'not_authorized',
    );
    expect(code(() => w.lock.updateSettings(w.guest, { autoRelockSeconds: 10 }))).toBe('not_authorized');
    expect(code(() => w.lock.setTime(w.guest, T0))).toBe('not_authorized');
    expect(code(() => w.lock.audit.acknowledge(w.guest, 1))).toBe('not_authorized');
    expect(
      code(() =>
        w.lock.addHoliday(w.guest, {
          kind: 'holiday',
          from: '2025-02-01T00:00',
          until: '2025-02-02T00:00',
          mode: 'Vacation',
        }),
      ),
    ).toBe('not_authorized');
  });

  it('nobody grants beyond what they hold: methods, sites, validity, permanence', () => {
    const w = world();
    const limited = w.lock.addUser(w.owner, {
      role: 'admin',
      validFrom: T0,
      validUntil: T0 + 10 * DAY,
      methods: ['pin', 'app'],
    }).index;
    const ok = { role: 'guest' as const, validFrom: T0, validUntil: T0 + DAY, methods: ['pin' as const] };
    expect(w.lock.addUser(limited, ok).role).toBe('guest');
    expect(code(() => w.lock.addUser(limited, { ...ok, methods: ['card'] }))).toBe('not_authorized');
    expect(code(() => w.lock.addUser(limited, { ...ok, sites: ['elsewhere'] }))).toBe('not_authorized');
    expect(code(() => w.lock.addUser(limited, { ...ok, validUntil: T0 + 11 * DAY }))).toBe('not_authorized');
    expect(code(() => w.lock.addUser(limited, { ...ok, validFrom: undefined }))).toBe('not_authorized');
    expect(code(() => w.lock.addUser(limited, { ...ok, validUntil: undefined, permanent: true }))).toBe(
      'not_authorized',
    );
    // ... nor extends its own rights
    expect(code(() => w.lock.modifyUser(limited, limited, { validUntil: T0 + 20 * DAY }))).toBe(
      'not_authorized',
    );
  });

  it('non-owner without validUntil and without permanent: time_bound_required', () => {
    const w = world();
    for (const role of ['admin', 'member', 'guest'] as const) {
      expect(code(() => w.lock.addUser(w.owner, { role }))).toBe('time_bound_required');
    }
    expect(code(() => w.lock.modifyUser(w.owner, w.guest, { validUntil: null }))).toBe('time_bound_required');
    expect(w.lock.addUser(w.owner, { role: 'member', permanent: true }).permanent).toBe(true);
  });

  it('a disabled or expired actor cannot manage anything; an unknown actor neither', () => {
    const w = world();
    w.lock.setUserEnabled(w.owner, w.admin, false);
    expect(code(() => w.lock.addUser(w.admin, { role: 'guest', validUntil: T0 + DAY }))).toBe(
      'not_authorized',
    );
    expect(code(() => w.lock.addUser(999, { role: 'guest', validUntil: T0 + DAY }))).toBe('not_authorized');
    const temp = w.lock.addUser(w.owner, { role: 'admin', validUntil: T0 + DAY }).index;
    w.f.clock.advance(DAY);
    expect(code(() => w.lock.addUser(temp, { role: 'guest', validUntil: T0 + 2 * DAY }))).toBe(
      'not_authorized',
    );
  });

  it('the last owner cannot be removed, demoted or disabled', () => {
    const w = world();
    expect(code(() => w.lock.removeUser(w.owner, w.owner))).toBe('invalid_argument');
    expect(code(() => w.lock.modifyUser(w.owner, w.owner, { role: 'admin', permanent: true }))).toBe(
      'invalid_argument',
    );
    expect(code(() => w.lock.setUserEnabled(w.owner, w.owner, false))).toBe('invalid_argument');
    const second = w.lock.addUser(w.owner, { role: 'owner' }).index;
    w.lock.removeUser(second, w.owner);
    expect(w.lock.getUser(w.owner)).toBeNull();
  });

  it('admins change only non-security settings; owners all but the lock id', () => {
    const w = world();
    expect(w.lock.updateSettings(w.admin, { autoRelockSeconds: 10 }).autoRelockSeconds).toBe(10);
    expect(code(() => w.lock.updateSettings(w.admin, { wrongCodeLimit: 50 }))).toBe('not_authorized');
    expect(code(() => w.lock.updateSettings(w.admin, { requirePinForRemote: true }))).toBe('not_authorized');
    expect(w.lock.updateSettings(w.owner, { wrongCodeLimit: 3 }).wrongCodeLimit).toBe(3);
    expect(code(() => w.lock.updateSettings(w.owner, { lockId: 'other' }))).toBe('invalid_argument');
    expect(code(() => w.lock.updateSettings(w.owner, { wrongCodeLimit: 0 }))).toBe('out_of_range');
    expect(w.lock.settings.wrongCodeLimit).toBe(3);
  });
});

describe('user data validation and lifecycle', () => {
  it('rejects bad fields with precise codes and writes nothing', () => {
    const w = world();
    const before = w.lock.audit.entries().length;
    const users = w.lock.listUsers().length;
    const bad: Array<[() => unknown, ErrorCode]> = [
      [() => w.lock.addUser(w.owner, { role: 'king' as never, permanent: true }), 'invalid_argument'],
      [
        () => w.lock.addUser(w.owner, { role: 'guest', permanent: true, name: 'x'.repeat(33) }),
        'invalid_argument',
      ],
      [
        () => w.lock.addUser(w.owner, { role: 'guest', permanent: true, name: 'bad\u0000name' }),
        'invalid_argument',
      ],
      [
        () => w.lock.addUser(w.owner, { role: 'guest', permanent: true, userType: 'Boss' as never }),
        'invalid_argument',
      ],
      [
        () => w.lock.addUser(w.owner, { role: 'guest', validFrom: T0 + DAY, validUntil: T0 }),
        'invalid_argument',
      ],
      [() => w.lock.addUser(w.owner, { role: 'guest', validUntil: -5 }), 'out_of_range'],
      [() => w.lock.addUser(w.owner, { role: 'guest', permanent: true, methods: [] }), 'invalid_argument'],
      [
        () => w.lock.addUser(w.owner, { role: 'guest', permanent: true, methods: ['voice' as never] }),
        'invalid_argument',
      ],
      [() => w.lock.addUser(w.owner, { role: 'guest', permanent: true, usesRemaining: -1 }), 'out_of_range'],
      [
        () => w.lock.addUser(w.owner, { role: 'guest', permanent: true, extra: 1 } as never),
        'invalid_argument',
      ],
      [() => w.lock.addUser(w.owner, { role: 'guest', permanent: true, name: 'Guest' }), 'duplicate'],
      [() => w.lock.modifyUser(w.owner, 424242, { enabled: false }), 'not_found'],
      [() => w.lock.removeUser(w.owner, 424242), 'not_found'],
    ];
    for (const [fn, c] of bad) expect(code(fn)).toBe(c);
    expect(w.lock.audit.entries().length).toBe(before);
    expect(w.lock.listUsers().length).toBe(users);
  });

  it('accepts 32-character names (UTF-8) and finds users by name', () => {
    const w = world();
    const name = 'Zoë-Åsa '.repeat(4).trim().padEnd(32, 'x');
    const u = w.lock.addUser(w.owner, { role: 'guest', permanent: true, name });
    expect(w.lock.findUserByName(name)?.index).toBe(u.index);
  });

  it('remove deletes credentials and schedules; every change is audited with actor and target', () => {
    const w = world();
    w.lock.addCredential(w.owner, w.guest, { type: 'pin', pin: '7391' });
    w.lock.addSchedule(w.owner, w.guest, { kind: 'weekly', days: ['mon'], start: '09:00', end: '10:00' });
    w.lock.removeUser(w.owner, w.guest);
    expect(w.lock.listCredentials(w.guest)).toEqual([]);
    expect(w.lock.enterPin('7391')).toEqual({ granted: false, reason: 'invalid_credential' });
    const changes = w.lock.audit.entries().filter((e) => e.targetUserIndex === w.guest);
    expect(changes.map((e) => e.action)).toEqual([
      'add_user',
      'add_credential',
      'add_schedule',
      'remove_user',
    ]);
    expect(changes.every((e) => e.userIndex === w.owner)).toBe(true);
  });

  it('erase removes the personal data and the audit chain still verifies', () => {
    const w = world();
    w.lock.addCredential(w.owner, w.guest, { type: 'pin', pin: '7391' });
    expect(w.lock.enterPin('7391').granted).toBe(true);
    w.lock.eraseUser(w.owner, w.guest);
    expect(w.lock.findUserByName('Guest')).toBeNull();
    expect(w.lock.getUser(w.guest)).toBeNull();
    expect(w.lock.audit.verify()).toMatchObject({ ok: true });
    expect(w.lock.audit.exportJsonl()).not.toContain('Guest');
    // the old entries still name the index, never the person
    expect(w.lock.audit.entries().some((e) => e.action === 'unlock' && e.userIndex === w.guest)).toBe(true);
    w.f.reopen();
    expect(w.f.lock.audit.verify()).toMatchObject({ ok: true });
  });

  it('anyone may have their own data erased', () => {
    const w = world();
    w.lock.eraseUser(w.member, w.member);
    expect(w.lock.getUser(w.member)).toBeNull();
  });
});

describe('capacities', () => {
  it('users, credentials per user, schedules per user: capacity_exceeded, nothing written', () => {
    f = startLock({
      settings: { capacities: { users: 3, credentialsPerUser: 2, schedulesPerUser: 1, auditEntries: 1000 } },
    });
    const lock = f.lock;
    const owner = lock.createOwner({}).index;
    const a = lock.addUser(owner, { role: 'member', permanent: true }).index;
    lock.addUser(owner, { role: 'member', permanent: true });
    const n = lock.audit.entries().length;
    expect(code(() => lock.addUser(owner, { role: 'member', permanent: true }))).toBe('capacity_exceeded');
    expect(lock.listUsers().length).toBe(3);
    lock.addCredential(owner, a, { type: 'pin', pin: '7391' });
    lock.addCredential(owner, a, { type: 'card', uid: '04a1b2c3' });
    expect(code(() => lock.addCredential(owner, a, { type: 'fingerprint', templateId: 3 }))).toBe(
      'capacity_exceeded',
    );
    expect(lock.listCredentials(a).length).toBe(2);
    lock.addSchedule(owner, a, { kind: 'weekly', days: ['mon'], start: '09:00', end: '10:00' });
    expect(
      code(() => lock.addSchedule(owner, a, { kind: 'weekly', days: ['tue'], start: '09:00', end: '10:00' })),
    ).toBe('capacity_exceeded');
    expect(lock.listSchedules(a).length).toBe(1);
    expect(lock.audit.entries().length).toBe(n + 3);
  });
});
