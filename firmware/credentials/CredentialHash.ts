// Credentials are stored only as keyed hashes: HMAC-SHA256(pinKey, type || 0x00 || value). The hash is the
// UNIQUE indexed lookup column, so finding a PIN is one index probe (never a scan) and duplicates are
// refused by the index. Without the lock's secret a copied database reveals nothing and cannot be
// brute-forced offline. Probing the index with a hash cannot leak the stored hashes through timing either:
// an attacker cannot choose hash values without the key.
import { createHmac } from 'node:crypto';
import { KeywayError } from '../errors.ts';
import type { CredentialType } from '../types.ts';

export function credentialLookup(pinKey: Uint8Array, type: CredentialType, value: string): Buffer {
  return createHmac('sha256', pinKey).update(type).update('\0').update(value).digest();
}

const CARD_RE = /^(?:[0-9a-f]{8}|[0-9a-f]{14}|[0-9a-f]{20})$/;

/** Card UIDs are 4, 7 or 10 bytes (ISO 14443), given as hex (case, spaces and colons ignored). */
export function normalizeCardUid(uid: unknown): string {
  if (typeof uid !== 'string') throw new KeywayError('invalid_argument', 'card uid must be a hex string');
  const norm = uid.replace(/[\s:]/g, '').toLowerCase();
  if (!CARD_RE.test(norm)) {
    throw new KeywayError('invalid_argument', 'card uid must be 4, 7 or 10 bytes of hex');
  }
  return norm;
}

export const MAX_FINGERPRINT_ID = 65_535;

export function normalizeFingerprint(templateId: unknown): string {
  if (
    typeof templateId !== 'number' ||
    !Number.isInteger(templateId) ||
    templateId < 0 ||
    templateId > MAX_FINGERPRINT_ID
  ) {
    throw new KeywayError(
      'out_of_range',
      `fingerprint template id must be an integer 0..${MAX_FINGERPRINT_ID}`,
    );
  }
  return String(templateId);
}
