// The status characteristic value (read / notify, in clear): protocol version, setup-mode flag and the
// lock's current challenge. Nothing identifies the lock or its users (THREATS 40).
import { BleError } from '../errors.ts';
import { decodeWith, encodeWith } from './cbor.ts';
import { bool, bytes, map, req, uint, type MapOf } from './schema.ts';

export const PROTOCOL_VERSION = 1;
export const CHALLENGE_LENGTH = 16;
const PROLOGUE_LABEL = new TextEncoder().encode('keyway-ble/1');

export const statusCodec = map({
  /** Protocol version the lock speaks. */
  v: req(uint(1, 255)),
  /** True while the lock is unclaimed and accepts an XX handshake for claiming. */
  setup: req(bool()),
  /** Fresh random challenge for this connection; goes into the Noise prologue. */
  ch: req(bytes(CHALLENGE_LENGTH)),
});
export type Status = MapOf<typeof statusCodec.fields>;

export function encodeStatus(s: Status): Uint8Array {
  return encodeWith(statusCodec, s);
}

export function decodeStatus(b: Uint8Array): Status {
  const s = decodeWith(statusCodec, b, 'status', 64);
  if (s.v !== PROTOCOL_VERSION) throw new BleError('wire.unsupported_version', `lock speaks version ${s.v}`);
  return s;
}

/**
 * The Noise prologue: "keyway-ble/1" followed by the exact status bytes the phone read. Both sides
 * bind the version, the setup flag and the challenge into the handshake, so a man in the middle
 * cannot downgrade or swap any of them without the handshake failing.
 */
export function prologue(statusBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(PROLOGUE_LABEL.length + statusBytes.length);
  out.set(PROLOGUE_LABEL);
  out.set(statusBytes, PROLOGUE_LABEL.length);
  return out;
}
