// CBOR diagnostic notation (RFC 8949 section 8) of a decoded value: for docs, logs and the CLI.
import type { CborValue } from '../../firmware/codec/StrictCbor.ts';
import { Tagged } from '../../firmware/codec/StrictCbor.ts';
import { decodeWire } from './cbor.ts';

export function diagnostic(v: CborValue): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `h'${Buffer.from(v).toString('hex')}'`;
  if (Array.isArray(v)) return `[${v.map(diagnostic).join(', ')}]`;
  if (v instanceof Tagged) return `${v.tag}(${diagnostic(v.value)})`;
  return `{${[...v.entries()].map(([k, x]) => `${diagnostic(k)}: ${diagnostic(x)}`).join(', ')}}`;
}

/** Diagnostic notation of encoded bytes (strictly decoded). */
export function diagnosticOf(bytes: Uint8Array): string {
  return diagnostic(decodeWire(bytes, Number.MAX_SAFE_INTEGER));
}
