// The lock's side of the BLE protocol, shared by all its connections: the Noise static key, the claim
// verifier made from the setup code, physical presence, connection and challenge limits, failed-claim
// back-off, and the registry of live sessions (so a revocation can end the sessions it concerns,
// THREATS 17). Pure: no bleno; time is an injected monotonic clock and `sweep()` runs the timeouts.
import type { Lock, Random } from '../../firmware/index.ts';
import type { MonotonicClock } from '../Framing.ts';
import type { KeyPair } from '../noise/cryptoFunctions.ts';
import { makeClaimVerifier } from '../pake/setupCode.ts';
import type { PbkdfParams, VerifierRecord } from '../pake/Spake2Plus.ts';
import { DEFAULT_LIMITS, TokenBucket, type LockServiceLimits } from './limits.ts';
import { LockSession, type SessionLink } from './LockSession.ts';

/** Something worth telling the lock's owner or log about (never secrets). */
export type ServiceEvent =
  | { kind: 'connect'; session: number; refused?: 'busy' | 'rate_limited' }
  | { kind: 'established'; session: number; pattern: 'IK' | 'XX' }
  | { kind: 'proof'; session: number; role: string; user: number | null }
  | { kind: 'proof_refused'; session: number; reason: string }
  | { kind: 'command'; session: number; cmd: string; ok: boolean; code?: string }
  | { kind: 'claim'; session: number; ok: boolean; owner?: number; reason?: string }
  | { kind: 'close'; session: number; alert: string | null; why: string };

export interface LockServiceOptions {
  lock: Lock;
  /** The lock's Noise static key pair (X25519); its public half goes to phones at claim. */
  staticKey: KeyPair;
  random: Random;
  clock: MonotonicClock;
  /** The setup code while the lock is unclaimed (the label), else null. Only its SPAKE2+ verifier is kept. */
  setupCode: () => string | null;
  /** True while physical presence was shown at the lock (keypad code or inside button, within a window). */
  presence: () => boolean;
  /** The lock has been claimed (e.g. to close the presence window). */
  onClaimed?: (owner: number) => void;
  /** The lock was factory reset over BLE. */
  onFactoryReset?: () => void;
  onEvent?: (e: ServiceEvent) => void;
  /** scrypt cost of the claim verifier (tests use a cheap one). */
  pbkdfCost?: { N: number; r: number; p: number };
  limits?: Partial<LockServiceLimits>;
}

export interface ClaimVerifier {
  record: VerifierRecord;
  params: PbkdfParams;
}

export class LockService {
  readonly limits: LockServiceLimits;
  readonly #sessions = new Set<LockSession>();
  readonly #challenges: TokenBucket;
  #nextId = 1;
  #verifier: { code: string; v: ClaimVerifier } | null = null;
  #claimFailures = 0;
  #claimBlockedUntil = -Infinity;

  constructor(readonly options: LockServiceOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#challenges = new TokenBucket(
      this.limits.challengeBurst,
      this.limits.challengeRefillMs,
      options.clock.monotonic(),
    );
  }

  get lock(): Lock {
    return this.options.lock;
  }

  now(): number {
    return this.options.clock.monotonic();
  }

  /** Live sessions (connected, in handshake or established). */
  sessions(): LockSession[] {
    return [...this.#sessions];
  }

  /**
   * A phone connected. The session is refused (an alert, then the link is dropped) when too many are
   * open or when the challenge budget is spent; either way a session object comes back.
   */
  connect(link: SessionLink): LockSession {
    const id = this.#nextId++;
    let refused: 'busy' | 'rate_limited' | null = null;
    if (this.#sessions.size >= this.limits.maxSessions) refused = 'busy';
    else if (!this.#challenges.take(this.now())) refused = 'rate_limited';
    const session = new LockSession(this, id, link, refused === null);
    this.emit({ kind: 'connect', session: id, ...(refused === null ? {} : { refused }) });
    if (refused !== null) session.abort(refused, `refused: ${refused}`);
    else this.#sessions.add(session);
    return session;
  }

  /** A fresh challenge for a session whose challenge expired; null when the budget is spent. */
  reissueAllowed(): boolean {
    return this.#challenges.take(this.now());
  }

  /** Called by a session when it ends. */
  forget(session: LockSession): void {
    this.#sessions.delete(session);
  }

  /** Runs handshake/idle timeouts and drops stale partial messages; call periodically. */
  sweep(): void {
    for (const s of [...this.#sessions]) s.sweep();
  }

  /**
   * Re-checks every established session's eKey (and registered user) against the lock's current state
   * and ends those no longer valid: call after anything that may revoke access.
   */
  revalidate(except?: LockSession): void {
    for (const s of [...this.#sessions]) if (s !== except) s.revalidate();
  }

  /** Ends every session (factory reset, shutdown). */
  closeAll(alert: 'session_failed' | 'timeout' | null, why: string, except?: LockSession): void {
    for (const s of [...this.#sessions]) if (s !== except) s.abort(alert, why);
  }

  /** The SPAKE2+ verifier for the current setup code (made once per code), or null when not claimable. */
  claimVerifier(): ClaimVerifier | null {
    if (!this.lock.status().setupMode) return null;
    const code = this.options.setupCode();
    if (code === null) return null;
    if (this.#verifier?.code !== code) {
      this.#verifier = { code, v: makeClaimVerifier(code, this.options.random, this.options.pbkdfCost) };
    }
    return this.#verifier.v;
  }

  /** Claim attempts are refused while a back-off after failed claims runs. */
  claimBlocked(): boolean {
    return this.now() < this.#claimBlockedUntil;
  }

  /** One claim attempt that has not (yet) succeeded. */
  claimFailed(): void {
    this.#claimFailures += 1;
    if (this.#claimFailures % this.limits.claimAttempts === 0) {
      const tier = this.#claimFailures / this.limits.claimAttempts - 1;
      this.#claimBlockedUntil = this.now() + this.limits.claimLockoutMs * 2 ** Math.min(tier, 10);
    }
  }

  claimSucceeded(owner: number): void {
    this.#claimFailures = 0;
    this.#claimBlockedUntil = -Infinity;
    this.#verifier = null;
    this.options.onClaimed?.(owner);
  }

  emit(e: ServiceEvent): void {
    try {
      this.options.onEvent?.(e);
    } catch {
      // a failing listener must not break the protocol
    }
  }
}
