// The lock's audit log: append-only, sequence-numbered, hash-chained, bounded, with signed checkpoints.
// Eviction rules, formats and verification: docs/audit.md.
import type Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import type { AuditEntry, AuditKind, AuditRecord, LockTime } from '../types.ts';
import { KeywayError } from '../errors.ts';
import { GENESIS_HASH, canonicalJson, chainHash, entryBody } from './canonical.ts';
import { checkpointValid, signCheckpoint, toPublicKey, type AuditCheckpoint } from './checkpoint.ts';
import { CSV_HEADER, csvRow, jsonlLine, type ExportItem } from './export.ts';
import type { AuditProblem, EvictedRange } from './verify.ts';

export { createAuditSchema } from './schema.ts';

export interface AuditLogOptions {
  /** Entries kept before eviction starts (Settings.capacities.auditEntries). Hard limit: 2 x capacity. */
  capacity: number;
  /** Ed25519 private key; when given, every checkpointEvery-th entry is signed. */
  deviceKey?: KeyObject;
  /** Default 100. */
  checkpointEvery?: number;
}

export interface AuditStats {
  count: number;
  capacity: number;
  lastSeq: number;
  ackedSeq: number;
  /** Entries removed in total. */
  evicted: number;
  /** Entries dropped at the hard limit (each batch announced by a System 'audit_overflow' entry). */
  dropped: number;
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
const RESERVED = new Set(['seq', 'time', 'boot', 'hash', 'prevHash']);
/** Personal data and secrets never enter the chain (a user's name must stay erasable). */
const FORBIDDEN = new Set(['name', 'username', 'pin', 'passcode', 'password', 'secret']);
const MAX_BODY = 4096;

interface StateRow {
  last_seq: number;
  last_hash: Buffer;
  acked_seq: number;
  evicted: number;
  dropped: number;
}
interface Row {
  seq: number;
  time: number | null;
  boot: number;
  kind: string;
  security: number;
  body: string;
  hash: Buffer;
  prev_hash: Buffer;
}
interface GapRow {
  from_seq: number;
  to_seq: number;
  last_hash: Buffer;
}

export class AuditLog {
  readonly #capacity: number;
  readonly #key: KeyObject | undefined;
  readonly #publicKey: KeyObject | undefined;
  readonly #every: number;
  readonly #s: ReturnType<typeof prepare>;
  readonly #appendTx: (record: AuditRecord, time: LockTime | null, boot: number) => AuditEntry;
  readonly #ackTx: (seq: number) => void;

  constructor(db: Database.Database, opts: AuditLogOptions) {
    if (!Number.isSafeInteger(opts.capacity) || opts.capacity < 1) {
      throw new KeywayError(
        'invalid_argument',
        `audit capacity must be a positive integer (got ${String(opts.capacity)})`,
      );
    }
    const every = opts.checkpointEvery ?? 100;
    if (!Number.isSafeInteger(every) || every < 1) {
      throw new KeywayError(
        'invalid_argument',
        `checkpointEvery must be a positive integer (got ${String(every)})`,
      );
    }
    if (
      opts.deviceKey !== undefined &&
      (opts.deviceKey.type !== 'private' || opts.deviceKey.asymmetricKeyType !== 'ed25519')
    ) {
      throw new KeywayError('invalid_argument', 'the audit device key must be an Ed25519 private key');
    }
    this.#capacity = opts.capacity;
    this.#key = opts.deviceKey;
    this.#publicKey = opts.deviceKey === undefined ? undefined : toPublicKey(opts.deviceKey);
    this.#every = every;
    try {
      this.#s = prepare(db);
    } catch (err) {
      throw new KeywayError(
        'store_corrupt',
        'the audit tables are missing or malformed (createAuditSchema not applied)',
        {
          cause: err,
        },
      );
    }
    // better-sqlite3 runs a nested transaction as a savepoint, so append is atomic on its own and joins the
    // caller's transaction when there is one (it commits or rolls back with the caller's change).
    this.#appendTx = db.transaction((record: AuditRecord, time: LockTime | null, boot: number) =>
      this.#append(record, time, boot),
    );
    this.#ackTx = db.transaction((seq: number) => this.#acknowledge(seq));
  }

  get capacity(): number {
    return this.#capacity;
  }

  get lastSeq(): number {
    return this.#state().last_seq;
  }

