// The pure decision function: every Matter user type, methods, sites, validity, modes, rules, battery.
import { describe, expect, it } from 'vitest';
import { decide, type DecisionRequest, type UserState } from '../../../firmware/decide/decide.ts';
import { defaultSettings } from '../../../firmware/defaults.ts';
import type { AccessSchedule, CredentialType, OperatingMode, UserType } from '../../../firmware/types.ts';
import { SeededRandom } from '../../helpers/SeededRandom.ts';

const settings = {
  ...defaultSettings(new SeededRandom('decide')),
  lockId: 'front',
  sites: ['front', 'house'],
};
const MON_NOON = Date.UTC(2025, 0, 6, 12, 0); // Monday
const SAT_NOON = Date.UTC(2025, 0, 11, 12, 0); // Saturday

const req = (over: Partial<DecisionRequest> = {}): DecisionRequest => ({
  operation: 'unlock',
  method: 'pin',
  source: 'keypad',
  lockedOut: false,
  mode: 'Normal',
  batteryPercent: 80,
  motorNeeded: true,
  doorOpen: false,
  ...over,
});

const user = (over: Partial<UserState['user']> = {}, schedules: AccessSchedule[] = []): UserState => ({
  user: {
    index: 7,
    role: 'member',
    userType: 'Unrestricted',
    enabled: true,
    validFrom: null,
    validUntil: null,
    methods: ['pin', 'card', 'fingerprint', 'app'],
    sites: ['front'],
    credentialRule: 'single',
    usesRemaining: null,
    expiresAt: null,
    ...over,
  },
  schedules,
});

const weekdays: AccessSchedule = {
  kind: 'weekly',
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  start: '09:00',
  end: '17:00',
};
const january: AccessSchedule = { kind: 'yearday', from: '2025-01-01T00:00', until: '2025-01-31T23:59' };

const pin: CredentialType[] = ['pin'];

function reason(d: ReturnType<typeof decide>): string {
  return d.granted ? 'granted' : d.reason;
}

describe('decide: basics', () => {
  it('grants an unrestricted user and asks for no effects', () => {
    expect(decide(req(), user(), pin, settings, MON_NOON)).toEqual({
      granted: true,
      userIndex: 7,
      duress: false,
      effects: { consumeUse: false, setExpiresAt: null },
    });
  });

  it('refuses with invalid_credential when nothing matched', () => {
    expect(decide(req(), null, [], settings, MON_NOON)).toEqual({
      granted: false,
      reason: 'invalid_credential',
    });
  });

  it('refuses a valid credential during lockout with locked_out before any other reason', () => {
    expect(reason(decide(req({ lockedOut: true }), user({ enabled: false }), pin, settings, MON_NOON))).toBe(
      'locked_out',
    );
  });

  it('refuses a user limited to another lock or site with wrong_lock', () => {
    expect(reason(decide(req(), user({ sites: ['garage'] }), pin, settings, MON_NOON))).toBe('wrong_lock');
    expect(reason(decide(req(), user({ sites: ['garage', 'house'] }), pin, settings, MON_NOON))).toBe(
      'granted',
    );
  });

  it('refuses a disabled user', () => {
    expect(reason(decide(req(), user({ enabled: false }), pin, settings, MON_NOON))).toBe('disabled_user');
  });

  it('enforces allowed methods', () => {
    const cardOnly = user({ methods: ['card'] });
    expect(reason(decide(req(), cardOnly, pin, settings, MON_NOON))).toBe('method_not_allowed');
    expect(
      reason(decide(req({ method: 'card', source: 'rfid' }), cardOnly, ['card'], settings, MON_NOON)),
    ).toBe('granted');
  });

  it('validity window: not_yet_valid before, expired at and after the end', () => {
    const u = user({ validFrom: MON_NOON, validUntil: MON_NOON + 3_600_000 });
    expect(reason(decide(req(), u, pin, settings, MON_NOON - 1))).toBe('not_yet_valid');
    expect(reason(decide(req(), u, pin, settings, MON_NOON))).toBe('granted');
    expect(reason(decide(req(), u, pin, settings, MON_NOON + 3_600_000 - 1))).toBe('granted');
    expect(reason(decide(req(), u, pin, settings, MON_NOON + 3_600_000))).toBe('expired');
  });

  it('a time-bound user fails closed with time_unknown when the clock is unknown', () => {
    expect(reason(decide(req(), user({ validUntil: MON_NOON }), pin, settings, null))).toBe('time_unknown');
  });

  it('insufficient_battery only when the motor must move', () => {
    expect(reason(decide(req({ batteryPercent: 4 }), user(), pin, settings, MON_NOON))).toBe(
      'insufficient_battery',
    );
    expect(
      reason(decide(req({ batteryPercent: 4, motorNeeded: false }), user(), pin, settings, MON_NOON)),
    ).toBe('granted');
    expect(reason(decide(req({ batteryPercent: 5 }), user(), pin, settings, MON_NOON))).toBe('granted');
  });

  it('refuses to throw the bolt into an open door (door_open), unlocking is fine', () => {
    expect(reason(decide(req({ operation: 'lock', doorOpen: true }), user(), pin, settings, MON_NOON))).toBe(
      'door_open',
    );
    expect(reason(decide(req({ doorOpen: true }), user(), pin, settings, MON_NOON))).toBe('granted');
  });
});

