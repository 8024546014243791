// The store: refusing corrupt, foreign, newer and rolled-back files without touching them; secrets apart.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lock } from '../../../firmware/Lock.ts';
import type { ErrorCode } from '../../../firmware/errors.ts';
import { SCHEMA_VERSION } from '../../../firmware/store/migrations.ts';
import { cleanup, startLock, tempDir, type Fixture } from '../../helpers/lockFixture.ts';

let f: Fixture | undefined;
const dirs: string[] = [];
afterEach(() => {
  cleanup(f);
  f = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function code(fn: () => unknown): ErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    return (err as { code: ErrorCode }).code;
  }
  return 'no error';
}

/** Hash of every file in dir (name -> sha256), to prove a refused store was left untouched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    out[name] = createHash('sha256')
      .update(fs.readFileSync(path.join(dir, name)))
      .digest('hex');
  }
  return out;
}

/** A lock with some data, closed; returns its fixture (dir, clock...). */
function populated(): Fixture {
  f = startLock();
  const owner = f.lock.createOwner({ name: 'Owner' }).index;
  f.lock.addCredential(owner, owner, { type: 'pin', pin: '7391' });
  f.lock.enterPin('7391');
  f.lock.close();
  return f;
}

function openAgain(fx: Fixture): Lock {
  return Lock.open(fx.options());
}

