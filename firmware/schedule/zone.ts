// Conversions between lock time (epoch ms) and local wall-clock time in an IANA zone, via Intl.
// DST rules (docs/schedules.md): a local time inside a spring-forward gap maps to the instant the same
// distance after the gap's start (02:30 on a day that skips 02:00-03:00 -> 03:30 new offset); a local time
// that occurs twice on a fall-back day maps to its first occurrence.
import type { LocalDateTime, LockTime, WeekDay } from '../types.ts';
import { WEEK_DAYS } from '../types.ts';
import { KeywayError } from '../errors.ts';

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: WeekDay;
}

const DAY_MS = 86_400_000;
/** Date.UTC's supported range is ±8.64e15 ms; stay well inside so ±1 day probes never leave it. */
const MAX_TIME = 8.64e15 - 2 * DAY_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new KeywayError(
        'invalid_argument',
        `unknown time zone "${tz}" (expected an IANA name such as Europe/Berlin)`,
      );
    }
    formatters.set(tz, f);
  }
  return f;
}

/** True if tz is an IANA time zone name this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

const HOUR_MS = 3_600_000;
const CACHE_LIMIT = 50_000;
/**
 * Per zone: UTC hour -> offset (ms) valid for that whole hour, or NaN when the offset changes inside it.
 * Exact as long as a zone never changes its offset twice within one hour (true of every tzdb zone).
 */
const offsetCache = new Map<string, Map<number, number>>();

/** The wall-clock reading at t, expressed as if it were UTC ("local ms"); ms of t carried over. */
export function localMs(t: LockTime, tz: string): number {
  checkTime(t);
  let zone = offsetCache.get(tz);
  if (zone === undefined) {
    formatter(tz); // validates the zone name before caching anything for it
    zone = new Map();
    offsetCache.set(tz, zone);
  }
  const hour = Math.floor(t / HOUR_MS);
  let offset = zone.get(hour);
  if (offset === undefined) {
    const start = hour * HOUR_MS;
    const a = intlLocalMs(start, tz) - start;
    const b = intlLocalMs(start + HOUR_MS - 1000, tz) - (start + HOUR_MS - 1000);
    offset = a === b ? a : NaN;
    if (zone.size >= CACHE_LIMIT) zone.clear();
    zone.set(hour, offset);
  }
  return Number.isNaN(offset) ? intlLocalMs(t, tz) : t + offset;
}

/** localMs straight from Intl (slow: a few microseconds). */
export function intlLocalMs(t: LockTime, tz: string): number {
  const f: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const p of formatter(tz).formatToParts(t)) f[p.type] = p.value;
  let year = Number(f.year);
  if (f.era?.startsWith('B') === true) year = 1 - year; // 2 BC is year -1
  const hour = Number(f.hour) % 24;
  const [month, day, minute, second] = [Number(f.month), Number(f.day), Number(f.minute), Number(f.second)];
  const ms = ((t % 1000) + 1000) % 1000;
  return utc(year, month, day, hour, minute, second, ms);
}

/** The local calendar fields and weekday at lock time t in zone tz. */
export function epochToLocal(t: LockTime, tz: string): LocalParts {
  return splitLocalMs(localMs(t, tz));
}

/** Splits a "local ms" value (wall clock as if UTC) into fields. */
export function splitLocalMs(local: number): LocalParts {
  const d = new Date(local);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: WEEK_DAYS[(d.getUTCDay() + 6) % 7] as WeekDay,
  };
}

/**
 * Lock time of a local wall-clock value ("local ms") in tz. Gap: shifted forward by the gap's length.
 * Repeated: the first (earlier) occurrence.
 */
export function localMsToEpoch(local: number, tz: string): LockTime {
  // Offsets a day before and after bracket any single transition near this wall-clock time.
  const before = localMs(local - DAY_MS, tz) - (local - DAY_MS);
  const after = localMs(local + DAY_MS, tz) - (local + DAY_MS);
  const tBefore = local - before;
  const tAfter = local - after;
  const okBefore = localMs(tBefore, tz) === local;
  const okAfter = localMs(tAfter, tz) === local;
  if (okBefore && okAfter) return Math.min(tBefore, tAfter);
  if (okBefore) return tBefore;
  if (okAfter) return tAfter;
  // In a gap: apply the offset in force before it (the clock jumped forward, so this lands after the gap).
  return tBefore;
}

/** Lock time of "YYYY-MM-DDTHH:MM[:SS[.sss]]" in zone tz (see localMsToEpoch for DST rules). */
export function localToEpoch(ldt: LocalDateTime, tz: string): LockTime {
  return localMsToEpoch(parseLocalDateTime(ldt, 'local date-time', 'invalid_argument').local, tz);
}

export interface ParsedLocal {
  /** Wall clock as if UTC, ms. */
  local: number;
  /** Length of the unit the text was given to: 60 000 for minutes, 1000 for seconds, 1 for ms. */
  precision: number;
}

const LDT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{3}))?)?$/;

/** Strictly parses a local date-time; `field` names it in errors (e.g. "from"). */
export function parseLocalDateTime(
  text: unknown,
  field: string,
  code: 'invalid_schedule' | 'invalid_argument' = 'invalid_schedule',
): ParsedLocal {
  if (typeof text !== 'string') {
    throw new KeywayError(code, `${field}: expected "YYYY-MM-DDTHH:MM", got ${describe(text)}`);
  }
  const m = LDT.exec(text);
  if (m === null) {
    throw new KeywayError(code, `${field}: "${text}" is not of the form YYYY-MM-DDTHH:MM[:SS]`);
  }
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7]);
  if (year < 1970) throw new KeywayError(code, `${field}: year ${year} is before 1970`);
  if (month < 1 || month > 12) throw new KeywayError(code, `${field}: month ${m[2]} is not 01-12`);
  const dim = daysInMonth(year, month);
  if (day < 1 || day > dim) {
    throw new KeywayError(code, `${field}: ${m[1]}-${m[2]} has no day ${m[3]} (it has ${dim} days)`);
  }
  if (hour > 23) throw new KeywayError(code, `${field}: hour ${m[4]} is not 00-23`);
  if (minute > 59) throw new KeywayError(code, `${field}: minute ${m[5]} is not 00-59`);
  if (second > 59) throw new KeywayError(code, `${field}: second ${m[6]} is not 00-59`);
  const precision = m[6] === undefined ? 60_000 : m[7] === undefined ? 1000 : 1;
  return { local: utc(year, month, day, hour, minute, second, ms), precision };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, ms));
  date.setUTCFullYear(y); // Date.UTC maps years 0-99 to 1900-1999
  return date.getTime();
}

function checkTime(t: LockTime): void {
  if (!Number.isFinite(t) || Math.abs(t) > MAX_TIME) {
    throw new KeywayError(
      'invalid_argument',
      `lock time ${String(t)} is not a valid epoch millisecond value`,
    );
  }
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
