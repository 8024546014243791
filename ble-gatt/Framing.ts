// Fragmentation of a message into ATT-sized GATT writes/notifications, and bounded reassembly.
//
// Fragment = header byte, then (first fragment only) the message length as 2 bytes big-endian, then data.
// Header bits: 0x80 FIRST, 0x40 LAST, 0x30 reserved (must be 0), 0x0F sequence number (0 on the first
// fragment of each message, +1 mod 16 on each following one). Every fragment carries >= 1 data byte.
import { BleError } from './errors.ts';

export const FLAG_FIRST = 0x80;
export const FLAG_LAST = 0x40;
const RESERVED_BITS = 0x30;
const SEQ_MASK = 0x0f;

export const MIN_ATT_MTU = 23;
export const MAX_ATT_MTU = 517;
/** An attribute value (and so one write or notification) is at most 512 bytes (Core spec Vol 3 Part F 3.2.9). */
export const MAX_ATTRIBUTE_VALUE = 512;
/** Bytes of ATT header (opcode + handle) in a write or notification PDU. */
const ATT_OVERHEAD = 3;
const FIRST_HEADER = 3;
const NEXT_HEADER = 1;

export interface FramingLimits {
  /** Largest reassembled message in bytes. */
  maxMessageSize: number;
  /** Most fragments per message. */
  maxFragments: number;
  /** Longest time from a message's first fragment to its last, in ms of the injected clock. */
  timeoutMs: number;
}

export const DEFAULT_FRAMING_LIMITS: Readonly<FramingLimits> = Object.freeze({
  maxMessageSize: 4096,
  // 4096 bytes at the minimum MTU (20-byte fragments) take 216 fragments.
  maxFragments: 256,
  timeoutMs: 5_000,
});

/** Bytes of one fragment for an ATT MTU: MTU minus the 3-byte ATT header, capped at 512. */
export function fragmentSizeForMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < MIN_ATT_MTU || mtu > MAX_ATT_MTU) {
    throw new BleError('frame.bad_header', `ATT MTU must be an integer in ${MIN_ATT_MTU}..${MAX_ATT_MTU}`);
  }
  return Math.min(mtu - ATT_OVERHEAD, MAX_ATTRIBUTE_VALUE);
}

/** Splits one message into fragments that each fit one write/notification at this ATT MTU. */
export function fragment(
  message: Uint8Array,
  mtu: number,
  maxMessageSize = DEFAULT_FRAMING_LIMITS.maxMessageSize,
): Uint8Array[] {
  const size = fragmentSizeForMtu(mtu);
  if (message.length === 0) throw new BleError('frame.empty', 'cannot send an empty message');
  if (message.length > Math.min(maxMessageSize, 0xffff)) {
    throw new BleError('frame.too_large', `message of ${message.length} bytes exceeds ${maxMessageSize}`);
  }
  const out: Uint8Array[] = [];
  let at = 0;
  let seq = 0;
  while (at < message.length) {
    const first = at === 0;
    const header = first ? FIRST_HEADER : NEXT_HEADER;
    const take = Math.min(size - header, message.length - at);
    const last = at + take === message.length;
    const f = new Uint8Array(header + take);
    f[0] = (first ? FLAG_FIRST : 0) | (last ? FLAG_LAST : 0) | seq;
    if (first) {
      f[1] = message.length >> 8;
      f[2] = message.length & 0xff;
    }
    f.set(message.subarray(at, at + take), header);
    out.push(f);
    at += take;
    seq = (seq + 1) & SEQ_MASK;
  }
  return out;
}

export interface MonotonicClock {
  /** Milliseconds that never go backwards. */
  monotonic(): number;
}

interface InProgress {
  buffer: Uint8Array;
  filled: number;
  fragments: number;
  nextSeq: number;
  lastSeq: number;
  startedAt: number;
}

/**
 * Reassembles fragments of one direction of one connection. `push` returns the message when its last
 * fragment arrives, null while more are expected, and throws a BleError with a frame.* reason on any
 * violation; after an error the partial message is dropped and the next fragment must be a FIRST one.
 */
export class Reassembler {
  readonly limits: FramingLimits;
  readonly #clock: MonotonicClock;
  readonly #maxFragmentSize: number;
  #current: InProgress | null = null;

