// Claiming: SPAKE2+ inside the XX-encrypted channel. The lock sends its scrypt parameters in the XX
// message 2 payload; then claim.start carries the phone's share and returns the lock's share and
// confirmation; claim.finish carries the phone's confirmation together with the owner's key and the
// offline-PIN secret (accepted only if the confirmation verifies) and returns the lock's identity.
import { PBKDF_LIMITS, validatePbkdfParams, type PbkdfParams } from '../pake/Spake2Plus.ts';
import { bytes, map, opt, refine, req, secret, text, uint, type Codec, type MapOf } from './schema.ts';

const paramsMap = map({
  salt: req(bytes(PBKDF_LIMITS.minSalt, PBKDF_LIMITS.maxSalt)),
  N: req(uint(1, 1 << PBKDF_LIMITS.maxLogN)),
  r: req(uint(1, PBKDF_LIMITS.maxR)),
  p: req(uint(1, PBKDF_LIMITS.maxP)),
});

/** scrypt parameters (also checked: N a power of two within the limits). */
export const claimParamsCodec: Codec<PbkdfParams> = refine(paramsMap, (params) =>
  validatePbkdfParams(params),
);

export const claimStartArgs = map({
  /** SPAKE2+ shareP: uncompressed P-256 point. */
  share: req(bytes(65)),
});
export const claimStartResult = map({
  /** SPAKE2+ shareV. */
  share: req(bytes(65)),
  /** SPAKE2+ confirmV = HMAC(K_confirmV, shareP). */
  confirm: req(bytes(32)),
});

export const claimFinishArgs = map({
  /** SPAKE2+ confirmP = HMAC(K_confirmP, shareV). */
  confirm: req(bytes(32)),
  /** The owner's Ed25519 public key: the trust anchor for every eKey the owner issues. */
  ownerKey: req(bytes(32)),
  /** Owner's display name (personal data, optional). */
  ownerName: opt(text(32)),
  /** Secret shared by owner and lock for offline PINs. */
  pinSecret: req(secret(bytes(32))),
});
export const claimFinishResult = map({
  /** The lock's id (Settings.lockId): the `aud` of eKeys for this lock. */
  lockId: req(text(64)),
  /** The lock's static X25519 Noise key: what phones need for IK. */
  lockKey: req(bytes(32)),
  /** The lock's Ed25519 device key, which signs audit checkpoints. */
  deviceKey: req(bytes(32)),
  /** The owner's user index. */
  user: req(uint(1, 0xffff)),
});

export type ClaimStartArgs = MapOf<typeof claimStartArgs.fields>;
export type ClaimStartResult = MapOf<typeof claimStartResult.fields>;
export type ClaimFinishArgs = MapOf<typeof claimFinishArgs.fields>;
export type ClaimFinishResult = MapOf<typeof claimFinishResult.fields>;
