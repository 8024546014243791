// What the Lock needs for eKeys and offline PINs, in one place: the durable tables, the verifier with its
// cache, the challenges for proof of possession, and the offline-PIN key. The Lock calls these from its
// presentEkey / enterPin / revoke paths and commits the returned effects inside its own transaction (so a
// use is counted, and a one-time PIN marked used, before the bolt moves).
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { UserState } from '../decide/decide.ts';
import { KeywayError } from '../errors.ts';
import { writeFileAtomic } from '../store/atomicFile.ts';
import type { DenialReason, LockTime, Method, Random, Role } from '../types.ts';
import { OfflinePinKey, OFFLINE_PIN_DIGITS, type OfflinePinMatch } from '../offline-pin/OfflinePin.ts';
import { EkeyStore, type Revocation } from './EkeyStore.ts';
import { ChallengeIssuer, verifyProof, type EkeyProof, type SessionPossession } from './Proof.ts';
import {
  EkeyVerifier,
  ekeyAuthorizes,
  type EkeyCommand,
  type VerifiedEkey,
  type VerifyContext,
} from './Verify.ts';

export const OFFLINE_SECRET_FILE = 'keyway.offline-pin';

export type GateRefusal = { ok: false; reason: DenialReason; detail: string };

/** A verified, possessed eKey: what the engine decides on, and what to persist when it grants. */
export interface EkeyAdmission {
  ok: true;
  ekey: VerifiedEkey;
  role: Role;
  methods: Method[];
  /** Count the uses of every link with a use limit (inside the grant's transaction; unlock only). */
  commitUse: () => void;
}

export interface OfflinePinAdmission {
  ok: true;
  match: OfflinePinMatch;
  /** Marks a one-time PIN used (inside the grant's transaction). */
  commitUse: () => void;
}

export class EkeyGate {
  readonly store: EkeyStore;
  readonly verifier: EkeyVerifier;
  readonly challenges: ChallengeIssuer;
  private pinKey: OfflinePinKey | null = null;

  constructor(
    db: BetterSqlite3.Database,
    random: Random,
    monotonic: () => number,
    private readonly dataDir: string | null,
    lockId: string,
  ) {
    this.store = new EkeyStore(db);
    this.verifier = new EkeyVerifier(this.store);
    this.challenges = new ChallengeIssuer(random, monotonic);
    const secret = dataDir === null ? null : loadOfflineSecret(dataDir);
    if (secret !== null) this.pinKey = new OfflinePinKey(secret, lockId);
  }

  /**
   * Verifies a presented eKey for `command`: token (cached stage), then the holder's proof over the lock's
   * last challenge for the session, then the checks made at every use, then the role's right to the command.
   */
  admitEkey(
    token: Uint8Array,
    proof: EkeyProof | SessionPossession | null,
    command: EkeyCommand,
    ctx: VerifyContext,
  ): EkeyAdmission | GateRefusal {
    const r = this.verifier.resolve(token);
    if (!r.granted) return { ok: false, reason: r.reason, detail: r.detail ?? r.reason };
    const leaf = r.ekey.claims;
    if (proof === null || proof === undefined) {
      return { ok: false, reason: 'proof_of_possession_failed', detail: 'no proof of possession' };
    }
    if ('holderProven' in proof) {
      if (!proof.holderProven(leaf.holder)) {
        return { ok: false, reason: 'proof_of_possession_failed', detail: 'session proof signature' };
      }
    } else {
      const c = this.challenges.consume(proof.session ?? 'default', proof.challenge);
      if (c !== 'ok') return { ok: false, reason: 'proof_of_possession_failed', detail: `challenge ${c}` };
      const fields = { challenge: proof.challenge, lockId: ctx.lockId, command, cti: leaf.cti };
      if (!verifyProof(leaf.holder, proof.signature, fields)) {
        return { ok: false, reason: 'proof_of_possession_failed', detail: 'proof signature' };
      }
    }
    const d = this.verifier.check(r.ekey, ctx);
    if (d !== null) return { ok: false, reason: d.reason, detail: d.detail };
    if (!ekeyAuthorizes(leaf, command)) {
      const article = /^[aeiou]/.test(leaf.role) ? 'an' : 'a';
      return {
        ok: false,
        reason: 'not_authorized',
        detail: `${article} ${leaf.role} eKey may not use ${command}`,
      };
    }
    const links = r.ekey.links;
    return {
      ok: true,
      ekey: r.ekey,
      role: leaf.role,
      methods: leaf.methods,
      commitUse: () => {
        for (const l of links) {
          if (l.claims.uses !== null) this.store.recordUse(l.claims.cti, l.claims.exp * 1000);
        }
      },
    };
  }

