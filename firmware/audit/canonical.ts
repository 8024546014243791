// Canonical JSON and the chain hash of audit entries. The body of an entry is the canonical JSON of every
// field except hash and prevHash (so it includes seq, time and boot); hash = SHA-256(prevHash || body).
import { createHash } from 'node:crypto';
import type { AuditEntry } from '../types.ts';
import { KeywayError } from '../errors.ts';

/** prevHash of the first entry ever written (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level and no whitespace; undefined members are left out. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new KeywayError('invalid_argument', `audit: number ${value} is not finite`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      break;
  }
  throw new KeywayError('invalid_argument', `audit: a ${typeof value} cannot be stored in an entry`);
}

/** The canonical body of an entry: all fields but hash and prevHash. */
export function entryBody(
  entry: Omit<AuditEntry, 'hash' | 'prevHash'> & { hash?: unknown; prevHash?: unknown },
): string {
  const { hash: _h, prevHash: _p, ...rest } = entry;
  return canonicalJson(rest);
}

/** hex SHA-256 of the previous hash's 32 bytes followed by the body's UTF-8 bytes. */
export function chainHash(prevHash: string, body: string): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(body, 'utf8').digest('hex');
}

export const HEX64 = /^[0-9a-f]{64}$/;
