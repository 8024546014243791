// The phone's side of one connection (docs/protocol.md sections 5-8 and 14): reads the status, runs the
// Noise handshake (IK with a known lock key and an eKey proof, or XX to claim), then sends sealed,
// numbered requests and matches responses by id. Transport-agnostic: a PhoneTransport moves fragments
// (noble in NobleTransport.ts, an in-memory link in tests). Every wait has a deadline.
import { KeywayError, type Random } from '../../firmware/index.ts';
import { isBleError } from '../errors.ts';
import { fragment, Reassembler, type MonotonicClock } from '../Framing.ts';
import { HandshakeState } from '../noise/HandshakeState.ts';
import type { KeyPair } from '../noise/cryptoFunctions.ts';
import { claimIdentities, setupCodeSecret } from '../pake/setupCode.ts';
import { Spake2PlusProver } from '../pake/Spake2Plus.ts';
import { SecureChannel } from '../SecureChannel.ts';
import { signSessionProof } from '../SessionProof.ts';
import type { ArgsOf, CommandName, ResultOf } from '../protocol/commands.ts';
import { decodeResponseTo, encodeRequest, type Request, type Response } from '../protocol/envelope.ts';
import type { ResponseErrorCode } from '../protocol/errorCodes.ts';
import {
  decodeIncoming,
  decodeRespPayload,
  encodeClear,
  encodeInitPayload,
  encodeSealed,
  type ClearMessage,
  type InitPayload,
} from '../protocol/handshake.ts';
import { decodeStatus, prologue, type Status } from '../protocol/status.ts';

export interface PhoneTransport {
  /** Reads the status characteristic value. */
  readStatus(): Promise<Uint8Array>;
  /** One write on the client -> lock characteristic. */
  write(fragment: Uint8Array): Promise<void>;
  /** Receives each notification of the lock -> client characteristic (set once, before the first write). */
  onFragment(listener: (f: Uint8Array) => void): void;
  /** Called once when the link is gone. */
  onClose(listener: (why: string) => void): void;
  /** The ATT MTU of the connection. */
  readonly mtu: number;
  close(): Promise<void>;
}

/** A refusal, an alert or a failure of the session, with the lock's code when it sent one. */
export class PhoneSessionError extends KeywayError {
  constructor(
    readonly kind: 'refused' | 'alert' | 'timeout' | 'closed' | 'protocol',
    /** The response error code (refused), the alert code (alert), or a short reason. */
    readonly reason: string,
    message: string,
  ) {
    super(kind === 'refused' && reason === 'not_authorized' ? 'not_authorized' : 'protocol', message);
    this.name = 'PhoneSessionError';
  }
}

/** The phone's eKey and the holder key that proves possession of it. */
export interface HolderProof {
  ekey: Uint8Array;
  /** 32-byte Ed25519 private key (seed) of the eKey's cnf key. */
  holderSeed: Uint8Array;
}

export interface PhoneSessionOptions {
  random: Random;
  /** The phone's Noise static key pair (X25519). */
  staticKey: KeyPair;
  /** Deadline for each response, ms (default 10 s). */
  timeoutMs?: number;
  clock?: MonotonicClock;
}

export interface ClaimOptions extends PhoneSessionOptions {
  setupCode: string;
  /** Raw Ed25519 public key that becomes the owner key (trust anchor). */
  ownerKey: Uint8Array;
  ownerName?: string;
  pinSecret: Uint8Array;
}

export interface ConnectOptions extends PhoneSessionOptions {
  /** The lock's static key (from the claim, or from the eKey bundle): IK. */
  lockKey: Uint8Array;
  proof?: HolderProof;
  /** One request answered inside the handshake (unlock in two round trips). */
  early?: { cmd: CommandName; args: unknown };
}

const wallClock: MonotonicClock = { monotonic: () => performance.now() };

type Waiter = { resolve: (b: Uint8Array) => void; reject: (e: Error) => void };