describe('decide: Matter user types', () => {
  const t = (userType: UserType, over: Partial<UserState['user']> = {}, schedules: AccessSchedule[] = []) =>
    user({ userType, ...over }, schedules);

  it('NonAccess never opens, whatever the method or mode', () => {
    for (const method of ['pin', 'card', 'fingerprint', 'app'] as const) {
      expect(
        reason(
          decide(req({ method }), t('NonAccess'), [method === 'app' ? 'ekey' : method], settings, MON_NOON),
        ),
      ).toBe('non_access_user');
    }
  });

  it('RemoteOnly never opens at the keypad, card or finger reader, but opens remotely', () => {
    for (const method of ['pin', 'card', 'fingerprint'] as const) {
      expect(reason(decide(req({ method }), t('RemoteOnly'), [method], settings, MON_NOON))).toBe(
        'method_not_allowed',
      );
    }
    expect(
      reason(decide(req({ method: 'app', source: 'remote' }), t('RemoteOnly'), ['ekey'], settings, MON_NOON)),
    ).toBe('granted');
  });

  it('Forced opens and flags duress', () => {
    const d = decide(req(), t('Forced'), pin, settings, MON_NOON);
    expect(d).toMatchObject({ granted: true, duress: true });
  });

  it('Disposable: a use is consumed on unlock; with none left: uses_exhausted', () => {
    expect(decide(req(), t('Disposable', { usesRemaining: 1 }), pin, settings, MON_NOON)).toMatchObject({
      granted: true,
      effects: { consumeUse: true },
    });
    expect(reason(decide(req(), t('Disposable', { usesRemaining: 0 }), pin, settings, MON_NOON))).toBe(
      'uses_exhausted',
    );
  });

  it('Expiring: first use starts the timer; expired after it; unknown time fails closed', () => {
    const first = decide(req(), t('Expiring'), pin, settings, MON_NOON);
    expect(first).toMatchObject({ granted: true, effects: { setExpiresAt: MON_NOON + 60 * 60_000 } });
    const started = t('Expiring', { expiresAt: MON_NOON + 60 * 60_000 });
    const again = decide(req(), started, pin, settings, MON_NOON + 59 * 60_000);
    expect(again).toMatchObject({ granted: true, effects: { setExpiresAt: null } });
    expect(reason(decide(req(), started, pin, settings, MON_NOON + 60 * 60_000))).toBe('expired');
    expect(reason(decide(req(), t('Expiring'), pin, settings, null))).toBe('time_unknown');
  });

  it('WeekDaySchedule uses only weekly windows', () => {
    const u = t('WeekDaySchedule', {}, [weekdays]);
    expect(reason(decide(req(), u, pin, settings, MON_NOON))).toBe('granted');
    expect(reason(decide(req(), u, pin, settings, SAT_NOON))).toBe('outside_schedule');
    expect(reason(decide(req(), t('WeekDaySchedule', {}, [january]), pin, settings, MON_NOON))).toBe(
      'outside_schedule',
    );
  });

  it('YearDaySchedule uses only year-day windows', () => {
    const u = t('YearDaySchedule', {}, [january]);
    expect(reason(decide(req(), u, pin, settings, SAT_NOON))).toBe('granted');
    expect(reason(decide(req(), u, pin, settings, Date.UTC(2025, 1, 1, 0, 0)))).toBe('outside_schedule');
  });

  it('ScheduleRestricted ANDs weekly and year-day windows; without schedules it never opens', () => {
    const u = t('ScheduleRestricted', {}, [weekdays, january]);
    expect(reason(decide(req(), u, pin, settings, MON_NOON))).toBe('granted');
    expect(reason(decide(req(), u, pin, settings, SAT_NOON))).toBe('outside_schedule');
    expect(reason(decide(req(), u, pin, settings, Date.UTC(2025, 1, 3, 12, 0)))).toBe('outside_schedule'); // Feb Monday
    expect(reason(decide(req(), t('ScheduleRestricted'), pin, settings, MON_NOON))).toBe('outside_schedule');
  });

  it('time unknown: schedule-restricted users get time_unknown while Unrestricted still opens', () => {
    for (const userType of ['WeekDaySchedule', 'YearDaySchedule', 'ScheduleRestricted'] as const) {
      expect(reason(decide(req(), t(userType, {}, [weekdays, january]), pin, settings, null))).toBe(
        'time_unknown',
      );
    }
    expect(reason(decide(req(), t('Unrestricted'), pin, settings, null))).toBe('granted');
  });

  it('an Unrestricted user that was given schedules is held to them', () => {
    expect(reason(decide(req(), t('Unrestricted', {}, [weekdays]), pin, settings, SAT_NOON))).toBe(
      'outside_schedule',
    );
  });

  it('Programming users open like Unrestricted ones and keep the keypad in Vacation', () => {
    expect(reason(decide(req({ mode: 'Vacation' }), t('Programming'), pin, settings, MON_NOON))).toBe(
      'granted',
    );
  });
});

