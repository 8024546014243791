// SQL access to the credentials table (lookup hashes only; the secret itself is never stored).
import type { Database, Statement } from 'better-sqlite3';
import type { CredentialType } from '../types.ts';

export interface CredentialRow {
  index: number;
  userIndex: number;
  type: CredentialType;
  lookup: Buffer;
}

interface Raw {
  idx: number;
  user_idx: number;
  type: CredentialType;
  lookup: Buffer;
}

const toRow = (r: Raw): CredentialRow => ({
  index: r.idx,
  userIndex: r.user_idx,
  type: r.type,
  lookup: r.lookup,
});

export class CredentialRepo {
  private readonly byLookup: Statement;
  private readonly byIndex: Statement;
  private readonly byUser: Statement;
  private readonly all: Statement;
  private readonly countUser: Statement;
  private readonly insertStmt: Statement;
  private readonly deleteStmt: Statement;

  constructor(db: Database) {
    this.byLookup = db.prepare('SELECT idx, user_idx, type, lookup FROM credentials WHERE lookup = ?');
    this.byIndex = db.prepare('SELECT idx, user_idx, type, lookup FROM credentials WHERE idx = ?');
    this.byUser = db.prepare(
      'SELECT idx, user_idx, type, lookup FROM credentials WHERE user_idx = ? ORDER BY idx',
    );
    this.all = db.prepare('SELECT idx, user_idx, type, lookup FROM credentials ORDER BY idx');
    this.countUser = db.prepare('SELECT count(*) AS n FROM credentials WHERE user_idx = ?').pluck();
    this.insertStmt = db.prepare('INSERT INTO credentials (user_idx, type, lookup) VALUES (?, ?, ?)');
    this.deleteStmt = db.prepare('DELETE FROM credentials WHERE idx = ?');
  }

  findByLookup(lookup: Uint8Array): CredentialRow | null {
    const r = this.byLookup.get(lookup) as Raw | undefined;
    return r ? toRow(r) : null;
  }

  get(index: number): CredentialRow | null {
    const r = this.byIndex.get(index) as Raw | undefined;
    return r ? toRow(r) : null;
  }

  list(userIndex?: number): CredentialRow[] {
    const rows = (userIndex === undefined ? this.all.all() : this.byUser.all(userIndex)) as Raw[];
    return rows.map(toRow);
  }

  countForUser(userIndex: number): number {
    return this.countUser.get(userIndex) as number;
  }

  insert(userIndex: number, type: CredentialType, lookup: Uint8Array): number {
    return Number(this.insertStmt.run(userIndex, type, lookup).lastInsertRowid);
  }

  delete(index: number): void {
    this.deleteStmt.run(index);
  }
}
