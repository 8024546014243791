// Firmware benchmark: a keypad PIN decision on a lock with 10,000 users, 20,000 credentials and 100,000
// audit entries, against one bare indexed SQLite point lookup on the same database, in the same run.
//
//  pin_decision          keyed hash + one statement (credential index probe, user row, schedules) +
//                        constant-time confirm + decide(): everything enterPin does before its write
//                        (no audit write, no motor)
//  pin_entry_with_audit  Lock.enterPin end to end, including its transaction (audit entry, counters,
//                        synchronous=FULL commit and the rollback-counter file), for reference
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog } from '../firmware/audit/AuditLog.ts';
import { credentialLookup } from '../firmware/credentials/CredentialHash.ts';
import { CredentialRepo } from '../firmware/credentials/CredentialRepo.ts';
import { CredentialFinder } from '../firmware/credentials/findCredential.ts';
import { decide, type DecisionRequest } from '../firmware/decide/decide.ts';
import { Lock } from '../firmware/Lock.ts';
import { loadSecrets } from '../firmware/store/Secrets.ts';
import { storePaths } from '../firmware/store/Store.ts';
import type { AuditRecord, BoardPort, Clock, Random } from '../firmware/types.ts';
import { UserRepo } from '../firmware/users/UserRepo.ts';

const USERS = 10_000;
const CREDS_PER_USER = 2;
const AUDIT = 100_000;
const SAMPLES = 3_000;
const T0 = Date.UTC(2025, 0, 6, 12, 0);

/** Deterministic xorshift randomness (benchmark data only). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function ports(): { clock: Clock; board: BoardPort; random: Random } {
  const next = rng(7);
  const mono = 0;
  let id = 0;
  return {
    clock: {
      now: () => T0 + mono,
      monotonic: () => mono,
      setTimer: () => ({ id: ++id }), // timers never fire: the bench measures decisions, not travel
      clearTimer: () => undefined,
    },
    board: { driveBolt: () => undefined, batteryPercent: () => 90, doorOpen: () => false },
    random: { bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)) },
  };
}

/** PIN of user i, credential k: 6 digits, all distinct. */
const pinOf = (i: number, k: number): string => String(100_000 + i * CREDS_PER_USER + k);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1000;
}

