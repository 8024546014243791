// Deterministic randomness for tests: SHA-256 in counter mode over a seed (not for production keys).
import { createHash } from 'node:crypto';
import type { Random } from '../../firmware/types.ts';

export class SeededRandom implements Random {
  private counter = 0;

  constructor(private readonly seed: string = 'keyway-test') {}

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const block = createHash('sha256').update(this.seed).update(String(this.counter++)).digest();
      const take = Math.min(block.length, n - off);
      out.set(block.subarray(0, take), off);
      off += take;
    }
    return out;
  }
}