describe('decide: operating modes', () => {
  const m = (mode: OperatingMode, over: Partial<DecisionRequest> = {}, u = user()) =>
    reason(decide(req({ mode, ...over }), u, over.method === 'app' ? ['ekey'] : pin, settings, MON_NOON));

  it('Privacy refuses every external credential, remote included', () => {
    expect(m('Privacy')).toBe('mode_restricted');
    expect(m('Privacy', { method: 'card' })).toBe('mode_restricted');
    expect(m('Privacy', { method: 'app', source: 'remote' })).toBe('mode_restricted');
    expect(m('Privacy', { operation: 'lock' }, user({ role: 'owner' }))).toBe('mode_restricted');
  });

  it('Vacation refuses keypad PINs except owner and admin; other methods work', () => {
    expect(m('Vacation')).toBe('mode_restricted');
    expect(m('Vacation', {}, user({ role: 'admin' }))).toBe('granted');
    expect(m('Vacation', {}, user({ role: 'owner' }))).toBe('granted');
    expect(m('Vacation', { method: 'card' })).toBe('granted');
    expect(m('Vacation', { method: 'app', source: 'remote' })).toBe('granted');
  });

  it('NoRemoteLockUnlock refuses remote lock and unlock only', () => {
    expect(m('NoRemoteLockUnlock', { method: 'app', source: 'remote' })).toBe('mode_restricted');
    expect(m('NoRemoteLockUnlock', { method: 'app', source: 'remote', operation: 'lock' })).toBe(
      'mode_restricted',
    );
    expect(m('NoRemoteLockUnlock')).toBe('granted');
  });

  it('Passage refuses locking but lets credentials unlock', () => {
    expect(m('Passage', { operation: 'lock' })).toBe('mode_restricted');
    expect(m('Passage')).toBe('granted');
  });
});

describe('decide: credential rules', () => {
  it('dual needs two different types, tri three', () => {
    const dual = user({ credentialRule: 'dual' });
    expect(reason(decide(req(), dual, ['pin'], settings, MON_NOON))).toBe('credential_rule_incomplete');
    expect(reason(decide(req(), dual, ['pin', 'pin'], settings, MON_NOON))).toBe(
      'credential_rule_incomplete',
    );
    expect(reason(decide(req(), dual, ['card', 'pin'], settings, MON_NOON))).toBe('granted');
    const tri = user({ credentialRule: 'tri' });
    expect(reason(decide(req(), tri, ['card', 'pin'], settings, MON_NOON))).toBe(
      'credential_rule_incomplete',
    );
    expect(reason(decide(req(), tri, ['card', 'pin', 'fingerprint'], settings, MON_NOON))).toBe('granted');
  });
});
