// SPAKE2+ (RFC 9383), ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256, for claiming a lock.
//
// The phone is the Prover (it knows the setup code); the lock is the Verifier and stores only the
// registration record (w0, L = w1*P), computed once at manufacture. An eavesdropper on a run learns
// nothing that lets it test setup-code guesses offline; each guess costs one online attempt.
// Point arithmetic: @noble/curves p256. Hash, HKDF, HMAC and scrypt: node:crypto.
import { createHash, createHmac, hkdfSync, scryptSync } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { constantTimeEqual, type Random } from '../../firmware/index.ts';
import { BleError } from '../errors.ts';

const Point = p256.Point;
type P256Point = ReturnType<typeof Point.fromHex>;
const ORDER = Point.Fn.ORDER;

/** RFC 9383 section 4: M and N for P-256 (compressed SEC1). */
export const SPAKE2PLUS_M_HEX = '02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f';
export const SPAKE2PLUS_N_HEX = '03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49';
const M = Point.fromHex(SPAKE2PLUS_M_HEX);
const N = Point.fromHex(SPAKE2PLUS_N_HEX);

export const SHARE_LENGTH = 65;
export const CONFIRM_LENGTH = 32;
export const SCALAR_LENGTH = 32;

export interface Spake2PlusIdentities {
  /** Binds the run to its setting; keyway puts the Noise handshake hash in it. */
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
}

/** scrypt parameters of the password-to-(w0, w1) derivation, chosen by the lock at manufacture. */
export interface PbkdfParams {
  salt: Uint8Array;
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** Bounds a phone accepts from a lock (a hostile lock must not make the phone allocate gigabytes). */
export const PBKDF_LIMITS = Object.freeze({
  minLogN: 10,
  maxLogN: 20,
  maxR: 16,
  maxP: 4,
  minSalt: 16,
  maxSalt: 64,
});
export const DEFAULT_PBKDF = Object.freeze({ N: 1 << 15, r: 8, p: 1 });

export function validatePbkdfParams(params: PbkdfParams): void {
  const { N: n, r, p, salt } = params;
  const logN = Math.log2(n);
  if (!Number.isInteger(logN) || logN < PBKDF_LIMITS.minLogN || logN > PBKDF_LIMITS.maxLogN) {
    throw new BleError(
      'pake.bad_params',
      `scrypt N must be a power of two in 2^${PBKDF_LIMITS.minLogN}..2^${PBKDF_LIMITS.maxLogN}`,
    );
  }
  if (!Number.isInteger(r) || r < 1 || r > PBKDF_LIMITS.maxR)
    throw new BleError('pake.bad_params', 'scrypt r out of range');
  if (!Number.isInteger(p) || p < 1 || p > PBKDF_LIMITS.maxP)
    throw new BleError('pake.bad_params', 'scrypt p out of range');
  if (salt.length < PBKDF_LIMITS.minSalt || salt.length > PBKDF_LIMITS.maxSalt) {
    throw new BleError(
      'pake.bad_params',
      `salt must be ${PBKDF_LIMITS.minSalt}..${PBKDF_LIMITS.maxSalt} bytes`,
    );
  }
}

function le64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

/** len(a) || a || len(b) || b ... with 8-byte little-endian lengths (RFC 9383 section 3.3). */
function lengthPrefixed(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 8 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(le64(p.length), at);
    out.set(p, at + 8);
    at += 8 + p.length;
  }
  return out;
}

function bytesToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function scalarBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(SCALAR_LENGTH);
  for (let i = SCALAR_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function scalar(b: Uint8Array, what: string): bigint {
  if (b.length !== SCALAR_LENGTH)
    throw new BleError('pake.bad_params', `${what} must be ${SCALAR_LENGTH} bytes`);
  const n = bytesToBigInt(b);
  if (n === 0n || n >= ORDER) throw new BleError('pake.bad_params', `${what} out of range`);
  return n;
}

function decodeShare(b: Uint8Array, what: string): P256Point {
  // Uncompressed SEC1 only; fromBytes checks the point is on the curve; P-256 has cofactor 1.
  if (b.length !== SHARE_LENGTH || b[0] !== 0x04)
    throw new BleError('pake.bad_share', `${what} is not an uncompressed P-256 point`);
  try {
    const pt = Point.fromBytes(b);
    pt.assertValidity();
    return pt;
  } catch (cause) {
    throw new BleError('pake.bad_share', `${what} is not on P-256`, { cause });
  }
}

function encodePoint(pt: P256Point, what: string): Uint8Array {
  if (pt.is0()) throw new BleError('pake.bad_share', `${what} is the identity`);
  return pt.toBytes(false);
}

/** Uniform scalar in [1, n-1] from 40 random bytes (bias below 2^-64). */
function randomScalar(random: Random): bigint {
  for (;;) {
    const n = bytesToBigInt(random.bytes(40)) % ORDER;
    if (n !== 0n) return n;
  }
}

/** w0 and w1 as 32-byte big-endian scalars. */
export interface ProverSecret {
  w0: Uint8Array;
  w1: Uint8Array;
}

/** What the lock stores: w0 and L = w1*P (65-byte uncompressed point). */
export interface VerifierRecord {
  w0: Uint8Array;
  L: Uint8Array;
}

/**
 * RFC 9383 section 3.2: w0s || w1s = PBKDF(len(pw) || pw || len(idProver) || idProver || len(idVerifier)
 * || idVerifier), 40 bytes each, reduced mod n. The PBKDF is scrypt with the lock's salt and cost.
 */
export function deriveProverSecret(
  password: Uint8Array,
  ids: Pick<Spake2PlusIdentities, 'idProver' | 'idVerifier'>,
  params: PbkdfParams,
): ProverSecret {
  validatePbkdfParams(params);
  const input = lengthPrefixed(password, ids.idProver, ids.idVerifier);
  const out = scryptSync(input, params.salt, 80, {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r * params.p + (1 << 20),
  });
  const w0 = bytesToBigInt(out.subarray(0, 40)) % ORDER;
  const w1 = bytesToBigInt(out.subarray(40, 80)) % ORDER;
  out.fill(0);
  return { w0: scalarBytes(w0), w1: scalarBytes(w1) };
}

/** The registration record for a prover secret. */
export function verifierRecord(secret: ProverSecret): VerifierRecord {
  scalar(secret.w0, 'w0');
  return { w0: Uint8Array.from(secret.w0), L: Point.BASE.multiply(scalar(secret.w1, 'w1')).toBytes(false) };
}

interface KeySchedule {
  confirmP: Uint8Array;
  confirmV: Uint8Array;
  sharedKey: Uint8Array;
}

function keySchedule(
  ids: Spake2PlusIdentities,
  shareP: Uint8Array,
  shareV: Uint8Array,
  Z: P256Point,
  V: P256Point,
  w0: Uint8Array,
): KeySchedule {
  const TT = lengthPrefixed(
    ids.context,
    ids.idProver,
    ids.idVerifier,
    M.toBytes(false),
    N.toBytes(false),
    shareP,
    shareV,
    encodePoint(Z, 'Z'),
    encodePoint(V, 'V'),
    w0,
  );
  const kMain = createHash('sha256').update(TT).digest();
  const kc = new Uint8Array(hkdfSync('sha256', kMain, new Uint8Array(0), 'ConfirmationKeys', 64));
  const sharedKey = new Uint8Array(hkdfSync('sha256', kMain, new Uint8Array(0), 'SharedKey', 32));
  const mac = (key: Uint8Array, data: Uint8Array): Uint8Array =>
    new Uint8Array(createHmac('sha256', key).update(data).digest());
  const result = {
    confirmP: mac(kc.subarray(0, 32), shareV),
    confirmV: mac(kc.subarray(32, 64), shareP),
    sharedKey,
  };
  kc.fill(0);
  kMain.fill(0);
  return result;
}

/** The phone's side. */
export class Spake2PlusProver {
  readonly #ids: Spake2PlusIdentities;
  readonly #w0: bigint;
  readonly #w1: bigint;
  readonly #x: bigint;
  #shareP: Uint8Array | null = null;
  #done = false;

  /** `x` fixes the ephemeral scalar (RFC test vectors only); otherwise it is drawn from `random`. */
  constructor(options: Spake2PlusIdentities & ProverSecret & ({ random: Random } | { x: Uint8Array })) {
    this.#ids = options;
    this.#w0 = scalar(options.w0, 'w0');
    this.#w1 = scalar(options.w1, 'w1');
    this.#x = 'x' in options ? scalar(options.x, 'x') : randomScalar(options.random);
  }

  /** shareP = x*P + w0*M. */
  share(): Uint8Array {
    if (this.#shareP !== null) throw new BleError('pake.bad_state', 'share already produced');
    this.#shareP = encodePoint(Point.BASE.multiply(this.#x).add(M.multiply(this.#w0)), 'shareP');
    return Uint8Array.from(this.#shareP);
  }

  /**
   * Checks the lock's confirmation and returns the prover's confirmation and the shared key.
   * Throws pake.confirm_failed when the lock does not hold the verifier for this password.
   */
  finish(shareV: Uint8Array, confirmV: Uint8Array): { confirmP: Uint8Array; sharedKey: Uint8Array } {
    if (this.#shareP === null || this.#done) throw new BleError('pake.bad_state', 'finish out of order');
    this.#done = true;
    const Y = decodeShare(shareV, 'shareV');
    const base = Y.subtract(N.multiply(this.#w0));
    const Z = base.multiply(this.#x);
    const V = base.multiply(this.#w1);
    const ks = keySchedule(this.#ids, this.#shareP, shareV, Z, V, scalarBytes(this.#w0));
    if (!constantTimeEqual(ks.confirmV, confirmV)) {
      throw new BleError('pake.confirm_failed', 'the lock did not confirm the setup code');
    }
    return { confirmP: ks.confirmP, sharedKey: ks.sharedKey };
  }
}

/** The lock's side. */
export class Spake2PlusVerifier {
  readonly #ids: Spake2PlusIdentities;
  readonly #w0: bigint;
  readonly #L: P256Point;
  readonly #y: bigint;
  #pending: KeySchedule | null = null;
  #state: 'new' | 'responded' | 'done' = 'new';

  constructor(options: Spake2PlusIdentities & VerifierRecord & ({ random: Random } | { y: Uint8Array })) {
    this.#ids = options;
    this.#w0 = scalar(options.w0, 'w0');
    this.#L = decodeShare(options.L, 'L');
    this.#y = 'y' in options ? scalar(options.y, 'y') : randomScalar(options.random);
  }

  /** Takes shareP, returns shareV = y*P + w0*N and confirmV. */
  respond(shareP: Uint8Array): { shareV: Uint8Array; confirmV: Uint8Array } {
    if (this.#state !== 'new') throw new BleError('pake.bad_state', 'respond called twice');
    this.#state = 'responded';
    const X = decodeShare(shareP, 'shareP');
    const shareV = encodePoint(Point.BASE.multiply(this.#y).add(N.multiply(this.#w0)), 'shareV');
    const Z = X.subtract(M.multiply(this.#w0)).multiply(this.#y);
    const V = this.#L.multiply(this.#y);
    this.#pending = keySchedule(this.#ids, Uint8Array.from(shareP), shareV, Z, V, scalarBytes(this.#w0));
    return { shareV, confirmV: Uint8Array.from(this.#pending.confirmV) };
  }

  /** Checks the phone's confirmation; returns the shared key or throws pake.confirm_failed. */
  finish(confirmP: Uint8Array): Uint8Array {
    const ks = this.#pending;
    if (this.#state !== 'responded' || ks === null)
      throw new BleError('pake.bad_state', 'finish out of order');
    this.#state = 'done';
    this.#pending = null;
    if (!constantTimeEqual(ks.confirmP, confirmP)) {
      ks.sharedKey.fill(0);
      throw new BleError('pake.confirm_failed', 'wrong setup code');
    }
    return ks.sharedKey;
  }
}
