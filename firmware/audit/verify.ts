// Verifying an exported audit log anywhere (no database needed): every entry's hash, every link, the
// sequence (gaps only where the lock recorded an eviction), and signed checkpoints. See docs/audit.md.
import type { KeyObject } from 'node:crypto';
import type { AuditEntry, AuditKind } from '../types.ts';
import { KeywayError } from '../errors.ts';
import { GENESIS_HASH, HEX64, chainHash, entryBody } from './canonical.ts';
import { checkpointValid, toPublicKey, type AuditCheckpoint } from './checkpoint.ts';

/** A run of entries the lock evicted; lastHash is the hash of entry `to`, which entry to+1 links to. */
export interface EvictedRange {
  from: number;
  to: number;
  lastHash: string;
}

export interface AuditExport {
  entries: AuditEntry[];
  evicted: EvictedRange[];
  checkpoints: AuditCheckpoint[];
}

export type AuditProblem =
  | 'hash_mismatch'
  | 'chain_broken'
  | 'sequence_gap'
  | 'reordered'
  | 'truncated'
  | 'bad_checkpoint'
  | 'column_mismatch'
  | 'malformed';

export type AuditVerdict =
  { ok: true; count: number } | { ok: false; seq: number; problem: AuditProblem; detail: string };

export interface VerifyOptions {
  /** The lock's Ed25519 public key (KeyObject or 32 raw bytes); needed to check checkpoints. */
  devicePublicKey?: KeyObject | Uint8Array;
  checkpoints?: AuditCheckpoint[];
  evicted?: EvictedRange[];
  /** The export must start at seq 1 (or with an eviction from 1): detects lines deleted from the start. */
  complete?: boolean;
}

export function verifyAuditExport(entries: AuditEntry[], opts: VerifyOptions = {}): AuditVerdict {
  const fail = (seq: number, problem: AuditProblem, detail: string): AuditVerdict => ({
    ok: false,
    seq,
    problem,
    detail,
  });
  // Order first, so a swap is reported as such rather than as a gap.
  for (let i = 1; i < entries.length; i++) {
    const a = (entries[i - 1] as AuditEntry).seq;
    const b = (entries[i] as AuditEntry).seq;
    if (b <= a) return fail(b, 'reordered', `entry ${b} follows entry ${a}`);
  }
  const ranges = new Map<number, EvictedRange>();
  for (const r of opts.evicted ?? []) ranges.set(r.from, r);

  let expected: number | null = null;
  let prevHash: string | null = null;
  const hashes = new Map<number, string>();
  for (const e of entries) {
    if (expected === null) {
      const start = ranges.get(1);
      if (e.seq === 1) {
        expected = 1;
        prevHash = GENESIS_HASH;
      } else if (start !== undefined) {
        expected = 1;
      } else if (opts.complete === true) {
        return fail(
          e.seq,
          'truncated',
          `export starts at entry ${e.seq}, not 1, and records no eviction before it`,
        );
      } else {
        expected = e.seq; // partial export: the first entry's prevHash is the anchor
        prevHash = e.prevHash;
      }
    }
    while (e.seq > expected) {
      const r: EvictedRange | undefined = ranges.get(expected);
      if (r === undefined || r.to >= e.seq) {
        return fail(expected, 'sequence_gap', `entry ${expected} is missing and no eviction covers it`);
      }
      expected = r.to + 1;
      prevHash = r.lastHash;
    }
    if (e.prevHash !== prevHash) {
      return fail(e.seq, 'chain_broken', `entry ${e.seq} does not link to the hash of entry ${e.seq - 1}`);
    }
    if (chainHash(e.prevHash, entryBody(e)) !== e.hash) {
      return fail(e.seq, 'hash_mismatch', `entry ${e.seq}'s content does not match its hash`);
    }
    hashes.set(e.seq, e.hash);
    prevHash = e.hash;
    expected = e.seq + 1;
  }

  const checkpoints = opts.checkpoints ?? [];
  if (opts.devicePublicKey !== undefined && checkpoints.length > 0) {
    const key = toPublicKey(opts.devicePublicKey);
    const lastSeq = entries.length > 0 ? (entries[entries.length - 1] as AuditEntry).seq : 0;
    const rangeEnds = new Map([...ranges.values()].map((r) => [r.to, r.lastHash]));
    for (const c of checkpoints) {
      if (!checkpointValid(key, c))
        return fail(c.seq, 'bad_checkpoint', `checkpoint ${c.seq}'s signature is not the lock's`);
      const h = hashes.get(c.seq) ?? rangeEnds.get(c.seq);
      if (h !== undefined && h !== c.hash) {
        return fail(c.seq, 'bad_checkpoint', `entry ${c.seq} differs from what the lock signed`);
      }
      if (c.seq > lastSeq && h === undefined) {
        return fail(c.seq, 'truncated', `the lock signed entry ${c.seq} but the export ends at ${lastSeq}`);
      }
    }
  }
  return { ok: true, count: entries.length };
}