  stats(): AuditStats {
    const st = this.#state();
    return {
      count: st.last_seq - st.evicted,
      capacity: this.#capacity,
      lastSeq: st.last_seq,
      ackedSeq: st.acked_seq,
      evicted: st.evicted,
      dropped: st.dropped,
    };
  }

  /** Appends one entry (and evicts or drops per docs/audit.md). Synchronous; safe inside db.transaction. */
  append(record: AuditRecord, time: LockTime | null, boot: number): AuditEntry {
    checkRecord(record);
    if (time !== null && !Number.isSafeInteger(time)) {
      throw new KeywayError(
        'invalid_argument',
        `audit time must be an integer ms value or null (got ${String(time)})`,
      );
    }
    if (!Number.isFinite(boot) || boot < 0) {
      throw new KeywayError(
        'invalid_argument',
        `audit boot time must be a non-negative number (got ${String(boot)})`,
      );
    }
    return this.#appendTx(record, time, boot);
  }

  /** Entries with seq >= fromSeq in order (at most limit). */
  entries(fromSeq = 1, limit?: number): AuditEntry[] {
    const rows = this.#s.entries.all(fromSeq, limit ?? -1) as Array<Pick<Row, 'body' | 'hash' | 'prev_hash'>>;
    return rows.map(toEntry);
  }

