// Property-based checks of schedule evaluation against an independent brute-force reference built directly
// on Intl (not on the module's own conversion), around DST changes, midnight and leap days.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { epochToLocal, isWithinSchedules, localToEpoch } from '../../../firmware/schedule/index.ts';
import type { AccessSchedule, WeekDay, WeekDaySchedule } from '../../../firmware/types.ts';
import { WEEK_DAYS } from '../../../firmware/types.ts';

const ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'America/Santiago',
  'UTC',
];
const DAY = 86_400_000;
/** DST transition instants (UTC) worth hammering, plus ordinary days and leap days. */
const FOCUS = [
  '2026-03-29T01:00:00Z', // Berlin spring
  '2026-10-25T01:00:00Z', // Berlin fall
  '2026-03-08T07:00:00Z', // New York spring
  '2026-11-01T06:00:00Z', // New York fall
  '2026-04-04T15:00:00Z', // Lord Howe (30-minute change)
  '2026-10-03T15:30:00Z',
  '2026-04-05T03:00:00Z', // Santiago (changes at local midnight)
  '2026-09-06T04:00:00Z',
  '2028-02-29T12:00:00Z', // leap day
  '2026-07-15T12:00:00Z',
].map((s) => Date.parse(s));

const refFormatters = new Map<string, Intl.DateTimeFormat>();
/** Wall clock at t straight from Intl: weekday index (mon=0), ms into the local day, and the fields. */
function reference(t: number, tz: string): { weekday: number; tod: number; local: string } {
  let f = refFormatters.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    refFormatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, x.value]));
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p.weekday ?? '');
  const ms = ((t % 1000) + 1000) % 1000;
  const tod = Number(p.hour) * 3_600_000 + Number(p.minute) * 60_000 + Number(p.second) * 1000 + ms;
  return { weekday, tod, local: `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}` };
}

function refWeekly(w: WeekDaySchedule, t: number, tz: string): boolean {
  const { weekday, tod } = reference(t, tz);
  const mins = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  const start = mins(w.start) * 60_000;
  const end = w.end === '23:59' ? DAY : mins(w.end) * 60_000;
  const has = (i: number): boolean => w.days.includes(WEEK_DAYS[(i + 7) % 7] as WeekDay);
  if (start < end) return has(weekday) && tod >= start && tod < end;
  return (has(weekday) && tod >= start) || (has(weekday - 1) && tod < end);
}

const hhmm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 0, 15, 30, 45, 59, 1, 29))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const weeklyArb: fc.Arbitrary<WeekDaySchedule> = fc
  .record({
    days: fc.subarray([...WEEK_DAYS], { minLength: 1 }),
    start: hhmm,
    end: hhmm,
  })
  .filter((w) => w.start !== w.end)
  .map((w) => ({ kind: 'weekly' as const, ...w }));
const instant = fc.oneof(
  fc.tuple(fc.constantFrom(...FOCUS), fc.integer({ min: -3 * DAY, max: 3 * DAY })).map(([a, d]) => a + d),
  fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') }),
);
const zone = fc.constantFrom(...ZONES);
const RUNS = { numRuns: 400 };