const KINDS = new Set<AuditKind>([
  'LockOperation',
  'LockOperationError',
  'LockUserChange',
  'DoorLockAlarm',
  'DoorStateChange',
  'SettingsChange',
  'System',
]);

/**
 * Parses a JSON Lines export (AuditLog.exportJsonl): entry lines, {"evicted":{...}} and {"checkpoint":{...}}.
 * Throws KeywayError('malformed', "line N: ...") on the first bad line. Blank lines are skipped.
 */
export function parseAuditJsonl(text: string): AuditExport {
  const out: AuditExport = { entries: [], evicted: [], checkpoints: [] };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const bad = (why: string): KeywayError =>
      new KeywayError('malformed', `audit export line ${i + 1}: ${why}`);
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw bad('not valid JSON');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected a JSON object');
    const o = v as Record<string, unknown>;
    if ('evicted' in o) {
      const r = o.evicted as Record<string, unknown> | null;
      if (typeof r !== 'object' || r === null) throw bad('"evicted" must be an object');
      if (!isSeq(r.from) || !isSeq(r.to) || r.to < r.from)
        throw bad('"evicted" needs from <= to, both positive integers');
      if (typeof r.lastHash !== 'string' || !HEX64.test(r.lastHash))
        throw bad('"evicted.lastHash" must be 64 hex digits');
      out.evicted.push({ from: r.from, to: r.to, lastHash: r.lastHash });
      return;
    }
    if ('checkpoint' in o) {
      const c = o.checkpoint as Record<string, unknown> | null;
      if (typeof c !== 'object' || c === null) throw bad('"checkpoint" must be an object');
      if (!isSeq(c.seq)) throw bad('"checkpoint.seq" must be a positive integer');
      if (typeof c.hash !== 'string' || !HEX64.test(c.hash))
        throw bad('"checkpoint.hash" must be 64 hex digits');
      if (typeof c.signature !== 'string' || !/^[0-9a-f]{128}$/.test(c.signature)) {
        throw bad('"checkpoint.signature" must be 128 hex digits');
      }
      out.checkpoints.push({ seq: c.seq, hash: c.hash, signature: c.signature });
      return;
    }
    if (!isSeq(o.seq)) throw bad('"seq" must be a positive integer');
    if (o.time !== null && !Number.isSafeInteger(o.time)) throw bad('"time" must be an integer or null');
    if (typeof o.boot !== 'number' || !Number.isFinite(o.boot)) throw bad('"boot" must be a number');
    if (typeof o.kind !== 'string' || !KINDS.has(o.kind as AuditKind))
      throw bad(`"kind" ${JSON.stringify(o.kind)} is unknown`);
    if (typeof o.action !== 'string') throw bad('"action" must be a string');
    if (typeof o.hash !== 'string' || !HEX64.test(o.hash)) throw bad('"hash" must be 64 hex digits');
    if (typeof o.prevHash !== 'string' || !HEX64.test(o.prevHash))
      throw bad('"prevHash" must be 64 hex digits');
    out.entries.push(o as unknown as AuditEntry);
  });
  return out;
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}
