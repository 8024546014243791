// The audit tables. The engine's migrations call createAuditSchema once (it is idempotent); later changes to
// these tables come as new migrations.
import type Database from 'better-sqlite3';

export function createAuditSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS audit (
      seq        INTEGER PRIMARY KEY,
      time       INTEGER,            -- lock time (ms) or NULL when the clock was unknown
      boot       REAL NOT NULL,      -- monotonic ms since boot
      kind       TEXT NOT NULL,
      action     TEXT NOT NULL,
      user_index INTEGER,
      security   INTEGER NOT NULL CHECK (security IN (0, 1)),
      body       TEXT NOT NULL,      -- canonical JSON of the entry without hash/prevHash
      hash       BLOB NOT NULL,      -- SHA-256(prev_hash || body)
      prev_hash  BLOB NOT NULL
    );
    -- Eviction looks for the oldest non-security entries.
    CREATE INDEX IF NOT EXISTS audit_evictable ON audit (seq) WHERE security = 0;
    CREATE INDEX IF NOT EXISTS audit_user ON audit (user_index) WHERE user_index IS NOT NULL;
    -- One row: chain head, acknowledged (pulled) position, eviction counters.
    CREATE TABLE IF NOT EXISTS audit_state (
      id        INTEGER PRIMARY KEY CHECK (id = 1),
      last_seq  INTEGER NOT NULL,
      last_hash BLOB NOT NULL,
      acked_seq INTEGER NOT NULL,
      evicted   INTEGER NOT NULL,    -- entries removed in total (normal eviction + overflow drops)
      dropped   INTEGER NOT NULL     -- of which dropped at the hard limit (announced by audit_overflow entries)
    );
    INSERT OR IGNORE INTO audit_state (id, last_seq, last_hash, acked_seq, evicted, dropped)
      VALUES (1, 0, zeroblob(32), 0, 0, 0);
    -- Runs of evicted entries; the run starting at 1 is the chain anchor. last_hash = hash of entry to_seq.
    CREATE TABLE IF NOT EXISTS audit_gap (
      from_seq  INTEGER PRIMARY KEY,
      to_seq    INTEGER NOT NULL UNIQUE,
      last_hash BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS audit_checkpoint (
      seq       INTEGER PRIMARY KEY,
      hash      BLOB NOT NULL,
      signature BLOB NOT NULL
    );
  `);
}
