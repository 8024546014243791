import { describe, expect, it } from 'vitest';
import {
  activeHolidayMode,
  isWithinSchedules,
  localToEpoch,
  validityCheck,
} from '../../../firmware/schedule/index.ts';
import type { AccessSchedule, HolidaySchedule, WeekDay } from '../../../firmware/types.ts';

const Z = (iso: string): number => Date.parse(iso);
const BER = 'Europe/Berlin';
const NY = 'America/New_York';
const weekly = (days: WeekDay[], start: string, end: string): AccessSchedule => ({
  kind: 'weekly',
  days,
  start,
  end,
});
const yearday = (from: string, until: string): AccessSchedule => ({ kind: 'yearday', from, until });
const at = (schedules: AccessSchedule[], local: string, tz = BER, plusMs = 0): boolean =>
  isWithinSchedules(schedules, localToEpoch(local, tz) + plusMs, tz);

/** Real minutes a schedule set is open between two instants, sampled every minute. */
function openMinutes(schedules: AccessSchedule[], fromUtc: string, toUtc: string, tz: string): number {
  let n = 0;
  for (let t = Z(fromUtc); t < Z(toUtc); t += 60_000) if (isWithinSchedules(schedules, t, tz)) n++;
  return n;
}

describe('weekly windows', () => {
  const officeHours = [weekly(['mon'], '09:00', '17:00')];
  // 2026-07-06 is a Monday.
  it('is open from start (inclusive) to end (exclusive) on listed days', () => {
    expect(at(officeHours, '2026-07-06T08:59:59.999')).toBe(false);
    expect(at(officeHours, '2026-07-06T09:00')).toBe(true);
    expect(at(officeHours, '2026-07-06T16:59:59.999')).toBe(true);
    expect(at(officeHours, '2026-07-06T17:00')).toBe(false);
    expect(at(officeHours, '2026-07-07T12:00')).toBe(false); // Tuesday
    expect(at(officeHours, '2026-07-13T12:00')).toBe(true); // next Monday
  });

  it('treats end 23:59 as through 23:59:59.999, and 00:00 the next day is closed', () => {
    const evening = [weekly(['mon'], '20:00', '23:59')];
    expect(at(evening, '2026-07-06T23:59:59.999')).toBe(true);
    expect(at(evening, '2026-07-07T00:00')).toBe(false);
    const allDay = [weekly(['mon'], '00:00', '23:59')];
    expect(at(allDay, '2026-07-06T00:00')).toBe(true);
    expect(at(allDay, '2026-07-06T23:59:59.999')).toBe(true);
    expect(at(allDay, '2026-07-05T23:59:59.999')).toBe(false);
    expect(at(allDay, '2026-07-07T00:00')).toBe(false);
  });

  it('crosses midnight into the day after a listed day only', () => {
    const nights = [weekly(['fri'], '22:00', '06:00')]; // 2026-07-10 is a Friday
    expect(at(nights, '2026-07-10T21:59:59.999')).toBe(false);
    expect(at(nights, '2026-07-10T22:00')).toBe(true);
    expect(at(nights, '2026-07-10T23:59:59.999')).toBe(true);
    expect(at(nights, '2026-07-11T00:00')).toBe(true); // Saturday morning belongs to Friday's window
    expect(at(nights, '2026-07-11T05:00')).toBe(true);
    expect(at(nights, '2026-07-11T05:59:59.999')).toBe(true);
    expect(at(nights, '2026-07-11T06:00')).toBe(false);
    expect(at(nights, '2026-07-11T22:30')).toBe(false); // Saturday evening: sat not listed
    expect(at(nights, '2026-07-10T05:00')).toBe(false); // Friday morning: thu not listed
    const satNights = [weekly(['sat'], '22:00', '06:00')];
    expect(at(satNights, '2026-07-11T05:00')).toBe(false); // Saturday 05:00 needs fri, not sat
    const sunNights = [weekly(['sun'], '22:00', '06:00')]; // wraps the week: Sunday night -> Monday
    expect(at(sunNights, '2026-07-13T03:00')).toBe(true);
    expect(at(sunNights, '2026-07-14T03:00')).toBe(false);
  });

  it('ORs several weekly windows', () => {
    const split = [weekly(['mon', 'thu'], '09:00', '12:00'), weekly(['mon'], '14:00', '16:00')];
    expect(at(split, '2026-07-06T10:00')).toBe(true);
    expect(at(split, '2026-07-06T13:00')).toBe(false);
    expect(at(split, '2026-07-06T15:00')).toBe(true);
    expect(at(split, '2026-07-09T10:00')).toBe(true);
    expect(at(split, '2026-07-09T15:00')).toBe(false);
  });

  it('refuses a window whose start equals its end at evaluation too', () => {
    expect(() => at([weekly(['mon'], '10:00', '10:00')], '2026-07-06T10:00')).toThrow(
      /invalid_schedule: end: equals start/,
    );
  });
});

