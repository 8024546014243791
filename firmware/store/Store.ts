// The lock's persistent store: one SQLite file (WAL, synchronous=FULL), a secrets file and a rollback
// counter file, all in the data directory. Opening checks the existing file read-only first and refuses
// (leaving it byte-identical) a corrupt file, a foreign SQLite file, a newer schema or a restored older copy.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { KeywayError, isKeywayError } from '../errors.ts';
import type { Random } from '../types.ts';
import { KEYWAY_APPLICATION_ID, SCHEMA_VERSION, migrate } from './migrations.ts';
import { readCounter, writeCounter } from './RollbackCounter.ts';
import { createSecrets, loadSecrets, type Secrets } from './Secrets.ts';

export const DB_FILE = 'keyway.db';
export const SECRETS_FILE = 'keyway.secrets';
export const COUNTER_FILE = 'keyway.counter';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export interface StorePaths {
  db: string;
  secrets: string;
  counter: string;
}

export function storePaths(dataDir: string): StorePaths {
  return {
    db: path.join(dataDir, DB_FILE),
    secrets: path.join(dataDir, SECRETS_FILE),
    counter: path.join(dataDir, COUNTER_FILE),
  };
}

interface Inspection {
  fresh: boolean;
  version: number;
  generation: number;
  secretsId: string | null;
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Read-only look at an existing database file: nothing is written to it. */
function inspect(paths: StorePaths): Inspection {
  if (!fs.existsSync(paths.db)) return { fresh: true, version: 0, generation: 0, secretsId: null };
  const size = fs.statSync(paths.db).size;
  if (size === 0) return { fresh: true, version: 0, generation: 0, secretsId: null };
  const head = Buffer.alloc(16);
  const fd = fs.openSync(paths.db, 'r');
  try {
    fs.readSync(fd, head, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (!head.equals(SQLITE_MAGIC)) throw new KeywayError('store_corrupt', `${paths.db} is not a database`);
  // SQLite creates -wal/-shm files even for a read-only connection to a WAL database, so the checks run on a
  // copy: a store that is refused stays exactly as it was.
  let scratch: string;
  try {
    scratch = fs.mkdtempSync(path.join(path.dirname(paths.db), '.inspect-'));
  } catch (err) {
    throw new KeywayError('store_io', `cannot write in ${path.dirname(paths.db)}`, { cause: err });
  }
  const copy = path.join(scratch, 'check.db');
  let ro: Database.Database | undefined;
  try {
    fs.copyFileSync(paths.db, copy);
    if (fs.existsSync(`${paths.db}-wal`)) fs.copyFileSync(`${paths.db}-wal`, `${copy}-wal`);
    ro = new Database(copy, { readonly: true, fileMustExist: true });
    const appId = ro.pragma('application_id', { simple: true }) as number;
    const version = ro.pragma('user_version', { simple: true }) as number;
    const tables = (ro.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n;
    if (appId !== KEYWAY_APPLICATION_ID) {
      if (appId === 0 && version === 0 && tables === 0) {
        return { fresh: true, version: 0, generation: 0, secretsId: null };
      }
      throw new KeywayError('store_foreign', `${paths.db} is an SQLite file of another application`);
    }
    if (version > SCHEMA_VERSION) {
      throw new KeywayError(
        'store_newer_version',
        `${paths.db} has schema version ${version}; this firmware knows up to ${SCHEMA_VERSION}`,
      );
    }
    const problems = ro.pragma('integrity_check') as Array<{ integrity_check: string }>;
    if (problems.length !== 1 || problems[0]?.integrity_check !== 'ok') {
      throw new KeywayError('store_corrupt', `${paths.db} failed its integrity check`);
    }
    if (version === 0) return { fresh: true, version: 0, generation: 0, secretsId: null };
    const meta = (key: string): string | null =>
      (ro!.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)
        ?.value ?? null;
    return {
      fresh: false,
      version,
      generation: Number(meta('generation') ?? '0'),
      secretsId: meta('secrets_id'),
    };
  } catch (err) {
    if (isKeywayError(err)) throw err;
    const code = sqliteCode(err);
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code === 'SQLITE_CORRUPT_VTAB') {
      throw new KeywayError('store_corrupt', `${paths.db} is corrupt`, { cause: err });
    }
    throw new KeywayError('store_io', `cannot read ${paths.db}`, { cause: err });
  } finally {
    ro?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Scratch directories left by an inspection that was interrupted (killed process). */
function removeStaleScratch(dataDir: string): void {
  for (const name of fs.readdirSync(dataDir)) {
    if (name.startsWith('.inspect-')) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }
}

export class Store {
  private generation: number;
  private readonly getMetaStmt: Database.Statement;
  private readonly setMetaStmt: Database.Statement;
  private closed = false;

  private constructor(
    readonly db: Database.Database,
    readonly secrets: Secrets,
    readonly paths: StorePaths,
    /** True when this open created the store. */
    readonly created: boolean,
  ) {
    this.getMetaStmt = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.setMetaStmt = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.generation = Number(this.getMeta('generation') ?? '0');
  }

  static open(dataDir: string, random: Random): Store {
    try {
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new KeywayError('store_io', `cannot create data directory ${dataDir}`, { cause: err });
    }
    const paths = storePaths(dataDir);
    removeStaleScratch(dataDir);
    const found = inspect(paths);
    const counter = readCounter(paths.counter);
    let secrets: Secrets;
    if (found.fresh) {
      // A crash during a first open may leave secrets without a database: reuse them.
      secrets = fs.existsSync(paths.secrets)
        ? loadSecrets(paths.secrets)
        : createSecrets(paths.secrets, random);
      if (counter !== null && counter > 0) {
        throw new KeywayError(
          'store_rollback',
          `${paths.db} is missing or empty but the counter is ${counter}`,
        );
      }
      if (counter === null) writeCounter(paths.counter, 0);
    } else {
      if (!fs.existsSync(paths.secrets)) {
        throw new KeywayError('store_corrupt', `secrets file ${paths.secrets} is missing`);
      }
      secrets = loadSecrets(paths.secrets);
      if (found.secretsId !== secrets.id) {
        throw new KeywayError('store_foreign', `secrets file ${paths.secrets} belongs to another store`);
      }
      if (counter === null) {
        throw new KeywayError('store_rollback', `counter file ${paths.counter} is missing`);
      }
      if (found.generation < counter) {
        throw new KeywayError(
          'store_rollback',
          `${paths.db} is an older copy (generation ${found.generation}, counter ${counter})`,
        );
      }
    }

    let db: Database.Database;
    try {
      db = new Database(paths.db);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // Erased personal data is overwritten in the file, not left in free pages.
      db.pragma('secure_delete = ON');
    } catch (err) {
      throw new KeywayError('store_io', `cannot open ${paths.db}`, { cause: err });
    }
    try {
      if (found.version < SCHEMA_VERSION) {
        db.transaction(() => {
          migrate(db, found.version);
          if (found.fresh) {
            db.prepare("INSERT INTO meta (key, value) VALUES ('secrets_id', ?), ('generation', '0')").run(
              secrets.id,
            );
          }
        })();
      }
    } catch (err) {
      db.close();
      throw isKeywayError(err)
        ? err
        : new KeywayError('store_io', `cannot migrate ${paths.db}`, { cause: err });
    }
    const store = new Store(db, secrets, paths, found.fresh);
    // The database may be one step ahead of the counter after a crash between the two writes.
    if (counter === null || store.generation > counter) writeCounter(paths.counter, store.generation);
    return store;
  }

  getMeta(key: string): string | null {
    return (this.getMetaStmt.get(key) as { value: string } | undefined)?.value ?? null;
  }

  /** Only inside transaction(). */
  setMeta(key: string, value: string): void {
    this.setMetaStmt.run(key, value);
  }

  /**
   * One logical change = one transaction. The generation is bumped inside it; the counter file follows
   * after the commit. Nested calls join the outer transaction.
   */
  transaction<T>(fn: () => T): T {
    if (this.closed) throw new KeywayError('store_io', 'the store is closed');
    if (this.db.inTransaction) return fn();
    let next = this.generation;
    const result = this.db.transaction(() => {
      const r = fn();
      next = this.generation + 1;
      this.setMeta('generation', String(next));
      return r;
    })();
    this.generation = next;
    writeCounter(this.paths.counter, next);
    return result;
  }

  get currentGeneration(): number {
    return this.generation;
  }

  /** Moves the WAL into the main file and truncates it (after erasing personal data). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
