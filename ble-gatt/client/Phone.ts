// The phone app's logic over a PhoneSession: its keys, the locks it knows, its eKeys, and the actions the
// CLI offers (claim, unlock, manage, issue and import eKeys, pull the log). Storage is a PhoneStore (the
// profile directory in Profile.ts, or memory in tests); the link is any PhoneTransport.
import {
  KeywayError,
  decodeClaims,
  decodeSign1,
  mintEkey,
  verifyAuditExport,
  type AccessSchedule,
  type AuditCheckpoint,
  type AuditEntry,
  type EkeyClaims,
  type KeyPair as EdKeyPair,
  type Random,
  type Role,
} from '../../firmware/index.ts';
import type { KeyPair } from '../noise/cryptoFunctions.ts';
import type { ArgsOf, CommandName, ResultOf } from '../protocol/commands.ts';
import { PhoneSession, PhoneSessionError, type PhoneTransport } from './PhoneSession.ts';

/** What a phone knows about one lock. */
export interface LockRecord {
  lockId: string;
  /** The lock's Noise static key (X25519): needed for IK. */
  lockKey: Uint8Array;
  /** The lock's Ed25519 device key (verifies audit checkpoints). */
  deviceKey: Uint8Array;
  /** Set on the phone that claimed the lock: the offline-PIN secret shared with the lock. */
  pinSecret?: Uint8Array;
  /** The lock's last seen radio address (a hint only: advertising addresses may change). */
  address?: string;
}

export interface PhoneStore {
  /** The phone's Noise static key (X25519). */
  noiseKey(): KeyPair;
  /** The phone's Ed25519 holder key: eKeys name it in cnf; an owner's phone also signs eKeys with it. */
  holderKey(): EdKeyPair;
  holderSeed(): Uint8Array;
  locks(): LockRecord[];
  saveLock(r: LockRecord): void;
  ekeys(): Uint8Array[];
  saveEkey(ekey: Uint8Array): void;
}

/** An eKey handed to another phone: the token plus what that phone needs to reach the lock. */
export interface EkeyBundle {
  format: 'keyway-ekey-bundle';
  version: 1;
  lockId: string;
  lockKey: string;
  deviceKey: string;
  ekey: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string, n: number, what: string): Uint8Array => {
  if (!new RegExp(`^[0-9a-f]{${n * 2}}$`).test(s))
    throw new KeywayError('invalid_argument', `${what}: ${n} bytes of hex expected`);
  return new Uint8Array(Buffer.from(s, 'hex'));
};

/** The owner's own eKey covers all time (the owner key is the lock's trust anchor anyway). */
const OWNER_FROM = 0;
const OWNER_UNTIL = Date.UTC(2100, 0, 1);

export interface IssueSpec {
  lockId: string;
  /** Raw Ed25519 public key of the receiving phone. */
  holder: Uint8Array;
  role: Role;
  from: number;
  until: number;
  schedules?: AccessSchedule[];
  uses?: number | null;
  delegateDepth?: number;
}

export class Phone {
  constructor(
    readonly store: PhoneStore,
    private readonly random: Random,
    private readonly options: { timeoutMs?: number } = {},
  ) {}

  get holderPublic(): Uint8Array {
    return this.store.holderKey().publicRaw;
  }

  lockRecord(lockId: string): LockRecord {
    const r = this.store.locks().find((l) => l.lockId === lockId);
    if (r === undefined) throw new KeywayError('not_found', `this phone knows no lock "${lockId}"`);
    return r;
  }

  /** The eKeys this phone holds for a lock, best first (highest role, then latest expiry). */
  ekeysFor(lockId: string): Array<{ ekey: Uint8Array; claims: EkeyClaims }> {
    const mine = hex(this.holderPublic);
    const rank = ['guest', 'member', 'admin', 'owner'];
    return this.store
      .ekeys()
      .map((ekey) => ({ ekey, claims: decodeClaims(decodeSign1(ekey).payload) }))
      .filter((e) => e.claims.aud.includes(lockId) && hex(e.claims.holder) === mine)
      .sort(
        (a, b) => rank.indexOf(b.claims.role) - rank.indexOf(a.claims.role) || b.claims.exp - a.claims.exp,
      );
  }