export class PhoneSession {
  readonly status: Status;
  #channel: SecureChannel | null = null;
  readonly #transport: PhoneTransport;
  readonly #reassembler: Reassembler;
  readonly #timeoutMs: number;
  readonly #inbox: Uint8Array[] = [];
  readonly #waiters: Waiter[] = [];
  #closed: PhoneSessionError | null = null;
  #nextId = 1;
  /** Counters for the benchmark: messages and fragments each way. */
  /** `waits`: times the phone waited for the lock's answer (one round trip each; status reads not included). */
  readonly stats = { writes: 0, notifications: 0, bytesOut: 0, bytesIn: 0, waits: 0 };

  private constructor(transport: PhoneTransport, status: Status, opts: PhoneSessionOptions) {
    this.#transport = transport;
    this.status = status;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#reassembler = new Reassembler({ clock: opts.clock ?? wallClock });
    transport.onFragment((f) => this.#onFragment(f));
    transport.onClose((why) => this.#onClose(why));
  }

  /** Reads the status characteristic (no session yet). */
  static async readStatus(transport: PhoneTransport): Promise<{ status: Status; bytes: Uint8Array }> {
    const bytes = await transport.readStatus();
    try {
      return { status: decodeStatus(bytes), bytes };
    } catch (err) {
      throw new PhoneSessionError('protocol', 'status', `the lock's status is not readable: ${String(err)}`);
    }
  }

  /** IK session with a lock whose static key is known; optional eKey proof and early request. */
  static async connect(
    transport: PhoneTransport,
    opts: ConnectOptions,
  ): Promise<{ session: PhoneSession; early: Response | null }> {
    const { status, bytes } = await PhoneSession.readStatus(transport);
    const s = new PhoneSession(transport, status, opts);
    const hs = new HandshakeState({
      pattern: 'IK',
      initiator: true,
      prologue: prologue(bytes),
      s: opts.staticKey,
      rs: opts.lockKey,
      random: opts.random,
    });
    let earlyReq: Request | undefined;
    if (opts.early !== undefined)
      earlyReq = { id: s.#nextId++, cmd: opts.early.cmd, args: opts.early.args } as Request;
    const m1 = hs.writeMessage((h) => {
      const payload: InitPayload = {};
      if (opts.proof !== undefined) {
        payload.proof = {
          ekey: opts.proof.ekey,
          sig: signSessionProof(opts.proof.holderSeed, h, opts.proof.ekey),
        };
      }
      if (earlyReq !== undefined) payload.req = earlyReq;
      return encodeInitPayload(payload);
    });
    await s.#sendClear({ t: 'hs.init', v: status.v, p: 'IK', ch: status.ch, m: m1 });
    const resp = await s.#nextClear('hs.resp');
    let early: Response | null = null;
    try {
      const payload = decodeRespPayload(hs.readMessage(resp.m), earlyReq);
      early = payload.res ?? null;
    } catch (err) {
      await s.close();
      throw new PhoneSessionError(
        'protocol',
        'handshake',
        `the lock's handshake answer is invalid (${errText(err)})`,
      );
    }
    s.#channel = SecureChannel.fromHandshake(hs);
    return { session: s, early };
  }

  /** Claims a lock in setup mode: XX, then SPAKE2+ with the setup code. */
  static async claim(
    transport: PhoneTransport,
    opts: ClaimOptions,
  ): Promise<{ session: PhoneSession; result: ResultOf<'claim.finish'> }> {
    const { status, bytes } = await PhoneSession.readStatus(transport);
    if (!status.setup)
      throw new PhoneSessionError('refused', 'already_claimed', 'the lock is not in setup mode');
    const s = new PhoneSession(transport, status, opts);
    const hs = new HandshakeState({
      pattern: 'XX',
      initiator: true,
      prologue: prologue(bytes),
      s: opts.staticKey,
      random: opts.random,
    });
    await s.#sendClear({ t: 'hs.init', v: status.v, p: 'XX', ch: status.ch, m: hs.writeMessage() });
    const resp = await s.#nextClear('hs.resp');
    let params;
    try {
      params = decodeRespPayload(hs.readMessage(resp.m)).claim;
    } catch (err) {
      await s.close();
      throw new PhoneSessionError(
        'protocol',
        'handshake',
        `the lock's handshake answer is invalid (${errText(err)})`,
      );
    }
    if (params === undefined) {
      await s.close();
      throw new PhoneSessionError('protocol', 'handshake', 'the lock sent no claim parameters');
    }
    await s.#sendClear({ t: 'hs.fin', m: hs.writeMessage() });
    s.#channel = SecureChannel.fromHandshake(hs);
    try {
      const secret = setupCodeSecret(opts.setupCode, params);
      const prover = new Spake2PlusProver({
        ...claimIdentities(s.#channel.handshakeHash),
        ...secret,
        random: opts.random,
      });
      const start = await s.request('claim.start', { share: prover.share() });
      let confirmP: Uint8Array;
      try {
        confirmP = prover.finish(start.share, start.confirm).confirmP;
      } catch {
        throw new PhoneSessionError(
          'refused',
          'claim_failed',
          'the lock did not confirm the setup code (wrong code, or someone in the middle)',
        );
      } finally {
        secret.w0.fill(0);
        secret.w1.fill(0);
      }
      const result = await s.request('claim.finish', {
        confirm: confirmP,
        ownerKey: opts.ownerKey,
        pinSecret: opts.pinSecret,
        ...(opts.ownerName === undefined ? {} : { ownerName: opts.ownerName }),
      });
      return { session: s, result };
    } catch (err) {
      await s.close();
      throw err;
    }
  }

  get handshakeHash(): Uint8Array {
    return this.#channel!.handshakeHash;
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  /** Sends one request and returns its result, or throws PhoneSessionError ('refused' with the lock's code). */
  async request<C extends CommandName>(cmd: C, args: ArgsOf<C>): Promise<ResultOf<C>> {
    const chunks = await this.#exchange(cmd, args);
    return chunks[0]!;
  }

  /** A streamed command (audit.pull): every chunk's result, in order. */
  async stream<C extends CommandName>(cmd: C, args: ArgsOf<C>): Promise<ResultOf<C>[]> {
    return this.#exchange(cmd, args);
  }

  /** Sends raw bytes as one framed message (tests and fuzzing). */
  async sendRaw(message: Uint8Array): Promise<void> {
    for (const f of fragment(message, this.#transport.mtu)) await this.#write(f);
  }

  async close(): Promise<void> {
    this.#fail(new PhoneSessionError('closed', 'local', 'session closed'));
    this.#channel?.close();
    await this.#transport.close();
  }

  // ------------------------------------------------------------------ internals

  async #exchange<C extends CommandName>(cmd: C, args: ArgsOf<C>): Promise<ResultOf<C>[]> {
    const channel = this.#channel;
    if (channel === null) throw new PhoneSessionError('protocol', 'state', 'no session');
    if (this.#closed) throw this.#closed;
    const id = this.#nextId++;
    await this.sendRaw(encodeSealed(channel.seal(encodeRequest(id, cmd, args))));
    const out: ResultOf<C>[] = [];
    for (;;) {
      const bytes = await this.#next();
      let incoming;
      try {
        incoming = decodeIncoming(bytes);
      } catch (err) {
        throw this.#protocolError(`undecodable message (${errText(err)})`);
      }
      if (incoming.kind === 'clear') {
        const m = incoming.message;
        if (m.t === 'alert') throw this.#alert(m.code);
        throw this.#protocolError(`unexpected clear ${m.t}`);
      }
      let plain: Uint8Array;
      try {
        plain = channel.open(incoming.ciphertext);
      } catch (err) {
        throw this.#protocolError(`a response failed authentication (${errText(err)})`);
      }
      let r: Response<C>;
      try {
        r = decodeResponseTo(plain, { id, cmd });
      } catch (err) {
        throw this.#protocolError(`invalid response to ${cmd} (${errText(err)})`);
      }
      if (r.id !== id) throw this.#protocolError(`response to request ${r.id}, expected ${id}`);
      if ('err' in r) throw refusal(cmd, r.err.code, r.err.message);
      out.push(r.ok);
      if (r.more !== true) return out;
    }
  }

  #alert(code: string): PhoneSessionError {
    const e = new PhoneSessionError('alert', code, `the lock ended the session: ${code}`);
    this.#fail(e);
    return e;
  }

  #protocolError(text: string): PhoneSessionError {
    const e = new PhoneSessionError('protocol', 'protocol', text);
    this.#fail(e);
    return e;
  }

  async #sendClear(m: ClearMessage): Promise<void> {
    await this.sendRaw(encodeClear(m));
  }

  async #write(f: Uint8Array): Promise<void> {
    if (this.#closed) throw this.#closed;
    this.stats.writes += 1;
    this.stats.bytesOut += f.length;
    await this.#transport.write(f);
  }

  async #nextClear<T extends ClearMessage['t']>(t: T): Promise<Extract<ClearMessage, { t: T }>> {
    const bytes = await this.#next();
    let incoming;
    try {
      incoming = decodeIncoming(bytes);
    } catch (err) {
      throw this.#protocolError(`undecodable handshake message (${errText(err)})`);
    }
    if (incoming.kind !== 'clear') throw this.#protocolError('expected a clear handshake message');
    const m = incoming.message;
    if (m.t === 'alert') throw this.#alert(m.code);
    if (m.t !== t) throw this.#protocolError(`expected ${t}, got ${m.t}`);
    return m as Extract<ClearMessage, { t: T }>;
  }

  #next(): Promise<Uint8Array> {
    this.stats.waits += 1;
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(
          new PhoneSessionError('timeout', 'timeout', `no answer from the lock within ${this.#timeoutMs} ms`),
        );
      }, this.#timeoutMs);
      const w: Waiter = {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(w);
    });
  }

