// Lock-side limits of the BLE service (docs/protocol.md section 13). All times are monotonic ms.
import type { FramingLimits } from '../Framing.ts';

export interface LockServiceLimits {
  /** Sessions (connections) served at once; one more is answered `alert busy` and dropped. */
  maxSessions: number;
  /** From connection to an established session. */
  handshakeTimeoutMs: number;
  /** An established session with no message from the phone for this long is closed. */
  idleTimeoutMs: number;
  /** A challenge is good for this long after it is issued (and for one hs.init only). */
  challengeTtlMs: number;
  /** Challenges (= connections served) issued in a burst, across all phones (THREATS 12, 39). */
  challengeBurst: number;
  /** One more challenge may be issued every this many ms once the burst is spent. */
  challengeRefillMs: number;
  /** Requests a session may send in a burst, then one per requestRefillMs; beyond: `rate_limited`. */
  requestBurst: number;
  requestRefillMs: number;
  /** Requests refused as rate-limited before the session is closed. */
  maxRateLimited: number;
  /** Failed claims (wrong setup code) before claiming is refused for claimLockoutMs (doubling each time). */
  claimAttempts: number;
  claimLockoutMs: number;
  /** Audit entries at most per audit.pull (the phone pulls again from `next`). */
  maxAuditPull: number;
  framing: Partial<FramingLimits>;
}

export const DEFAULT_LIMITS: Readonly<LockServiceLimits> = Object.freeze({
  maxSessions: 4,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  challengeTtlMs: 30_000,
  challengeBurst: 20,
  challengeRefillMs: 500,
  requestBurst: 32,
  requestRefillMs: 50,
  maxRateLimited: 16,
  claimAttempts: 5,
  claimLockoutMs: 60_000,
  maxAuditPull: 2000,
  framing: {},
});

/** A token bucket on the monotonic clock. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  take(now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) / this.refillMs);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
