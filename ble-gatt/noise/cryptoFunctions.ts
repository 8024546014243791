// The Noise "crypto functions" for 25519 / ChaChaPoly / SHA256 (Noise spec section 4), composed from
// node:crypto primitives only. Raw 32-byte keys are wrapped in fixed DER headers to make KeyObjects.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
} from 'node:crypto';
import { BleError } from '../errors.ts';

export const DHLEN = 32;
export const HASHLEN = 32;
export const TAGLEN = 16;
/** Nonce 2^64-1 is reserved by the spec (used by Rekey); a CipherState refuses to reach it. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

// PKCS#8 / SPKI prefixes for X25519 (OID 1.3.101.110) followed by the 32 raw key bytes.
const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const X25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
]);

export interface KeyPair {
  /** 32-byte X25519 private key (any 32 bytes; X25519 clamps). */
  readonly privateKey: Uint8Array;
  /** 32-byte X25519 public key. */
  readonly publicKey: Uint8Array;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function x25519Private(raw: Uint8Array): KeyObject {
  if (raw.length !== DHLEN) throw new BleError('noise.bad_key', `X25519 private key must be ${DHLEN} bytes`);
  return createPrivateKey({
    key: Buffer.from(concat(X25519_PKCS8_PREFIX, raw)),
    format: 'der',
    type: 'pkcs8',
  });
}

function x25519Public(raw: Uint8Array): KeyObject {
  if (raw.length !== DHLEN) throw new BleError('noise.bad_key', `X25519 public key must be ${DHLEN} bytes`);
  return createPublicKey({ key: Buffer.from(concat(X25519_SPKI_PREFIX, raw)), format: 'der', type: 'spki' });
}

/** The key pair whose private key is `privateKey` (32 bytes, e.g. from the injected random source). */
export function keyPairFromPrivate(privateKey: Uint8Array): KeyPair {
  const spki = createPublicKey(x25519Private(privateKey)).export({ format: 'der', type: 'spki' });
  return {
    privateKey: Uint8Array.from(privateKey),
    publicKey: new Uint8Array(spki.subarray(spki.length - DHLEN)),
  };
}

/** DH(key_pair, public_key). Low-order public keys (all-zero output) are refused by OpenSSL: an error. */
export function dh(keyPair: KeyPair, publicKey: Uint8Array): Uint8Array {
  const priv = x25519Private(keyPair.privateKey);
  const pub = x25519Public(publicKey);
  try {
    return new Uint8Array(diffieHellman({ privateKey: priv, publicKey: pub }));
  } catch (cause) {
    throw new BleError('noise.dh_failed', 'X25519 rejected the peer public key', { cause });
  }
}

/** ChaChaPoly nonce: 32 bits of zeros followed by the 64-bit little-endian counter. */
export function nonceBytes(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, true);
  return nonce;
}

export function encrypt(k: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', k, nonceBytes(n), { authTagLength: TAGLEN });
  cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  return concat(body, cipher.getAuthTag());
}

/** Returns null when authentication fails (callers turn that into their own error). */
export function decrypt(k: Uint8Array, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (ciphertext.length < TAGLEN) return null;
  const decipher = createDecipheriv('chacha20-poly1305', k, nonceBytes(n), { authTagLength: TAGLEN });
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAGLEN));
  decipher.setAAD(ad, { plaintextLength: ciphertext.length - TAGLEN });
  const body = decipher.update(ciphertext.subarray(0, ciphertext.length - TAGLEN));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return new Uint8Array(body);
}

/** REKEY(k): the first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros). */
export function rekey(k: Uint8Array): Uint8Array {
  return encrypt(k, MAX_NONCE, new Uint8Array(0), new Uint8Array(32)).subarray(0, 32);
}

export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Noise HKDF(chaining_key, input_key_material, num_outputs) built from HMAC-SHA256 (spec 4.3). */
export function hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = hmac(chainingKey, ikm);
  const out1 = hmac(tempKey, Uint8Array.of(1));
  const out2 = hmac(tempKey, out1, Uint8Array.of(2));
  if (outputs === 2) return [out1, out2];
  return [out1, out2, hmac(tempKey, out2, Uint8Array.of(3))];
}

export { concat };