/** Users, credentials and audit entries in one transaction, through the engine's own repositories. */
function build(dir: string): void {
  const p = ports();
  const lock = Lock.open({
    dataDir: dir,
    ...p,
    initialSettings: {
      capacities: { users: USERS + 10, credentialsPerUser: 10, schedulesPerUser: 10, auditEntries: AUDIT },
      wrongCodeLimit: 100,
    },
  });
  const owner = lock.createOwner({ name: 'Owner' }).index;
  lock.close();
  const paths = storePaths(dir);
  const secrets = loadSecrets(paths.secrets);
  const db = new Database(paths.db);
  db.pragma('journal_mode = WAL');
  const users = new UserRepo(db);
  const creds = new CredentialRepo(db);
  const log = new AuditLog(db, { capacity: AUDIT, deviceKey: secrets.deviceKey });
  const next = rng(42);
  db.transaction(() => {
    for (let i = 0; i < USERS; i++) {
      const index = users.insert({
        name: `user-${i}`,
        role: i % 10 === 0 ? 'guest' : 'member',
        userType: 'Unrestricted',
        enabled: true,
        validFrom: null,
        validUntil: i % 10 === 0 ? T0 + 30 * 86_400_000 : null,
        permanent: i % 10 !== 0,
        methods: ['pin', 'card', 'fingerprint', 'app'],
        sites: lock.settings.sites,
        credentialRule: 'single',
        usesRemaining: null,
        mayShare: false,
        createdBy: owner,
        modifiedBy: owner,
        expiresAt: null,
      });
      if (i % 4 === 0)
        users.addSchedule(index, {
          kind: 'weekly',
          days: ['mon', 'tue', 'wed', 'thu', 'fri'],
          start: '07:00',
          end: '19:00',
        });
      for (let k = 0; k < CREDS_PER_USER; k++) {
        creds.insert(index, 'pin', credentialLookup(secrets.pinKey, 'pin', pinOf(i, k)));
      }
    }
    for (let n = 0; n < AUDIT; n++) {
      const u = 2 + Math.floor(next() * USERS);
      const ok = next() < 0.8;
      const record: AuditRecord = ok
        ? {
            kind: 'LockOperation',
            action: 'unlock',
            source: 'keypad',
            userIndex: u,
            credential: { type: 'pin' },
            result: 'success',
          }
        : {
            kind: 'LockOperationError',
            action: 'unlock',
            source: 'keypad',
            userIndex: null,
            credential: { type: 'pin' },
            result: 'failure',
            reason: 'invalid_credential',
            security: true,
          };
      log.append(record, T0 - (AUDIT - n) * 60_000, n);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function measure(): Record<string, number | string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-bench-'));
  try {
    const t0 = performance.now();
    build(dir);
    const buildMs = performance.now() - t0;
    const p = ports();
    const lock = Lock.open({ dataDir: dir, ...p });
    const settings = lock.settings;
    const paths = storePaths(dir);
    const secrets = loadSecrets(paths.secrets);
    // A second connection for the measured read paths: the same file, the same indexes.
    const db = new Database(paths.db, { readonly: true });
    const bare = db.prepare('SELECT idx, user_idx, type, lookup FROM credentials WHERE lookup = ?');
    const next = rng(99);
    const request: DecisionRequest = {
      operation: 'unlock',
      method: 'pin',
      source: 'keypad',
      lockedOut: false,
      mode: 'Normal',
      batteryPercent: 90,
      motorNeeded: true,
      doorOpen: false,
    };
    const finder = new CredentialFinder(db, secrets.pinKey);
    // Exactly what Lock.enterPin runs before its write: candidates, keyed-hash probe with the user and its
    // schedules, constant-time confirm, decide().
    const decideOne = (entry: string): boolean => {
      const m = finder.findPin(entry, settings);
      const state = m === null ? null : { user: m.user, schedules: m.schedules };
      return decide(request, state, m === null ? [] : ['pin'], settings, T0).granted;
    };
    const decisionUs: number[] = [];
    const lookupUs: number[] = [];
    let granted = 0;
    // Interleaved so that machine noise hits both series alike; half valid PINs, half wrong ones.
    for (let n = 0; n < SAMPLES + 200; n++) {
      const i = Math.floor(next() * USERS);
      const entry = n % 2 === 0 ? pinOf(i, n % CREDS_PER_USER) : String(900_000 + i);
      const key = credentialLookup(secrets.pinKey, 'pin', pinOf(i, 0)); // precomputed: the bare lookup has no hash
      let ok = false;
      const d = time(() => {
        ok = decideOne(entry);
      });
      const l = time(() => bare.get(key));
      if (n >= 200) {
        decisionUs.push(d);
        lookupUs.push(l);
        if (ok) granted++;
      }
    }
    // End to end with the audit write, for reference (fewer samples: each one commits and fsyncs).
    const entryUs: number[] = [];
    for (let n = 0; n < 300; n++) {
      const i = Math.floor(next() * USERS);
      const entry = n % 2 === 0 ? pinOf(i, 1) : String(900_000 + i);
      entryUs.push(time(() => lock.enterPin(entry)));
    }
    const stat = db
      .prepare(
        "SELECT sum(pgsize) AS bytes FROM dbstat WHERE name IN ('users', 'credentials', 'schedules', 'users_role', 'credentials_user', 'schedules_user', 'sqlite_autoindex_users_1', 'sqlite_autoindex_credentials_1')",
      )
      .get() as { bytes: number };
    const userCount = lock.listUsers().length;
    db.close();
    lock.close();
    const fileBytes = ['', '-wal'].reduce(
      (sum, s) => sum + (fs.existsSync(paths.db + s) ? fs.statSync(paths.db + s).size : 0),
      0,
    );
    const decision = median(decisionUs);
    const lookup = median(lookupUs);
    const entry = median(entryUs);
    return {
      pin_decision_ratio: decision / lookup,
      pin_decision_median_us: decision,
      sqlite_lookup_median_us: lookup,
      pin_entry_with_audit_median_us: entry,
      pin_entry_with_audit_ratio: entry / lookup,
      pin_decision_granted_share: granted / SAMPLES,
      db_bytes_per_user: Math.round(fileBytes / userCount),
      user_tables_bytes_per_user: Math.round(stat.bytes / userCount),
      bench_db_users: userCount,
      bench_db_build_ms: Math.round(buildMs),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function run(): Promise<Record<string, number | string>> {
  return Promise.resolve(measure());
}
