// One coded error type for everything that is not an expected denial (those are Decision results).
// Codes are grouped by area; the code is part of the message so logs and CLIs show it.

export type ErrorCode =
  // input
  | 'invalid_argument'
  | 'out_of_range'
  | 'invalid_schedule'
  | 'weak_pin'
  | 'invalid_pin'
  | 'malformed'
  // management
  | 'not_found'
  | 'duplicate'
  | 'not_authorized'
  | 'capacity_exceeded'
  | 'time_bound_required'
  | 'time_unknown'
  // store
  | 'store_corrupt'
  | 'store_newer_version'
  | 'store_foreign'
  | 'store_rollback'
  | 'store_io'
  // crypto / protocol
  | 'crypto'
  | 'protocol'
  | 'internal';

export class KeywayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'KeywayError';
  }
}

export function isKeywayError(err: unknown, code?: ErrorCode): err is KeywayError {
  return err instanceof KeywayError && (code === undefined || err.code === code);
}
