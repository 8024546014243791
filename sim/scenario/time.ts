import { isValidTimeZone, localToEpoch, type LockTime } from '../../firmware/index.ts';
import type { Field } from './Field.ts';

const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{3})?)?$/;
const ISO_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function stripCode(message: string): string {
  return message.replace(/^[a-z_]+: /, '');
}

/**
 * A time point in a scenario: "2026-03-29T01:59" (local in the lock's zone), "2026-03-29T01:59 Europe/Berlin"
 * (local in that zone), or ISO 8601 with Z or an offset ("2026-03-29T00:59:00Z"). Local times in a DST gap
 * or overlap follow the firmware's rule (docs/schedules.md).
 */
export function parseTimePoint(field: Field, timeZone: string): LockTime {
  const text = field.string('a time such as "2026-03-02T09:30" (local) or "2026-03-02T08:30:00Z"').trim();
  if (ISO_ZONED.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) field.fail(`"${text}" is not a valid date and time`);
    return t;
  }
  const [local, zone, extra] = text.split(/\s+/);
  if (extra !== undefined || local === undefined || !LOCAL.test(local)) {
    field.fail(
      `"${text}" is not a time; use "YYYY-MM-DDTHH:MM" (local), optionally followed by a zone, or ISO with Z`,
    );
  }
  const tz = zone ?? timeZone;
  if (!isValidTimeZone(tz))
    field.fail(`unknown time zone "${tz}" (expected an IANA name such as Europe/Berlin)`);
  try {
    return localToEpoch(local, tz);
  } catch (err) {
    field.fail(stripCode(err instanceof Error ? err.message : String(err)));
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** "Mon 2026-03-02 09:30:00 CET": lock time as a person in the lock's zone reads it. */
export function formatLockTime(t: LockTime | null, timeZone: string): string {
  if (t === null) return 'time unknown';
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(t)) p[part.type] = part.value;
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

export { stripCode };