describe('schedule properties', () => {
  it('weekly evaluation agrees with a brute-force reference on Intl wall-clock time', () => {
    fc.assert(
      fc.property(fc.array(weeklyArb, { minLength: 1, maxLength: 4 }), instant, zone, (ws, t, tz) => {
        const expected = ws.some((w) => refWeekly(w, t, tz));
        expect(isWithinSchedules(ws, t, tz)).toBe(expected);
      }),
      RUNS,
    );
  });

  it('a weekly window is open exactly when one of its single-day parts is', () => {
    fc.assert(
      fc.property(weeklyArb, instant, zone, (w, t, tz) => {
        const union = w.days.some((d) => isWithinSchedules([{ ...w, days: [d] }], t, tz));
        expect(isWithinSchedules([w], t, tz)).toBe(union);
      }),
      RUNS,
    );
  });

  it('adding a window of a kind already present never closes access', () => {
    const yeardayArb = fc
      .tuple(
        fc.constantFrom(...FOCUS),
        fc.integer({ min: -5 * DAY, max: 5 * DAY }),
        fc.integer({ min: 1, max: 5 * DAY }),
      )
      .map(([a, off, len]): AccessSchedule => {
        const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16);
        return { kind: 'yearday', from: iso(a + off), until: iso(a + off + len + 60_000) };
      });
    const anyArb = fc.oneof(weeklyArb as fc.Arbitrary<AccessSchedule>, yeardayArb);
    fc.assert(
      fc.property(
        fc.array(anyArb, { minLength: 1, maxLength: 4 }),
        anyArb,
        instant,
        zone,
        (base, extra, t, tz) => {
          fc.pre(base.some((s) => s.kind === extra.kind));
          if (isWithinSchedules(base, t, tz)) expect(isWithinSchedules([...base, extra], t, tz)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('an added year-day window never opens what the weekly group closes (AND)', () => {
    fc.assert(
      fc.property(weeklyArb, instant, zone, (w, t, tz) => {
        const always: AccessSchedule = {
          kind: 'yearday',
          from: '1971-01-01T00:00',
          until: '2099-12-31T23:59',
        };
        expect(isWithinSchedules([w, always], t, tz)).toBe(isWithinSchedules([w], t, tz));
      }),
      RUNS,
    );
  });

  it('local -> epoch -> local round-trips outside gaps; gap times move forward by the gap', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FOCUS),
        fc.integer({ min: -2 * 24 * 60, max: 2 * 24 * 60 }),
        zone,
        (anchor, minutes, tz) => {
          // A local wall-clock minute near a transition, formatted as the zone's own local date.
          const base = reference(anchor, tz).local.slice(0, 10);
          const local = new Date(Date.parse(`${base}T00:00:00Z`) + minutes * 60_000)
            .toISOString()
            .slice(0, 16);
          const t = localToEpoch(local, tz);
          const back = reference(t, tz).local.slice(0, 16);
          const wanted = Date.parse(`${local}:00Z`);
          const got = Date.parse(`${back}:00Z`);
          if (got !== wanted) {
            // Only a skipped local time may move, forward by the gap, i.e. by the offset change.
            const offsetBefore = Date.parse(`${reference(t - DAY, tz).local}Z`) - (t - DAY);
            const offsetAfter = Date.parse(`${reference(t + DAY, tz).local}Z`) - (t + DAY);
            expect(offsetAfter).toBeGreaterThan(offsetBefore);
            expect(got - wanted).toBe(offsetAfter - offsetBefore);
          } else {
            // Repeated local times resolve to the first occurrence: no earlier instant (30 or 60 minutes
            // before, the sizes of the offset changes in these zones) reads the same wall clock.
            const sameEarlier = [30, 60].some(
              (m) => reference(t - m * 60_000, tz).local.slice(0, 16) === local,
            );
            expect(sameEarlier).toBe(false);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('evaluation never throws across DST changes, and epochToLocal agrees with Intl', () => {
    fc.assert(
      fc.property(fc.array(weeklyArb, { maxLength: 3 }), instant, zone, (ws, t, tz) => {
        expect(() => isWithinSchedules(ws, t, tz)).not.toThrow();
        const l = epochToLocal(t, tz);
        const r = reference(t, tz);
        const mine = `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}T${String(l.hour).padStart(2, '0')}:${String(l.minute).padStart(2, '0')}:${String(l.second).padStart(2, '0')}`;
        expect(mine).toBe(r.local);
        expect(WEEK_DAYS.indexOf(l.weekday)).toBe(r.weekday);
      }),
      RUNS,
    );
  });

  it('every minute of each transition day round-trips or is a documented gap minute', () => {
    const days: Array<[string, string, number]> = [
      ['Europe/Berlin', '2026-03-29', 60],
      ['Europe/Berlin', '2026-10-25', 0],
      ['America/New_York', '2026-03-08', 60],
      ['America/New_York', '2026-11-01', 0],
      ['Australia/Lord_Howe', '2026-10-04', 30],
    ];
    for (const [tz, day, gapMinutes] of days) {
      let moved = 0;
      for (let m = 0; m < 24 * 60; m++) {
        const local = new Date(Date.parse(`${day}T00:00:00Z`) + m * 60_000).toISOString().slice(0, 16);
        if (reference(localToEpoch(local, tz), tz).local.slice(0, 16) !== local) moved++;
      }
      expect(moved, `${tz} ${day}`).toBe(gapMinutes);
    }
  });
});