describe('opening', () => {
  it('creates a store with WAL, synchronous=FULL, the app id and schema version; reopens it', () => {
    const fx = populated();
    const db = new Database(path.join(fx.dir, 'keyway.db'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('application_id', { simple: true })).toBe(0x4b574159);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    const lock = openAgain(fx);
    expect(lock.listUsers().map((u) => u.name)).toEqual(['Owner']);
    expect(lock.enterPin('7391').granted).toBe(true);
    lock.close();
    const fresh = startLock();
    dirs.push(fresh.dir);
    fresh.lock.close();
  });

  it('the secrets file is mode 0600 and holds the PIN key and the device key apart from the DB', () => {
    const fx = populated();
    const st = fs.statSync(path.join(fx.dir, 'keyway.secrets'));
    expect(st.mode & 0o777).toBe(0o600);
    const s = JSON.parse(fs.readFileSync(path.join(fx.dir, 'keyway.secrets'), 'utf8')) as Record<
      string,
      string
    >;
    expect(Object.keys(s).sort()).toEqual(['deviceSeed', 'format', 'pinKey', 'version']);
    const db = fs.readFileSync(path.join(fx.dir, 'keyway.db'));
    expect(db.includes(Buffer.from(s.pinKey!, 'hex'))).toBe(false);
    expect(db.includes(Buffer.from(s.pinKey!))).toBe(false);
  });

  it('settings: defaults, initialSettings applied once, bad values refused with out_of_range', () => {
    f = startLock({ settings: { autoRelockSeconds: 12, timeZone: 'Europe/Berlin' } });
    expect(f.lock.settings).toMatchObject({
      autoRelockSeconds: 12,
      timeZone: 'Europe/Berlin',
      wrongCodeLimit: 5,
      lockoutSeconds: [15, 60, 300, 900, 3600],
      minPinLength: 4,
      maxPinLength: 10,
      maxKeypadEntry: 16,
      antiPeeping: false,
      keypadIdleSeconds: 10,
      operatingMode: 'Normal',
      requirePinForRemote: false,
      expiringUserTimeoutMinutes: 60,
      doorAjarSeconds: 60,
      batteryCriticalPercent: 5,
      clockSkewSeconds: 60,
      capacities: { users: 10_000, credentialsPerUser: 10, schedulesPerUser: 10, auditEntries: 100_000 },
    });
    expect(f.lock.settings.lockId).toMatch(/^[0-9a-f]{16}$/);
    expect(f.lock.settings.sites).toEqual([f.lock.settings.lockId]);
    const bad: Array<Record<string, unknown>> = [
      { autoRelockSeconds: -1 },
      { wrongCodeLimit: 0 },
      { lockoutSeconds: [] },
      { lockoutSeconds: [60, 15] },
      { minPinLength: 3 },
      { minPinLength: 8, maxPinLength: 6 },
      { maxKeypadEntry: 5 },
      { timeZone: 'Mars/Olympus' },
      { operatingMode: 'Party' },
      { batteryCriticalPercent: 101 },
      { capacities: { users: 0 } },
      { keypadIdleSeconds: 1.5 },
    ];
    for (const settings of bad) {
      const dir = tempDir();
      dirs.push(dir);
      expect([
        settings,
        code(() => Lock.open({ ...f!.options(), dataDir: dir, initialSettings: settings })),
      ]).toEqual([settings, 'out_of_range']);
      expect(fs.existsSync(path.join(dir, 'keyway.db'))).toBe(false);
    }
    expect(
      code(() =>
        Lock.open({ ...f!.options(), dataDir: tempDir(), initialSettings: { colour: 'red' } as never }),
      ),
    ).toBe('invalid_argument');
  });
});

describe('refusing a store it must not use', () => {
  it('a file that is not a database: store_corrupt, byte-identical afterwards', () => {
    const dir = tempDir();
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'keyway.db'), 'this is a text file, not SQLite\n'.repeat(200));
    const before = snapshot(dir);
    expect(code(() => Lock.open({ ...startLockOptions(dir) }))).toBe('store_corrupt');
    expect(snapshot(dir)).toEqual(before);
  });

  it('a damaged keyway database: store_corrupt, byte-identical afterwards', () => {
    const fx = populated();
    const db = path.join(fx.dir, 'keyway.db');
    // checkpoint everything into the main file first, then damage pages past the header
    const w = new Database(db);
    w.pragma('wal_checkpoint(TRUNCATE)');
    w.close();
    const bytes = fs.readFileSync(db);
    for (let i = 4096 + 100; i < bytes.length; i += 7) bytes[i] = (bytes[i]! ^ 0x5a) & 0xff;
    fs.writeFileSync(db, bytes);
    const before = snapshot(fx.dir);
    expect(code(() => openAgain(fx))).toBe('store_corrupt');
    expect(snapshot(fx.dir)).toEqual(before);
  });

  it('a foreign SQLite file: store_foreign, byte-identical afterwards', () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = new Database(path.join(dir, 'keyway.db'));
    db.exec("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');");
    db.close();
    const before = snapshot(dir);
    expect(code(() => Lock.open(startLockOptions(dir)))).toBe('store_foreign');
    expect(snapshot(dir)).toEqual(before);
  });

  it('a store from a newer schema: store_newer_version, byte-identical afterwards', () => {
    const fx = populated();
    const db = new Database(path.join(fx.dir, 'keyway.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const before = snapshot(fx.dir);
    expect(code(() => openAgain(fx))).toBe('store_newer_version');
    expect(snapshot(fx.dir)).toEqual(before);
  });

  it('a restored older copy of the database: store_rollback (monotonic counter outside the DB)', () => {
    f = startLock();
    const owner = f.lock.createOwner({ name: 'Owner' }).index;
    const guest = f.lock.addUser(owner, { name: 'Guest', role: 'guest', permanent: true }).index;
    f.lock.addCredential(owner, guest, { type: 'pin', pin: '7391' });
    f.lock.close();
    const copy = tempDir();
    dirs.push(copy);
    for (const name of fs.readdirSync(f.dir)) {
      if (name.startsWith('keyway.db')) fs.copyFileSync(path.join(f.dir, name), path.join(copy, name));
    }
    f.lock = Lock.open(f.options());
    f.lock.removeUser(owner, guest); // the revocation the attacker wants to undo
    f.lock.close();
    for (const name of fs.readdirSync(f.dir))
      if (name.startsWith('keyway.db')) fs.rmSync(path.join(f.dir, name));
    for (const name of fs.readdirSync(copy)) fs.copyFileSync(path.join(copy, name), path.join(f.dir, name));
    const before = snapshot(f.dir);
    expect(code(() => Lock.open(f!.options()))).toBe('store_rollback');
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('a missing counter file or secrets file is refused; secrets of another store too', () => {
    const fx = populated();
    const counter = path.join(fx.dir, 'keyway.counter');
    const saved = fs.readFileSync(counter);
    fs.rmSync(counter);
    expect(code(() => openAgain(fx))).toBe('store_rollback');
    fs.writeFileSync(counter, saved);
    const secrets = path.join(fx.dir, 'keyway.secrets');
    const savedSecrets = fs.readFileSync(secrets);
    fs.rmSync(secrets);
    expect(code(() => openAgain(fx))).toBe('store_corrupt');
    const other = startLock();
    dirs.push(other.dir);
    other.lock.close();
    fs.copyFileSync(path.join(other.dir, 'keyway.secrets'), secrets);
    expect(code(() => openAgain(fx))).toBe('store_foreign');
    fs.writeFileSync(secrets, savedSecrets);
    openAgain(fx).close();
  });

  it('a database one step ahead of the counter (crash between the two writes) opens fine', () => {
    const fx = populated();
    const counter = path.join(fx.dir, 'keyway.counter');
    const n = Number(/\d+/.exec(fs.readFileSync(counter, 'utf8'))![0]);
    fs.writeFileSync(counter, `keyway-counter ${n - 1}\n`);
    const lock = openAgain(fx);
    lock.close();
    expect(Number(/\d+/.exec(fs.readFileSync(counter, 'utf8'))![0])).toBeGreaterThan(n);
  });
});

describe('time', () => {
  it('setTime: admin+, refuses going back beyond the tolerance, audited', () => {
    f = startLock();
    const owner = f.lock.createOwner({}).index;
    const now = f.clock.now()!;
    f.lock.setTime(owner, now + 3_600_000);
    expect(f.lock.status().time).toBe(now + 3_600_000);
    expect(code(() => f!.lock.setTime(owner, now))).toBe('out_of_range');
    f.lock.setTime(owner, now + 3_600_000 - 30_000); // within 60 s
    expect(f.lock.audit.entries().filter((e) => e.action === 'set_time').length).toBe(2);
    f.reopen(); // the high-water mark persists
    expect(code(() => f!.lock.setTime(owner, now))).toBe('out_of_range');
  });
});

function startLockOptions(dir: string) {
  const fx = startLock({ dir: tempDir() });
  dirs.push(fx.dir);
  fx.lock.close();
  return { ...fx.options(), dataDir: dir };
}

describe('migrations', () => {
  it('a store at an older schema version is migrated on open (and keeps its data)', () => {
    const fx = populated();
    const db = new Database(path.join(fx.dir, 'keyway.db'));
    db.exec(
      'DROP TABLE trust_anchors; DROP TABLE revocations; DROP TABLE ekey_uses; DROP TABLE offline_pin_used;',
    );
    db.pragma('user_version = 1');
    db.close();
    openAgain(fx).close();
    const after = new Database(path.join(fx.dir, 'keyway.db'), { readonly: true });
    const tables = after
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    after.close();
    expect(tables).toEqual(
      expect.arrayContaining(['trust_anchors', 'revocations', 'users', 'credentials', 'audit']),
    );
    const lock = openAgain(fx);
    expect(lock.listUsers().map((u) => u.name)).toEqual(['Owner']);
    lock.close();
  });
});