  #onFragment(f: Uint8Array): void {
    this.stats.notifications += 1;
    this.stats.bytesIn += f.length;
    let message: Uint8Array | null;
    try {
      message = this.#reassembler.push(f);
    } catch (err) {
      this.#fail(new PhoneSessionError('protocol', 'frame', `bad fragment from the lock (${errText(err)})`));
      return;
    }
    if (message === null) return;
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(message);
    else this.#inbox.push(message);
  }

  /** The link dropped: an alert the lock sent just before explains why better than the drop itself. */
  #onClose(why: string): void {
    for (const m of this.#inbox) {
      try {
        const inc = decodeIncoming(m);
        if (inc.kind === 'clear' && inc.message.t === 'alert') {
          this.#fail(
            new PhoneSessionError(
              'alert',
              inc.message.code,
              `the lock ended the session: ${inc.message.code}`,
            ),
          );
          return;
        }
      } catch {
        // not an alert
      }
    }
    this.#fail(new PhoneSessionError('closed', 'link', `connection closed: ${why}`));
  }

  #fail(e: PhoneSessionError): void {
    if (this.#closed === null) this.#closed = e;
    for (const w of this.#waiters.splice(0)) w.reject(this.#closed);
  }
}

function refusal(cmd: string, code: ResponseErrorCode, message?: string): PhoneSessionError {
  return new PhoneSessionError(
    'refused',
    code,
    `${cmd} refused: ${code}${message === undefined ? '' : ` (${message})`}`,
  );
}

function errText(err: unknown): string {
  if (isBleError(err)) return err.reason;
  return err instanceof Error ? err.message : String(err);
}
