// Signed checkpoints: the lock's Ed25519 device key signs (seq, hash) of an entry, so an exported log can be
// checked elsewhere with the lock's public key: anyone rewriting the chain would have to forge these.
// Signed message: "keyway/audit-checkpoint/v1" 0x00 || seq (8 bytes big-endian) || hash (32 bytes).
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { KeywayError } from '../errors.ts';

export interface AuditCheckpoint {
  seq: number;
  /** hex hash of the entry at seq. */
  hash: string;
  /** hex Ed25519 signature. */
  signature: string;
}

const DOMAIN = Buffer.from('keyway/audit-checkpoint/v1\0', 'utf8');
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function checkpointMessage(seq: number, hash: string): Buffer {
  const s = Buffer.alloc(8);
  s.writeBigUInt64BE(BigInt(seq));
  return Buffer.concat([DOMAIN, s, Buffer.from(hash, 'hex')]);
}

export function signCheckpoint(key: KeyObject, seq: number, hash: string): AuditCheckpoint {
  return { seq, hash, signature: sign(null, checkpointMessage(seq, hash), key).toString('hex') };
}

/** Accepts an Ed25519 public KeyObject, a private one (its public half is used) or 32 raw public-key bytes. */
export function toPublicKey(key: KeyObject | Uint8Array): KeyObject {
  if (key instanceof Uint8Array) {
    if (key.length !== 32) {
      throw new KeywayError('invalid_argument', `an Ed25519 public key has 32 bytes (got ${key.length})`);
    }
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, key]), format: 'der', type: 'spki' });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeywayError(
      'invalid_argument',
      `expected an Ed25519 key (got ${String(key.asymmetricKeyType)})`,
    );
  }
  return key.type === 'private' ? createPublicKey(key) : key;
}

export function checkpointValid(publicKey: KeyObject, c: AuditCheckpoint): boolean {
  if (!/^[0-9a-f]{128}$/.test(c.signature) || !/^[0-9a-f]{64}$/.test(c.hash)) return false;
  if (!Number.isSafeInteger(c.seq) || c.seq < 1) return false;
  return verify(null, checkpointMessage(c.seq, c.hash), publicKey, Buffer.from(c.signature, 'hex'));
}
