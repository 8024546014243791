// One phone connection, lock side: the protocol state machine of docs/protocol.md sections 5-8 and 13.
// Pure and transport-agnostic: fragments come in through receive(), go out through link.send(), the
// status characteristic is read with readStatus(). Nothing in here throws at the transport: every bad
// input ends as an alert (and a disconnect) or an error response, and never changes the lock.
//
//   connected --hs.init IK--> established           (one round trip; proof + early request inside)
//   connected --hs.init XX--> xx (setup mode only) --hs.fin--> established (claim.start, claim.finish)
import { constantTimeEqual, isKeywayError } from '../../firmware/index.ts';
import { BleError, isBleError } from '../errors.ts';
import { fragment, Reassembler } from '../Framing.ts';
import { HandshakeState } from '../noise/HandshakeState.ts';
import { SecureChannel } from '../SecureChannel.ts';
import {
  decodeIncoming,
  decodeInitPayload,
  encodeClear,
  encodeRespPayload,
  encodeSealed,
  type AlertCode,
  type InitPayload,
} from '../protocol/handshake.ts';
import {
  decodeRequest,
  encodeResponse,
  errResponse,
  requestIdOf,
  type Request,
  type Response,
} from '../protocol/envelope.ts';
import type { CommandName } from '../protocol/commands.ts';
import { CHALLENGE_LENGTH, PROTOCOL_VERSION, encodeStatus, prologue } from '../protocol/status.ts';
import { TokenBucket } from './limits.ts';
import type { LockService } from './LockService.ts';
import { CommandContext, type Principal } from './commands.ts';

export interface SessionLink {
  /** Sends one fragment on the lock -> client characteristic (a notification). */
  send(fragment: Uint8Array): void;
  /** Drops the connection (called once, after any alert was sent). */
  disconnect(): void;
}

export type SessionState = 'connected' | 'xx' | 'established' | 'closed';

const DEFAULT_MTU = 23;

export class LockSession {
  #state: SessionState = 'connected';
  #mtu = DEFAULT_MTU;
  readonly #reassembler: Reassembler;
  readonly #requests: TokenBucket;
  #rateLimited = 0;
  #challenge: Uint8Array | null = null;
  #challengeAt = 0;
  #challengeUsed = false;
  /** The status bytes last read (the prologue is built from exactly these). */
  #statusBytes: Uint8Array | null = null;
  readonly #connectedAt: number;
  #lastActivity: number;
  #handshake: HandshakeState | null = null;
  #channel: SecureChannel | null = null;
  #pattern: 'IK' | 'XX' | null = null;
  #commands: CommandContext | null = null;
  #closeWhy: string | null = null;

