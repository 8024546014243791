// COSE_Sign1 (RFC 9052 §4.2) with EdDSA (alg -8, RFC 9053 §2.2) only. Decoding is strict (StrictCbor) and
// header handling follows RFC 9052 §3: alg must be in the protected bucket and be EdDSA, a label may not
// appear in both buckets, and every label listed in crit must be one this code understands. The signature
// covers Sig_structure = ["Signature1", protected, external_aad, payload].
import { sign, verify, type KeyObject } from 'node:crypto';
import { decodeStrict, encodeCanonical, Tagged, CborError, type CborValue } from '../codec/StrictCbor.ts';
import { KeywayError } from '../errors.ts';

export const COSE_SIGN1_TAG = 18;
export const ALG_EDDSA = -8;
/** Header labels (RFC 9052 §3.1). */
export const HEADER = { alg: 1, crit: 2, contentType: 3, kid: 4 } as const;
/** Labels this implementation understands (and so may be listed in crit). */
const KNOWN_HEADERS = new Set<number>([HEADER.alg, HEADER.crit, HEADER.contentType, HEADER.kid]);

/** Why a COSE_Sign1 was refused (machine-readable). */
export type CoseFailure =
  | 'not_cose_sign1'
  | 'bad_protected_header'
  | 'unsupported_alg'
  | 'missing_alg'
  | 'unknown_critical_header'
  | 'header_in_both_buckets'
  | 'bad_header_value'
  | 'detached_payload'
  | 'bad_signature_length';

export class CoseError extends KeywayError {
  constructor(
    readonly failure: CoseFailure,
    message: string,
  ) {
    super('malformed', `COSE ${failure}: ${message}`);
    this.name = 'CoseError';
  }
}

export interface CoseSign1 {
  /** The protected header exactly as received (it is what was signed). */
  protectedBytes: Uint8Array;
  protectedHeader: Map<number, CborValue>;
  unprotected: Map<number, CborValue>;
  payload: Uint8Array;
  signature: Uint8Array;
  tagged: boolean;
}

/** Limits for tokens: an eKey with a chain of 3 parents stays well below this. */
export const MAX_TOKEN_BYTES = 8192;

// Frozen: StrictCbor merges a frozen options object with its defaults only once.
const COSE_OPTIONS = Object.freeze({
  maxBytes: MAX_TOKEN_BYTES,
  maxDepth: 8,
  maxItems: 256,
  tags: Object.freeze([COSE_SIGN1_TAG]),
});
const PROTECTED_OPTIONS = Object.freeze({
  maxBytes: 512,
  maxDepth: 2,
  maxItems: 32,
  keyTypes: 'int',
} as const);

/** Parses and checks a COSE_Sign1 (tagged 18 or untagged). Throws CborError or CoseError ('malformed'). */
export function decodeSign1(bytes: Uint8Array): CoseSign1 {
  let top = decodeStrict(bytes, COSE_OPTIONS);
  let tagged = false;
  if (top instanceof Tagged) {
    tagged = true;
    top = top.value;
  }
  if (!Array.isArray(top) || top.length !== 4) {
    throw new CoseError('not_cose_sign1', 'expected an array of 4 items');
  }
  const [prot, unprot, payload, signature] = top;
  if (!(prot instanceof Uint8Array))
    throw new CoseError('bad_protected_header', 'protected header is not a byte string');
  if (!(unprot instanceof Map)) throw new CoseError('not_cose_sign1', 'unprotected header is not a map');
  if (payload === null) throw new CoseError('detached_payload', 'detached payloads are not supported');
  if (!(payload instanceof Uint8Array)) throw new CoseError('not_cose_sign1', 'payload is not a byte string');
  if (!(signature instanceof Uint8Array))
    throw new CoseError('not_cose_sign1', 'signature is not a byte string');
  if (signature.length !== 64) {
    throw new CoseError('bad_signature_length', `an Ed25519 signature is 64 bytes, got ${signature.length}`);
  }
  // RFC 9052: a zero-length bstr stands for an empty protected header, but we need alg protected anyway.
  if (prot.length === 0) throw new CoseError('missing_alg', 'the protected header is empty');
  let ph: CborValue;
  try {
    ph = decodeStrict(prot, PROTECTED_OPTIONS);
  } catch (err) {
    if (err instanceof CborError) {
      throw new CoseError('bad_protected_header', `protected header: ${err.message}`);
    }
    throw err;
  }
  if (!(ph instanceof Map)) throw new CoseError('bad_protected_header', 'protected header is not a map');
  for (const k of unprot.keys()) {
    if (typeof k !== 'number') throw new CoseError('bad_header_value', 'unprotected labels must be integers');
    if (ph.has(k)) throw new CoseError('header_in_both_buckets', `label ${k} is in both headers`);
  }
  const protectedHeader = ph as Map<number, CborValue>;
  const unprotected = unprot as Map<number, CborValue>;
  if (unprotected.has(HEADER.alg)) throw new CoseError('unsupported_alg', 'alg must be protected');
  if (unprotected.has(HEADER.crit)) throw new CoseError('bad_header_value', 'crit must be protected');
  const alg = protectedHeader.get(HEADER.alg);
  if (alg === undefined) throw new CoseError('missing_alg', 'no alg in the protected header');
  if (alg !== ALG_EDDSA) throw new CoseError('unsupported_alg', `alg ${describe(alg)} is not EdDSA (-8)`);
  const crit = protectedHeader.get(HEADER.crit);
  if (crit !== undefined) {
    if (!Array.isArray(crit) || crit.length === 0) {
      throw new CoseError('bad_header_value', 'crit must be a non-empty array of labels');
    }
    for (const label of crit) {
      if (typeof label !== 'number' && typeof label !== 'string') {
        throw new CoseError('bad_header_value', 'crit labels are integers or text');
      }
      if (typeof label !== 'number' || !KNOWN_HEADERS.has(label) || label === HEADER.crit) {
        throw new CoseError(
          'unknown_critical_header',
          `critical header ${describe(label)} is not understood`,
        );
      }
      if (!protectedHeader.has(label)) {
        throw new CoseError('bad_header_value', `critical header ${label} is not in the protected header`);
      }
    }
  }
  const ct = protectedHeader.get(HEADER.contentType) ?? unprotected.get(HEADER.contentType);
  if (ct !== undefined && typeof ct !== 'number' && typeof ct !== 'string') {
    throw new CoseError('bad_header_value', 'content type is an integer or text');
  }
  const kid = protectedHeader.get(HEADER.kid) ?? unprotected.get(HEADER.kid);
  if (kid !== undefined && !(kid instanceof Uint8Array))
    throw new CoseError('bad_header_value', 'kid is a byte string');
  return { protectedBytes: prot, protectedHeader, unprotected, payload, signature, tagged };
}

