// Expectations: what a step's `expect:` may say, parsed up front and checked after the step has run.
import type {
  AlarmCode,
  AuditEntry,
  ErrorCode,
  LockStatus,
  LockTime,
  Settings,
} from '../../firmware/index.ts';
import type { Field } from './Field.ts';
import type { Operation, ParseContext } from './registry.ts';
import { formatLockTime } from './time.ts';
import {
  ALARM_CODES,
  AUDIT_KINDS,
  BOLT_STATES,
  CREDENTIAL_TYPES,
  DENIAL_REASONS,
  DOOR_STATES,
  ERROR_CODES,
  MODES,
  SOURCES,
} from './vocabulary.ts';

type Scalar = string | number | boolean | null;

export interface AuditPattern {
  kind?: string;
  action?: string;
  result?: 'success' | 'failure';
  reason?: string | null;
  /** Scenario user name; null = no user. */
  user?: string | null;
  target?: string | null;
  source?: string;
  credential?: string | null;
  security?: boolean;
  data?: Record<string, Scalar>;
}

export interface AlarmPattern {
  code: AlarmCode;
  silent?: boolean;
}

export interface Expectation {
  result?: 'granted' | 'denied';
  reason?: string;
  user?: string | null;
  error?: ErrorCode | 'none';
  bolt?: string;
  door?: string;
  mode?: string;
  battery?: number;
  alarm?: AlarmPattern[];
  no_alarm?: AlarmCode[] | 'any';
  alarms_active?: AlarmCode[];
  locked_out?: boolean;
  wrong_attempts?: number;
  time?: { at: LockTime; precision: number } | 'unknown';
  setup_mode?: boolean;
  users?: Record<string, UserState>;
  credentials?: Record<string, number>;
  settings?: Record<string, unknown>;
  audit?: {
    last?: AuditPattern;
    contains?: AuditPattern[];
    not_contains?: AuditPattern[];
    /** Entries written during this step, each matched in order by a pattern. */
    step?: AuditPattern[];
    count?: number;
    step_count?: number;
  };
  audit_verifies?: boolean;
}

export type UserState = 'enabled' | 'disabled' | 'absent';

export const EXPECT_FIELDS = [
  'result',
  'reason',
  'user',
  'error',
  'bolt',
  'door',
  'mode',
  'battery',
  'alarm',
  'no_alarm',
  'alarms_active',
  'locked_out',
  'wrong_attempts',
  'time',
  'setup_mode',
  'users',
  'credentials',
  'settings',
  'audit',
  'audit_verifies',
] as const;

const PATTERN_FIELDS = [
  'kind',
  'action',
  'result',
  'reason',
  'user',
  'target',
  'source',
  'credential',
  'security',
  'data',
];

function readPattern(f: Field, ctx: ParseContext): AuditPattern {
  f.map().onlyKeys(PATTERN_FIELDS);
  const p: AuditPattern = {};
  if (f.at('kind').present) p.kind = f.at('kind').oneOf(AUDIT_KINDS);
  if (f.at('action').present) p.action = f.at('action').nonEmptyString();
  if (f.at('result').present) p.result = f.at('result').oneOf(['success', 'failure'] as const);
  if (f.at('reason').present)
    p.reason = f.at('reason').value === null ? null : f.at('reason').oneOf(DENIAL_REASONS);
  for (const k of ['user', 'target'] as const) {
    if (f.at(k).present) p[k] = f.at(k).value === null ? null : ctx.userRef(f.at(k));
  }
  if (f.at('source').present) p.source = f.at('source').oneOf(SOURCES);
  if (f.at('credential').present) {
    p.credential = f.at('credential').value === null ? null : f.at('credential').oneOf(CREDENTIAL_TYPES);
  }
  if (f.at('security').present) p.security = f.at('security').bool();
  if (f.at('data').present) {
    const data: Record<string, Scalar> = {};
    for (const k of f.at('data').keys()) {
      const v = f.at('data').at(k).value;
      if (v !== null && typeof v === 'object')
        f.at('data').at(k).fail('audit data values are strings, numbers, booleans or null');
      data[k] = v as Scalar;
    }
    p.data = data;
  }
  return p;
}

function readAlarm(f: Field): AlarmPattern {
  if (f.isMap()) {
    f.onlyKeys(['code', 'silent']);
    const a: AlarmPattern = { code: f.at('code').required().oneOf(ALARM_CODES) };
    if (f.at('silent').present) a.silent = f.at('silent').bool();
    return a;
  }
  return { code: f.oneOf(ALARM_CODES) };
}

