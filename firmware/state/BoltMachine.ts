// The bolt over the board's motor: moving takes time, the motor may jam. A command that arrives while the
// bolt moves is remembered and run when the current travel ends (the last command wins).
import type { BoardPort, BoltState } from '../types.ts';

export type BoltTarget = 'locked' | 'unlocked';

export interface BoltListener {
  /** Every state change (moving, settled, jammed). */
  changed(state: BoltState): void;
  /** A travel ended: reached its target or jammed. */
  settled(target: BoltTarget, result: 'ok' | 'jammed'): void;
}

export class BoltMachine {
  private current: BoltState;
  private queued: BoltTarget | null = null;
  private stopped = false;

  constructor(
    private readonly board: BoardPort,
    initial: BoltTarget,
    private readonly listener: BoltListener,
  ) {
    this.current = initial;
  }

  get state(): BoltState {
    return this.current;
  }

  get moving(): boolean {
    return this.current === 'locking' || this.current === 'unlocking';
  }

  /** Where the bolt is or is going. */
  get target(): BoltTarget | null {
    if (this.queued !== null) return this.queued;
    switch (this.current) {
      case 'locked':
      case 'locking':
        return 'locked';
      case 'unlocked':
      case 'unlocking':
        return 'unlocked';
      case 'jammed':
        return null;
    }
  }

  /** True when the bolt must move to reach target. */
  needsMotor(target: BoltTarget): boolean {
    return this.target !== target || this.current === 'jammed';
  }

  drive(target: BoltTarget): void {
    if (this.stopped) return;
    if (this.moving) {
      this.queued = target;
      return;
    }
    if (this.current === target) {
      this.listener.settled(target, 'ok');
      return;
    }
    this.current = target === 'locked' ? 'locking' : 'unlocking';
    this.listener.changed(this.current);
    this.board.driveBolt(target, (result) => {
      if (this.stopped) return;
      this.current = result === 'ok' ? target : 'jammed';
      this.listener.changed(this.current);
      this.listener.settled(target, result);
      const next = this.queued;
      this.queued = null;
      if (next !== null && next !== this.current) this.drive(next);
    });
  }

  /** Ignore motor callbacks after the lock closed. */
  stop(): void {
    this.stopped = true;
  }
}
