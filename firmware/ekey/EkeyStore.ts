// The lock's durable eKey state in its SQLite database: trust anchors (owner keys installed at claim),
// revocations, use counters of N-use eKeys, and used one-time offline PINs. Writes made through the Lock
// run inside its store transaction, so they bump the store generation and a restored older copy of these
// tables is detected by the rollback counter (THREATS 18).
import type BetterSqlite3 from 'better-sqlite3';

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;
import { KeywayError } from '../errors.ts';
import type { LockTime } from '../types.ts';

export type RevocationKind = 'cti' | 'issuer' | 'holder' | 'offline_pin';
export const REVOCATION_KINDS: readonly RevocationKind[] = ['cti', 'issuer', 'holder', 'offline_pin'];

export interface Revocation {
  kind: RevocationKind;
  /** cti bytes, a raw 32-byte public key, or an offline PIN id (8 bytes). */
  id: Uint8Array;
  /**
   * Lock time after which the revoked thing would have expired anyway (its exp); the entry is kept until
   * then plus the skew tolerance. null: kept until removed explicitly.
   */
  until: LockTime | null;
}

export interface TrustAnchor {
  key: Uint8Array;
  label: string | null;
  addedAt: LockTime | null;
}

/** Creates the eKey tables (idempotent). The engine's migrations call this. */
export function createEkeySchema(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS trust_anchors (
      key BLOB PRIMARY KEY CHECK (length(key) = 32),
      label TEXT,
      added_at INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS revocations (
      kind TEXT NOT NULL CHECK (kind IN ('cti', 'issuer', 'holder', 'offline_pin')),
      id BLOB NOT NULL,
      until INTEGER,
      added_at INTEGER,
      PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ekey_uses (
      cti BLOB PRIMARY KEY,
      used INTEGER NOT NULL CHECK (used >= 0),
      until INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS offline_pin_used (
      id BLOB PRIMARY KEY,
      used_at INTEGER,
      until INTEGER
    ) WITHOUT ROWID;
  `);
}

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Queries and changes over the eKey tables. It does not open transactions itself: a caller that needs one
 * change to be atomic with others (the Lock: audit entry + use count before the bolt moves) wraps calls in
 * its own transaction.
 */
export class EkeyStore {
  private readonly s: {
    anchors: Statement;
    addAnchor: Statement;
    removeAnchor: Statement;
    isAnchor: Statement;
    revoked: Statement;
    addRevocation: Statement;
    listRevocations: Statement;
    prune: Statement;
    uses: Statement;
    addUse: Statement;
    pruneUses: Statement;
    pinUsed: Statement;
    markPin: Statement;
    prunePins: Statement;
  };

  private readonly anyRevokedStmts = new Map<number, Statement>();

  constructor(readonly db: Database) {
    if (!db.readonly) createEkeySchema(db);
    this.s = {
      anchors: db.prepare('SELECT key, label, added_at AS addedAt FROM trust_anchors ORDER BY added_at, key'),
      addAnchor: db.prepare(
        'INSERT INTO trust_anchors (key, label, added_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET label = excluded.label',
      ),
      removeAnchor: db.prepare('DELETE FROM trust_anchors WHERE key = ?'),
      isAnchor: db.prepare('SELECT 1 FROM trust_anchors WHERE key = ?'),
      revoked: db.prepare('SELECT 1 FROM revocations WHERE kind = ? AND id = ?'),
      addRevocation: db.prepare(
        `INSERT INTO revocations (kind, id, until, added_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(kind, id) DO UPDATE SET until = CASE
           WHEN revocations.until IS NULL OR excluded.until IS NULL THEN NULL
           ELSE max(revocations.until, excluded.until) END`,
      ),
      listRevocations: db.prepare('SELECT kind, id, until FROM revocations ORDER BY added_at, kind, id'),
      prune: db.prepare('DELETE FROM revocations WHERE until IS NOT NULL AND until < ?'),
      uses: db.prepare('SELECT used FROM ekey_uses WHERE cti = ?'),
      addUse: db.prepare(
        'INSERT INTO ekey_uses (cti, used, until) VALUES (?, 1, ?) ON CONFLICT(cti) DO UPDATE SET used = used + 1',
      ),
      pruneUses: db.prepare('DELETE FROM ekey_uses WHERE until IS NOT NULL AND until < ?'),
      pinUsed: db.prepare('SELECT 1 FROM offline_pin_used WHERE id = ?'),
      markPin: db.prepare('INSERT OR IGNORE INTO offline_pin_used (id, used_at, until) VALUES (?, ?, ?)'),
      prunePins: db.prepare('DELETE FROM offline_pin_used WHERE until IS NOT NULL AND until < ?'),
    };
  }

  /** Factory reset: forgets every trust anchor, revocation, use counter and used offline PIN. */
  wipe(): void {
    for (const t of ['trust_anchors', 'revocations', 'ekey_uses', 'offline_pin_used']) {
      this.db.prepare(`DELETE FROM ${t}`).run();
    }
    this.anchorCache = null;
  }

  // -------------------------------------------------------------- trust anchors

  /** Cached: anchors change only through this object (the lock is the database's only writer). */
  private anchorCache: TrustAnchor[] | null = null;

  trustAnchors(): TrustAnchor[] {
    this.anchorCache ??= (
      this.s.anchors.all() as Array<{ key: Buffer; label: string | null; addedAt: number | null }>
    ).map((r) => ({ key: new Uint8Array(r.key), label: r.label, addedAt: r.addedAt }));
    return this.anchorCache.map((a) => ({ ...a }));
  }

  isTrustAnchor(key: Uint8Array): boolean {
    if (this.anchorCache !== null) return this.anchorCache.some((a) => Buffer.from(a.key).equals(buf(key)));
    return this.s.isAnchor.get(buf(key)) !== undefined;
  }

  addTrustAnchor(key: Uint8Array, label: string | null, now: LockTime | null): void {
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new KeywayError('invalid_argument', 'a trust anchor is a 32-byte Ed25519 public key');
    }
    if (label !== null && (typeof label !== 'string' || label.length > 64)) {
      throw new KeywayError('invalid_argument', 'an anchor label is at most 64 characters');
    }
    this.anchorCache = null;
    this.s.addAnchor.run(buf(key), label, now);
  }

  removeTrustAnchor(key: Uint8Array): boolean {
    this.anchorCache = null;
    return this.s.removeAnchor.run(buf(key)).changes === 1;
  }

  // -------------------------------------------------------------- revocations

  isRevoked(kind: RevocationKind, id: Uint8Array): boolean {
    return this.s.revoked.get(kind, buf(id)) !== undefined;
  }

  addRevocation(r: Revocation, now: LockTime | null): void {
    checkRevocation(r);
    this.s.addRevocation.run(r.kind, buf(r.id), r.until, now);
  }

  /**
   * The first of these (kind, id) pairs that is revoked, or null: one query for a whole chain (the hot path
   * of every eKey presentation).
   */
  firstRevoked(
    pairs: ReadonlyArray<readonly [RevocationKind, Uint8Array]>,
  ): { kind: RevocationKind; id: Uint8Array } | null {
    if (pairs.length === 0) return null;
    let stmt = this.anyRevokedStmts.get(pairs.length);
    if (stmt === undefined) {
      // A UNION ALL of primary-key probes (an OR of pairs would scan the table).
      const probe = 'SELECT kind, id FROM revocations WHERE kind = ? AND id = ?';
      stmt = this.db.prepare(`${pairs.map(() => probe).join(' UNION ALL ')} LIMIT 1`);
      this.anyRevokedStmts.set(pairs.length, stmt);
    }
    const args: Array<string | Buffer> = [];
    for (const [k, id] of pairs) args.push(k, buf(id));
    const row = stmt.get(args) as { kind: RevocationKind; id: Buffer } | undefined;
    return row === undefined ? null : { kind: row.kind, id: new Uint8Array(row.id) };
  }

  revocations(): Revocation[] {
    return (
      this.s.listRevocations.all() as Array<{ kind: RevocationKind; id: Buffer; until: number | null }>
    ).map((r) => ({ kind: r.kind, id: new Uint8Array(r.id), until: r.until }));
  }

  /**
   * Forgets revocations, use counters and used offline PINs whose subject would have expired anyway: only
   * entries with until + toleranceMs < now go. Returns how many rows went.
   */
  prune(now: LockTime, toleranceMs: number): number {
    const cutoff = now - toleranceMs;
    return (
      this.s.prune.run(cutoff).changes +
      this.s.pruneUses.run(cutoff).changes +
      this.s.prunePins.run(cutoff).changes
    );
  }

  // -------------------------------------------------------------- uses

  usesOf(cti: Uint8Array): number {
    return (this.s.uses.get(buf(cti)) as { used: number } | undefined)?.used ?? 0;
  }

  /** Counts one use (call inside the transaction that commits the unlock, before the bolt moves). */
  recordUse(cti: Uint8Array, until: LockTime | null): void {
    this.s.addUse.run(buf(cti), until);
  }

  // -------------------------------------------------------------- offline PINs

  offlinePinUsed(id: Uint8Array): boolean {
    return this.s.pinUsed.get(buf(id)) !== undefined;
  }

  markOfflinePinUsed(id: Uint8Array, now: LockTime | null, until: LockTime | null): void {
    this.s.markPin.run(buf(id), now, until);
  }
}

export function checkRevocation(r: Revocation): void {
  if (typeof r !== 'object' || r === null)
    throw new KeywayError('invalid_argument', 'a revocation is an object');
  if (!REVOCATION_KINDS.includes(r.kind)) {
    throw new KeywayError(
      'invalid_argument',
      `revocation kind must be one of ${REVOCATION_KINDS.join(', ')}`,
    );
  }
  if (!(r.id instanceof Uint8Array)) throw new KeywayError('invalid_argument', 'revocation id must be bytes');
  const okLength =
    r.kind === 'cti'
      ? r.id.length >= 8 && r.id.length <= 32
      : r.kind === 'offline_pin'
        ? r.id.length === 8
        : r.id.length === 32;
  if (!okLength)
    throw new KeywayError('invalid_argument', `revocation id has the wrong length for ${r.kind}`);
  if (r.until !== null && (!Number.isSafeInteger(r.until) || r.until < 0)) {
    throw new KeywayError('invalid_argument', 'revocation until must be a lock time or null');
  }
}
