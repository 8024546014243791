// The authenticated Request / Response envelope carried inside the secure channel (and, for one early
// request, inside handshake payloads). Request {id, cmd, args}; Response {id, ok} or {id, err}; a
// streamed result (audit.pull) sends several Responses with the same id, all but the last with more: true.
import type { CborValue } from '../../firmware/codec/StrictCbor.ts';
import { BleError } from '../errors.ts';
import { decodeWire, encodeWire, MAX_MESSAGE_BYTES } from './cbor.ts';
import { COMMANDS, isCommandName, type ArgsOf, type CommandName, type ResultOf } from './commands.ts';
import { ERROR_CODES, type ResponseErrorCode } from './errorCodes.ts';
import { bool, map, oneOf, opt, req, text, uint } from './schema.ts';

export const MAX_REQUEST_ID = 0xffff_ffff;

export type Request = { [C in CommandName]: { id: number; cmd: C; args: ArgsOf<C> } }[CommandName];

export interface ResponseError {
  code: ResponseErrorCode;
  /** Human-readable detail; never contains secrets. */
  message?: string;
}

export type Response<C extends CommandName = CommandName> =
  { id: number; ok: ResultOf<C>; more?: true } | { id: number; err: ResponseError };

const requestId = uint(0, MAX_REQUEST_ID);
const errorCodec = map({ code: req(oneOf(ERROR_CODES)), message: opt(text(200, 0)) });
const KNOWN_REQUEST_KEYS = new Set(['id', 'cmd', 'args']);
const KNOWN_RESPONSE_KEYS = new Set(['id', 'ok', 'err', 'more']);

function asMap(v: CborValue, what: string): Map<string | number, CborValue> {
  if (!(v instanceof Map)) throw new BleError('wire.bad_type', `${what}: expected map`);
  return v;
}

function checkKeys(m: Map<string | number, CborValue>, known: Set<string>, what: string): void {
  for (const k of m.keys()) {
    if (typeof k !== 'string' || !known.has(k)) {
      throw new BleError(
        'wire.unknown_field',
        `${what}: unknown field ${JSON.stringify(String(k).slice(0, 40))}`,
      );
    }
  }
}

export function encodeRequest<C extends CommandName>(id: number, cmd: C, args: ArgsOf<C>): Uint8Array {
  return encodeWire(requestValue({ id, cmd, args } as Request));
}

/** The CBOR-ready value of a request (for embedding it in a handshake payload). */
export function requestValue(r: Request): unknown {
  requestId.decode(r.id, 'id');
  const spec = COMMANDS[r.cmd];
  const args = (spec.args as { encode(v: unknown): unknown }).encode(r.args);
  const out = { id: r.id, cmd: r.cmd, args };
  // Validate what we send with the same rules we receive with.
  decodeRequestValue(decodeWire(encodeWire(out)));
  return out;
}

/** Validates a decoded request value: known command, args exactly per the command's schema. */
export function decodeRequestValue(v: CborValue): Request {
  const m = asMap(v, 'request');
  checkKeys(m, KNOWN_REQUEST_KEYS, 'request');
  if (!m.has('id')) throw new BleError('wire.missing_field', 'id: required');
  const id = requestId.decode(m.get('id'), 'id');
  const cmd = m.get('cmd');
  if (cmd === undefined) throw new BleError('wire.missing_field', 'cmd: required');
  if (typeof cmd !== 'string') throw new BleError('wire.bad_type', 'cmd: expected text');
  if (!isCommandName(cmd))
    throw new BleError('wire.unknown_command', `cmd: "${cmd.slice(0, 40)}" is not a command`);
  // A command without arguments may omit args; anything else must match the command's schema.
  const rawArgs = m.has('args') ? m.get('args') : new Map<string, CborValue>();
  const args = (COMMANDS[cmd].args as { decode(v: CborValue, p: string): unknown }).decode(rawArgs, 'args');
  return { id, cmd, args } as Request;
}

export function decodeRequest(bytes: Uint8Array): Request {
  return decodeRequestValue(decodeWire(bytes, MAX_MESSAGE_BYTES));
}