  constructor(options: { clock: MonotonicClock; mtu?: number; limits?: Partial<FramingLimits> }) {
    this.#clock = options.clock;
    this.limits = { ...DEFAULT_FRAMING_LIMITS, ...options.limits };
    this.#maxFragmentSize = options.mtu === undefined ? MAX_ATTRIBUTE_VALUE : fragmentSizeForMtu(options.mtu);
  }

  /** True while a message is partly received. */
  get busy(): boolean {
    return this.#current !== null;
  }

  /** Drops a partial message whose time is up; returns true if one was dropped (for a periodic sweep). */
  expire(): boolean {
    if (this.#current === null || !this.#timedOut(this.#current)) return false;
    this.#current = null;
    return true;
  }

  reset(): void {
    this.#current = null;
  }

  push(f: Uint8Array): Uint8Array | null {
    try {
      return this.#push(f);
    } catch (err) {
      this.#current = null;
      throw err;
    }
  }

  #push(f: Uint8Array): Uint8Array | null {
    if (f.length < NEXT_HEADER + 1) throw new BleError('frame.truncated', 'fragment without data');
    if (f.length > this.#maxFragmentSize) {
      throw new BleError(
        'frame.fragment_too_long',
        `fragment of ${f.length} bytes exceeds ${this.#maxFragmentSize}`,
      );
    }
    const header = f[0] ?? 0;
    if ((header & RESERVED_BITS) !== 0) throw new BleError('frame.bad_header', 'reserved header bits set');
    const seq = header & SEQ_MASK;
    const first = (header & FLAG_FIRST) !== 0;
    const last = (header & FLAG_LAST) !== 0;
    const now = this.#clock.monotonic();
    if (first) {
      if (this.#current !== null) {
        if (!this.#timedOut(this.#current)) {
          throw new BleError('frame.interleaved', 'a new message started before the previous one ended');
        }
        this.#current = null;
      }
      if (seq !== 0) throw new BleError('frame.out_of_order', 'first fragment must have sequence 0');
      if (f.length < FIRST_HEADER + 1)
        throw new BleError('frame.truncated', 'first fragment shorter than its header');
      const total = ((f[1] ?? 0) << 8) | (f[2] ?? 0);
      if (total === 0) throw new BleError('frame.empty', 'declared length 0');
      if (total > this.limits.maxMessageSize) {
        throw new BleError(
          'frame.too_large',
          `declared length ${total} exceeds ${this.limits.maxMessageSize}`,
        );
      }
      this.#current = {
        buffer: new Uint8Array(total),
        filled: 0,
        fragments: 0,
        nextSeq: 0,
        lastSeq: -1,
        startedAt: now,
      };
      return this.#append(this.#current, f.subarray(FIRST_HEADER), seq, last);
    }
    const cur = this.#current;
    if (cur === null)
      throw new BleError('frame.unexpected_continuation', 'continuation without a first fragment');
    if (this.#timedOut(cur))
      throw new BleError('frame.timeout', `message not complete within ${this.limits.timeoutMs} ms`);
    if (seq !== cur.nextSeq) {
      if (seq === cur.lastSeq) throw new BleError('frame.duplicate', `fragment ${seq} received twice`);
      throw new BleError('frame.out_of_order', `expected fragment ${cur.nextSeq}, got ${seq}`);
    }
    return this.#append(cur, f.subarray(NEXT_HEADER), seq, last);
  }

  #append(cur: InProgress, data: Uint8Array, seq: number, last: boolean): Uint8Array | null {
    cur.fragments += 1;
    if (cur.fragments > this.limits.maxFragments) {
      throw new BleError('frame.too_many_fragments', `more than ${this.limits.maxFragments} fragments`);
    }
    if (cur.filled + data.length > cur.buffer.length) {
      throw new BleError('frame.overrun', `fragments exceed the declared length ${cur.buffer.length}`);
    }
    cur.buffer.set(data, cur.filled);
    cur.filled += data.length;
    cur.lastSeq = seq;
    cur.nextSeq = (seq + 1) & SEQ_MASK;
    if (cur.filled === cur.buffer.length) {
      if (!last) throw new BleError('frame.length_mismatch', 'declared length reached without the LAST flag');
      this.#current = null;
      return cur.buffer;
    }
    if (last)
      throw new BleError(
        'frame.length_mismatch',
        `LAST fragment after ${cur.filled} of ${cur.buffer.length} bytes`,
      );
    return null;
  }

  #timedOut(cur: InProgress): boolean {
    return this.#clock.monotonic() - cur.startedAt > this.limits.timeoutMs;
  }
}
