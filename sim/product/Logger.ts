// Leveled logs for the lock process (`keyway lock --log-level`). Messages are fixed texts written by us;
// anything variable goes in fields, and fields that could hold a secret are masked by name before a line
// is formatted, so a PIN, setup code, key or token never reaches a terminal or a log file.
import { KeywayError } from '../../firmware/index.ts';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface LogLine {
  level: LogLevel;
  /** Wall-clock time (ms since the epoch) the line was logged. */
  time: number;
  scope: string;
  message: string;
  /** Already masked. */
  fields: LogFields;
}

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  /** The same sink and level, another scope (e.g. "ble", "ctl"). */
  child(scope: string): Logger;
}

export function parseLogLevel(text: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new KeywayError(
    'invalid_argument',
    `log level must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`,
  );
}

/** Field names whose values are never shown: PINs, setup codes, keys, tokens, secrets, SPAKE2+ values. */
const SECRET_NAME = /(pin|code|secret|token|password|passphrase|share|confirm|proof|key|seed)s?$/i;
export const MASK = '***';

/** Masks secret-looking fields (by name, at any depth) and shortens byte arrays to their length. */
export function maskFields(fields: LogFields, depth = 0): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_NAME.test(k) ? MASK : maskValue(v, depth);
  return out;
}

function maskValue(v: unknown, depth: number): unknown {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (depth >= 4) return typeof v === 'object' && v !== null ? '…' : v;
  if (Array.isArray(v)) return v.map((x) => maskValue(x, depth + 1));
  if (v instanceof Error) return v.message;
  if (typeof v === 'object' && v !== null) return maskFields(v as LogFields, depth + 1);
  return v;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export function createLogger(options: {
  level: LogLevel;
  sink: (line: LogLine) => void;
  scope?: string;
  now?: () => number;
}): Logger {
  const now = options.now ?? Date.now;
  const make = (scope: string): Logger => {
    const log =
      (level: LogLevel) =>
      (message: string, fields: LogFields = {}): void => {
        if (RANK[level] > RANK[options.level]) return;
        options.sink({ level, time: now(), scope, message, fields: maskFields(fields) });
      };
    return {
      error: log('error'),
      warn: log('warn'),
      info: log('info'),
      debug: log('debug'),
      enabled: (level) => RANK[level] <= RANK[options.level],
      child: (s) => make(scope === '' ? s : `${scope}.${s}`),
    };
  };
  return make(options.scope ?? '');
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** `08:15:02.118 info  ble: phone connected address=c0:00:00:00:00:02` */
export function formatLogLine(line: LogLine): string {
  const t = new Date(line.time).toISOString().slice(11, 23);
  const scope = line.scope === '' ? '' : `${line.scope}: `;
  const fields = Object.entries(line.fields)
    .map(([k, v]) => ` ${k}=${fieldText(v)}`)
    .join('');
  return `${t} ${line.level.padEnd(5)} ${scope}${line.message}${fields}`;
}
