// Binding the phone's eKey holder key (the eKey's `cnf` Ed25519 key) to a Noise session.
//
// The phone signs, with its holder key, a domain-separated message over the session's handshake hash
// and the hash of the eKey it presents. The handshake hash covers the prologue (the lock's fresh
// challenge), the lock's static key and both ephemerals, so the signature is valid for this one session
// with this one lock and this one eKey: it cannot be replayed later, relayed to another lock, or
// moved to another eKey. Commands that follow ride the same authenticated channel.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { BleError } from './errors.ts';

export const SESSION_PROOF_CONTEXT = 'keyway-session-proof/1';
export const ED25519_SIGNATURE_LENGTH = 64;

const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

function edPrivate(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new BleError('session.bad_proof', 'Ed25519 private key must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function edPublic(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new BleError('session.bad_proof', 'Ed25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The bytes the holder signs: context || 0x00 || handshake hash (32) || SHA-256(eKey bytes) (32). */
export function sessionProofMessage(handshakeHash: Uint8Array, ekey: Uint8Array): Uint8Array {
  if (handshakeHash.length !== 32) throw new BleError('session.bad_proof', 'handshake hash must be 32 bytes');
  const ctx = new TextEncoder().encode(SESSION_PROOF_CONTEXT);
  const ekeyHash = createHash('sha256').update(ekey).digest();
  const out = new Uint8Array(ctx.length + 1 + 32 + 32);
  out.set(ctx, 0);
  out.set(handshakeHash, ctx.length + 1);
  out.set(ekeyHash, ctx.length + 33);
  return out;
}

/** Signs the session proof with the holder's 32-byte Ed25519 private key (seed). */
export function signSessionProof(
  holderPrivateKey: Uint8Array,
  handshakeHash: Uint8Array,
  ekey: Uint8Array,
): Uint8Array {
  return new Uint8Array(sign(null, sessionProofMessage(handshakeHash, ekey), edPrivate(holderPrivateKey)));
}

/** True when `signature` proves possession of `holderPublicKey` for this session and eKey. */
export function verifySessionProof(
  holderPublicKey: Uint8Array,
  handshakeHash: Uint8Array,
  ekey: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  let key: KeyObject;
  try {
    key = edPublic(holderPublicKey);
  } catch {
    return false;
  }
  return verify(null, sessionProofMessage(handshakeHash, ekey), key, signature);
}

/** The raw 32-byte Ed25519 public key for a 32-byte private key (seed). */
export function ed25519PublicKey(holderPrivateKey: Uint8Array): Uint8Array {
  const spki = createPublicKey(edPrivate(holderPrivateKey)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}
