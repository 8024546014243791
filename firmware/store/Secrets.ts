// The lock's secrets, kept in a file apart from the database (mode 0600): a copied database alone neither
// reveals nor lets anyone brute-force PINs (they are keyed hashes), nor forges the lock's signatures.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { KeywayError } from '../errors.ts';
import type { Random } from '../types.ts';
import { writeFileAtomic } from './atomicFile.ts';

// DER prefix of a PKCS#8 Ed25519 private key (RFC 8410); the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface Secrets {
  /** HMAC-SHA256 key for credential lookups (PINs, card UIDs, fingerprint ids). */
  readonly pinKey: Buffer;
  /** Ed25519 device key (signs audit checkpoints, identifies the lock). */
  readonly deviceKey: KeyObject;
  readonly devicePublicKey: KeyObject;
  /** Public, non-secret id tying the secrets file to its database. */
  readonly id: string;
}

function fromMaterial(pinKey: Buffer, seed: Buffer): Secrets {
  const deviceKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const devicePublicKey = createPublicKey(deviceKey);
  const pub = devicePublicKey.export({ format: 'der', type: 'spki' });
  const id = createHash('sha256').update('keyway-secrets-id').update(pub).digest('hex').slice(0, 32);
  return { pinKey, deviceKey, devicePublicKey, id };
}

export function createSecrets(path: string, random: Random): Secrets {
  const pinKey = Buffer.from(random.bytes(32));
  const seed = Buffer.from(random.bytes(32));
  if (pinKey.length !== 32 || seed.length !== 32) throw new KeywayError('internal', 'random source short');
  const body = JSON.stringify({
    format: 'keyway-secrets',
    version: 1,
    pinKey: pinKey.toString('hex'),
    deviceSeed: seed.toString('hex'),
  });
  writeFileAtomic(path, body, 0o600);
  return fromMaterial(pinKey, seed);
}

export function loadSecrets(path: string): Secrets {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeywayError('store_corrupt', `secrets file ${path} cannot be read`, { cause: err });
  }
  // Keep the file private even if someone loosened its mode.
  if ((fs.statSync(path).mode & 0o077) !== 0) fs.chmodSync(path, 0o600);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeywayError('store_corrupt', `secrets file ${path} is not valid`);
  }
  const p = parsed as Record<string, unknown>;
  const hex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (p.format !== 'keyway-secrets' || p.version !== 1 || !hex64(p.pinKey) || !hex64(p.deviceSeed)) {
    throw new KeywayError('store_corrupt', `secrets file ${path} is not valid`);
  }
  return fromMaterial(Buffer.from(p.pinKey, 'hex'), Buffer.from(p.deviceSeed, 'hex'));
}