  /** Claims a lock in setup mode; this phone's holder key becomes the owner key. */
  async claim(
    t: PhoneTransport,
    opts: { setupCode: string; ownerName?: string; syncTime?: number },
  ): Promise<LockRecord> {
    const pinSecret = this.random.bytes(32);
    const { session, result } = await PhoneSession.claim(t, {
      random: this.random,
      staticKey: this.store.noiseKey(),
      setupCode: opts.setupCode,
      ownerKey: this.holderPublic,
      pinSecret,
      ...(opts.ownerName === undefined ? {} : { ownerName: opts.ownerName }),
      ...this.#timeout(),
    });
    try {
      const record: LockRecord = {
        lockId: result.lockId,
        lockKey: result.lockKey,
        deviceKey: result.deviceKey,
        pinSecret,
      };
      this.store.saveLock(record);
      this.store.saveEkey(
        this.mint({
          lockId: result.lockId,
          holder: this.holderPublic,
          role: 'owner',
          from: OWNER_FROM,
          until: OWNER_UNTIL,
          delegateDepth: 2,
        }),
      );
      if (opts.syncTime !== undefined) {
        // Best effort: a lock whose clock is ahead refuses to go back (clock_rollback); the claim stands.
        await session.request('time.sync', { time: opts.syncTime }).catch((err: unknown) => {
          if (!(err instanceof PhoneSessionError && err.kind === 'refused')) throw err;
        });
      }
      return record;
    } finally {
      await session.close();
    }
  }

  /** An IK session with a known lock, proving this phone's best eKey for it. */
  async open(
    t: PhoneTransport,
    lockId: string,
    early?: { cmd: CommandName; args: unknown },
  ): Promise<{ session: PhoneSession; early: unknown }> {
    const rec = this.lockRecord(lockId);
    const best = this.ekeysFor(lockId)[0];
    if (best === undefined)
      throw new KeywayError('not_found', `this phone holds no eKey for lock "${lockId}"`);
    const { session, early: res } = await PhoneSession.connect(t, {
      random: this.random,
      staticKey: this.store.noiseKey(),
      lockKey: rec.lockKey,
      proof: { ekey: best.ekey, holderSeed: this.store.holderSeed() },
      ...(early === undefined ? {} : { early }),
      ...this.#timeout(),
    });
    if (res !== null && 'err' in res) {
      await session.close();
      throw new PhoneSessionError(
        'refused',
        res.err.code,
        `${early?.cmd ?? 'request'} refused: ${res.err.code}${res.err.message === undefined ? '' : ` (${res.err.message})`}`,
      );
    }
    return { session, early: res === null ? null : res.ok };
  }

  /** One command in its own session, as the early request of the handshake (two round trips). */
  async once<C extends CommandName>(
    t: PhoneTransport,
    lockId: string,
    cmd: C,
    args: ArgsOf<C>,
  ): Promise<ResultOf<C>> {
    const { session, early } = await this.open(t, lockId, { cmd, args });
    this.lastStats = session.stats;
    await session.close();
    return early as ResultOf<C>;
  }

  /** The counters of the session `once` ran last (for the benchmark). */
  lastStats: PhoneSession['stats'] | null = null;

  /** Runs several commands in one session. */
  async withSession<T>(t: PhoneTransport, lockId: string, fn: (s: PhoneSession) => Promise<T>): Promise<T> {
    const { session } = await this.open(t, lockId);
    try {
      return await fn(session);
    } finally {
      await session.close();
    }
  }

  /**
   * Mints an eKey for another phone's holder key. The owner signs with its owner key; anyone else
   * chains its own eKey (which must allow delegation; the lock checks every link).
   */
  mint(spec: IssueSpec): Uint8Array {
    const own = hex(spec.holder) === hex(this.holderPublic) ? undefined : this.ekeysFor(spec.lockId)[0];
    const chain = own === undefined || own.claims.role === 'owner' ? null : own.ekey;
    return mintEkey(
      this.store.holderKey(),
      {
        holder: spec.holder,
        aud: spec.lockId,
        from: spec.from,
        until: spec.until,
        role: spec.role,
        schedules: spec.schedules ?? [],
        methods: ['app'],
        uses: spec.uses ?? null,
        delegateDepth: spec.delegateDepth ?? 0,
        chain,
        issuedAt: Math.max(spec.from, 0),
      },
      this.random,
    );
  }