  constructor(
    private readonly service: LockService,
    readonly id: number,
    private readonly link: SessionLink,
    admitted: boolean,
  ) {
    const now = service.now();
    this.#connectedAt = now;
    this.#lastActivity = now;
    this.#reassembler = new Reassembler({ clock: service.options.clock, limits: service.limits.framing });
    this.#requests = new TokenBucket(service.limits.requestBurst, service.limits.requestRefillMs, now);
    if (admitted) this.#issueChallenge();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Who the session acts for, once an eKey proof (or a claim) established it. */
  get principal(): Principal | null {
    return this.#commands?.principal ?? null;
  }

  /** The final Noise handshake hash (channel binding), once established. */
  get handshakeHash(): Uint8Array | null {
    return this.#channel?.handshakeHash ?? null;
  }

  /** Why the session ended (for logs and tests). */
  get closeReason(): string | null {
    return this.#closeWhy;
  }

  /** The ATT MTU negotiated for this connection (fragments we send are MTU - 3 bytes). */
  setMtu(mtu: number): void {
    if (Number.isInteger(mtu) && mtu >= 23 && mtu <= 517) this.#mtu = mtu;
  }

  get mtu(): number {
    return this.#mtu;
  }

  /**
   * The status characteristic value: protocol version, setup flag and this connection's challenge. An
   * expired challenge is replaced (within the lock's challenge budget); a used one is not.
   */
  readStatus(): Uint8Array {
    const setup = this.#setupMode();
    const now = this.service.now();
    if (
      this.#state === 'connected' &&
      !this.#challengeUsed &&
      (this.#challenge === null || now - this.#challengeAt > this.service.limits.challengeTtlMs) &&
      this.service.reissueAllowed()
    ) {
      this.#issueChallenge();
    }
    const ch = this.#challenge ?? new Uint8Array(CHALLENGE_LENGTH);
    this.#statusBytes = encodeStatus({ v: PROTOCOL_VERSION, setup, ch });
    return this.#statusBytes;
  }

  /** One write on the client -> lock characteristic. Never throws. */
  receive(f: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.#lastActivity = this.service.now();
    let message: Uint8Array | null;
    try {
      message = this.#reassembler.push(f);
    } catch (err) {
      this.abort('frame_error', isBleError(err) ? err.reason : 'bad fragment');
      return;
    }
    if (message === null) return;
    try {
      this.#onMessage(message);
    } catch (err) {
      // A bug or an unexpected failure: end the connection, never the lock.
      this.abort('bad_message', `internal: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The transport went away (disconnect, link loss). */
  closed(): void {
    this.#finish('link closed');
  }

  /** Ends the session, sending an alert first when there is one. */
  abort(alert: AlertCode | null, why: string): void {
    if (this.#state === 'closed') return;
    if (alert !== null) {
      try {
        this.#sendMessage(encodeClear({ t: 'alert', code: alert }));
      } catch {
        // the alert is best effort
      }
    }
    this.#finish(why, alert);
    try {
      this.link.disconnect();
    } catch {
      // already gone
    }
  }

  /** Timeouts: handshake deadline, idle session, a partial message past its time. */
  sweep(): void {
    if (this.#state === 'closed') return;
    const now = this.service.now();
    const limits = this.service.limits;
    if (this.#state !== 'established' && now - this.#connectedAt > limits.handshakeTimeoutMs) {
      this.abort('timeout', 'handshake timeout');
    } else if (this.#state === 'established' && now - this.#lastActivity > limits.idleTimeoutMs) {
      this.abort('timeout', 'idle timeout');
    } else if (this.#reassembler.expire()) {
      this.abort('frame_error', 'frame.timeout');
    }
  }

  /** Ends the session if its eKey or user lost its rights (THREATS 17). */
  revalidate(): void {
    if (this.#state !== 'established' || this.#commands === null) return;
    const why = this.#commands.stillValid();
    if (why !== null) this.abort('session_failed', `access withdrawn: ${why}`);
  }

  // ------------------------------------------------------------------ internals

  #setupMode(): boolean {
    return this.service.lock.status().setupMode;
  }

  #issueChallenge(): void {
    this.#challenge = this.service.options.random.bytes(CHALLENGE_LENGTH);
    this.#challengeAt = this.service.now();
    this.#statusBytes = null;
  }

  #finish(why: string, alert: AlertCode | null = null): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeWhy = why;
    this.#channel?.close();
    this.#handshake = null;
    this.#reassembler.reset();
    this.service.forget(this);
    this.service.emit({ kind: 'close', session: this.id, alert, why });
  }

  #sendMessage(message: Uint8Array): void {
    for (const f of fragment(message, this.#mtu)) this.link.send(f);
  }

  #onMessage(bytes: Uint8Array): void {
    let incoming;
    try {
      incoming = decodeIncoming(bytes);
    } catch (err) {
      const version = isBleError(err, 'wire.unsupported_version');
      this.abort(
        version ? 'unsupported_version' : 'bad_message',
        isBleError(err) ? err.reason : 'bad message',
      );
      return;
    }
    switch (this.#state) {
      case 'connected':
        if (incoming.kind === 'clear' && incoming.message.t === 'hs.init') {
          this.#onInit(incoming.message);
        } else this.#refuseClear(incoming.kind === 'clear' ? incoming.message.t : 'sealed');
        return;
      case 'xx':
        if (incoming.kind === 'clear' && incoming.message.t === 'hs.fin') this.#onFin(incoming.message.m);
        else if (incoming.kind === 'clear' && incoming.message.t === 'alert') this.#finish('phone alert');
        else this.abort('handshake_failed', 'expected hs.fin');
        return;
      case 'established':
        if (incoming.kind === 'sealed') this.#onSealed(incoming.ciphertext);
        else this.#refuseClear(incoming.message.t);
        return;
      case 'closed':
        return;
    }
  }

  #refuseClear(what: string): void {
    if (what === 'alert') this.#finish('phone alert');
    else this.abort('bad_message', `not accepted now: ${what}`);
  }

  /** The challenge of hs.init: the one issued on this connection, unused and not expired. */
  #challengeOk(ch: Uint8Array): boolean {
    const mine = this.#challenge;
    const fresh =
      mine !== null &&
      !this.#challengeUsed &&
      this.service.now() - this.#challengeAt <= this.service.limits.challengeTtlMs &&
      constantTimeEqual(mine, ch);
    this.#challengeUsed = true; // consumed by the first attempt, right or wrong
    return fresh && this.#statusBytes !== null;
  }

  #onInit(m: { p: 'IK' | 'XX'; ch: Uint8Array; m: Uint8Array }): void {
    if (!this.#challengeOk(m.ch)) {
      this.abort('stale_challenge', 'stale, swapped or unread challenge');
      return;
    }
    const prologueBytes = prologue(this.#statusBytes!);
    const { staticKey, random } = this.service.options;
    if (m.p === 'XX') {
      const claim = this.service.claimVerifier();
      if (claim === null) {
        this.abort('not_in_setup_mode', 'XX refused: the lock is claimed');
        return;
      }
      const hs = new HandshakeState({
        pattern: 'XX',
        initiator: false,
        prologue: prologueBytes,
        s: staticKey,
        random,
      });
      try {
        const payload = hs.readMessage(m.m);
        if (payload.length !== 0) throw new BleError('wire.out_of_range', 'XX message 1 carries no payload');
        const out = hs.writeMessage(encodeRespPayload({ claim: claim.params }));
        this.#handshake = hs;
        this.#pattern = 'XX';
        this.#state = 'xx';
        this.#sendMessage(encodeClear({ t: 'hs.resp', m: out }));
      } catch (err) {
        this.abort('handshake_failed', isBleError(err) ? err.reason : 'XX message 1');
      }
      return;
    }
    const hs = new HandshakeState({
      pattern: 'IK',
      initiator: false,
      prologue: prologueBytes,
      s: staticKey,
      random,
    });
    let payload: InitPayload;
    let proofHash: Uint8Array;
    try {
      payload = decodeInitPayload(hs.readMessage(m.m));
      proofHash = hs.payloadHash()!;
    } catch (err) {
      this.abort('handshake_failed', isBleError(err) ? err.reason : 'IK message 1');
      return;
    }
    this.#pattern = 'IK';
    const ctx = new CommandContext(this.service, this);
    this.#commands = ctx;
    if (payload.proof !== undefined) ctx.establish(payload.proof.ekey, payload.proof.sig, proofHash);
    // The early request runs before message 2 is written, so its answer rides in message 2's payload.
    const early = payload.req === undefined ? null : this.#execute(payload.req, true);
    let out: Uint8Array;
    try {
      out = hs.writeMessage(
        early === null ? new Uint8Array(0) : encodeRespPayload({ res: early[0]! }, payload.req!.cmd),
      );
    } catch (err) {
      this.abort('handshake_failed', isBleError(err) ? err.reason : 'IK message 2');
      return;
    }
    this.#channel = SecureChannel.fromHandshake(hs);
    this.#state = 'established';
    this.service.emit({ kind: 'established', session: this.id, pattern: 'IK' });
    this.#sendMessage(encodeClear({ t: 'hs.resp', m: out }));
    if (early !== null) ctx.afterAnswer();
  }

  #onFin(m: Uint8Array): void {
    const hs = this.#handshake!;
    let payload: InitPayload;
    let proofHash: Uint8Array;
    try {
      payload = decodeInitPayload(hs.readMessage(m));
      proofHash = hs.payloadHash()!;
    } catch (err) {
      this.abort('handshake_failed', isBleError(err) ? err.reason : 'XX message 3');
      return;
    }
    this.#channel = SecureChannel.fromHandshake(hs);
    this.#handshake = null;
    this.#state = 'established';
    const ctx = new CommandContext(this.service, this, { claimSession: true });
    this.#commands = ctx;
    this.service.emit({ kind: 'established', session: this.id, pattern: 'XX' });
    if (payload.proof !== undefined) ctx.establish(payload.proof.ekey, payload.proof.sig, proofHash);
    if (payload.req !== undefined) this.#answer(this.#execute(payload.req, false), payload.req.cmd);
  }

  #onSealed(ciphertext: Uint8Array): void {
    const channel = this.#channel!;
    let plaintext: Uint8Array;
    try {
      plaintext = channel.open(ciphertext);
    } catch (err) {
      this.abort('session_failed', isBleError(err) ? err.reason : 'decrypt');
      return;
    }
    if (!this.#requests.take(this.service.now())) {
      this.#rateLimited += 1;
      if (this.#rateLimited > this.service.limits.maxRateLimited) {
        this.abort('rate_limited', 'request flood');
        return;
      }
      const id = requestIdOf(plaintext) ?? 0;
      this.#sendSealed(encodeResponse('status', errResponse(id, 'rate_limited')));
      return;
    }
    let request: Request;
    try {
      request = decodeRequest(plaintext);
    } catch (err) {
      const id = requestIdOf(plaintext) ?? 0;
      const msg = isBleError(err) || isKeywayError(err) ? err.message : 'undecodable request';
      this.#sendSealed(encodeResponse('status', errResponse(id, 'bad_request', msg)));
      return;
    }
    this.#answer(this.#execute(request, false), request.cmd);
  }

  #execute(request: Request, early: boolean): Response[] {
    return this.#commands!.run(request, { early, pattern: this.#pattern! });
  }

  #answer(responses: Response[], cmd: CommandName): void {
    for (const r of responses) {
      if (this.#state !== 'established') return;
      this.#sendSealed(encodeResponse(cmd, r));
    }
    this.#commands?.afterAnswer();
  }

  #sendSealed(plaintext: Uint8Array): void {
    const channel = this.#channel;
    if (channel === null || channel.closed) return;
    this.#sendMessage(encodeSealed(channel.seal(plaintext)));
  }
}
