// CBOR at the BLE boundary: firmware/codec/StrictCbor (deterministic encoding only, text map keys, no
// tags, no floats) with its failures turned into wire.* errors.
import { CborError, decodeStrict, encodeCanonical, type CborValue } from '../../firmware/codec/StrictCbor.ts';
import { BleError } from '../errors.ts';
import type { Codec } from './schema.ts';

/** Largest CBOR message (clear message, or plaintext inside a sealed one). */
export const MAX_MESSAGE_BYTES = 4096;

export function decodeWire(bytes: Uint8Array, maxBytes = MAX_MESSAGE_BYTES): CborValue {
  if (bytes.length > maxBytes)
    throw new BleError('wire.too_large', `${bytes.length} bytes exceeds ${maxBytes}`);
  try {
    return decodeStrict(bytes, { maxBytes, maxDepth: 8, maxItems: 512, keyTypes: 'text', sortedKeys: true });
  } catch (cause) {
    if (cause instanceof CborError) throw new BleError('wire.bad_cbor', cause.message, { cause });
    throw cause;
  }
}

export function encodeWire(value: unknown): Uint8Array {
  return encodeCanonical(value);
}

/** Decode bytes with a codec (strict CBOR, then the codec's validation). */
export function decodeWith<T>(
  codec: Codec<T>,
  bytes: Uint8Array,
  path = '',
  maxBytes = MAX_MESSAGE_BYTES,
): T {
  return codec.decode(decodeWire(bytes, maxBytes), path);
}

export function encodeWith<T>(codec: Codec<T>, value: T): Uint8Array {
  const out = encodeWire(codec.encode(value));
  if (out.length > MAX_MESSAGE_BYTES)
    throw new BleError('wire.too_large', `encoded message of ${out.length} bytes`);
  // We send only what we would accept: a value that breaks its own schema is a bug caught here.
  codec.decode(decodeWire(out), '');
  return out;
}