describe('weekly windows across DST (wall-clock semantics)', () => {
  it('New York fall-back: 01:00-02:00 is open during both occurrences of 01:xx (120 real minutes)', () => {
    const w = [weekly(['sun'], '01:00', '02:00')];
    expect(isWithinSchedules(w, Z('2026-11-01T04:59:59.999Z'), NY)).toBe(false); // 00:59:59 EDT
    expect(isWithinSchedules(w, Z('2026-11-01T05:00:00Z'), NY)).toBe(true); // 01:00 EDT
    expect(isWithinSchedules(w, Z('2026-11-01T05:59:59.999Z'), NY)).toBe(true);
    expect(isWithinSchedules(w, Z('2026-11-01T06:00:00Z'), NY)).toBe(true); // 01:00 EST, again
    expect(isWithinSchedules(w, Z('2026-11-01T06:59:59.999Z'), NY)).toBe(true);
    expect(isWithinSchedules(w, Z('2026-11-01T07:00:00Z'), NY)).toBe(false); // 02:00 EST
    expect(openMinutes(w, '2026-11-01T00:00Z', '2026-11-02T00:00Z', NY)).toBe(120);
  });

  it('New York spring-forward: 02:00-03:00 is open for zero real minutes', () => {
    const w = [weekly(['sun'], '02:00', '03:00')];
    expect(isWithinSchedules(w, Z('2026-03-08T06:59:59.999Z'), NY)).toBe(false); // 01:59:59 EST
    expect(isWithinSchedules(w, Z('2026-03-08T07:00:00Z'), NY)).toBe(false); // 03:00 EDT
    expect(openMinutes(w, '2026-03-08T00:00Z', '2026-03-09T00:00Z', NY)).toBe(0);
    // The same window a week later is its usual hour.
    expect(openMinutes(w, '2026-03-15T00:00Z', '2026-03-16T00:00Z', NY)).toBe(60);
  });

  it('Berlin: the skipped and repeated hours are 02:00-02:59', () => {
    const w = [weekly(['sun'], '02:00', '03:00')];
    expect(openMinutes(w, '2026-03-28T22:00Z', '2026-03-29T22:00Z', BER)).toBe(0);
    expect(openMinutes(w, '2026-10-24T22:00Z', '2026-10-25T23:00Z', BER)).toBe(120);
    expect(isWithinSchedules(w, Z('2026-10-25T00:30:00Z'), BER)).toBe(true); // 02:30 CEST
    expect(isWithinSchedules(w, Z('2026-10-25T01:30:00Z'), BER)).toBe(true); // 02:30 CET
    // A window around the gap loses the skipped hour: 01:00-04:00 is 2 real hours on 2026-03-29.
    expect(
      openMinutes([weekly(['sun'], '01:00', '04:00')], '2026-03-28T22:00Z', '2026-03-29T22:00Z', BER),
    ).toBe(120);
    // ... and gains the repeated one on 2026-10-25.
    expect(
      openMinutes([weekly(['sun'], '01:00', '04:00')], '2026-10-24T22:00Z', '2026-10-25T23:00Z', BER),
    ).toBe(240);
  });

  it('a whole-day window on a DST day covers its real 23 or 25 hours', () => {
    const sunday = [weekly(['sun'], '00:00', '23:59')];
    expect(openMinutes(sunday, '2026-03-28T12:00Z', '2026-03-30T12:00Z', BER)).toBe(23 * 60);
    expect(openMinutes(sunday, '2026-10-24T12:00Z', '2026-10-26T12:00Z', BER)).toBe(25 * 60);
  });
});

describe('year-day windows', () => {
  it('until with minutes is inclusive to the end of that minute', () => {
    const xmas = [yearday('2026-12-24T08:00', '2026-12-24T23:59')];
    expect(at(xmas, '2026-12-24T07:59:59.999')).toBe(false);
    expect(at(xmas, '2026-12-24T08:00')).toBe(true);
    expect(at(xmas, '2026-12-24T23:59:59.999')).toBe(true);
    expect(at(xmas, '2026-12-25T00:00')).toBe(false);
    const short = [yearday('2026-12-24T08:00', '2026-12-24T17:00')];
    expect(at(short, '2026-12-24T17:00:59.999')).toBe(true);
    expect(at(short, '2026-12-24T17:01')).toBe(false);
  });

  it('until with seconds is inclusive to the end of that second', () => {
    const w = [yearday('2026-12-24T08:00', '2026-12-24T17:00:30')];
    expect(at(w, '2026-12-24T17:00:30.999')).toBe(true);
    expect(at(w, '2026-12-24T17:00:31')).toBe(false);
  });

  it('is one real interval: ending inside the repeated hour it never reopens', () => {
    const w = [yearday('2026-10-31T12:00', '2026-11-01T01:30')];
    expect(isWithinSchedules(w, Z('2026-11-01T05:30:59.999Z'), NY)).toBe(true); // 01:30 EDT
    expect(isWithinSchedules(w, Z('2026-11-01T05:31:00Z'), NY)).toBe(false);
    expect(isWithinSchedules(w, Z('2026-11-01T06:15:00Z'), NY)).toBe(false); // 01:15 EST: still closed
  });

  it('a from inside the spring-forward gap opens when the clock reaches the shifted time', () => {
    const w = [yearday('2026-03-29T02:30', '2026-03-29T12:00')];
    expect(isWithinSchedules(w, Z('2026-03-29T01:29:59.999Z'), BER)).toBe(false); // 03:29:59 CEST
    expect(isWithinSchedules(w, Z('2026-03-29T01:30:00Z'), BER)).toBe(true); // 03:30 CEST
  });

  it('works on the leap day 2028-02-29', () => {
    const leap = [yearday('2028-02-29T00:00', '2028-02-29T23:59')];
    expect(at(leap, '2028-02-28T23:59:59.999')).toBe(false);
    expect(at(leap, '2028-02-29T00:00')).toBe(true);
    expect(at(leap, '2028-02-29T23:59:59.999')).toBe(true);
    expect(at(leap, '2028-03-01T00:00')).toBe(false);
    expect(at([weekly(['tue'], '10:00', '11:00')], '2028-02-29T10:30')).toBe(true); // a Tuesday
  });
});

