// Messages on the client->lock and lock->client characteristics, after reassembly. Each is one CBOR item:
//  - a map with "t": a clear message (handshake messages and alerts; nothing else is accepted in clear);
//  - a byte string: a sealed transport message (a Noise ciphertext of a Request or Response).
// Plus the Noise payloads carried inside handshake messages.
import type { CborValue } from '../../firmware/codec/StrictCbor.ts';
import { BleError } from '../errors.ts';
import { decodeWire, encodeWire } from './cbor.ts';
import { claimParamsCodec } from './claim.ts';
import type { CommandName } from './commands.ts';
import {
  decodeRequestValue,
  decodeResponseValue,
  requestValue,
  responseValue,
  type Request,
  type Response,
} from './envelope.ts';
import { CHALLENGE_LENGTH, PROTOCOL_VERSION } from './status.ts';
import { bytes, map, oneOf, req, tagged, uint, type MapOf } from './schema.ts';

/** Why the lock (or phone) gives up on a connection; sent in clear just before disconnecting. */
export const ALERT_CODES = [
  'unsupported_version',
  'bad_message',
  'frame_error',
  'stale_challenge',
  'not_in_setup_mode',
  'handshake_failed',
  'session_failed',
  'timeout',
  'busy',
  'rate_limited',
] as const;
export type AlertCode = (typeof ALERT_CODES)[number];

/** Largest Noise handshake message we carry (the 4 KiB frame limit minus the envelope). */
const MAX_NOISE_MESSAGE = 4000;

export const clearMessageCodec = tagged('t', {
  /** Phone -> lock: first handshake message. */
  'hs.init': map({
    t: req(oneOf(['hs.init'])),
    v: req(uint(1, 255)),
    /** Noise pattern: IK when the phone knows the lock's static key, XX only in setup mode. */
    p: req(oneOf(['IK', 'XX'])),
    /** The challenge read from the status characteristic (checked before any crypto). */
    ch: req(bytes(CHALLENGE_LENGTH)),
    m: req(bytes(32, MAX_NOISE_MESSAGE)),
  }),
  /** Lock -> phone: second handshake message. */
  'hs.resp': map({ t: req(oneOf(['hs.resp'])), m: req(bytes(48, MAX_NOISE_MESSAGE)) }),
  /** Phone -> lock: third handshake message (XX only). */
  'hs.fin': map({ t: req(oneOf(['hs.fin'])), m: req(bytes(64, MAX_NOISE_MESSAGE)) }),
  /** Either way: the sender is closing the connection, and why. */
  alert: map({ t: req(oneOf(['alert'])), code: req(oneOf(ALERT_CODES)) }),
});
export type ClearMessage = ReturnType<typeof clearMessageCodec.decode>;

export type Incoming = { kind: 'clear'; message: ClearMessage } | { kind: 'sealed'; ciphertext: Uint8Array };

/** Classifies and validates one reassembled message. */
export function decodeIncoming(b: Uint8Array): Incoming {
  const v = decodeWire(b);
  if (v instanceof Uint8Array) {
    if (v.length < 16) throw new BleError('wire.out_of_range', 'sealed message shorter than its tag');
    return { kind: 'sealed', ciphertext: v };
  }
  if (!(v instanceof Map))
    throw new BleError('wire.unknown_message', 'expected a map (clear message) or a byte string (sealed)');
  const message = clearMessageCodec.decode(v, '');
  if (message.t === 'hs.init' && message.v !== PROTOCOL_VERSION) {
    throw new BleError('wire.unsupported_version', `protocol version ${message.v}`);
  }
  return { kind: 'clear', message };
}

export function encodeClear(m: ClearMessage): Uint8Array {
  const out = encodeWire(clearMessageCodec.encode(m));
  decodeIncoming(out);
  return out;
}

