// Human-friendly text forms used by CLIs and scenario files: durations ("1h30m") and weekly windows
// ("mon-fri 08:00-17:00").
import type { WeekDay, WeekDaySchedule } from '../types.ts';
import { WEEK_DAYS } from '../types.ts';
import { KeywayError } from '../errors.ts';
import { validateSchedule } from './validate.ts';

const UNITS: ReadonlyArray<[string, number]> = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const TOKEN = /(\d+)(ms|w|d|h|m|s)/y;

/**
 * Milliseconds of a duration such as "2d3h", "90s", "15m", "1w", "1h30m", "500ms". Units w, d, h, m, s, ms,
 * each at most once and largest first; no sign, no spaces, no fractions.
 */
export function parseDuration(text: string): number {
  const bad = (why: string): KeywayError =>
    new KeywayError(
      'invalid_argument',
      `duration "${text}": ${why} (examples: 90s, 15m, 1h30m, 2d3h, 1w, 500ms)`,
    );
  if (typeof text !== 'string' || text.length === 0) throw bad('empty');
  if (text.length > 64) throw bad('too long');
  let total = 0;
  let pos = 0;
  let lastUnit = -1;
  TOKEN.lastIndex = 0;
  while (pos < text.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (m === null) {
      const rest = text.slice(pos);
      if (/^\d+$/.test(rest)) throw bad('a number needs a unit');
      if (rest.startsWith('-') || rest.startsWith('+')) throw bad('no sign allowed');
      if (/^\d*\.\d/.test(rest)) throw bad('no fractions; combine units instead (1h30m)');
      throw bad(`unexpected "${rest}"`);
    }
    const unitIndex = UNITS.findIndex(([u]) => u === m[2]);
    if (unitIndex <= lastUnit) throw bad(`unit "${m[2]}" repeated or out of order (largest first)`);
    lastUnit = unitIndex;
    const factor = (UNITS[unitIndex] as [string, number])[1];
    total += Number(m[1]) * factor;
    if (!Number.isSafeInteger(total)) throw bad('too large');
    pos = TOKEN.lastIndex;
  }
  return total;
}

const DAY_GROUPS: Record<string, WeekDay[]> = {
  daily: [...WEEK_DAYS],
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekends: ['sat', 'sun'],
};

/**
 * A weekly window from text: "<days> [HH:MM-HH:MM]". Days: comma-separated day names (mon..sun), ranges
 * ("mon-fri"; "fri-mon" wraps over the weekend) or the words daily, weekdays, weekends. Without a time the
 * window is the whole day (00:00-23:59). Validated like any schedule.
 */
export function parseWeekly(text: string): WeekDaySchedule {
  const parts = text.trim().toLowerCase().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '') {
    throw new KeywayError(
      'invalid_schedule',
      `weekly "${text}": expected "<days> HH:MM-HH:MM", e.g. "mon-fri 08:00-17:00"`,
    );
  }
  const days = new Set<WeekDay>();
  for (const item of (parts[0] as string).split(',')) {
    const group = DAY_GROUPS[item];
    if (group !== undefined) {
      group.forEach((d) => days.add(d));
      continue;
    }
    const range = item.split('-');
    if (range.length > 2)
      throw new KeywayError('invalid_schedule', `days: "${item}" is not a day or a day range`);
    const a = dayIndex(range[0] as string);
    const b = range.length === 2 ? dayIndex(range[1] as string) : a;
    for (let i = a; ; i = (i + 1) % 7) {
      days.add(WEEK_DAYS[i] as WeekDay);
      if (i === b) break;
    }
  }
  let start = '00:00';
  let end = '23:59';
  if (parts.length === 2) {
    const m = /^([^-]+)-([^-]+)$/.exec(parts[1] as string);
    if (m === null) throw new KeywayError('invalid_schedule', `weekly "${text}": times must be HH:MM-HH:MM`);
    start = m[1] as string;
    end = m[2] as string;
  }
  const schedule: WeekDaySchedule = {
    kind: 'weekly',
    days: WEEK_DAYS.filter((d) => days.has(d)),
    start,
    end,
  };
  validateSchedule(schedule);
  return schedule;
}

function dayIndex(name: string): number {
  const i = WEEK_DAYS.indexOf(name as WeekDay);
  if (i < 0) {
    throw new KeywayError(
      'invalid_schedule',
      `days: "${name}" is not one of ${WEEK_DAYS.join(', ')}, daily, weekdays, weekends`,
    );
  }
  return i;
}
