// Minting eKeys and signed revocations (the issuer's side: the owner's or an admin's phone, the CLI and
// scenarios). Everything minted here is checked against the same rules the lock applies.
import { encodeCanonical, type CborValue } from '../codec/StrictCbor.ts';
import { KeywayError } from '../errors.ts';
import type { AccessSchedule, LockTime, Method, Random, Role } from '../types.ts';
import { HEADER, signSign1 } from './Cose.ts';
import { CLAIM, decodeClaims, encodeClaims, type EkeyClaims } from './Cwt.ts';
import { decodeSign1 } from './Cose.ts';
import type { RevocationKind } from './EkeyStore.ts';
import { keyId, type KeyPair } from './Keys.ts';

export interface MintSpec {
  /** Raw 32-byte public key of the holder (cnf). */
  holder: Uint8Array;
  /** Lock ids (or site names) it opens. */
  aud: string | string[];
  /** Validity [from, until) in lock time (ms); rounded outward-safe: from up, until down to whole seconds. */
  from: LockTime;
  until: LockTime;
  role?: Role;
  schedules?: AccessSchedule[];
  methods?: Method[];
  uses?: number | null;
  /** How many further delegation levels the holder may issue (0: none). */
  delegateDepth?: number;
  /** The issuer's own eKey (when the issuer is not the lock's owner key). */
  chain?: Uint8Array | null;
  /** Issue time (ms); default `from`. */
  issuedAt?: LockTime;
  sub?: string;
  /** cti bytes; default 16 random bytes from `random`. */
  cti?: Uint8Array;
}

/** Signs an eKey for spec.holder with the issuer's key. */
export function mintEkey(issuer: KeyPair, spec: MintSpec, random: Random): Uint8Array {
  const claims: EkeyClaims = {
    iss: keyId(issuer.publicRaw),
    ...(spec.sub === undefined ? {} : { sub: spec.sub }),
    aud: typeof spec.aud === 'string' ? [spec.aud] : [...spec.aud],
    // Never wider than asked: nbf rounds up, exp rounds down to whole seconds.
    nbf: Math.ceil(spec.from / 1000),
    exp: Math.floor(spec.until / 1000),
    iat: Math.floor((spec.issuedAt ?? spec.from) / 1000),
    cti: spec.cti ?? random.bytes(16),
    holder: spec.holder,
    role: spec.role ?? 'guest',
    schedules: spec.schedules ?? [],
    methods: spec.methods ?? ['app'],
    uses: spec.uses ?? null,
    delegateDepth: spec.delegateDepth ?? 0,
    chain: spec.chain ?? null,
  };
  if (claims.chain !== null) {
    // The parent must be for this issuer (its cnf is the issuer's key), or the lock would refuse the chain.
    const parent = decodeClaims(decodeSign1(claims.chain).payload);
    if (keyId(parent.holder) !== claims.iss) {
      throw new KeywayError('invalid_argument', "the chain's eKey belongs to another key than the issuer's");
    }
  }
  const payload = encodeClaims(claims);
  return signSign1(payload, issuer.privateKey, {
    unprotected: new Map<number, CborValue>([[HEADER.kid, Buffer.from(claims.iss, 'hex')]]),
  });
}

/** Private claim labels of a signed revocation. */
export const REVOCATION_CLAIM = {
  kind: -65550,
  id: -65551,
  until: -65552,
  evidence: -65553,
} as const;

export interface RevocationSpec {
  kind: RevocationKind;
  id: Uint8Array;
  /** When the revoked thing would expire anyway (lock time ms), or null: keep until removed. */
  until?: LockTime | null;
  /** The revoker's own eKey, when the revoker is not an owner key. */
  chain?: Uint8Array | null;
  /** The revoked eKey (needed when the revoker is not an owner key: proves the revoker issued it). */
  evidence?: Uint8Array | null;
  issuedAt: LockTime;
}

/** A signed revocation any admin's phone can deliver to the lock (see Verify.verifyRevocation). */
export function mintRevocation(revoker: KeyPair, spec: RevocationSpec, random: Random): Uint8Array {
  const m = new Map<number, CborValue>();
  m.set(CLAIM.iss, keyId(revoker.publicRaw));
  m.set(CLAIM.iat, Math.floor(spec.issuedAt / 1000));
  m.set(CLAIM.cti, random.bytes(16));
  m.set(REVOCATION_CLAIM.kind, spec.kind);
  m.set(REVOCATION_CLAIM.id, spec.id);
  if (spec.until !== undefined && spec.until !== null)
    m.set(REVOCATION_CLAIM.until, Math.ceil(spec.until / 1000));
  if (spec.chain) m.set(CLAIM.chain, spec.chain);
  if (spec.evidence) m.set(REVOCATION_CLAIM.evidence, spec.evidence);
  return signSign1(encodeCanonical(m), revoker.privateKey, {
    protectedExtra: new Map<number, CborValue>([[HEADER.contentType, 'application/keyway-revocation']]),
  });
}
