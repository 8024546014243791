// Ed25519 key pairs for eKey issuers and holders (node:crypto), their raw and COSE_Key forms, fingerprints,
// and a small key file format (JSON, mode 0600) used by the phone-side tools.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import { KeywayError } from '../errors.ts';
import { writeFileAtomic } from '../store/atomicFile.ts';
import type { Random } from '../types.ts';
import type { CborValue } from '../codec/StrictCbor.ts';

// DER prefixes of Ed25519 PKCS#8 private keys and SPKI public keys (RFC 8410); the 32 raw bytes follow.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** COSE_Key labels and values (RFC 9052 / RFC 9053) for an OKP Ed25519 public key. */
export const COSE_KEY = { kty: 1, kid: 2, crv: -1, x: -2, d: -4, ktyOKP: 1, crvEd25519: 6 } as const;

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The raw 32-byte public key. */
  publicRaw: Uint8Array;
}

/** A key pair from a 32-byte seed (deterministic: tests and scenarios mint from seeds). */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new KeywayError('invalid_argument', 'an Ed25519 seed is 32 bytes');
  }
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicRaw: rawPublicKey(publicKey) };
}

/** A fresh key pair: from `random` when given (injected randomness), else from the OS generator. */
export function generateKeyPair(random?: Random): KeyPair {
  if (random !== undefined) return keyPairFromSeed(random.bytes(32));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, publicRaw: rawPublicKey(publicKey) };
}

/** The 32-byte seed of a private key (for saving it). */
export function privateSeed(privateKey: KeyObject): Uint8Array {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  if (der.length !== 48 || !der.subarray(0, 16).equals(PKCS8_PREFIX)) {
    throw new KeywayError('crypto', 'not an Ed25519 private key');
  }
  return new Uint8Array(der.subarray(16));
}

export function rawPublicKey(publicKey: KeyObject): Uint8Array {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  if (der.length !== 44 || !der.subarray(0, 12).equals(SPKI_PREFIX)) {
    throw new KeywayError('crypto', 'not an Ed25519 public key');
  }
  return new Uint8Array(der.subarray(12));
}

/** A node:crypto public key from the raw 32 bytes. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) {
    throw new KeywayError('invalid_argument', 'an Ed25519 public key is 32 bytes');
  }
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch (err) {
    throw new KeywayError('crypto', 'not a valid Ed25519 public key', { cause: err });
  }
}

/** Short fingerprint: the first 8 bytes of SHA-256(raw key) in 4 groups, e.g. "9f2c-01ab-77d0-3e41". */
export function fingerprint(raw: Uint8Array): string {
  const h = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return h.match(/.{4}/g)!.join('-');
}

/** The key id used as an eKey's `iss`: the fingerprint without dashes (16 hex digits). */
export function keyId(raw: Uint8Array): string {
  return fingerprint(raw).replace(/-/g, '');
}

/** COSE_Key (RFC 9053 §7.2): {1: 1 (OKP), -1: 6 (Ed25519), -2: x}. */
export function coseKey(raw: Uint8Array): Map<number, CborValue> {
  if (raw.length !== 32) throw new KeywayError('invalid_argument', 'an Ed25519 public key is 32 bytes');
  return new Map<number, CborValue>([
    [COSE_KEY.kty, COSE_KEY.ktyOKP],
    [COSE_KEY.crv, COSE_KEY.crvEd25519],
    [COSE_KEY.x, raw],
  ]);
}

/** The raw public key of a COSE_Key, refusing anything but an OKP Ed25519 public key. */
export function parseCoseKey(v: CborValue): { ok: true; raw: Uint8Array } | { ok: false; why: string } {
  if (!(v instanceof Map)) return { ok: false, why: 'COSE_Key is not a map' };
  for (const k of v.keys()) {
    if (k === COSE_KEY.d) return { ok: false, why: 'COSE_Key carries a private key' };
    if (k !== COSE_KEY.kty && k !== COSE_KEY.crv && k !== COSE_KEY.x && k !== COSE_KEY.kid) {
      return { ok: false, why: `COSE_Key has unsupported parameter ${String(k)}` };
    }
  }
  if (v.get(COSE_KEY.kty) !== COSE_KEY.ktyOKP) return { ok: false, why: 'COSE_Key kty is not OKP (1)' };
  if (v.get(COSE_KEY.crv) !== COSE_KEY.crvEd25519)
    return { ok: false, why: 'COSE_Key crv is not Ed25519 (6)' };
  const x = v.get(COSE_KEY.x);
  if (!(x instanceof Uint8Array) || x.length !== 32) return { ok: false, why: 'COSE_Key x is not 32 bytes' };
  return { ok: true, raw: x };
}

// ------------------------------------------------------------------------------------------ key files

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Writes a private key file (JSON with the seed and the public key), mode 0600, atomically. */
export function saveKeyFile(path: string, pair: KeyPair): void {
  const body = {
    format: 'keyway-ed25519-key',
    version: 1,
    seed: hexOf(privateSeed(pair.privateKey)),
    public: hexOf(pair.publicRaw),
  };
  writeFileAtomic(path, JSON.stringify(body, null, 2) + '\n', 0o600);
}

/** Writes a public key file (no secret), mode 0644. */
export function savePublicKeyFile(path: string, raw: Uint8Array): void {
  const body = { format: 'keyway-ed25519-public', version: 1, public: hexOf(raw) };
  writeFileAtomic(path, JSON.stringify(body, null, 2) + '\n', 0o644);
}

export type LoadedKey = { kind: 'private'; pair: KeyPair } | { kind: 'public'; publicRaw: Uint8Array };

/** Reads a key file written by saveKeyFile or savePublicKeyFile. A private key file is kept 0600. */
export function loadKeyFile(path: string): LoadedKey {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeywayError('invalid_argument', `cannot read key file ${path}`, { cause: err });
  }
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new KeywayError('invalid_argument', `${path} is not a keyway key file`);
  }
  const hex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (p.format === 'keyway-ed25519-key' && p.version === 1 && hex64(p.seed)) {
    if ((fs.statSync(path).mode & 0o077) !== 0) fs.chmodSync(path, 0o600);
    const pair = keyPairFromSeed(Buffer.from(p.seed, 'hex'));
    if (hex64(p.public) && p.public !== hexOf(pair.publicRaw)) {
      throw new KeywayError('invalid_argument', `${path}: the public key does not match the seed`);
    }
    return { kind: 'private', pair };
  }
  if (p.format === 'keyway-ed25519-public' && p.version === 1 && hex64(p.public)) {
    return { kind: 'public', publicRaw: new Uint8Array(Buffer.from(p.public, 'hex')) };
  }
  throw new KeywayError('invalid_argument', `${path} is not a keyway key file`);
}
