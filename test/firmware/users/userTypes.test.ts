// Matter user types through the whole engine (real store, fake clock): what is committed, audited, emitted.
import { afterEach, describe, expect, it } from 'vitest';
import { DAY, HOUR, T0, cleanup, startLock, type Fixture } from '../../helpers/lockFixture.ts';

let f: Fixture | undefined;
afterEach(() => cleanup(f));

function setup(): { f: Fixture; owner: number } {
  f = startLock();
  const owner = f.lock.createOwner({ name: 'Owner' }).index;
  return { f, owner };
}

describe('user types through the lock', () => {
  it('Disposable opens once, then uses_exhausted, also after a restart', () => {
    const { f, owner } = setup();
    const u = f.lock.addUser(owner, {
      name: 'Courier',
      role: 'guest',
      userType: 'Disposable',
      validUntil: T0 + DAY,
    });
    expect(u.usesRemaining).toBe(1);
    f.lock.addCredential(owner, u.index, { type: 'pin', pin: '4711' });
    expect(f.lock.enterPin('4711')).toEqual({ granted: true, userIndex: u.index });
    expect(f.lock.getUser(u.index)?.usesRemaining).toBe(0);
    expect(f.lock.enterPin('4711')).toEqual({ granted: false, reason: 'uses_exhausted' });
    f.reopen();
    expect(f.lock.enterPin('4711')).toEqual({ granted: false, reason: 'uses_exhausted' });
    const last = f.lock.audit.entries().filter((e) => e.kind === 'LockOperationError');
    expect(last.map((e) => [e.reason, e.userIndex])).toEqual([
      ['uses_exhausted', u.index],
      ['uses_exhausted', u.index],
    ]);
  });

  it('the used-once mark is committed before the motor runs', () => {
    const { f, owner } = setup();
    const u = f.lock.addUser(owner, { role: 'guest', userType: 'Disposable', validUntil: T0 + DAY });
    f.lock.addCredential(owner, u.index, { type: 'pin', pin: '4711' });
    let usesWhenMotorStarted: number | null | undefined;
    const drive = f.board.driveBolt.bind(f.board);
    f.board.driveBolt = (target, done) => {
      usesWhenMotorStarted = f.lock.getUser(u.index)?.usesRemaining;
      drive(target, done);
    };
    f.lock.enterPin('4711');
    expect(usesWhenMotorStarted).toBe(0);
  });

  it('NonAccess never opens (and is audited as such)', () => {
    const { f, owner } = setup();
    const u = f.lock.addUser(owner, { role: 'member', userType: 'NonAccess', permanent: true });
    f.lock.addCredential(owner, u.index, { type: 'card', uid: '04A1B2C3' });
    expect(f.lock.presentCard('04a1b2c3')).toEqual({ granted: false, reason: 'non_access_user' });
    expect(f.board.drives).toEqual([]);
  });

  it('RemoteOnly never at the keypad, but remotely', () => {
    const { f, owner } = setup();
    const u = f.lock.addUser(owner, { role: 'member', userType: 'RemoteOnly', permanent: true });
    f.lock.addCredential(owner, u.index, { type: 'pin', pin: '2580' });
    expect(f.lock.enterPin('2580')).toMatchObject({ granted: false, reason: 'method_not_allowed' });
    expect(f.lock.remoteOperation(u.index, 'unlock')).toEqual({ granted: true, userIndex: u.index });
  });

  it('Forced opens and raises a silent ForcedUser alarm (audited as a security entry)', () => {
    const { f, owner } = setup();
    const u = f.lock.addUser(owner, { role: 'member', userType: 'Forced', permanent: true });
    f.lock.addCredential(owner, u.index, { type: 'pin', pin: '9137' });
    expect(f.lock.enterPin('9137')).toEqual({ granted: true, userIndex: u.index, duress: true });
    expect(f.events.filter((e) => e.type === 'alarm')).toEqual([
      { type: 'alarm', code: 'ForcedUser', silent: true },
    ]);
    const alarm = f.lock.audit.entries().find((e) => e.action === 'ForcedUser');
    expect(alarm).toMatchObject({ kind: 'DoorLockAlarm', userIndex: u.index, security: true });
    expect(f.lock.status().alarms).toEqual([]); // silent: never in the status
    expect(f.board.drives).toEqual(['unlocked']);
  });

  it('Expiring: the timer starts at first use and survives a restart', () => {
    const { f, owner } = setup();
    const u = f.lock.addUser(owner, { role: 'guest', userType: 'Expiring', validUntil: T0 + 7 * DAY });
    f.lock.addCredential(owner, u.index, { type: 'pin', pin: '5802' });
    f.clock.advance(2 * HOUR); // not used yet: the timer has not started
    expect(f.lock.getUser(u.index)?.expiresAt).toBeNull();
    expect(f.lock.enterPin('5802').granted).toBe(true);
    const firstUse = T0 + 2 * HOUR;
    expect(f.lock.getUser(u.index)?.expiresAt).toBe(firstUse + HOUR);
    f.reopen();
    f.clock.advance(HOUR - 60_000);
    expect(f.lock.enterPin('5802').granted).toBe(true);
    expect(f.lock.getUser(u.index)?.expiresAt).toBe(firstUse + HOUR); // not restarted by a later use
    f.reopen();
    f.clock.advance(60_000);
    expect(f.lock.enterPin('5802')).toMatchObject({ granted: false, reason: 'expired' });
  });

  it('WeekDay / YearDay / ScheduleRestricted users open only inside their schedules', () => {
    const { f, owner } = setup(); // T0 is Monday 12:00 UTC
    const cleaner = f.lock.addUser(owner, {
      role: 'guest',
      userType: 'WeekDaySchedule',
      validUntil: T0 + 30 * DAY,
    });
    f.lock.addSchedule(owner, cleaner.index, { kind: 'weekly', days: ['mon'], start: '09:00', end: '13:00' });
    f.lock.addCredential(owner, cleaner.index, { type: 'pin', pin: '3141' });
    const visitor = f.lock.addUser(owner, {
      role: 'guest',
      userType: 'YearDaySchedule',
      validUntil: T0 + 30 * DAY,
    });
    f.lock.addSchedule(owner, visitor.index, {
      kind: 'yearday',
      from: '2025-01-06T11:00',
      until: '2025-01-06T12:30',
    });
    f.lock.addCredential(owner, visitor.index, { type: 'pin', pin: '2718' });
    const guest = f.lock.addUser(owner, {
      role: 'guest',
      userType: 'ScheduleRestricted',
      validUntil: T0 + 30 * DAY,
    });
    f.lock.addCredential(owner, guest.index, { type: 'pin', pin: '1618' });
    expect(f.lock.enterPin('3141').granted).toBe(true);
    expect(f.lock.enterPin('2718').granted).toBe(true);
    expect(f.lock.enterPin('1618')).toMatchObject({ granted: false, reason: 'outside_schedule' }); // no schedules
    f.clock.advance(HOUR + 1);
    expect(f.lock.enterPin('3141')).toMatchObject({ granted: false, reason: 'outside_schedule' });
    expect(f.lock.enterPin('2718')).toMatchObject({ granted: false, reason: 'outside_schedule' });
  });

  it('time unknown: schedule-restricted users fail closed with time_unknown, Unrestricted still opens', () => {
    const { f, owner } = setup();
    const cleaner = f.lock.addUser(owner, { role: 'member', userType: 'WeekDaySchedule', permanent: true });
    f.lock.addSchedule(owner, cleaner.index, { kind: 'weekly', days: ['mon'], start: '00:00', end: '23:59' });
    f.lock.addCredential(owner, cleaner.index, { type: 'pin', pin: '3141' });
    const resident = f.lock.addUser(owner, { role: 'member', permanent: true });
    f.lock.addCredential(owner, resident.index, { type: 'pin', pin: '8264' });
    f.clock.forgetTime();
    expect(f.lock.status().time).toBeNull();
    expect(f.lock.enterPin('3141')).toMatchObject({ granted: false, reason: 'time_unknown' });
    expect(f.lock.enterPin('8264')).toEqual({ granted: true, userIndex: resident.index });
    const e = f.lock.audit.entries().at(-1)!;
    expect(e.time).toBeNull(); // written while the clock was unknown
  });

  it('a clock reset far behind the highest time seen is treated as unknown', () => {
    const { f, owner } = setup();
    const cleaner = f.lock.addUser(owner, { role: 'member', userType: 'WeekDaySchedule', permanent: true });
    f.lock.addSchedule(owner, cleaner.index, { kind: 'weekly', days: ['mon'], start: '00:00', end: '23:59' });
    f.lock.addCredential(owner, cleaner.index, { type: 'pin', pin: '3141' });
    f.clock.set(T0 - 7 * DAY); // a Monday a week earlier: inside the window, but a rollback
    expect(f.lock.enterPin('3141')).toMatchObject({ granted: false, reason: 'time_unknown' });
  });

  it('wrong_lock: a user limited to another site', () => {
    f = startLock({ settings: { lockId: 'front', sites: ['front', 'house'] } });
    const owner = f.lock.createOwner({ name: 'Owner', sites: ['front', 'house', 'garage'] }).index;
    const g = f.lock.addUser(owner, { role: 'member', permanent: true, sites: ['garage'] });
    f.lock.addCredential(owner, g.index, { type: 'pin', pin: '7391' });
    expect(f.lock.enterPin('7391')).toMatchObject({ granted: false, reason: 'wrong_lock' });
    const h = f.lock.addUser(owner, { role: 'member', permanent: true, sites: ['house'] });
    f.lock.addCredential(owner, h.index, { type: 'pin', pin: '7392' });
    expect(f.lock.enterPin('7392').granted).toBe(true);
  });

  it('disabled users and validity windows through the lock', () => {
    const { f, owner } = setup();
    const g = f.lock.addUser(owner, { role: 'guest', validFrom: T0 + HOUR, validUntil: T0 + 2 * HOUR });
    f.lock.addCredential(owner, g.index, { type: 'pin', pin: '6402' });
    expect(f.lock.enterPin('6402')).toMatchObject({ reason: 'not_yet_valid' });
    f.clock.advance(HOUR);
    expect(f.lock.enterPin('6402').granted).toBe(true);
    f.lock.setUserEnabled(owner, g.index, false);
    expect(f.lock.enterPin('6402')).toMatchObject({ reason: 'disabled_user' });
    f.lock.setUserEnabled(owner, g.index, true);
    f.clock.advance(HOUR);
    expect(f.lock.enterPin('6402')).toMatchObject({ reason: 'expired' });
  });
});
