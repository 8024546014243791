// Constant-time comparison of secrets (PIN hashes, MACs, tokens): the time taken must not reveal how many
// leading bytes matched (THREATS 32).
import { timingSafeEqual } from 'node:crypto';

/**
 * True when a and b hold the same bytes. The time depends only on a's length: when the lengths differ,
 * a is compared with itself (same work) and the result is false. Lengths of secrets compared here are
 * fixed (hash or MAC sizes), so leaking whether lengths differ reveals nothing.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
