// The lock's setup code (printed on its label / shown on the keypad) and how a claim uses it in SPAKE2+.
import type { Random } from '../../firmware/index.ts';
import { BleError } from '../errors.ts';
import {
  DEFAULT_PBKDF,
  deriveProverSecret,
  verifierRecord,
  type PbkdfParams,
  type ProverSecret,
  type Spake2PlusIdentities,
  type VerifierRecord,
} from './Spake2Plus.ts';

export const SETUP_CODE_DIGITS = 8;
/** Fixed SPAKE2+ identities: the record is made at manufacture, before any phone is known. */
export const CLAIM_ID_PROVER = new TextEncoder().encode('keyway phone');
export const CLAIM_ID_VERIFIER = new TextEncoder().encode('keyway lock');
export const CLAIM_CONTEXT_PREFIX = 'keyway-claim/1';

/** "1234 5678" or "1234-5678" -> "12345678"; anything but exactly 8 digits is refused. */
export function normalizeSetupCode(code: string): string {
  const digits = code.replace(/[\s-]/g, '');
  if (!new RegExp(`^[0-9]{${SETUP_CODE_DIGITS}}$`).test(digits)) {
    throw new BleError('pake.bad_params', `a setup code is ${SETUP_CODE_DIGITS} digits`);
  }
  return digits;
}

/** A uniformly random setup code (rejection sampling, so every code is equally likely). */
export function generateSetupCode(random: Random): string {
  let out = '';
  while (out.length < SETUP_CODE_DIGITS) {
    const b = random.bytes(1)[0] ?? 255;
    if (b < 250) out += String(b % 10);
  }
  return out;
}

/**
 * SPAKE2+ context for a claim: the prefix and the Noise handshake hash of the session carrying it, so a
 * man in the middle of the (unauthenticated) XX handshake, who holds two different sessions, fails
 * the key confirmation.
 */
export function claimIdentities(handshakeHash: Uint8Array): Spake2PlusIdentities {
  const prefix = new TextEncoder().encode(CLAIM_CONTEXT_PREFIX);
  const context = new Uint8Array(prefix.length + handshakeHash.length);
  context.set(prefix);
  context.set(handshakeHash, prefix.length);
  return { context, idProver: CLAIM_ID_PROVER, idVerifier: CLAIM_ID_VERIFIER };
}

/** Phone side: the setup code and the lock's scrypt parameters -> (w0, w1). */
export function setupCodeSecret(code: string, params: PbkdfParams): ProverSecret {
  const password = new TextEncoder().encode(normalizeSetupCode(code));
  return deriveProverSecret(password, { idProver: CLAIM_ID_PROVER, idVerifier: CLAIM_ID_VERIFIER }, params);
}

/** Manufacture: the record the lock keeps (w0, L) and the parameters it tells phones. */
export function makeClaimVerifier(
  code: string,
  random: Random,
  cost: { N: number; r: number; p: number } = DEFAULT_PBKDF,
): { record: VerifierRecord; params: PbkdfParams } {
  const params: PbkdfParams = { salt: random.bytes(16), ...cost };
  const secret = setupCodeSecret(code, params);
  const record = verifierRecord(secret);
  secret.w1.fill(0);
  return { record, params };
}
