// Dual / tri credential rules: credentials of different types must be presented within a short window
// (e.g. a card, then the PIN within 30 s). This remembers, per user, the types presented so far. It is
// kept in memory on purpose: a restart simply makes the user start over.
import type { CredentialType } from '../types.ts';

export const RULE_WINDOW_MS = 30_000;

export class RuleWindow {
  private readonly pending = new Map<number, { types: Set<CredentialType>; since: number }>();

  /** The distinct types presented by this user within the window, plus `current`. */
  presented(userIndex: number, current: readonly CredentialType[], monotonicNow: number): CredentialType[] {
    const p = this.pending.get(userIndex);
    const types = new Set<CredentialType>(current);
    if (p && monotonicNow - p.since <= RULE_WINDOW_MS) for (const t of p.types) types.add(t);
    return [...types];
  }

  /** Remember a partial presentation; the window starts at the first credential. */
  remember(userIndex: number, types: readonly CredentialType[], monotonicNow: number): void {
    const p = this.pending.get(userIndex);
    if (p && monotonicNow - p.since <= RULE_WINDOW_MS) {
      for (const t of types) p.types.add(t);
    } else {
      this.pending.set(userIndex, { types: new Set(types), since: monotonicNow });
    }
  }

  clear(userIndex: number): void {
    this.pending.delete(userIndex);
  }
}