describe('combining schedules', () => {
  const mondays = weekly(['mon'], '09:00', '17:00');
  const july = yearday('2026-07-01T00:00', '2026-07-31T23:59');
  it('no schedules means always', () => {
    expect(isWithinSchedules([], 0, BER)).toBe(true);
  });

  it('ANDs the weekly group with the year-day group', () => {
    expect(at([mondays, july], '2026-07-06T10:00')).toBe(true);
    expect(at([mondays, july], '2026-08-03T10:00')).toBe(false); // Monday, but August
    expect(at([mondays, july], '2026-07-07T10:00')).toBe(false); // July, but Tuesday
    expect(at([july, mondays], '2026-07-06T18:00')).toBe(false);
  });

  it('ORs year-day windows among themselves', () => {
    const aug = yearday('2026-08-01T00:00', '2026-08-31T23:59');
    expect(at([july, aug], '2026-08-15T10:00')).toBe(true);
    expect(at([july, aug, mondays], '2026-08-03T10:00')).toBe(true);
    expect(at([july, aug, mondays], '2026-09-07T10:00')).toBe(false);
  });

  it('throws on a schedule of an unknown kind', () => {
    const bad = { kind: 'holiday', from: '2026-01-01T00:00', until: '2026-01-02T00:00', mode: 'Normal' };
    expect(() => isWithinSchedules([bad as unknown as AccessSchedule], 0, BER)).toThrow(
      /invalid_schedule: kind: "holiday"/,
    );
  });
});

describe('holidays', () => {
  const vacation: HolidaySchedule = {
    kind: 'holiday',
    from: '2026-12-20T00:00',
    until: '2027-01-06T23:59',
    mode: 'Vacation',
  };
  const party: HolidaySchedule = {
    kind: 'holiday',
    from: '2026-12-24T10:00',
    until: '2026-12-24T14:00',
    mode: 'Passage',
  };
  const t = (local: string): number => localToEpoch(local, BER);
  it('returns null when none is active', () => {
    expect(activeHolidayMode([], t('2026-12-24T12:00'), BER)).toBeNull();
    expect(activeHolidayMode([vacation], t('2026-12-19T23:59:59'), BER)).toBeNull();
    expect(activeHolidayMode([vacation], t('2027-01-07T00:00'), BER)).toBeNull();
  });

  it('the latest-starting active holiday wins, whatever the list order', () => {
    expect(activeHolidayMode([vacation, party], t('2026-12-24T12:00'), BER)).toBe('Passage');
    expect(activeHolidayMode([party, vacation], t('2026-12-24T12:00'), BER)).toBe('Passage');
    expect(activeHolidayMode([party, vacation], t('2026-12-24T14:01'), BER)).toBe('Vacation');
    expect(activeHolidayMode([vacation], t('2027-01-06T23:59:59.999'), BER)).toBe('Vacation');
  });

  it('on equal starts the one listed last wins', () => {
    const privacy: HolidaySchedule = { ...vacation, mode: 'Privacy' };
    expect(activeHolidayMode([vacation, privacy], t('2026-12-24T12:00'), BER)).toBe('Privacy');
    expect(activeHolidayMode([privacy, vacation], t('2026-12-24T12:00'), BER)).toBe('Vacation');
  });
});

describe('validityCheck', () => {
  it('is valid for from <= now < until', () => {
    expect(validityCheck(100, null, null)).toBeNull();
    expect(validityCheck(99, 100, 200)).toBe('not_yet_valid');
    expect(validityCheck(100, 100, 200)).toBeNull();
    expect(validityCheck(199, 100, 200)).toBeNull();
    expect(validityCheck(200, 100, 200)).toBe('expired');
    expect(validityCheck(5, null, 200)).toBeNull();
    expect(validityCheck(500, 100, null)).toBeNull();
  });
});
