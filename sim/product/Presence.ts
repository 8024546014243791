// Physical presence for claiming: someone at the lock either typed the setup code on the keypad (then #),
// pressed the inside button, or made the claim gesture (`claim-press`) while the lock is in setup mode.
// Each opens a window (60 s by default) during which a phone may claim over Bluetooth. The setup code
// typed on the keypad never reaches the engine: the entry is cleared instead of submitted, so it is not a
// wrong PIN and is not audited as one.
import { timingSafeEqual } from 'node:crypto';
import type { LockInputs } from '../board/VirtualBoard.ts';

export type PresenceReason = 'keypad' | 'button' | 'gesture';

export interface PresenceOptions {
  /** Window length in ms (real time: the claim itself runs over the radio in real time). */
  windowMs?: number;
  /** Monotonic milliseconds. */
  now?: () => number;
}

export const DEFAULT_PRESENCE_WINDOW_MS = 60_000;

export class PresenceWindow {
  private until = -Infinity;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly listeners = new Set<(reason: PresenceReason, untilMs: number) => void>();

  constructor(options: PresenceOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_PRESENCE_WINDOW_MS;
    this.now = options.now ?? (() => performance.now());
  }

  open(reason: PresenceReason): void {
    this.until = this.now() + this.windowMs;
    for (const l of this.listeners) l(reason, this.windowMs);
  }

  /** True while a window is open. */
  active(): boolean {
    return this.now() < this.until;
  }

  /** Ms left in the open window (0 when closed). */
  remainingMs(): number {
    return Math.max(0, Math.ceil(this.until - this.now()));
  }

  /** Closes the window (after a successful claim, so one gesture claims once). */
  close(): void {
    this.until = -Infinity;
  }

  onOpen(listener: (reason: PresenceReason, windowMs: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function sameCode(typed: string, code: string): boolean {
  const a = Buffer.from(typed.padEnd(16, 'x').slice(0, 16));
  const b = Buffer.from(code.padEnd(16, 'x').slice(0, 16));
  return typed.length === code.length && timingSafeEqual(a, b);
}

/**
 * Sits between the board and the lock: forwards every input, and while the lock is in setup mode turns
 * "setup code then #" on the keypad and inside-button presses into presence.
 */
export function presenceInputs(
  lock: LockInputs & { status(): { setupMode: boolean } },
  presence: PresenceWindow,
  setupCode: () => string | null,
): LockInputs {
  let typed = '';
  return {
    pressKey(key: string): void {
      const code = setupCode();
      if (code === null || !lock.status().setupMode) {
        typed = '';
        lock.pressKey(key);
        return;
      }
      if (key === '#') {
        const match = sameCode(typed, code);
        typed = '';
        if (match) {
          lock.pressKey('*'); // clear the engine's entry: the code is not a PIN attempt
          presence.open('keypad');
          return;
        }
      } else if (key === '*') typed = '';
      else if (typed.length < 16) typed += key;
      lock.pressKey(key);
    },
    insideButton(): unknown {
      const r = lock.insideButton();
      if (lock.status().setupMode) presence.open('button');
      return r;
    },
    doorChanged: (open) => lock.doorChanged(open),
    tamperChanged: (active) => lock.tamperChanged(active),
    presentCard: (uid) => lock.presentCard(uid),
    presentFingerprint: (id) => lock.presentFingerprint(id),
  };
}
