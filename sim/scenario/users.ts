// Users, credentials and schedules as scenarios write them (declared up front or in add_user/modify_user).
import {
  parseWeekly,
  validateSchedule,
  type AccessSchedule,
  type HolidaySchedule,
  type UserSpec,
  type WeekDay,
  type WeekDaySchedule,
} from '../../firmware/index.ts';
import type { Field } from './Field.ts';
import type { ParseContext } from './registry.ts';
import { stripCode } from './time.ts';
import { CREDENTIAL_RULES, METHOD_NAMES, MODES, ROLES, USER_TYPES } from './vocabulary.ts';

export interface PinPlan {
  pin: string;
  /** Accept a weak PIN deliberately. */
  force: boolean;
}

/** A user to create, with the credentials and schedules to give it right after. */
export interface UserPlan {
  name: string;
  spec: UserSpec;
  pins: PinPlan[];
  cards: string[];
  fingerprints: number[];
  schedules: AccessSchedule[];
  /** Scenario name of the creating user (declared users; default: the first owner). */
  createdBy?: string;
}

const SPEC_FIELDS = [
  'role',
  'userType',
  'enabled',
  'validFrom',
  'validUntil',
  'permanent',
  'methods',
  'sites',
  'credentialRule',
  'usesRemaining',
  'mayShare',
] as const;
const CREDENTIAL_FIELDS = [
  'pin',
  'pins',
  'card',
  'cards',
  'fingerprint',
  'fingerprints',
  'schedules',
] as const;

export const USER_FIELDS: readonly string[] = ['name', ...SPEC_FIELDS, ...CREDENTIAL_FIELDS, 'createdBy'];

const WEEK: readonly WeekDay[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A PIN must be a quoted string of digits: a YAML number would lose leading zeros. */
export function readPin(field: Field): string {
  if (typeof field.value === 'number') {
    field.fail('PINs must be quoted strings of digits, e.g. "0451" (a YAML number drops leading zeros)');
  }
  const pin = field.string('a PIN as a quoted string of digits');
  if (!/^\d+$/.test(pin)) field.fail('a PIN is made of the digits 0-9 only');
  return pin;
}

export function readPinPlan(field: Field): PinPlan {
  if (field.isMap()) {
    field.onlyKeys(['pin', 'force']);
    return { pin: readPin(field.at('pin').required()), force: field.at('force').optBool() ?? false };
  }
  return { pin: readPin(field), force: false };
}

export function readCardUid(field: Field): string {
  const uid = field.string('a card UID in hex, e.g. "04A2B3C4D5"');
  if (!/^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20})$/.test(uid)) {
    field.fail(`card UID must be 4, 7 or 10 bytes of hex (8, 14 or 20 hex digits), got "${uid}"`);
  }
  return uid.toUpperCase();
}

export function readTemplateId(field: Field): number {
  return field.number({ integer: true, min: 0, max: 65535, what: 'a fingerprint template id (0-65535)' });
}

/**
 * A schedule: { weekly: "mon,thu 09:00-12:00" }, { weekly: { days: [mon, thu], start, end } } or
 * { yearday: { from: "2026-03-01T15:00", until: "2026-03-05T11:00" } } (local times in the lock's zone).
 */
export function readSchedule(field: Field, ignore: readonly string[] = []): AccessSchedule {
  field.map();
  const keys = field.keys().filter((k) => !ignore.includes(k));
  if (keys.length !== 1 || (keys[0] !== 'weekly' && keys[0] !== 'yearday')) {
    field.fail('a schedule is { weekly: "mon,thu 09:00-12:00" } or { yearday: { from: ..., until: ... } }');
  }
  if (keys[0] === 'weekly') {
    const w = field.at('weekly');
    if (typeof w.value === 'string') {
      try {
        return parseWeekly(w.value);
      } catch (err) {
        w.fail(stripCode(err instanceof Error ? err.message : String(err)));
      }
    }
    w.map().onlyKeys(['days', 'start', 'end']);
    const days = w
      .at('days')
      .required()
      .listOrOne()
      .map((d) => d.oneOf(WEEK));
    const schedule: WeekDaySchedule = {
      kind: 'weekly',
      days,
      start: w.at('start').required().string('"HH:MM"'),
      end: w.at('end').required().string('"HH:MM"'),
    };
    try {
      validateSchedule(schedule);
    } catch (err) {
      w.fail(stripCode(err instanceof Error ? err.message : String(err)));
    }
    return schedule;
  }
  const y = field.at('yearday').map().onlyKeys(['from', 'until']);
  const schedule: AccessSchedule = {
    kind: 'yearday',
    from: readLocalDateTime(y.at('from').required()),
    until: readLocalDateTime(y.at('until').required()),
  };
  try {
    validateSchedule(schedule);
  } catch (err) {
    y.fail(stripCode(err instanceof Error ? err.message : String(err)));
  }
  return schedule;
}