function describe(v: unknown): string {
  return typeof v === 'number' || typeof v === 'string' ? JSON.stringify(v) : typeof v;
}

/** 0x84 (array of 4), then "Signature1" as a text string. */
const SIG1_PREFIX = encodeCanonical(['Signature1']).map((b, i) => (i === 0 ? 0x84 : b));

function bstrHead(n: number): Uint8Array {
  if (n < 24) return Uint8Array.of(0x40 | n);
  if (n < 0x100) return Uint8Array.of(0x58, n);
  if (n < 0x10000) return Uint8Array.of(0x59, n >> 8, n & 0xff);
  return Uint8Array.of(0x5a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Sig_structure for COSE_Sign1 (RFC 9052 §4.4), deterministic CBOR. */
export function sigStructure(
  protectedBytes: Uint8Array,
  payload: Uint8Array,
  externalAad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  // The deterministic encoding of ["Signature1", protected, external_aad, payload], assembled directly.
  const parts = [
    SIG1_PREFIX,
    bstrHead(protectedBytes.length),
    protectedBytes,
    bstrHead(externalAad.length),
    externalAad,
    bstrHead(payload.length),
    payload,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface SignOptions {
  /** Extra protected header parameters (besides alg); e.g. {3: 'application/cwt'}. */
  protectedExtra?: Map<number, CborValue>;
  /** Unprotected header (e.g. {4: kid}). */
  unprotected?: Map<number, CborValue>;
  externalAad?: Uint8Array;
  /** Emit tag 18 (default true). */
  tagged?: boolean;
}

/** Signs payload as a COSE_Sign1 with EdDSA; the result is deterministic for a given key and input. */
export function signSign1(payload: Uint8Array, privateKey: KeyObject, options: SignOptions = {}): Uint8Array {
  const ph = new Map<number, CborValue>([[HEADER.alg, ALG_EDDSA]]);
  for (const [k, v] of options.protectedExtra ?? []) {
    if (k === HEADER.alg) throw new KeywayError('invalid_argument', 'alg is always EdDSA');
    ph.set(k, v);
  }
  const protectedBytes = encodeCanonical(ph);
  const signature = new Uint8Array(
    sign(null, sigStructure(protectedBytes, payload, options.externalAad), privateKey),
  );
  const body = [protectedBytes, options.unprotected ?? new Map(), payload, signature];
  return encodeCanonical(options.tagged === false ? body : new Tagged(COSE_SIGN1_TAG, body));
}

/** Verifies the EdDSA signature of a decoded COSE_Sign1 (native node:crypto). */
export function verifySign1(msg: CoseSign1, publicKey: KeyObject, externalAad?: Uint8Array): boolean {
  try {
    return verify(null, sigStructure(msg.protectedBytes, msg.payload, externalAad), publicKey, msg.signature);
  } catch {
    return false;
  }
}