/** A sealed message on the wire: the ciphertext as one CBOR byte string. */
export function encodeSealed(ciphertext: Uint8Array): Uint8Array {
  return encodeWire(ciphertext);
}

// ------------------------------------------------------------------ Noise payloads (inside handshakes)

const proofCodec = map({
  /** The eKey (COSE_Sign1 bytes; its chain is inside it). */
  ekey: req(bytes(1, 3072)),
  /** Ed25519 signature by the eKey's cnf key over sessionProofMessage(h, ekey), h = the hash before this payload. */
  sig: req(bytes(64)),
});
export type SessionProofPayload = MapOf<typeof proofCodec.fields>;

/** Phone -> lock payload of IK message 1 or XX message 3. */
export interface InitPayload {
  proof?: SessionProofPayload;
  /** One early request, answered in the handshake response (IK) or the first sealed message (XX). */
  req?: Request;
}

/** Lock -> phone payload of IK message 2 or XX message 2. */
export interface RespPayload {
  /** The answer to the early request. */
  res?: Response;
  /** XX message 2 in setup mode: the scrypt parameters for claiming. */
  claim?: ReturnType<typeof claimParamsCodec.decode>;
}

const INIT_KEYS = new Set(['proof', 'req']);
const RESP_KEYS = new Set(['res', 'claim']);

function payloadMap(b: Uint8Array, known: Set<string>, what: string): Map<string | number, CborValue> {
  if (b.length === 0) return new Map();
  const v = decodeWire(b);
  if (!(v instanceof Map)) throw new BleError('wire.bad_type', `${what}: expected map`);
  for (const k of v.keys()) {
    if (typeof k !== 'string' || !known.has(k)) {
      throw new BleError(
        'wire.unknown_field',
        `${what}: unknown field ${JSON.stringify(String(k).slice(0, 40))}`,
      );
    }
  }
  return v;
}

/** An empty payload encodes as zero bytes (XX message 1 must be empty: it is not encrypted). */
export function encodeInitPayload(p: InitPayload): Uint8Array {
  const out: Record<string, unknown> = {};
  if (p.proof !== undefined) out.proof = proofCodec.encode(p.proof);
  if (p.req !== undefined) out.req = requestValue(p.req);
  return Object.keys(out).length === 0 ? new Uint8Array(0) : encodeWire(out);
}

export function decodeInitPayload(b: Uint8Array): InitPayload {
  const m = payloadMap(b, INIT_KEYS, 'payload');
  const out: InitPayload = {};
  if (m.has('proof')) out.proof = proofCodec.decode(m.get('proof'), 'payload.proof');
  if (m.has('req')) out.req = decodeRequestValue(m.get('req'));
  return out;
}

export function encodeRespPayload(p: RespPayload, cmd?: CommandName): Uint8Array {
  const out: Record<string, unknown> = {};
  if (p.res !== undefined) {
    if (cmd === undefined)
      throw new BleError('wire.missing_field', 'the command of the early response is needed to encode it');
    out.res = responseValue(cmd, p.res);
  }
  if (p.claim !== undefined) out.claim = claimParamsCodec.encode(p.claim);
  return Object.keys(out).length === 0 ? new Uint8Array(0) : encodeWire(out);
}

/** `early` is the request the phone sent in its handshake payload (if any); the answer must match it. */
export function decodeRespPayload(b: Uint8Array, early?: { id: number; cmd: CommandName }): RespPayload {
  const m = payloadMap(b, RESP_KEYS, 'payload');
  const out: RespPayload = {};
  if (m.has('res'))
    out.res = decodeResponseValue(m.get('res'), (id) => (id === early?.id ? early.cmd : undefined));
  if (m.has('claim')) out.claim = claimParamsCodec.decode(m.get('claim'), 'payload.claim');
  return out;
}

/** Log form of a clear message (handshake bytes abbreviated). */
export function clearMessageLog(m: ClearMessage): unknown {
  return clearMessageCodec.log(m);
}
