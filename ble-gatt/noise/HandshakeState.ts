// Noise HandshakeState (spec 5.3) for the 25519/ChaChaPoly/SHA256 suite, driven by a pattern table.
import type { Random } from '../../firmware/index.ts';
import { BleError } from '../errors.ts';
import type { CipherState } from './CipherState.ts';
import { DHLEN, TAGLEN, concat, dh, keyPairFromPrivate, type KeyPair } from './cryptoFunctions.ts';
import { PATTERNS, protocolName, type HandshakePattern, type PatternName } from './patterns.ts';
import { SymmetricState } from './SymmetricState.ts';

/** Largest Noise message (spec section 3). */
export const NOISE_MAX_MESSAGE = 65535;

export interface HandshakeOptions {
  pattern: PatternName;
  initiator: boolean;
  /** Bound into the handshake hash; both sides must use the same bytes (keyway: the lock's challenge). */
  prologue?: Uint8Array;
  /** Our static key pair, when the pattern sends or pre-shares it. */
  s?: KeyPair;
  /** The peer's static public key known in advance (IK/NK/XK initiator; KK both). */
  rs?: Uint8Array;
  /** Fixed ephemeral key pair: for test vectors only. Otherwise one is drawn from `random`. */
  e?: KeyPair;
  random?: Random;
}

/** What a finished handshake yields. */
export interface HandshakeResult {
  /** Encrypts what we send. */
  readonly send: CipherState;
  /** Decrypts what we receive. */
  readonly receive: CipherState;
  /** The final handshake hash h: a channel binding value unique to this session. */
  readonly handshakeHash: Uint8Array;
  /** The peer's static public key (authenticated by the handshake), if the pattern carries one. */
  readonly remoteStatic: Uint8Array | null;
}

export class HandshakeState {
  readonly pattern: PatternName;
  readonly initiator: boolean;
  readonly #tokens: HandshakePattern;
  readonly #ss: SymmetricState;
  readonly #random: Random | undefined;
  #s: KeyPair | undefined;
  #e: KeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  #index = 0;
  #failed = false;
  #result: HandshakeResult | null = null;
  #payloadHash: Uint8Array | null = null;

  constructor(options: HandshakeOptions) {
    const tokens: HandshakePattern | undefined = PATTERNS[options.pattern];
    if (tokens === undefined)
      throw new BleError('noise.unsupported_pattern', `pattern ${String(options.pattern)}`);
    this.pattern = options.pattern;
    this.initiator = options.initiator;
    this.#tokens = tokens;
    this.#random = options.random;
    this.#s = options.s;
    this.#e = options.e;
    this.#rs = options.rs === undefined ? undefined : Uint8Array.from(options.rs);
    if (this.#rs !== undefined && this.#rs.length !== DHLEN) {
      throw new BleError('noise.bad_key', `remote static key must be ${DHLEN} bytes`);
    }
    this.#ss = new SymmetricState(protocolName(options.pattern));
    this.#ss.mixHash(options.prologue ?? new Uint8Array(0));
    // Pre-messages: the initiator's first, then the responder's (spec 5.3 Initialize).
    for (const [side, keys] of [
      ['initiator', tokens.preInitiator],
      ['responder', tokens.preResponder],
    ] as const) {
      if (keys.length === 0) continue;
      const mine = (side === 'initiator') === this.initiator;
      const key = mine ? this.#s?.publicKey : this.#rs;
      if (key === undefined) {
        throw new BleError(
          'noise.bad_key',
          `${this.pattern} needs the ${side}'s static key before the handshake`,
        );
      }
      this.#ss.mixHash(key);
    }
  }

  get isComplete(): boolean {
    return this.#result !== null;
  }

  /** True when the next message is ours to write. */
  get isMyTurn(): boolean {
    return this.#result === null && !this.#failed && this.#index % 2 === (this.initiator ? 0 : 1);
  }

  /** The current handshake hash (changes with every token; final after the last message). */
  handshakeHash(): Uint8Array {
    return this.#ss.handshakeHash();
  }

  /**
   * The handshake hash just before the payload of the last message written or read: what a signature
   * carried in that payload can cover (keyway signs it with the eKey holder key in IK message 1).
   */
  payloadHash(): Uint8Array | null {
    return this.#payloadHash === null ? null : Uint8Array.from(this.#payloadHash);
  }

  /** The peer's static public key once received (or pre-shared). */
  remoteStatic(): Uint8Array | null {
    return this.#rs === undefined ? null : Uint8Array.from(this.#rs);
  }

