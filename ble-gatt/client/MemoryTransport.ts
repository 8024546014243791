// A phone connected to a LockService without any radio: fragments go straight to the lock's session and
// notifications come back on the next microtask. For tests and the benchmark baseline; `tap` sees every
// fragment (to record, replay or tamper with traffic).
import type { LockService } from '../server/LockService.ts';
import type { LockSession } from '../server/LockSession.ts';
import type { PhoneTransport } from './PhoneSession.ts';

export type Direction = 'to_lock' | 'to_phone';

export interface MemoryTransportOptions {
  mtu?: number;
  /** Sees every fragment; return a replacement (tampering) or null to drop it. */
  tap?: (dir: Direction, fragment: Uint8Array) => Uint8Array | null | void;
}

export class MemoryTransport implements PhoneTransport {
  readonly mtu: number;
  readonly session: LockSession;
  readonly #tap: MemoryTransportOptions['tap'];
  #fragmentListener: ((f: Uint8Array) => void) | null = null;
  #closeListener: ((why: string) => void) | null = null;
  #closed = false;
  /** Status reads made (for the round-trip count). */
  statusReads = 0;

  constructor(service: LockService, opts: MemoryTransportOptions = {}) {
    this.mtu = opts.mtu ?? 247;
    this.#tap = opts.tap;
    this.session = service.connect({
      send: (f) => {
        const out = this.#through('to_phone', f);
        if (out === null) return;
        queueMicrotask(() => {
          if (!this.#closed) this.#fragmentListener?.(out);
        });
      },
      disconnect: () => queueMicrotask(() => this.#end('disconnected by the lock')),
    });
    this.session.setMtu(this.mtu);
  }

  readStatus(): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error('not connected'));
    this.statusReads += 1;
    return Promise.resolve(this.session.readStatus());
  }

  write(fragment: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('not connected'));
    const out = this.#through('to_lock', fragment);
    if (out !== null) this.session.receive(out);
    return Promise.resolve();
  }

  onFragment(listener: (f: Uint8Array) => void): void {
    this.#fragmentListener = listener;
  }

  onClose(listener: (why: string) => void): void {
    this.#closeListener = listener;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.session.closed();
      this.#end('closed by the phone');
    }
    return Promise.resolve();
  }

  #through(dir: Direction, f: Uint8Array): Uint8Array | null {
    const copy = Uint8Array.from(f);
    if (this.#tap === undefined) return copy;
    const r = this.#tap(dir, copy);
    return r === undefined ? copy : r;
  }

  #end(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.session.closed();
    this.#closeListener?.(why);
  }
}