export function readExpectation(f: Field, ctx: ParseContext): Expectation {
  f.map().onlyKeys(EXPECT_FIELDS);
  const e: Expectation = {};
  const at = (k: (typeof EXPECT_FIELDS)[number]): Field => f.at(k);
  if (at('result').present) e.result = at('result').oneOf(['granted', 'denied'] as const);
  if (at('reason').present) e.reason = at('reason').oneOf(DENIAL_REASONS);
  if (at('user').present) e.user = at('user').value === null ? null : ctx.userRef(at('user'));
  if (at('error').present) e.error = at('error').oneOf([...ERROR_CODES, 'none'] as const);
  if (at('bolt').present) e.bolt = at('bolt').oneOf(BOLT_STATES);
  if (at('door').present) e.door = at('door').oneOf(DOOR_STATES);
  if (at('mode').present) e.mode = at('mode').oneOf(MODES);
  if (at('battery').present) e.battery = at('battery').number({ min: 0, max: 100 });
  if (at('alarm').present) e.alarm = at('alarm').listOrOne().map(readAlarm);
  if (at('no_alarm').present) {
    e.no_alarm =
      at('no_alarm').value === 'any'
        ? 'any'
        : at('no_alarm')
            .listOrOne()
            .map((a) => a.oneOf(ALARM_CODES));
  }
  if (at('alarms_active').present)
    e.alarms_active = at('alarms_active')
      .list()
      .map((a) => a.oneOf(ALARM_CODES));
  if (at('locked_out').present) e.locked_out = at('locked_out').bool();
  if (at('wrong_attempts').present) e.wrong_attempts = at('wrong_attempts').number({ integer: true, min: 0 });
  if (at('time').present) {
    if (at('time').value === 'unknown') e.time = 'unknown';
    else {
      const text = at('time').string('a time or "unknown"');
      const precision = /T\d{2}:\d{2}:\d{2}/.test(text) ? 1000 : 60_000;
      e.time = { at: ctx.time(at('time')), precision };
    }
  }
  if (at('setup_mode').present) e.setup_mode = at('setup_mode').bool();
  if (at('users').present) {
    e.users = {};
    for (const name of at('users').keys()) {
      const uf = at('users').at(name);
      ctx.userRef(uf, name);
      e.users[name] = uf.oneOf(['enabled', 'disabled', 'absent'] as const);
    }
  }
  if (at('credentials').present) {
    e.credentials = {};
    for (const name of at('credentials').keys()) {
      const cf = at('credentials').at(name);
      ctx.userRef(cf, name);
      e.credentials[name] = cf.number({ integer: true, min: 0 });
    }
  }
  if (at('settings').present) {
    e.settings = {};
    for (const k of at('settings').keys()) e.settings[k] = at('settings').at(k).value;
  }
  if (at('audit').present) {
    const a = at('audit').map().onlyKeys(['last', 'contains', 'not_contains', 'step', 'count', 'step_count']);
    e.audit = {};
    if (a.at('last').present) e.audit.last = readPattern(a.at('last'), ctx);
    if (a.at('contains').present)
      e.audit.contains = a
        .at('contains')
        .listOrOne()
        .map((p) => readPattern(p, ctx));
    if (a.at('not_contains').present) {
      e.audit.not_contains = a
        .at('not_contains')
        .listOrOne()
        .map((p) => readPattern(p, ctx));
    }
    if (a.at('step').present)
      e.audit.step = a
        .at('step')
        .listOrOne()
        .map((p) => readPattern(p, ctx));
    if (a.at('count').present) e.audit.count = a.at('count').number({ integer: true, min: 0 });
    if (a.at('step_count').present) e.audit.step_count = a.at('step_count').number({ integer: true, min: 0 });
  }
  if (at('audit_verifies').present) e.audit_verifies = at('audit_verifies').bool();
  return e;
}

// ---- checking ----

/** Everything a step's expectations can look at, gathered by the runner after the step. */
export interface Observation {
  operation: Operation | null;
  error: { code: string; message: string } | null;
  status: LockStatus;
  settings: Settings;
  timeZone: string;
  alarmsRaised: Array<{ code: AlarmCode; silent: boolean }>;
  stepEntries: AuditEntry[];
  allEntries(): AuditEntry[];
  verify(): { ok: boolean; detail: string };
  nameOf(index: number | null | undefined): string | null;
  indexOf(name: string): number | undefined;
  userState(name: string): UserState;
  credentialCount(name: string): number;
}

export interface Failure {
  field: string;
  expected: string;
  actual: string;
  /** Extra lines (e.g. the entries a pattern was compared with). */
  context?: string[];
}

