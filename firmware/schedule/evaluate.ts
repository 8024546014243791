// Evaluating schedules at a lock time. Semantics and DST behaviour: docs/schedules.md.
//  - weekly windows are wall-clock: [start, end) on the listed local days, end "23:59" = through 23:59:59.999,
//    end < start crosses midnight and belongs to the start day;
//  - year-day and holiday windows are one real interval: [from, until-end-of-its-precision) converted with
//    localMsToEpoch, so they never reopen in a repeated hour;
//  - weekly OR weekly, year-day OR year-day, AND between the two groups (THREATS 26); no schedules = always.
import type {
  AccessSchedule,
  HolidaySchedule,
  LockTime,
  OperatingMode,
  WeekDay,
  WeekDaySchedule,
  YearDaySchedule,
} from '../types.ts';
import { WEEK_DAYS } from '../types.ts';
import { KeywayError } from '../errors.ts';
import { describe, localMs, localMsToEpoch, parseLocalDateTime } from './zone.ts';
import { parseTimeOfDay } from './validate.ts';

const DAY_MS = 86_400_000;
const MIN_MS = 60_000;
const END_OF_DAY = 23 * 60 + 59;

/** Monday = 0 ... Sunday = 6 for a "local ms" value (1970-01-01 was a Thursday). */
export function localWeekdayIndex(local: number): number {
  return (((Math.floor(local / DAY_MS) + 3) % 7) + 7) % 7;
}

/** True if the weekly window is open at the wall-clock time `local` ("local ms"). */
export function weeklyOpenAt(w: WeekDaySchedule, local: number): boolean {
  const start = parseTimeOfDay(w.start, 'start') * MIN_MS;
  const endMin = parseTimeOfDay(w.end, 'end');
  const end = endMin === END_OF_DAY ? DAY_MS : endMin * MIN_MS;
  if (start === end) throw new KeywayError('invalid_schedule', `end: equals start (${w.start})`);
  const tod = local - Math.floor(local / DAY_MS) * DAY_MS;
  const day = WEEK_DAYS[localWeekdayIndex(local)] as WeekDay;
  if (end > start) return tod >= start && tod < end && w.days.includes(day);
  // Crosses midnight: the evening part on a listed day, the morning part on the day after a listed day.
  if (tod >= start) return w.days.includes(day);
  const prev = WEEK_DAYS[(localWeekdayIndex(local) + 6) % 7] as WeekDay;
  return tod < end && w.days.includes(prev);
}

/** The real interval [from, untilExclusive) of a year-day or holiday window in zone tz. */
export function absoluteWindow(
  s: { from: string; until: string },
  tz: string,
): { from: LockTime; until: LockTime } {
  const key = `${tz}\u0000${s.from}\u0000${s.until}`;
  let w = windowCache.get(key);
  if (w === undefined) {
    const f = parseLocalDateTime(s.from, 'from');
    const u = parseLocalDateTime(s.until, 'until');
    w = { from: localMsToEpoch(f.local, tz), until: localMsToEpoch(u.local, tz) + u.precision };
    if (windowCache.size >= 10_000) windowCache.clear();
    windowCache.set(key, w);
  }
  return w;
}
/** Converted year-day/holiday windows; a zone's rules do not change while the process runs. */
const windowCache = new Map<string, { from: LockTime; until: LockTime }>();

function yearDayOpen(y: YearDaySchedule, now: LockTime, tz: string): boolean {
  const w = absoluteWindow(y, tz);
  return now >= w.from && now < w.until;
}

/** Whether access schedules allow access at `now` in zone tz. An empty list allows always. */
export function isWithinSchedules(schedules: AccessSchedule[], now: LockTime, timeZone: string): boolean {
  let weekly: boolean | null = null;
  let yearday: boolean | null = null;
  let local: number | null = null;
  for (const s of schedules) {
    switch (s.kind) {
      case 'weekly':
        if (weekly === true) continue;
        local ??= localMs(now, timeZone);
        weekly = weeklyOpenAt(s, local);
        break;
      case 'yearday':
        if (yearday === true) continue;
        yearday = yearDayOpen(s, now, timeZone);
        break;
      default:
        throw new KeywayError(
          'invalid_schedule',
          `kind: ${describe((s as { kind: unknown }).kind)} is not an access schedule`,
        );
    }
  }
  return weekly !== false && yearday !== false;
}

/**
 * The operating mode a holiday imposes at `now`, or null. When several overlap, the one that started latest
 * wins (a short exception inside a long holiday takes effect); on equal starts, the one listed last wins.
 */
export function activeHolidayMode(
  holidays: HolidaySchedule[],
  now: LockTime,
  timeZone: string,
): OperatingMode | null {
  let best: { from: LockTime; mode: OperatingMode } | null = null;
  for (const h of holidays) {
    if (h.kind !== 'holiday') {
      throw new KeywayError(
        'invalid_schedule',
        `kind: ${describe((h as { kind: unknown }).kind)} is not holiday`,
      );
    }
    const w = absoluteWindow(h, timeZone);
    if (now >= w.from && now < w.until && (best === null || w.from >= best.from))
      best = { from: w.from, mode: h.mode };
  }
  return best === null ? null : best.mode;
}

/**
 * Absolute validity: valid for from <= now < until (until is the first instant no longer valid, as a CWT exp).
 * null bounds are open.
 */
export function validityCheck(
  now: LockTime,
  from: LockTime | null,
  until: LockTime | null,
): null | 'not_yet_valid' | 'expired' {
  if (from !== null && now < from) return 'not_yet_valid';
  if (until !== null && now >= until) return 'expired';
  return null;
}