  get offlinePinsEnabled(): boolean {
    return this.pinKey !== null;
  }

  /** Installs the offline-PIN secret shared with the owner (file beside the database, mode 0600). */
  setOfflineSecret(secret: Uint8Array, lockId: string): void {
    if (this.dataDir === null) throw new KeywayError('invalid_argument', 'no data directory');
    const key = new OfflinePinKey(secret, lockId); // validates
    saveOfflineSecret(this.dataDir, secret);
    this.pinKey = key;
  }

  /** Forgets the offline-PIN secret (factory reset): deletes its file. */
  clearOfflineSecret(): void {
    this.pinKey = null;
    if (this.dataDir !== null) fs.rmSync(path.join(this.dataDir, OFFLINE_SECRET_FILE), { force: true });
  }

  /**
   * A keypad entry that matched no stored PIN: is it an offline PIN valid now? null when it is not one at
   * all (a wrong attempt); a refusal for a revoked or already used one.
   */
  admitOfflinePin(pin: string, now: LockTime | null, tz: string): OfflinePinAdmission | GateRefusal | null {
    if (this.pinKey === null || now === null || pin.length !== OFFLINE_PIN_DIGITS) return null;
    const match = this.pinKey.match(pin, now, tz);
    if (match === null) return null;
    if (this.store.isRevoked('offline_pin', match.id))
      return { ok: false, reason: 'revoked', detail: 'offline PIN revoked' };
    if (match.variant === 'once' && this.store.offlinePinUsed(match.id)) {
      return { ok: false, reason: 'uses_exhausted', detail: 'one-time offline PIN already used' };
    }
    return {
      ok: true,
      match,
      commitUse: () => {
        if (match.variant === 'once') this.store.markOfflinePinUsed(match.id, now, match.until);
      },
    };
  }

  /** Adds a revocation and prunes what has expired anyway (call inside a transaction). */
  revoke(r: Revocation, now: LockTime | null, toleranceMs: number): void {
    this.store.addRevocation(r, now);
    if (now !== null) this.store.prune(now, toleranceMs);
  }
}

/**
 * The rights of an eKey holder or an offline-PIN bearer as the engine's decide() sees them: no stored user
 * (index -1); validity, schedules and uses were already checked by the verifier, so none are repeated here,
 * while mode, battery and door rules still apply.
 */
export function virtualUserState(role: Role, methods: Method[], sites: string[]): UserState {
  return {
    user: {
      index: -1,
      role,
      userType: 'Unrestricted',
      enabled: true,
      validFrom: null,
      validUntil: null,
      methods,
      sites,
      credentialRule: 'single',
      usesRemaining: null,
      expiresAt: null,
    },
    schedules: [],
  };
}

export function loadOfflineSecret(dataDir: string): Uint8Array | null {
  const file = path.join(dataDir, OFFLINE_SECRET_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeywayError('store_io', `cannot read ${file}`, { cause: err });
  }
  return parseSecretFile(text, file);
}

/** Reads an offline-PIN secret file ({format: 'keyway-offline-pin-secret', secret: hex}). */
export function parseSecretFile(text: string, name: string): Uint8Array {
  try {
    const p = JSON.parse(text) as Record<string, unknown>;
    if (
      p.format === 'keyway-offline-pin-secret' &&
      p.version === 1 &&
      typeof p.secret === 'string' &&
      /^[0-9a-f]{64}$/.test(p.secret)
    ) {
      return new Uint8Array(Buffer.from(p.secret, 'hex'));
    }
  } catch {
    // fall through
  }
  throw new KeywayError('invalid_argument', `${name} is not an offline PIN secret file`);
}

export function secretFileText(secret: Uint8Array): string {
  return (
    JSON.stringify({
      format: 'keyway-offline-pin-secret',
      version: 1,
      secret: Buffer.from(secret).toString('hex'),
    }) + '\n'
  );
}

export function saveOfflineSecret(dataDir: string, secret: Uint8Array): void {
  writeFileAtomic(path.join(dataDir, OFFLINE_SECRET_FILE), secretFileText(secret), 0o600);
}