export function describeEntry(
  e: AuditEntry,
  nameOf: (i: number | null | undefined) => string | null,
): string {
  const parts = [`#${e.seq}`, e.kind, e.action];
  if (e.result !== undefined) parts.push(e.result);
  if (e.reason !== undefined && e.reason !== null) parts.push(`reason=${e.reason}`);
  if (e.userIndex !== undefined && e.userIndex !== null)
    parts.push(`user=${nameOf(e.userIndex) ?? `#${e.userIndex}`}`);
  if (e.targetUserIndex !== undefined && e.targetUserIndex !== null) {
    parts.push(`target=${nameOf(e.targetUserIndex) ?? `#${e.targetUserIndex}`}`);
  }
  if (e.source !== undefined) parts.push(`source=${e.source}`);
  if (e.credential !== undefined && e.credential !== null) parts.push(`credential=${e.credential.type}`);
  if (e.data !== undefined && Object.keys(e.data).length > 0) {
    parts.push(
      Object.entries(e.data)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' '),
    );
  }
  return parts.join(' ');
}

export function describePattern(p: AuditPattern): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(p)) {
    if (k === 'data') {
      for (const [dk, dv] of Object.entries(v as Record<string, Scalar>))
        parts.push(`data.${dk}=${String(dv)}`);
    } else parts.push(`${k}=${v === null ? 'none' : String(v)}`);
  }
  return `{ ${parts.join(', ')} }`;
}

function matches(p: AuditPattern, e: AuditEntry, obs: Observation): boolean {
  if (p.kind !== undefined && e.kind !== p.kind) return false;
  if (p.action !== undefined && e.action !== p.action) return false;
  if (p.result !== undefined && e.result !== p.result) return false;
  if (p.reason !== undefined && (e.reason ?? null) !== p.reason) return false;
  if (p.source !== undefined && e.source !== p.source) return false;
  if (p.security !== undefined && (e.security ?? false) !== p.security) return false;
  if (p.credential !== undefined && (e.credential?.type ?? null) !== p.credential) return false;
  for (const [k, index] of [
    ['user', e.userIndex],
    ['target', e.targetUserIndex],
  ] as const) {
    const want = p[k];
    if (want === undefined) continue;
    if (want === null ? (index ?? null) !== null : index !== obs.indexOf(want)) return false;
  }
  if (p.data !== undefined) {
    for (const [k, v] of Object.entries(p.data)) if (e.data?.[k] !== v) return false;
  }
  return true;
}

function operationText(op: Operation | null, obs: Observation): string {
  if (op === null) return 'no access attempt in this step';
  const who = op.userIndex === null ? '' : ` by ${obs.nameOf(op.userIndex) ?? `user #${op.userIndex}`}`;
  return op.granted ? `granted${who}` : `denied (${op.reason ?? 'no reason'})${who}`;
}

const alarmText = (a: { code: string; silent: boolean }): string =>
  a.silent ? `${a.code} (silent)` : a.code;

