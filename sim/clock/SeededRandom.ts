import { createHash, createHmac } from 'node:crypto';
import { KeywayError, type Random } from '../../firmware/index.ts';

/**
 * Deterministic random bytes for scenarios and tests: HMAC-SHA-256 in counter mode, keyed with
 * SHA-256(domain || seed). The stream does not depend on how it is split into calls, so bytes(16) twice
 * equals bytes(32). Never use it for a real lock; it exists so that runs repeat exactly.
 */
export class SeededRandom implements Random {
  private readonly key: Buffer;
  private counter = 0n;
  private pool: Uint8Array = new Uint8Array(0);

  constructor(seed: string | number | Uint8Array) {
    const seedBytes =
      typeof seed === 'string' || typeof seed === 'number' ? Buffer.from(String(seed), 'utf8') : seed;
    this.key = createHash('sha256').update('keyway-sim-drbg/v1\0').update(seedBytes).digest();
  }

  bytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new KeywayError('invalid_argument', `bytes(n) needs a non-negative integer, got ${n}`);
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.pool.length === 0) this.pool = this.block();
      const take = Math.min(n - filled, this.pool.length);
      out.set(this.pool.subarray(0, take), filled);
      this.pool = this.pool.subarray(take);
      filled += take;
    }
    return out;
  }

  private block(): Uint8Array {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(this.counter++);
    return new Uint8Array(createHmac('sha256', this.key).update(counter).digest());
  }
}
