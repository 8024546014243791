// Proof of possession of an eKey's cnf key (THREATS 1-3): the lock issues a fresh random challenge per
// session (single-use, expiring, only the last one issued per session valid); the holder signs, with a
// domain-separated Ed25519 signature, the deterministic CBOR array
//   ["keyway-pop-v1", challenge, lock id, command, eKey cti]
// so a proof cannot be replayed, answered twice, moved to another lock, another command or another eKey.
import { sign, verify, type KeyObject } from 'node:crypto';
import { encodeCanonical } from '../codec/StrictCbor.ts';
import { KeywayError } from '../errors.ts';
import type { Random } from '../types.ts';
import { constantTimeEqual } from '../crypto/constantTime.ts';
import { publicKeyFromRaw } from './Keys.ts';

export const PROOF_CONTEXT = 'keyway-pop-v1';
export const CHALLENGE_BYTES = 32;
/** A challenge expires after this long (monotonic time). */
export const CHALLENGE_TTL_MS = 30_000;
/** Sessions tracked at once (the oldest is forgotten beyond this). */
const MAX_SESSIONS = 64;

export interface ProofFields {
  challenge: Uint8Array;
  lockId: string;
  command: string;
  /** The presented eKey's cti. */
  cti: Uint8Array;
}

/**
 * Possession of the eKey's cnf key proven by the transport for its own session instead of a lock challenge
 * (the BLE session: the holder signs the Noise handshake hash, which covers the lock's single-use
 * per-connection challenge and the lock's static key; ble-gatt/SessionProof.ts). The gate calls
 * `holderProven` with the leaf's cnf key; it must return true only for a valid signature by that key.
 */
export interface SessionPossession {
  readonly holderProven: (holder: Uint8Array) => boolean;
}

export interface EkeyProof {
  challenge: Uint8Array;
  /** 64-byte Ed25519 signature over proofMessage(...). */
  signature: Uint8Array;
  /** The session the challenge was issued to (default 'default'). */
  session?: string;
}

/** The bytes a holder signs. */
export function proofMessage(f: ProofFields): Uint8Array {
  if (!(f.challenge instanceof Uint8Array) || f.challenge.length < 16 || f.challenge.length > 32) {
    throw new KeywayError('invalid_argument', 'a challenge is 16..32 bytes');
  }
  return encodeCanonical([PROOF_CONTEXT, f.challenge, f.lockId, f.command, f.cti]);
}

/** The holder's side: sign the proof with the cnf private key. */
export function signProof(holderKey: KeyObject, f: ProofFields): Uint8Array {
  return new Uint8Array(sign(null, proofMessage(f), holderKey));
}

/** Checks the signature only (the challenge's freshness is ChallengeIssuer's job). */
export function verifyProof(holderRaw: Uint8Array, signature: Uint8Array, f: ProofFields): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    return verify(null, proofMessage(f), publicKeyFromRaw(holderRaw), signature);
  } catch {
    return false;
  }
}

export type ChallengeCheck = 'ok' | 'unknown' | 'expired' | 'stale';

/** The lock's challenges: one live challenge per session, consumed on first use. */
export class ChallengeIssuer {
  private readonly live = new Map<string, { challenge: Uint8Array; issuedAt: number }>();
  /** Challenges issued since start (THREATS 12: callers throttle on this). */
  issued = 0;

  constructor(
    private readonly random: Random,
    private readonly monotonic: () => number,
    private readonly ttlMs = CHALLENGE_TTL_MS,
  ) {}

  /** A fresh challenge for the session; any earlier one of that session stops being valid. */
  issue(session = 'default'): Uint8Array {
    const challenge = this.random.bytes(CHALLENGE_BYTES);
    if (challenge.length !== CHALLENGE_BYTES) throw new KeywayError('internal', 'random source short');
    this.live.delete(session);
    if (this.live.size >= MAX_SESSIONS) this.live.delete(this.live.keys().next().value!);
    this.live.set(session, { challenge: new Uint8Array(challenge), issuedAt: this.monotonic() });
    this.issued++;
    return new Uint8Array(challenge);
  }

  /** Consumes the session's challenge if `challenge` is it and it has not expired. Any answer consumes it. */
  consume(session: string, challenge: Uint8Array): ChallengeCheck {
    const c = this.live.get(session);
    if (c === undefined) return 'unknown';
    if (!(challenge instanceof Uint8Array) || !constantTimeEqual(c.challenge, challenge)) return 'stale';
    this.live.delete(session);
    if (this.monotonic() - c.issuedAt > this.ttlMs) return 'expired';
    return 'ok';
  }
}
