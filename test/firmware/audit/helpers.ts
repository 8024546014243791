import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { AuditLog, createAuditSchema, type AuditLogOptions } from '../../../firmware/audit/index.ts';
import type { AuditRecord } from '../../../firmware/types.ts';

const dirs: string[] = [];
const dbs: Database.Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A real SQLite file in a fresh temporary directory, with the audit schema applied. */
export function openDb(): { db: Database.Database; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-audit-'));
  dirs.push(dir);
  const file = path.join(dir, 'keyway.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  createAuditSchema(db);
  dbs.push(db);
  return { db, file };
}

export function reopen(file: string): Database.Database {
  const db = new Database(file);
  dbs.push(db);
  return db;
}

export function newLog(opts: AuditLogOptions = { capacity: 1000 }): {
  db: Database.Database;
  log: AuditLog;
  file: string;
} {
  const { db, file } = openDb();
  return { db, file, log: new AuditLog(db, opts) };
}

export const T0 = Date.UTC(2026, 0, 1);

export const unlock = (userIndex: number): AuditRecord => ({
  kind: 'LockOperation',
  action: 'unlock',
  source: 'keypad',
  userIndex,
  credential: { type: 'pin', index: userIndex },
  result: 'success',
});
export const denied = (): AuditRecord => ({
  kind: 'LockOperationError',
  action: 'unlock',
  source: 'keypad',
  userIndex: null,
  result: 'failure',
  reason: 'invalid_credential',
  security: true,
});