  bundle(lockId: string, ekey: Uint8Array): EkeyBundle {
    const rec = this.lockRecord(lockId);
    return {
      format: 'keyway-ekey-bundle',
      version: 1,
      lockId,
      lockKey: hex(rec.lockKey),
      deviceKey: hex(rec.deviceKey),
      ekey: hex(ekey),
    };
  }

  /** Imports an eKey bundle made for this phone (refuses one made for another holder key). */
  importBundle(b: unknown): { lockId: string; claims: EkeyClaims } {
    const o = b as Partial<EkeyBundle> | null;
    if (typeof o !== 'object' || o === null || o.format !== 'keyway-ekey-bundle' || o.version !== 1) {
      throw new KeywayError(
        'invalid_argument',
        'not a keyway eKey bundle (format keyway-ekey-bundle, version 1)',
      );
    }
    if (typeof o.lockId !== 'string' || o.lockId.length === 0 || o.lockId.length > 64) {
      throw new KeywayError('invalid_argument', 'bundle: bad lockId');
    }
    const lockKey = unhex(String(o.lockKey), 32, 'bundle lockKey');
    const deviceKey = unhex(String(o.deviceKey), 32, 'bundle deviceKey');
    if (typeof o.ekey !== 'string' || !/^([0-9a-f]{2}){1,3072}$/.test(o.ekey)) {
      throw new KeywayError('invalid_argument', 'bundle: ekey must be hex');
    }
    const ekey = new Uint8Array(Buffer.from(o.ekey, 'hex'));
    const claims = decodeClaims(decodeSign1(ekey).payload);
    if (hex(claims.holder) !== hex(this.holderPublic)) {
      throw new KeywayError('invalid_argument', "this eKey was issued to another phone's key");
    }
    if (!claims.aud.includes(o.lockId))
      throw new KeywayError('invalid_argument', 'this eKey is not for that lock');
    const known = this.store.locks().find((l) => l.lockId === o.lockId);
    this.store.saveLock({ ...known, lockId: o.lockId, lockKey, deviceKey });
    this.store.saveEkey(ekey);
    return { lockId: o.lockId, claims };
  }

  /** Pulls the audit log from `from` and verifies the chain and the lock's signed checkpoint. */
  async pullAudit(
    s: PhoneSession,
    lockId: string,
    from = 1,
  ): Promise<{ entries: AuditEntry[]; next: number; checkpoint: AuditCheckpoint | null }> {
    const chunks = await s.stream('audit.pull', { from });
    const entries = chunks.flatMap((c) => c.entries.map((e) => JSON.parse(e) as AuditEntry));
    const last = chunks[chunks.length - 1]!;
    const checkpoint = last.checkpoint ?? null;
    const verdict = verifyAuditExport(entries, {
      devicePublicKey: this.lockRecord(lockId).deviceKey,
      ...(checkpoint === null ? {} : { checkpoints: [checkpoint] }),
    });
    if (!verdict.ok) {
      throw new KeywayError(
        'crypto',
        `the pulled audit log does not verify: ${verdict.problem} at ${verdict.seq} (${verdict.detail})`,
      );
    }
    return { entries, next: last.next, checkpoint };
  }

  #timeout(): { timeoutMs?: number } {
    return this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs };
  }
}

/** A PhoneStore in memory (tests, benchmarks). */
export class MemoryPhoneStore implements PhoneStore {
  readonly #locks = new Map<string, LockRecord>();
  readonly #ekeys: Uint8Array[] = [];

  constructor(
    private readonly noise: KeyPair,
    private readonly holder: EdKeyPair,
    private readonly seed: Uint8Array,
  ) {}

  noiseKey(): KeyPair {
    return this.noise;
  }
  holderKey(): EdKeyPair {
    return this.holder;
  }
  holderSeed(): Uint8Array {
    return this.seed;
  }
  locks(): LockRecord[] {
    return [...this.#locks.values()];
  }
  saveLock(r: LockRecord): void {
    this.#locks.set(r.lockId, { ...r });
  }
  ekeys(): Uint8Array[] {
    return [...this.#ekeys];
  }
  saveEkey(ekey: Uint8Array): void {
    this.#ekeys.push(Uint8Array.from(ekey));
  }
}