  /** Marks entries up to seq as pulled by an admin: from now on they may be evicted (non-security ones). */
  acknowledge(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw new KeywayError(
        'invalid_argument',
        `acknowledge: seq must be a non-negative integer (got ${String(seq)})`,
      );
    }
    this.#ackTx(seq);
  }

  checkpoints(): AuditCheckpoint[] {
    return (this.#s.checkpoints.all() as Array<{ seq: number; hash: Buffer; signature: Buffer }>).map(
      (r) => ({
        seq: r.seq,
        hash: r.hash.toString('hex'),
        signature: r.signature.toString('hex'),
      }),
    );
  }

  /** Evicted runs still bridged by the chain (the one from 1 is the anchor). */
  evictedRanges(): EvictedRange[] {
    return (this.#s.gaps.all() as GapRow[]).map(toRange);
  }

  /** Signs the newest entry now (e.g. before an export), if there is a device key and an entry. */
  checkpointNow(): AuditCheckpoint | null {
    const st = this.#state();
    if (this.#key === undefined || st.last_seq === 0 || st.evicted === st.last_seq) return null;
    const c = signCheckpoint(this.#key, st.last_seq, st.last_hash.toString('hex'));
    this.#s.insCheckpoint.run(c.seq, Buffer.from(c.hash, 'hex'), Buffer.from(c.signature, 'hex'));
    return c;
  }

  /** Re-checks the whole stored chain, the evicted runs, the head and (with the device key) the checkpoints. */
  verify(): { ok: true; count: number } | { ok: false; seq: number; problem: AuditProblem; detail: string } {
    const fail = (seq: number, problem: AuditProblem, detail: string) => ({
      ok: false as const,
      seq,
      problem,
      detail,
    });
    const gaps = new Map((this.#s.gaps.all() as GapRow[]).map((g) => [g.from_seq, g]));
    let expected = 1;
    let prevHash = GENESIS_HASH;
    let count = 0;
    const skipGaps = (): void => {
      for (let g = gaps.get(expected); g !== undefined; g = gaps.get(expected)) {
        expected = g.to_seq + 1;
        prevHash = g.last_hash.toString('hex');
      }
    };
    for (const row of this.#s.all.iterate() as IterableIterator<Row>) {
      skipGaps();
      if (row.seq !== expected)
        return fail(expected, 'sequence_gap', `entry ${expected} is missing and no eviction covers it`);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(row.body) as Record<string, unknown>;
      } catch {
        return fail(row.seq, 'malformed', `entry ${row.seq}'s body is not JSON`);
      }
      if (body.seq !== row.seq)
        return fail(row.seq, 'reordered', `the row at ${row.seq} holds entry ${String(body.seq)}`);
      if (
        body.time !== row.time ||
        body.boot !== row.boot ||
        body.kind !== row.kind ||
        (body.security === true ? 1 : 0) !== row.security
      ) {
        return fail(row.seq, 'column_mismatch', `entry ${row.seq}'s columns differ from its body`);
      }
      if (row.prev_hash.toString('hex') !== prevHash) {
        return fail(
          row.seq,
          'chain_broken',
          `entry ${row.seq} does not link to the hash of entry ${row.seq - 1}`,
        );
      }
      if (chainHash(prevHash, row.body) !== row.hash.toString('hex')) {
        return fail(row.seq, 'hash_mismatch', `entry ${row.seq}'s content does not match its hash`);
      }
      prevHash = row.hash.toString('hex');
      expected++;
      count++;
    }
    skipGaps();
    const st = this.#state();
    if (
      st.last_seq !== expected - 1 ||
      st.last_hash.toString('hex') !== (st.last_seq === 0 ? '0'.repeat(64) : prevHash)
    ) {
      return fail(
        expected,
        'truncated',
        `the log ends at ${expected - 1} but its head is entry ${st.last_seq}`,
      );
    }
    if (count !== st.last_seq - st.evicted) {
      return fail(expected, 'sequence_gap', `${st.last_seq - st.evicted} entries expected, ${count} present`);
    }
    if (this.#publicKey !== undefined) {
      for (const c of this.checkpoints()) {
        if (!checkpointValid(this.#publicKey, c)) {
          return fail(c.seq, 'bad_checkpoint', `checkpoint ${c.seq}'s signature is not this lock's`);
        }
        const row = this.#s.hashAt.get(c.seq) as { hash: Buffer } | undefined;
        if (row !== undefined && row.hash.toString('hex') !== c.hash) {
          return fail(c.seq, 'bad_checkpoint', `entry ${c.seq} differs from what the lock signed`);
        }
      }
    }
    return { ok: true, count };
  }

  /** JSON Lines from fromSeq: entries, evicted runs and checkpoints in seq order (see parseAuditJsonl). */
  exportJsonl(fromSeq = 1): string {
    return this.#exportItems(fromSeq)
      .map((i) => jsonlLine(i) + '\n')
      .join('');
  }

  /** CSV with a header row, one entry per row. */
  exportCsv(fromSeq = 1): string {
    const lines = [CSV_HEADER.join(',')];
    for (const row of this.#s.entries.iterate(fromSeq, -1) as IterableIterator<
      Pick<Row, 'body' | 'hash' | 'prev_hash'>
    >) {
      lines.push(csvRow(toEntry(row)));
    }
    return lines.join('\r\n') + '\r\n';
  }

  #exportItems(fromSeq: number): ExportItem[] {
    const items: ExportItem[] = [];
    const gaps = (this.#s.gaps.all() as GapRow[]).filter((g) => g.to_seq >= fromSeq - 1).map(toRange);
    const cps = new Map(this.checkpoints().map((c) => [c.seq, c]));
    let gi = 0;
    for (const row of this.#s.entries.iterate(fromSeq, -1) as IterableIterator<
      Pick<Row, 'body' | 'hash' | 'prev_hash'>
    >) {
      const entry = toEntry(row);
      while (gi < gaps.length && (gaps[gi] as EvictedRange).from < entry.seq) {
        items.push({ type: 'evicted', range: gaps[gi] as EvictedRange });
        gi++;
      }
      items.push({ type: 'entry', entry });
      const c = cps.get(entry.seq);
      if (c !== undefined) items.push({ type: 'checkpoint', checkpoint: c });
    }
    for (; gi < gaps.length; gi++) items.push({ type: 'evicted', range: gaps[gi] as EvictedRange });
    return items;
  }

  #state(): StateRow {
    const st = this.#s.state.get() as StateRow | undefined;
    if (st === undefined) throw new KeywayError('store_corrupt', 'the audit state row is missing');
    return st;
  }

  #append(record: AuditRecord, time: LockTime | null, boot: number): AuditEntry {
    let st = this.#state();
    const count = st.last_seq - st.evicted;
    if (count + 1 > this.#capacity) {
      this.#evictAcknowledged(count + 1 - this.#capacity, st.acked_seq);
      st = this.#state();
    }
    const hard = 2 * this.#capacity;
    const now = st.last_seq - st.evicted;
    if (now + 1 > hard) {
      // Room for the overflow entry and the record, plus a tenth of capacity so overflows stay rare.
      const want = Math.max(now + 2 - hard, Math.ceil(this.#capacity / 10));
      const victims = this.#s.dropOrder.all(st.acked_seq, want) as Array<{
        seq: number;
        hash: Buffer;
        security: number;
      }>;
      const security = victims.filter((v) => v.security === 1).length;
      const unacked = victims.filter((v) => v.seq > st.acked_seq).length;
      let firstSeq: number | null = null;
      let lastSeq: number | null = null;
      for (const v of victims) {
        if (firstSeq === null || v.seq < firstSeq) firstSeq = v.seq;
        if (lastSeq === null || v.seq > lastSeq) lastSeq = v.seq;
      }
      this.#write(
        {
          kind: 'System',
          action: 'audit_overflow',
          result: 'failure',
          security: true,
          data: {
            dropped: victims.length,
            droppedSecurity: security,
            droppedUnacknowledged: unacked,
            firstSeq,
            lastSeq,
          },
        },
        time,
        boot,
      );
      for (const v of victims) this.#remove(v.seq, v.hash);
      this.#s.addEvicted.run(victims.length, victims.length);
    }
    return this.#write(record, time, boot);
  }

  #evictAcknowledged(n: number, ackedSeq: number): void {
    const victims = this.#s.evictable.all(ackedSeq, n) as Array<{ seq: number; hash: Buffer }>;
    for (const v of victims) this.#remove(v.seq, v.hash);
    if (victims.length > 0) this.#s.addEvicted.run(victims.length, 0);
  }

  #write(record: AuditRecord, time: LockTime | null, boot: number): AuditEntry {
    const st = this.#state();
    const seq = st.last_seq + 1;
    const prevHash = st.last_hash.toString('hex');
    const unsigned = { ...stripUndefined(record), seq, time, boot } as Omit<AuditEntry, 'hash' | 'prevHash'>;
    const body = entryBody(unsigned);
    if (body.length > MAX_BODY) {
      throw new KeywayError(
        'invalid_argument',
        `audit record too large (${body.length} > ${MAX_BODY} bytes of JSON)`,
      );
    }
    const hash = chainHash(prevHash, body);
    const hashBuf = Buffer.from(hash, 'hex');
    this.#s.insert.run(
      seq,
      time,
      boot,
      record.kind,
      record.action,
      record.userIndex ?? null,
      record.security === true ? 1 : 0,
      body,
      hashBuf,
      st.last_hash,
    );
    this.#s.setHead.run(seq, hashBuf);
    if (this.#key !== undefined && seq % this.#every === 0) {
      const c = signCheckpoint(this.#key, seq, hash);
      this.#s.insCheckpoint.run(seq, hashBuf, Buffer.from(c.signature, 'hex'));
    }
    return { ...(JSON.parse(body) as Omit<AuditEntry, 'hash' | 'prevHash'>), hash, prevHash };
  }

  /** Deletes one entry and records it in the evicted runs so the chain still verifies across the hole. */
  #remove(seq: number, hash: Buffer): void {
    this.#s.deleteRow.run(seq);
    this.#s.deleteCheckpoint.run(seq);
    const before = this.#s.gapByTo.get(seq - 1) as GapRow | undefined;
    const after = this.#s.gapByFrom.get(seq + 1) as GapRow | undefined;
    if (before !== undefined) this.#s.deleteGap.run(before.from_seq);
    if (after !== undefined) this.#s.deleteGap.run(after.from_seq);
    this.#s.insertGap.run(before?.from_seq ?? seq, after?.to_seq ?? seq, after?.last_hash ?? hash);
  }

  #acknowledge(seq: number): void {
    const st = this.#state();
    if (seq > st.last_seq) {
      throw new KeywayError(
        'out_of_range',
        `acknowledge: entry ${seq} does not exist yet (last is ${st.last_seq})`,
      );
    }
    if (seq <= st.acked_seq) return;
    this.#s.setAcked.run(seq);
    const count = st.last_seq - st.evicted;
    if (count > this.#capacity) this.#evictAcknowledged(count - this.#capacity, seq);
  }
}