/** Best-effort id of an undecodable request, so the error response can name it. */
export function requestIdOf(bytes: Uint8Array): number | null {
  try {
    const v = decodeWire(bytes);
    if (v instanceof Map) {
      const id = v.get('id');
      if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 && id <= MAX_REQUEST_ID) return id;
    }
  } catch {
    // no id to report
  }
  return null;
}

export function okResponse<C extends CommandName>(
  id: number,
  cmd: C,
  result: ResultOf<C>,
  more = false,
): Response<C> {
  return more ? { id, ok: result, more: true } : { id, ok: result };
}

export function errResponse(id: number, code: ResponseErrorCode, message?: string): Response {
  return message === undefined
    ? { id, err: { code } }
    : { id, err: { code, message: message.slice(0, 200) } };
}

/** The CBOR-ready value of a response to `cmd`. */
export function responseValue(cmd: CommandName, r: Response): unknown {
  if ('err' in r) return { id: r.id, err: errorCodec.encode(r.err) };
  const ok = (COMMANDS[cmd].result as { encode(v: unknown): unknown }).encode(r.ok);
  return r.more === true ? { id: r.id, ok, more: true } : { id: r.id, ok };
}

export function encodeResponse(cmd: CommandName, r: Response): Uint8Array {
  const out = encodeWire(responseValue(cmd, r));
  decodeResponseValue(decodeWire(out), () => cmd);
  return out;
}

/**
 * Validates a decoded response. `commandFor` tells which command the id belongs to (the phone keeps
 * its pending requests); an unknown id is an error.
 */
export function decodeResponseValue(
  v: CborValue,
  commandFor: (id: number) => CommandName | undefined,
): Response {
  const m = asMap(v, 'response');
  checkKeys(m, KNOWN_RESPONSE_KEYS, 'response');
  if (!m.has('id')) throw new BleError('wire.missing_field', 'id: required');
  const id = requestId.decode(m.get('id'), 'id');
  const hasOk = m.has('ok');
  const hasErr = m.has('err');
  if (hasOk === hasErr) throw new BleError('wire.missing_field', 'response: exactly one of ok and err');
  const more = m.has('more') ? bool().decode(m.get('more'), 'more') : false;
  if (m.has('more') && (!more || hasErr))
    throw new BleError('wire.out_of_range', 'more: only true, and only with ok');
  if (hasErr) {
    const err = errorCodec.decode(m.get('err'), 'err');
    return err.message === undefined
      ? { id, err: { code: err.code } }
      : { id, err: { code: err.code, message: err.message } };
  }
  const cmd = commandFor(id);
  if (cmd === undefined) throw new BleError('wire.out_of_range', `id: no pending request ${id}`);
  if (more && COMMANDS[cmd].stream !== true)
    throw new BleError('wire.out_of_range', `more: ${cmd} is not streamed`);
  const ok = (COMMANDS[cmd].result as { decode(v: CborValue, p: string): unknown }).decode(m.get('ok'), 'ok');
  return (more ? { id, ok, more: true } : { id, ok }) as Response;
}

export function decodeResponse(
  bytes: Uint8Array,
  commandFor: (id: number) => CommandName | undefined,
): Response {
  return decodeResponseValue(decodeWire(bytes), commandFor);
}

/** Log form of a request: secrets (PINs, the offline-PIN secret) masked. */
export function requestLog(r: Request): unknown {
  return { id: r.id, cmd: r.cmd, args: (COMMANDS[r.cmd].args as { log(v: unknown): unknown }).log(r.args) };
}

export function responseLog(cmd: CommandName, r: Response): unknown {
  if ('err' in r) return { id: r.id, err: r.err };
  const ok = (COMMANDS[cmd].result as { log(v: unknown): unknown }).log(r.ok);
  return r.more === true ? { id: r.id, ok, more: true } : { id: r.id, ok };
}

/** Decodes the response to one known request, typed by its command (the phone's usual case). */
export function decodeResponseTo<C extends CommandName>(
  bytes: Uint8Array,
  request: { id: number; cmd: C },
): Response<C> {
  return decodeResponse(bytes, (id) => (id === request.id ? request.cmd : undefined)) as Response<C>;
}
