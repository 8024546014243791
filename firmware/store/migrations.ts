// Versioned schema. PRAGMA user_version holds the version, PRAGMA application_id marks a keyway store.
// Each migration runs inside the opening transaction; a store newer than SCHEMA_VERSION is refused.
import type { Database } from 'better-sqlite3';
import { createAuditSchema } from '../audit/AuditLog.ts';
import { createEkeySchema } from '../ekey/EkeyStore.ts';

/** 'KWAY' */
export const KEYWAY_APPLICATION_ID = 0x4b574159;

type Migration = (db: Database) => void;

const migrations: Migration[] = [
  // 1: users, credentials, schedules, holidays, key/value meta, audit log.
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE users (
        idx INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'guest')),
        user_type TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        valid_from INTEGER,
        valid_until INTEGER,
        permanent INTEGER NOT NULL,
        methods TEXT NOT NULL,
        sites TEXT NOT NULL,
        credential_rule TEXT NOT NULL,
        uses_remaining INTEGER,
        may_share INTEGER NOT NULL,
        created_by INTEGER,
        modified_by INTEGER,
        expires_at INTEGER
      );
      CREATE INDEX users_role ON users(role);
      CREATE TABLE credentials (
        idx INTEGER PRIMARY KEY AUTOINCREMENT,
        user_idx INTEGER NOT NULL REFERENCES users(idx) ON DELETE CASCADE,
        type TEXT NOT NULL,
        lookup BLOB NOT NULL UNIQUE
      );
      CREATE INDEX credentials_user ON credentials(user_idx);
      CREATE TABLE schedules (
        idx INTEGER PRIMARY KEY AUTOINCREMENT,
        user_idx INTEGER NOT NULL REFERENCES users(idx) ON DELETE CASCADE,
        body TEXT NOT NULL
      );
      CREATE INDEX schedules_user ON schedules(user_idx);
      CREATE TABLE holidays (idx INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
    `);
    createAuditSchema(db);
  },
  // 2: eKey state (trust anchors, revocations, use counters, used offline PINs), see firmware/ekey/.
  (db) => createEkeySchema(db),
];

export const SCHEMA_VERSION = migrations.length;

/** Runs the migrations from the store's version up to SCHEMA_VERSION. Call inside a transaction. */
export function migrate(db: Database, from: number): void {
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const m = migrations[v];
    if (!m) break;
    m(db);
  }
  db.pragma(`application_id = ${KEYWAY_APPLICATION_ID}`);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
