// Strict validation of schedules as they arrive from users, CLIs and the wire. Every error names the field.
import type { AccessSchedule, HolidaySchedule, WeekDay } from '../types.ts';
import { WEEK_DAYS } from '../types.ts';
import { KeywayError } from '../errors.ts';
import { describe, parseLocalDateTime } from './zone.ts';

const OPERATING_MODES = new Set(['Normal', 'Vacation', 'Privacy', 'NoRemoteLockUnlock', 'Passage']);
const TIME = /^(\d{2}):(\d{2})$/;

/** Minutes since local midnight of "HH:MM" (00:00-23:59). `field` names it in errors. */
export function parseTimeOfDay(text: unknown, field: string): number {
  if (typeof text !== 'string') {
    throw new KeywayError('invalid_schedule', `${field}: expected "HH:MM", got ${describe(text)}`);
  }
  const m = TIME.exec(text);
  if (m === null)
    throw new KeywayError('invalid_schedule', `${field}: "${text}" is not of the form HH:MM (e.g. 09:05)`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23)
    throw new KeywayError(
      'invalid_schedule',
      `${field}: hour ${m[1]} is not 00-23 (use 23:59 for end of day)`,
    );
  if (min > 59) throw new KeywayError('invalid_schedule', `${field}: minute ${m[2]} is not 00-59`);
  return h * 60 + min;
}

/** Validates a weekly, year-day or holiday schedule; throws KeywayError('invalid_schedule') naming the field. */
export function validateSchedule(s: AccessSchedule | HolidaySchedule): void {
  const v = s as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new KeywayError('invalid_schedule', `schedule: expected an object, got ${describe(v)}`);
  }
  const o = v as Record<string, unknown>;
  switch (o.kind) {
    case 'weekly':
      validateDays(o.days);
      if (parseTimeOfDay(o.start, 'start') === parseTimeOfDay(o.end, 'end')) {
        throw new KeywayError(
          'invalid_schedule',
          `end: equals start (${String(o.start)}); a window needs a length`,
        );
      }
      return;
    case 'yearday':
      validateRange(o.from, o.until);
      return;
    case 'holiday':
      validateRange(o.from, o.until);
      if (typeof o.mode !== 'string' || !OPERATING_MODES.has(o.mode)) {
        throw new KeywayError(
          'invalid_schedule',
          `mode: ${describe(o.mode)} is not an operating mode (${[...OPERATING_MODES].join(', ')})`,
        );
      }
      return;
    default:
      throw new KeywayError(
        'invalid_schedule',
        `kind: ${describe(o.kind)} is not weekly, yearday or holiday`,
      );
  }
}

function validateDays(days: unknown): asserts days is WeekDay[] {
  if (!Array.isArray(days))
    throw new KeywayError('invalid_schedule', `days: expected a list, got ${describe(days)}`);
  if (days.length === 0) throw new KeywayError('invalid_schedule', 'days: empty; name at least one day');
  const seen = new Set<unknown>();
  for (const d of days) {
    if (!WEEK_DAYS.includes(d as WeekDay)) {
      throw new KeywayError('invalid_schedule', `days: ${describe(d)} is not one of ${WEEK_DAYS.join(', ')}`);
    }
    if (seen.has(d)) throw new KeywayError('invalid_schedule', `days: "${String(d)}" is listed twice`);
    seen.add(d);
  }
}

function validateRange(from: unknown, until: unknown): void {
  const f = parseLocalDateTime(from, 'from');
  const u = parseLocalDateTime(until, 'until');
  if (f.local >= u.local) {
    throw new KeywayError('invalid_schedule', `until: ${String(until)} is not after from ${String(from)}`);
  }
}