function prepare(db: Database.Database) {
  return {
    state: db.prepare(
      'SELECT last_seq, last_hash, acked_seq, evicted, dropped FROM audit_state WHERE id = 1',
    ),
    setHead: db.prepare('UPDATE audit_state SET last_seq = ?, last_hash = ? WHERE id = 1'),
    setAcked: db.prepare('UPDATE audit_state SET acked_seq = ? WHERE id = 1'),
    addEvicted: db.prepare(
      'UPDATE audit_state SET evicted = evicted + ?, dropped = dropped + ? WHERE id = 1',
    ),
    insert: db.prepare(
      `INSERT INTO audit (seq, time, boot, kind, action, user_index, security, body, hash, prev_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    entries: db.prepare('SELECT body, hash, prev_hash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?'),
    all: db.prepare('SELECT seq, time, boot, kind, security, body, hash, prev_hash FROM audit ORDER BY seq'),
    hashAt: db.prepare('SELECT hash FROM audit WHERE seq = ?'),
    evictable: db.prepare('SELECT seq, hash FROM audit WHERE security = 0 AND seq <= ? ORDER BY seq LIMIT ?'),
    // Hard-limit drop order: non-security before security, acknowledged before not, oldest first.
    dropOrder: db.prepare('SELECT seq, hash, security FROM audit ORDER BY security, seq > ?, seq LIMIT ?'),
    deleteRow: db.prepare('DELETE FROM audit WHERE seq = ?'),
    deleteCheckpoint: db.prepare('DELETE FROM audit_checkpoint WHERE seq = ?'),
    gaps: db.prepare('SELECT from_seq, to_seq, last_hash FROM audit_gap ORDER BY from_seq'),
    gapByTo: db.prepare('SELECT from_seq, to_seq, last_hash FROM audit_gap WHERE to_seq = ?'),
    gapByFrom: db.prepare('SELECT from_seq, to_seq, last_hash FROM audit_gap WHERE from_seq = ?'),
    deleteGap: db.prepare('DELETE FROM audit_gap WHERE from_seq = ?'),
    insertGap: db.prepare('INSERT INTO audit_gap (from_seq, to_seq, last_hash) VALUES (?, ?, ?)'),
    checkpoints: db.prepare('SELECT seq, hash, signature FROM audit_checkpoint ORDER BY seq'),
    insCheckpoint: db.prepare(
      'INSERT OR REPLACE INTO audit_checkpoint (seq, hash, signature) VALUES (?, ?, ?)',
    ),
  };
}

function toEntry(row: Pick<Row, 'body' | 'hash' | 'prev_hash'>): AuditEntry {
  return {
    ...(JSON.parse(row.body) as Omit<AuditEntry, 'hash' | 'prevHash'>),
    hash: row.hash.toString('hex'),
    prevHash: row.prev_hash.toString('hex'),
  };
}

function toRange(g: GapRow): EvictedRange {
  return { from: g.from_seq, to: g.to_seq, lastHash: g.last_hash.toString('hex') };
}

function stripUndefined(record: AuditRecord): AuditRecord {
  return JSON.parse(canonicalJson(record)) as AuditRecord;
}

/** Rejects records that are not plain JSON data, use reserved fields, or carry names or secrets. */
function checkRecord(record: AuditRecord): void {
  const r = record as unknown;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new KeywayError('invalid_argument', 'audit record must be an object');
  }
  if (!KINDS.has(record.kind))
    throw new KeywayError('invalid_argument', `audit kind "${String(record.kind)}" is unknown`);
  if (typeof record.action !== 'string' || record.action.length === 0 || record.action.length > 64) {
    throw new KeywayError('invalid_argument', 'audit action must be a string of 1-64 characters');
  }
  for (const k of Object.keys(record)) {
    if (RESERVED.has(k))
      throw new KeywayError('invalid_argument', `audit record may not set "${k}" (the log assigns it)`);
  }
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth > 4) throw new KeywayError('invalid_argument', `audit record too deeply nested at ${path}`);
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v))
        throw new KeywayError('invalid_argument', `audit ${path} is not a finite number`);
      return;
    }
    if (typeof v !== 'object')
      throw new KeywayError('invalid_argument', `audit ${path}: a ${typeof v} cannot be stored`);
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
      return;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new KeywayError(
        'invalid_argument',
        `audit ${path} must be plain data (got a ${v.constructor.name})`,
      );
    }
    for (const [k, x] of Object.entries(v)) {
      if (FORBIDDEN.has(k.toLowerCase())) {
        throw new KeywayError(
          'invalid_argument',
          `audit ${path}.${k}: names and secrets never go into the audit log`,
        );
      }
      walk(x, `${path}.${k}`, depth + 1);
    }
  };
  walk(record, 'record', 0);
}
