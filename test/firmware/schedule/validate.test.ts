import { describe, expect, it } from 'vitest';
import { parseDuration, parseWeekly, validateSchedule } from '../../../firmware/schedule/index.ts';
import type { AccessSchedule, HolidaySchedule } from '../../../firmware/types.ts';
import { KeywayError } from '../../../firmware/errors.ts';

const w = (o: Record<string, unknown>): AccessSchedule =>
  ({ kind: 'weekly', days: ['mon'], start: '09:00', end: '17:00', ...o }) as unknown as AccessSchedule;
const y = (from: unknown, until: unknown): AccessSchedule =>
  ({ kind: 'yearday', from, until }) as unknown as AccessSchedule;

function errorOf(fn: () => unknown): KeywayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KeywayError) return err;
    throw err;
  }
  throw new Error('expected a KeywayError');
}

describe('validateSchedule', () => {
  it('accepts good schedules', () => {
    expect(() => validateSchedule(w({}))).not.toThrow();
    expect(() => validateSchedule(w({ start: '22:00', end: '06:00' }))).not.toThrow();
    expect(() => validateSchedule(w({ start: '00:00', end: '23:59', days: ['sat', 'sun'] }))).not.toThrow();
    expect(() => validateSchedule(y('2028-02-29T00:00', '2028-02-29T23:59'))).not.toThrow();
    expect(() => validateSchedule(y('2026-01-01T00:00:00', '2026-01-01T00:00:01'))).not.toThrow();
    const h: HolidaySchedule = {
      kind: 'holiday',
      from: '2026-12-24T00:00',
      until: '2026-12-26T23:59',
      mode: 'Vacation',
    };
    expect(() => validateSchedule(h)).not.toThrow();
  });

  it.each([
    [w({ days: ['mon', 'funday'] }), 'days: "funday" is not one of mon, tue, wed, thu, fri, sat, sun'],
    [w({ days: [] }), 'days: empty; name at least one day'],
    [w({ days: ['mon', 'mon'] }), 'days: "mon" is listed twice'],
    [w({ days: 'mon' }), 'days: expected a list, got "mon"'],
    [w({ start: '24:00' }), 'start: hour 24 is not 00-23 (use 23:59 for end of day)'],
    [w({ end: '24:00' }), 'end: hour 24 is not 00-23'],
    [w({ start: '9:5' }), 'start: "9:5" is not of the form HH:MM'],
    [w({ end: '12:60' }), 'end: minute 60 is not 00-59'],
    [w({ end: 1200 }), 'end: expected "HH:MM", got number'],
    [w({ start: '10:00', end: '10:00' }), 'end: equals start (10:00)'],
    [y('2026-05-01T10:00', '2026-05-01T10:00'), 'until: 2026-05-01T10:00 is not after from 2026-05-01T10:00'],
    [y('2026-05-02T10:00', '2026-05-01T10:00'), 'until: 2026-05-01T10:00 is not after from'],
    [y('2027-02-29T00:00', '2027-03-01T00:00'), 'from: 2027-02 has no day 29 (it has 28 days)'],
    [y('2026-01-01T00:00', '2026-01-01'), 'until: "2026-01-01" is not of the form YYYY-MM-DDTHH:MM[:SS]'],
    [y('2026-01-01T00:00', '2026-01-01T12:00:60'), 'until: second 60 is not 00-59'],
    [y('1969-12-31T00:00', '2026-01-01T12:00'), 'from: year 1969 is before 1970'],
    [y(null, '2026-01-01T12:00'), 'from: expected "YYYY-MM-DDTHH:MM", got null'],
    [{ kind: 'monthly' }, 'kind: "monthly" is not weekly, yearday or holiday'],
    [
      { kind: 'holiday', from: '2026-01-01T00:00', until: '2026-01-02T00:00', mode: 'Party' },
      'mode: "Party" is not an operating mode',
    ],
    [null, 'schedule: expected an object, got null'],
  ])('refuses %j naming the field', (schedule, message) => {
    const err = errorOf(() => validateSchedule(schedule as AccessSchedule));
    expect(err.code).toBe('invalid_schedule');
    expect(err.message).toContain(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['2d3h', 2 * 86_400_000 + 3 * 3_600_000],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1m500ms', 60_500],
    ['0s', 0],
    ['1w2d3h4m5s6ms', 604_800_000 + 2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5000 + 6],
  ])('%s = %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['3x', 'unexpected "3x"'],
    ['-1h', 'no sign allowed'],
    ['90', 'a number needs a unit'],
    ['1h 30m', 'unexpected " 30m"'],
    ['30m1h', 'unit "h" repeated or out of order'],
    ['1h1h', 'unit "h" repeated or out of order'],
    ['1.5h', 'no fractions'],
    ['99999999999999999999w', 'too large'],
    ['1'.repeat(70) + 's', 'too long'],
  ])('refuses %j', (text, why) => {
    const err = errorOf(() => parseDuration(text));
    expect(err.code).toBe('invalid_argument');
    expect(err.message).toContain(why);
  });
});

describe('parseWeekly', () => {
  it.each([
    ['mon,thu 09:00-12:00', ['mon', 'thu'], '09:00', '12:00'],
    ['mon-fri 08:00-17:00', ['mon', 'tue', 'wed', 'thu', 'fri'], '08:00', '17:00'],
    ['fri-mon 22:00-06:00', ['mon', 'fri', 'sat', 'sun'], '22:00', '06:00'],
    ['weekdays', ['mon', 'tue', 'wed', 'thu', 'fri'], '00:00', '23:59'],
    ['weekends 10:00-14:00', ['sat', 'sun'], '10:00', '14:00'],
    ['daily', ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], '00:00', '23:59'],
    ['  SUN,sat  07:30-08:00 ', ['sat', 'sun'], '07:30', '08:00'],
    ['weekends,mon 09:00-10:00', ['mon', 'sat', 'sun'], '09:00', '10:00'],
  ])('%j', (text, days, start, end) => {
    expect(parseWeekly(text)).toEqual({ kind: 'weekly', days, start, end });
  });

  it.each([
    ['', 'expected "<days> HH:MM-HH:MM"'],
    ['funday 09:00-10:00', 'days: "funday" is not one of'],
    ['mon 09:00', 'times must be HH:MM-HH:MM'],
    ['mon 09:00-09:00', 'end: equals start'],
    ['mon 9:00-10:00', 'start: "9:00" is not of the form HH:MM'],
    ['mon-tue-wed 09:00-10:00', 'days: "mon-tue-wed" is not a day or a day range'],
    ['mon 09:00-10:00 extra', 'expected "<days> HH:MM-HH:MM"'],
  ])('refuses %j', (text, why) => {
    const err = errorOf(() => parseWeekly(text));
    expect(err.code).toBe('invalid_schedule');
    expect(err.message).toContain(why);
  });
});
