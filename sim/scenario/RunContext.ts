import type { Lock } from '../../firmware/index.ts';
import type { VirtualBoard } from '../board/index.ts';
import type { SimClock } from '../clock/index.ts';
import type { Operation } from './registry.ts';

/** What a running step can reach: the lock, its board and clock, and the scenario's names for users. */
export interface RunContext {
  readonly lock: Lock;
  readonly board: VirtualBoard;
  readonly clock: SimClock;
  readonly timeZone: string;
  /** The index of the user named in the step's `as:` (management steps). */
  actor(): number;
  /** Whether the step has an `as:`. */
  hasActor(): boolean;
  /** The lock's index for a scenario user name (declared, or added by an earlier step). */
  userIndex(name: string): number;
  /** The scenario name of a user index, or null when unknown. */
  nameOf(index: number | null | undefined): string | null;
  /** Records (or re-records after a rename) the scenario name of a user index. */
  nameUser(name: string, index: number): void;
  /** Remembers which credential index holds a secret the scenario added (the lock never tells secrets back). */
  rememberCredential(userIndex: number, key: string, credentialIndex: number): void;
  credentialIndex(userIndex: number, key: string): number | undefined;
  forgetCredential(credentialIndex: number): void;
  /** The last audit sequence number (0 when the log is empty). */
  auditSeq(): number;
  /** The first access attempt (LockOperation/LockOperationError) written after seq, if any. */
  operationSince(seq: number): Operation | null;
  /** Power off and on: the lock is closed and reopened from the same data directory. */
  powerCycle(loseTime: boolean, offForMs: number): void;
}
