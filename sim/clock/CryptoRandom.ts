import { randomBytes } from 'node:crypto';
import type { Random } from '../../firmware/index.ts';

/** The operating system's CSPRNG: the random source of a lock that is not a reproducible simulation. */
export class CryptoRandom implements Random {
  bytes(n: number): Uint8Array {
    return new Uint8Array(randomBytes(n));
  }
}