function readLocalDateTime(field: Field): string {
  const s = field.string('a local time "YYYY-MM-DDTHH:MM"');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(s))
    field.fail(`"${s}" is not of the form YYYY-MM-DDTHH:MM`);
  return s;
}

export function readHoliday(field: Field): HolidaySchedule {
  field.map().onlyKeys(['from', 'until', 'mode']);
  const holiday: HolidaySchedule = {
    kind: 'holiday',
    from: readLocalDateTime(field.at('from').required()),
    until: readLocalDateTime(field.at('until').required()),
    mode: field.at('mode').required().oneOf(MODES),
  };
  try {
    validateSchedule(holiday);
  } catch (err) {
    field.fail(stripCode(err instanceof Error ? err.message : String(err)));
  }
  return holiday;
}

/** The UserSpec fields present in a mapping (for add_user: all; for modify_user: a patch). */
export function readSpecFields(field: Field, ctx: ParseContext): Partial<UserSpec> {
  const spec: Partial<UserSpec> = {};
  const f = (k: string): Field => field.at(k);
  if (f('role').present) spec.role = f('role').oneOf(ROLES);
  if (f('userType').present) spec.userType = f('userType').oneOf(USER_TYPES);
  if (f('enabled').present) spec.enabled = f('enabled').bool();
  for (const k of ['validFrom', 'validUntil'] as const) {
    if (f(k).present) spec[k] = f(k).value === null ? null : ctx.time(f(k));
  }
  if (f('permanent').present) spec.permanent = f('permanent').bool();
  if (f('methods').present)
    spec.methods = f('methods')
      .listOrOne()
      .map((m) => m.oneOf(METHOD_NAMES));
  if (f('sites').present)
    spec.sites = f('sites')
      .listOrOne()
      .map((s) => s.nonEmptyString('a site name'));
  if (f('credentialRule').present) spec.credentialRule = f('credentialRule').oneOf(CREDENTIAL_RULES);
  if (f('usesRemaining').present) {
    spec.usesRemaining =
      f('usesRemaining').value === null ? null : f('usesRemaining').number({ integer: true, min: 0 });
  }
  if (f('mayShare').present) spec.mayShare = f('mayShare').bool();
  return spec;
}

export function readUserName(field: Field): string {
  const name = field.nonEmptyString('a user name');
  if ([...name].length > 32)
    field.fail(`user names are at most 32 characters, "${name}" has ${[...name].length}`);
  return name;
}

/** A full user: name and role required; credentials and schedules optional. */
export function readUserPlan(field: Field, ctx: ParseContext, opts: { allowCreatedBy: boolean }): UserPlan {
  field.map().onlyKeys(opts.allowCreatedBy ? USER_FIELDS : USER_FIELDS.filter((k) => k !== 'createdBy'));
  const name = readUserName(field.at('name').required());
  field.at('role').required();
  const spec = { ...readSpecFields(field, ctx), name } as UserSpec;
  const pins = [...(field.at('pin').present ? [field.at('pin')] : []), ...listIfPresent(field.at('pins'))];
  const cards = [
    ...(field.at('card').present ? [field.at('card')] : []),
    ...listIfPresent(field.at('cards')),
  ];
  const prints = [
    ...(field.at('fingerprint').present ? [field.at('fingerprint')] : []),
    ...listIfPresent(field.at('fingerprints')),
  ];
  const plan: UserPlan = {
    name,
    spec,
    pins: pins.map(readPinPlan),
    cards: cards.map(readCardUid),
    fingerprints: prints.map(readTemplateId),
    schedules: listIfPresent(field.at('schedules')).map((f) => readSchedule(f)),
  };
  if (field.at('createdBy').present) plan.createdBy = ctx.userRef(field.at('createdBy'));
  return plan;
}

function listIfPresent(field: Field): Field[] {
  return field.present ? field.list() : [];
}

/** Canonical text of a schedule, to find one again among a user's schedules. */
export function scheduleKey(s: AccessSchedule): string {
  return s.kind === 'weekly'
    ? `weekly ${WEEK.filter((d) => s.days.includes(d)).join(',')} ${s.start}-${s.end}`
    : `yearday ${s.from}..${s.until}`;
}
