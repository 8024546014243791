// The closed list of error codes a Response may carry. Phones must treat any other code as malformed.
import { DENIAL_REASONS, type DenialReason, type ErrorCode } from '../../firmware/index.ts';

/** Refusals of an operation (the engine's DenialReason set, unchanged). */
const DENIALS = Object.fromEntries(DENIAL_REASONS.map((r) => [r, true])) as Record<DenialReason, true>;

/** Management errors (KeywayError codes a phone can act on; store and internal failures map to internal). */
const MANAGEMENT = {
  invalid_argument: true,
  out_of_range: true,
  invalid_schedule: true,
  weak_pin: true,
  invalid_pin: true,
  not_found: true,
  duplicate: true,
  capacity_exceeded: true,
  time_bound_required: true,
  internal: true,
} as const satisfies Partial<Record<ErrorCode, true>>;

/** Session and protocol errors. */
const PROTOCOL = {
  /** The request could not be decoded (wrong types, unknown fields, unknown command). */
  bad_request: true,
  /** The command needs an accepted eKey proof (the `proof` command or one in the handshake) first. */
  proof_required: true,
  /** RequirePINforRemoteOperation is on and no (or a wrong) PIN came with the command. */
  pin_required: true,
  /** The lock is claimed already (claim.*), or not in setup mode. */
  already_claimed: true,
  /** SPAKE2+ key confirmation failed: wrong setup code (counts as a wrong attempt). */
  claim_failed: true,
  /** claim.finish before claim.start, a second claim.start, and similar. */
  out_of_order: true,
  /** time.sync would move the clock backwards by more than the tolerance. */
  clock_rollback: true,
  /** Too many requests or attempts; retry later. */
  rate_limited: true,
  /** The lock is busy with another operation. */
  busy: true,
} as const;

export const ERROR_CODES = [
  ...Object.keys(DENIALS),
  ...Object.keys(MANAGEMENT),
  ...Object.keys(PROTOCOL),
] as readonly ResponseErrorCode[];

export type ResponseErrorCode = keyof typeof DENIALS | keyof typeof MANAGEMENT | keyof typeof PROTOCOL;

export function isResponseErrorCode(code: string): code is ResponseErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}