  /**
   * Writes the next handshake message. `payload` may be a function of the handshake hash before the
   * payload (so the payload can sign it).
   */
  writeMessage(
    payload: Uint8Array | ((hashBeforePayload: Uint8Array) => Uint8Array) = new Uint8Array(0),
  ): Uint8Array {
    const tokens = this.#nextTokens(true);
    try {
      const parts: Uint8Array[] = [];
      for (const token of tokens) {
        switch (token) {
          case 'e': {
            this.#e ??= this.#generateEphemeral();
            parts.push(this.#e.publicKey);
            this.#ss.mixHash(this.#e.publicKey);
            break;
          }
          case 's': {
            if (this.#s === undefined) throw new BleError('noise.bad_key', 'static key pair required');
            parts.push(this.#ss.encryptAndHash(this.#s.publicKey));
            break;
          }
          default:
            this.#mixDh(token);
        }
      }
      this.#payloadHash = this.#ss.handshakeHash();
      const body = typeof payload === 'function' ? payload(this.#payloadHash) : payload;
      parts.push(this.#ss.encryptAndHash(body));
      const message = concat(...parts);
      if (message.length > NOISE_MAX_MESSAGE)
        throw new BleError('noise.bad_length', 'handshake message too long');
      this.#advance();
      return message;
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  /** Reads the next handshake message and returns its payload; any failure ends the handshake. */
  readMessage(message: Uint8Array): Uint8Array {
    const tokens = this.#nextTokens(false);
    try {
      if (message.length > NOISE_MAX_MESSAGE)
        throw new BleError('noise.bad_length', 'handshake message too long');
      let at = 0;
      const take = (n: number): Uint8Array => {
        if (message.length - at < n) throw new BleError('noise.bad_length', 'handshake message too short');
        const out = message.subarray(at, at + n);
        at += n;
        return out;
      };
      for (const token of tokens) {
        switch (token) {
          case 'e': {
            if (this.#re !== undefined) throw new BleError('noise.bad_state', 'remote ephemeral already set');
            this.#re = Uint8Array.from(take(DHLEN));
            this.#ss.mixHash(this.#re);
            break;
          }
          case 's': {
            if (this.#rs !== undefined) throw new BleError('noise.bad_state', 'remote static already set');
            const len = this.#ss.cipher.hasKey() ? DHLEN + TAGLEN : DHLEN;
            this.#rs = this.#ss.decryptAndHash(take(len));
            break;
          }
          default:
            this.#mixDh(token);
        }
      }
      this.#payloadHash = this.#ss.handshakeHash();
      const payload = this.#ss.decryptAndHash(message.subarray(at));
      this.#advance();
      return payload;
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  /** The transport CipherStates and channel binding; only after the last message. */
  result(): HandshakeResult {
    if (this.#result === null) throw new BleError('noise.bad_state', 'handshake not complete');
    return this.#result;
  }

  #nextTokens(writing: boolean): readonly string[] {
    if (this.#failed) throw new BleError('noise.bad_state', 'handshake already failed');
    if (this.#result !== null) throw new BleError('noise.bad_state', 'handshake already complete');
    const tokens = this.#tokens.messages[this.#index];
    if (tokens === undefined) throw new BleError('noise.bad_state', 'no more handshake messages');
    if (writing !== this.isMyTurn) {
      throw new BleError('noise.bad_state', writing ? 'not our turn to write' : 'not our turn to read');
    }
    return tokens;
  }

  #advance(): void {
    this.#index += 1;
    if (this.#index < this.#tokens.messages.length) return;
    const [c1, c2] = this.#ss.split();
    this.#result = {
      send: this.initiator ? c1 : c2,
      receive: this.initiator ? c2 : c1,
      handshakeHash: this.#ss.handshakeHash(),
      remoteStatic: this.remoteStatic(),
    };
    // Ephemeral private keys are no longer needed (forward secrecy).
    this.#e?.privateKey.fill(0);
  }

  #mixDh(token: string): void {
    // The first letter names the initiator's key, the second the responder's (ee, es, se, ss).
    const mine = this.initiator ? token[0] : token[1];
    const theirs = this.initiator ? token[1] : token[0];
    const local = mine === 'e' ? this.#e : this.#s;
    const remote = theirs === 'e' ? this.#re : this.#rs;
    if (local === undefined || remote === undefined) {
      throw new BleError(
        'noise.bad_key',
        `${local === undefined ? 'local' : 'remote'} key missing for ${token}`,
      );
    }
    this.#ss.mixKey(dh(local, remote));
  }

  #generateEphemeral(): KeyPair {
    if (this.#random === undefined)
      throw new BleError('noise.bad_state', 'no random source for the ephemeral key');
    return keyPairFromPrivate(this.#random.bytes(DHLEN));
  }
}