/** Compares a step's expectations with what happened; returns one Failure per unmet expectation. */
export function checkExpectation(e: Expectation, obs: Observation): Failure[] {
  const out: Failure[] = [];
  const fail = (field: string, expected: string, actual: string, context?: string[]): void => {
    out.push(context === undefined ? { field, expected, actual } : { field, expected, actual, context });
  };
  const op = obs.operation;
  if (e.result !== undefined) {
    const actual = op === null ? null : op.granted ? 'granted' : 'denied';
    if (actual !== e.result) fail('result', e.result, operationText(op, obs));
  }
  if (e.reason !== undefined && (op === null || op.granted || op.reason !== e.reason)) {
    fail('reason', `denied (${e.reason})`, operationText(op, obs));
  }
  if (e.user !== undefined) {
    const want = e.user === null ? null : obs.indexOf(e.user);
    if (op === null || op.userIndex !== want) fail('user', e.user ?? 'no user', operationText(op, obs));
  }
  const error = obs.error;
  if (e.error !== undefined) {
    const actual = error === null ? 'none' : error.code;
    if (actual !== e.error) {
      fail('error', e.error, error === null ? 'no error (the action succeeded)' : error.message);
    }
  }
  const s = obs.status;
  if (e.bolt !== undefined && s.bolt !== e.bolt) fail('bolt', e.bolt, s.bolt);
  if (e.door !== undefined && s.door !== e.door) fail('door', e.door, s.door);
  if (e.mode !== undefined && s.mode !== e.mode) fail('mode', e.mode, s.mode);
  if (e.battery !== undefined && Math.abs(s.batteryPercent - e.battery) > 1e-9) {
    fail('battery', String(e.battery), String(s.batteryPercent));
  }
  if (e.alarm !== undefined) {
    for (const want of e.alarm) {
      const hit = obs.alarmsRaised.some(
        (a) => a.code === want.code && (want.silent === undefined || a.silent === want.silent),
      );
      if (!hit) {
        const wanted =
          want.silent === undefined ? want.code : alarmText({ code: want.code, silent: want.silent });
        fail(
          'alarm',
          `${wanted} raised in this step`,
          obs.alarmsRaised.map(alarmText).join(', ') || 'no alarm',
        );
      }
    }
  }
  if (e.no_alarm !== undefined) {
    const bad = obs.alarmsRaised.filter((a) => e.no_alarm === 'any' || e.no_alarm!.includes(a.code));
    if (bad.length > 0) {
      fail(
        'no_alarm',
        e.no_alarm === 'any' ? 'no alarm' : `none of ${e.no_alarm.join(', ')}`,
        bad.map(alarmText).join(', '),
      );
    }
  }
  if (e.alarms_active !== undefined) {
    const want = [...e.alarms_active].sort().join(', ') || 'none';
    const have = [...s.alarms].sort().join(', ') || 'none';
    if (want !== have) fail('alarms_active', want, have);
  }
  if (e.locked_out !== undefined) {
    const out = s.lockedOutRemainingMs > 0;
    if (out !== e.locked_out) {
      fail(
        'locked_out',
        String(e.locked_out),
        out ? `true (${Math.ceil(s.lockedOutRemainingMs / 1000)} s left)` : 'false',
      );
    }
  }
  if (e.wrong_attempts !== undefined && s.wrongAttempts !== e.wrong_attempts) {
    fail('wrong_attempts', String(e.wrong_attempts), String(s.wrongAttempts));
  }
  if (e.time !== undefined) {
    const t = s.time;
    if (e.time === 'unknown') {
      if (t !== null) fail('time', 'unknown', formatLockTime(t, obs.timeZone));
    } else if (t === null || t < e.time.at || t >= e.time.at + e.time.precision) {
      fail('time', formatLockTime(e.time.at, obs.timeZone), formatLockTime(t, obs.timeZone));
    }
  }
  if (e.setup_mode !== undefined && s.setupMode !== e.setup_mode)
    fail('setup_mode', String(e.setup_mode), String(s.setupMode));
  for (const [name, want] of Object.entries(e.users ?? {})) {
    const have = obs.userState(name);
    if (have !== want) fail(`users.${name}`, want, have);
  }
  for (const [name, want] of Object.entries(e.credentials ?? {})) {
    const have = obs.credentialCount(name);
    if (have !== want) fail(`credentials.${name}`, String(want), String(have));
  }
  for (const [k, want] of Object.entries(e.settings ?? {})) {
    const have = (obs.settings as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(have) !== JSON.stringify(want))
      fail(`settings.${k}`, JSON.stringify(want), JSON.stringify(have));
  }
  if (e.audit !== undefined) checkAudit(e.audit, obs, fail);
  if (e.audit_verifies !== undefined) {
    const v = obs.verify();
    if (v.ok !== e.audit_verifies) fail('audit_verifies', String(e.audit_verifies), `${v.ok} (${v.detail})`);
  }
  return out;
}

function checkAudit(
  a: NonNullable<Expectation['audit']>,
  obs: Observation,
  fail: (field: string, expected: string, actual: string, context?: string[]) => void,
): void {
  const show = (e: AuditEntry): string => describeEntry(e, (i) => obs.nameOf(i));
  const all =
    a.last !== undefined || a.contains !== undefined || a.not_contains !== undefined || a.count !== undefined;
  const entries = all ? obs.allEntries() : [];
  if (a.last !== undefined) {
    const last = entries[entries.length - 1];
    if (last === undefined || !matches(a.last, last, obs)) {
      fail('audit.last', describePattern(a.last), last === undefined ? 'the audit log is empty' : show(last));
    }
  }
  (a.contains ?? []).forEach((p, i) => {
    if (!entries.some((e) => matches(p, e, obs))) {
      fail(
        `audit.contains[${i}]`,
        describePattern(p),
        'no such entry in the log',
        entries.slice(-8).map(show),
      );
    }
  });
  (a.not_contains ?? []).forEach((p, i) => {
    const hit = entries.find((e) => matches(p, e, obs));
    if (hit !== undefined) fail(`audit.not_contains[${i}]`, `no entry like ${describePattern(p)}`, show(hit));
  });
  if (a.count !== undefined && entries.length !== a.count)
    fail('audit.count', String(a.count), String(entries.length));
  if (a.step_count !== undefined && obs.stepEntries.length !== a.step_count) {
    fail('audit.step_count', String(a.step_count), String(obs.stepEntries.length), obs.stepEntries.map(show));
  }
  if (a.step !== undefined) {
    // Each pattern must match an entry of this step, in order (other entries may come between).
    let from = 0;
    a.step.forEach((p, i) => {
      const at = obs.stepEntries.findIndex((e, j) => j >= from && matches(p, e, obs));
      if (at < 0) {
        fail(
          `audit.step[${i}]`,
          describePattern(p),
          'no such entry (in order) in this step',
          obs.stepEntries.map(show),
        );
      } else from = at + 1;
    });
  }
}
