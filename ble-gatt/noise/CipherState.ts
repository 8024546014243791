// Noise CipherState (spec 5.1): a key k (or none) and a 64-bit counter n used as the AEAD nonce.
import { BleError } from '../errors.ts';
import { MAX_NONCE, decrypt, encrypt, rekey } from './cryptoFunctions.ts';

export class CipherState {
  #k: Uint8Array | null = null;
  #n = 0n;

  constructor(key?: Uint8Array) {
    if (key !== undefined) this.initializeKey(key);
  }

  initializeKey(key: Uint8Array | null): void {
    if (key !== null && key.length !== 32) throw new BleError('noise.bad_key', 'cipher key must be 32 bytes');
    this.#k = key === null ? null : Uint8Array.from(key);
    this.#n = 0n;
  }

  hasKey(): boolean {
    return this.#k !== null;
  }

  /** The next nonce this state will use: the count of messages processed so far. */
  get nonce(): bigint {
    return this.#n;
  }

  /** Spec SetNonce; only for tests and for resuming a counted stream. */
  setNonce(n: bigint): void {
    if (n < 0n || n > MAX_NONCE) throw new BleError('noise.bad_state', 'nonce out of range');
    this.#n = n;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === null) return Uint8Array.from(plaintext);
    // 2^64-1 is reserved: refuse rather than wrap, so a nonce is never reused.
    if (this.#n >= MAX_NONCE)
      throw new BleError('noise.nonce_exhausted', 'cipher nonce exhausted; rekey or restart');
    const out = encrypt(this.#k, this.#n, ad, plaintext);
    this.#n += 1n;
    return out;
  }

  /** Decrypts or throws noise.decrypt_failed; on failure the nonce does not advance. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#k === null) return Uint8Array.from(ciphertext);
    if (this.#n >= MAX_NONCE)
      throw new BleError('noise.nonce_exhausted', 'cipher nonce exhausted; rekey or restart');
    const out = decrypt(this.#k, this.#n, ad, ciphertext);
    if (out === null) throw new BleError('noise.decrypt_failed', 'authentication tag mismatch');
    this.#n += 1n;
    return out;
  }

  rekey(): void {
    if (this.#k === null) throw new BleError('noise.bad_state', 'rekey without a key');
    this.#k = rekey(this.#k);
  }

  /** Forget the key (end of session). */
  clear(): void {
    this.#k?.fill(0);
    this.#k = null;
  }
}
