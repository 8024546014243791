// One coded error for the BLE layer: a KeywayError (so callers can use isKeywayError) carrying a finer,
// closed `reason` grouped by area. Messages never contain keys, plaintexts or passwords.
import { KeywayError, type ErrorCode } from '../firmware/index.ts';

export type FrameErrorReason =
  | 'frame.truncated'
  | 'frame.bad_header'
  | 'frame.empty'
  | 'frame.too_large'
  | 'frame.fragment_too_long'
  | 'frame.unexpected_continuation'
  | 'frame.interleaved'
  | 'frame.duplicate'
  | 'frame.out_of_order'
  | 'frame.overrun'
  | 'frame.length_mismatch'
  | 'frame.too_many_fragments'
  | 'frame.timeout';

export type NoiseErrorReason =
  | 'noise.bad_state'
  | 'noise.bad_key'
  | 'noise.bad_length'
  | 'noise.decrypt_failed'
  | 'noise.dh_failed'
  | 'noise.nonce_exhausted'
  | 'noise.unsupported_pattern';

export type SessionErrorReason =
  'session.closed' | 'session.decrypt_failed' | 'session.too_large' | 'session.bad_proof';

export type PakeErrorReason = 'pake.bad_state' | 'pake.bad_share' | 'pake.confirm_failed' | 'pake.bad_params';

export type WireErrorReason =
  | 'wire.bad_cbor'
  | 'wire.too_large'
  | 'wire.bad_type'
  | 'wire.unknown_field'
  | 'wire.missing_field'
  | 'wire.out_of_range'
  | 'wire.unknown_command'
  | 'wire.unknown_message'
  | 'wire.unsupported_version';

export type BleErrorReason =
  FrameErrorReason | NoiseErrorReason | SessionErrorReason | PakeErrorReason | WireErrorReason;

function baseCode(reason: BleErrorReason): ErrorCode {
  if (reason.startsWith('wire.')) return 'malformed';
  if (
    reason === 'noise.decrypt_failed' ||
    reason === 'noise.dh_failed' ||
    reason === 'session.decrypt_failed' ||
    reason === 'session.bad_proof' ||
    reason === 'pake.confirm_failed' ||
    reason === 'pake.bad_share'
  ) {
    return 'crypto';
  }
  return 'protocol';
}

export class BleError extends KeywayError {
  constructor(
    readonly reason: BleErrorReason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(baseCode(reason), `${reason}: ${detail}`, options);
    this.name = 'BleError';
  }
}

export function isBleError(err: unknown, reason?: BleErrorReason): err is BleError {
  return err instanceof BleError && (reason === undefined || err.reason === reason);
}
