// Low-level helpers for attack tests: speak the wire protocol by hand (or badly) to a LockService.
import {
  HandshakeState,
  Reassembler,
  SecureChannel,
  decodeIncoming,
  decodeRespPayload,
  encodeClear,
  encodeInitPayload,
  encodeRequest,
  encodeSealed,
  fragment,
  prologue,
  decodeStatus,
  signSessionProof,
  type ClearMessage,
  type InitPayload,
  type KeyPair,
} from '../../../ble-gatt/index.ts';
import type { Request } from '../../../ble-gatt/protocol/envelope.ts';
import type { LockService } from '../../../ble-gatt/server/LockService.ts';
import type { LockSession } from '../../../ble-gatt/server/LockSession.ts';
import { SeededRandom } from '../../helpers/SeededRandom.ts';

/** A connection where the test sees every message the lock sends, decoded. */
export class RawLink {
  readonly session: LockSession;
  readonly received: Uint8Array[] = [];
  disconnected = false;
  readonly #reasm = new Reassembler({ clock: { monotonic: () => 0 } });

  constructor(
    service: LockService,
    readonly mtu = 185,
  ) {
    this.session = service.connect({
      send: (f) => {
        const m = this.#reasm.push(f);
        if (m !== null) this.received.push(m);
      },
      disconnect: () => {
        this.disconnected = true;
      },
    });
    this.session.setMtu(mtu);
  }

  /** Sends one message, fragmented. */
  send(message: Uint8Array): void {
    for (const f of fragment(message, this.mtu)) this.session.receive(f);
  }

  clear(m: ClearMessage): void {
    this.send(encodeClear(m));
  }

  /** The alert code the lock sent last, if any. */
  alert(): string | null {
    for (let i = this.received.length - 1; i >= 0; i--) {
      const m = decodeIncoming(this.received[i]!);
      if (m.kind === 'clear' && m.message.t === 'alert') return m.message.code;
    }
    return null;
  }
}

export interface IkOptions {
  staticKey: KeyPair;
  lockKey: Uint8Array;
  ekey?: Uint8Array;
  holderSeed?: Uint8Array;
  /** Sign the proof over this hash instead of the session's (a proof from another session). */
  signOver?: Uint8Array;
  req?: Request;
  /** Use these status bytes instead of reading them (stale or swapped challenge). */
  statusBytes?: Uint8Array;
}

/** A hand-made IK handshake; returns the established channel (or null when the lock refused). */
export function ikByHand(
  link: RawLink,
  o: IkOptions,
): {
  channel: SecureChannel | null;
  payload: ReturnType<typeof decodeRespPayload> | null;
  hash: Uint8Array | null;
} {
  const statusBytes = o.statusBytes ?? link.session.readStatus();
  const status = decodeStatus(statusBytes);
  const hs = new HandshakeState({
    pattern: 'IK',
    initiator: true,
    prologue: prologue(statusBytes),
    s: o.staticKey,
    rs: o.lockKey,
    random: new SeededRandom(`ik-${Math.random()}`),
  });
  let hash: Uint8Array | null = null;
  const m = hs.writeMessage((h) => {
    hash = h;
    const p: InitPayload = {};
    if (o.ekey !== undefined && o.holderSeed !== undefined) {
      p.proof = { ekey: o.ekey, sig: signSessionProof(o.holderSeed, o.signOver ?? h, o.ekey) };
    }
    if (o.req !== undefined) p.req = o.req;
    return encodeInitPayload(p);
  });
  const before = link.received.length;
  link.clear({ t: 'hs.init', v: 1, p: 'IK', ch: status.ch, m });
  const reply = link.received[before];
  if (reply === undefined) return { channel: null, payload: null, hash };
  const msg = decodeIncoming(reply);
  if (msg.kind !== 'clear' || msg.message.t !== 'hs.resp') return { channel: null, payload: null, hash };
  const payload = decodeRespPayload(hs.readMessage(msg.message.m), o.req);
  return { channel: SecureChannel.fromHandshake(hs), payload, hash };
}

/** Seals a request on an established channel and sends it. */
export function sendRequest(link: RawLink, channel: SecureChannel, r: Request): void {
  link.send(encodeSealed(channel.seal(encodeRequest(r.id, r.cmd, r.args as never))));
}
