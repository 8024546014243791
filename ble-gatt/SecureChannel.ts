// The transport phase of a session: after the Noise handshake every message is sealed with the transport
// CipherStates. The counter is the Noise nonce and is implicit, so a replayed, reordered, dropped or
// altered message fails authentication, and the first failure closes the channel for good.
import { BleError } from './errors.ts';
import type { CipherState } from './noise/CipherState.ts';
import { TAGLEN } from './noise/cryptoFunctions.ts';
import type { HandshakeResult, HandshakeState } from './noise/HandshakeState.ts';

/** Largest plaintext of one transport message; a sealed message then fits the 4 KiB frame limit. */
export const DEFAULT_MAX_PLAINTEXT = 4096 - TAGLEN - 8;

export type ChannelCloseReason = 'closed' | 'decrypt_failed' | 'too_large' | 'nonce_exhausted';

export class SecureChannel {
  /** The final Noise handshake hash: the session's channel-binding value. */
  readonly handshakeHash: Uint8Array;
  /** The peer's static X25519 key as authenticated by the handshake (null for NN/NK-style patterns). */
  readonly remoteStatic: Uint8Array | null;
  readonly maxPlaintext: number;
  readonly #send: CipherState;
  readonly #receive: CipherState;
  #closed: ChannelCloseReason | null = null;

  constructor(result: HandshakeResult, options: { maxPlaintext?: number } = {}) {
    this.#send = result.send;
    this.#receive = result.receive;
    this.handshakeHash = Uint8Array.from(result.handshakeHash);
    this.remoteStatic = result.remoteStatic === null ? null : Uint8Array.from(result.remoteStatic);
    this.maxPlaintext = options.maxPlaintext ?? DEFAULT_MAX_PLAINTEXT;
  }

  static fromHandshake(handshake: HandshakeState, options?: { maxPlaintext?: number }): SecureChannel {
    return new SecureChannel(handshake.result(), options);
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  get closeReason(): ChannelCloseReason | null {
    return this.#closed;
  }

  /** Messages sealed so far (= the next send nonce). */
  get sentCount(): bigint {
    return this.#send.nonce;
  }

  /** Messages opened so far (= the next expected receive nonce). */
  get receivedCount(): bigint {
    return this.#receive.nonce;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    this.#assertOpen();
    if (plaintext.length > this.maxPlaintext) {
      throw new BleError(
        'session.too_large',
        `plaintext of ${plaintext.length} bytes exceeds ${this.maxPlaintext}`,
      );
    }
    try {
      return this.#send.encryptWithAd(new Uint8Array(0), plaintext);
    } catch (err) {
      this.#kill('nonce_exhausted');
      throw err;
    }
  }

  /** Opens the next message; any failure closes the channel (the session must be restarted). */
  open(ciphertext: Uint8Array): Uint8Array {
    this.#assertOpen();
    if (ciphertext.length > this.maxPlaintext + TAGLEN) {
      this.#kill('too_large');
      throw new BleError('session.too_large', `ciphertext of ${ciphertext.length} bytes exceeds the limit`);
    }
    try {
      return this.#receive.decryptWithAd(new Uint8Array(0), ciphertext);
    } catch (cause) {
      const exhausted = cause instanceof BleError && cause.reason === 'noise.nonce_exhausted';
      this.#kill(exhausted ? 'nonce_exhausted' : 'decrypt_failed');
      if (exhausted) throw cause;
      throw new BleError(
        'session.decrypt_failed',
        `message ${this.#receive.nonce} failed authentication (tampered, replayed, reordered or dropped)`,
        { cause },
      );
    }
  }

  close(): void {
    this.#kill('closed');
  }

  #kill(reason: ChannelCloseReason): void {
    if (this.#closed === null) this.#closed = reason;
    this.#send.clear();
    this.#receive.clear();
  }

  #assertOpen(): void {
    if (this.#closed !== null) throw new BleError('session.closed', `channel closed (${this.#closed})`);
  }
}
