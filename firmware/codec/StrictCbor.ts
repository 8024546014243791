// A strict CBOR (RFC 8949) decoder and a deterministic encoder, for everything the lock accepts from outside
// (eKeys, revocations, BLE messages). The decoder walks the bytes once and refuses, with a machine-readable
// sub-reason, anything that is not the one deterministic encoding (§4.2.1): non-shortest integers, lengths
// or floats, indefinite lengths, duplicate or (optionally) unsorted map keys, trailing bytes, and anything
// outside the caller's limits (size, depth, item count, major types, simple values, tags).
// Two different byte strings therefore never decode to the same value, so a signature over the bytes is a
// signature over the value.
import { KeywayError } from '../errors.ts';

/** Why a CBOR input was refused (machine-readable; the message says more). */
export type CborFailure =
  | 'empty'
  | 'truncated'
  | 'trailing_bytes'
  | 'too_large'
  | 'too_deep'
  | 'too_many_items'
  | 'non_shortest'
  | 'indefinite_length'
  | 'reserved_info'
  | 'int_out_of_range'
  | 'invalid_utf8'
  | 'duplicate_key'
  | 'unsorted_keys'
  | 'bad_key_type'
  | 'forbidden_type'
  | 'forbidden_simple'
  | 'forbidden_tag'
  | 'forbidden_float'
  | 'unencodable';

export class CborError extends KeywayError {
  constructor(
    readonly failure: CborFailure,
    readonly offset: number,
    message: string,
  ) {
    super('malformed', `CBOR ${failure} at byte ${offset}: ${message}`);
    this.name = 'CborError';
  }
}

/** A tagged item (major type 6). */
export class Tagged {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

export type CborKey = number | string;
export type CborValue =
  number | string | boolean | null | undefined | Uint8Array | CborValue[] | Map<CborKey, CborValue> | Tagged;

export interface StrictCborOptions {
  /** Largest input accepted, in bytes. Default 4096. */
  maxBytes?: number;
  /** Deepest nesting of arrays, maps and tags. Default 16. */
  maxDepth?: number;
  /** Most data items in total. Default 1024. */
  maxItems?: number;
  /** Map keys must be in bytewise order of their encodings (RFC 8949 §4.2.1). Default true. */
  sortedKeys?: boolean;
  /** Map keys allowed: 'int' (COSE/CWT labels), 'text', or 'int-or-text'. Default 'int-or-text'. */
  keyTypes?: 'int' | 'text' | 'int-or-text';
  /** Tags allowed anywhere. Default none. */
  tags?: readonly number[];
  /** Floats (in their shortest form) are refused unless set. Default false. */
  floats?: boolean;
  /** Simple values allowed. Default false, true, null (not undefined). */
  simple?: ReadonlyArray<'false' | 'true' | 'null' | 'undefined'>;
}

const DEFAULTS: Required<StrictCborOptions> = {
  maxBytes: 4096,
  maxDepth: 16,
  maxItems: 1024,
  sortedKeys: true,
  keyTypes: 'int-or-text',
  tags: [],
  floats: false,
  simple: ['false', 'true', 'null'],
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Decodes exactly one data item filling all of `bytes`, or throws CborError. */
export function decodeStrict(bytes: Uint8Array, options: StrictCborOptions = {}): CborValue {
  if (!(bytes instanceof Uint8Array)) {
    throw new KeywayError('invalid_argument', 'CBOR input must be a Uint8Array');
  }
  const o = merged(options);
  if (bytes.length === 0) throw new CborError('empty', 0, 'no data');
  if (bytes.length > o.maxBytes) {
    throw new CborError('too_large', 0, `${bytes.length} bytes; at most ${o.maxBytes} accepted`);
  }
  const r = new Reader(bytes, o);
  const value = r.item(0);
  if (r.pos !== bytes.length) {
    throw new CborError('trailing_bytes', r.pos, `${bytes.length - r.pos} bytes after the data item`);
  }
  return value;
}

// Callers pass module-level option objects; merging them with the defaults once per object (not once per
// decode) keeps the hot path of eKey verification free of that allocation.
const mergedOptions = new WeakMap<StrictCborOptions, Required<StrictCborOptions>>();

function merged(options: StrictCborOptions): Required<StrictCborOptions> {
  let o = mergedOptions.get(options);
  if (o === undefined) {
    o = { ...DEFAULTS, ...options };
    // Only frozen option objects can be remembered safely: a caller could change a mutable one later.
    if (Object.isFrozen(options)) mergedOptions.set(options, o);
  }
  return o;
}

class Reader {
  pos = 0;
  private items = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly o: Required<StrictCborOptions>,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.b.length) {
      throw new CborError('truncated', this.pos, `needs ${n} more bytes, ${this.b.length - this.pos} left`);
    }
  }

  /** The argument of the head at pos (after the initial byte), checked for shortest form. */
  private argument(info: number, start: number): number {
    if (info < 24) return info;
    let v: number;
    switch (info) {
      case 24:
        this.need(1);
        v = this.b[this.pos++]!;
        if (v < 24) throw new CborError('non_shortest', start, `${v} encoded in 1 extra byte`);
        return v;
      case 25:
        this.need(2);
        v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
        this.pos += 2;
        if (v < 0x100) throw new CborError('non_shortest', start, `${v} encoded in 2 extra bytes`);
        return v;
      case 26:
        this.need(4);
        v =
          ((this.b[this.pos]! << 24) >>> 0) +
          ((this.b[this.pos + 1]! << 16) | (this.b[this.pos + 2]! << 8) | this.b[this.pos + 3]!);
        this.pos += 4;
        if (v < 0x10000) throw new CborError('non_shortest', start, `${v} encoded in 4 extra bytes`);
        return v;
      case 27: {
        this.need(8);
        const hi =
          ((this.b[this.pos]! << 24) >>> 0) +
          ((this.b[this.pos + 1]! << 16) | (this.b[this.pos + 2]! << 8) | this.b[this.pos + 3]!);
        const lo =
          ((this.b[this.pos + 4]! << 24) >>> 0) +
          ((this.b[this.pos + 5]! << 16) | (this.b[this.pos + 6]! << 8) | this.b[this.pos + 7]!);
        this.pos += 8;
        if (hi === 0) throw new CborError('non_shortest', start, `${lo} encoded in 8 extra bytes`);
        // Only integers JavaScript holds exactly (2^53 - 1) are accepted; nothing here needs more.
        if (hi >= 0x200000) throw new CborError('int_out_of_range', start, 'integer beyond 2^53 - 1');
        return hi * 0x100000000 + lo;
      }
      case 31:
        throw new CborError('indefinite_length', start, 'indefinite lengths are not deterministic');
      default:
        throw new CborError('reserved_info', start, `additional information ${info} is reserved`);
    }
  }

  private count(start: number): void {
    if (++this.items > this.o.maxItems) {
      throw new CborError('too_many_items', start, `more than ${this.o.maxItems} data items`);
    }
  }

  item(depth: number): CborValue {
    const start = this.pos;
    this.need(1);
    this.count(start);
    const ib = this.b[this.pos++]!;
    const major = ib >> 5;
    const info = ib & 0x1f;
    if (major === 7) return this.simpleOrFloat(info, start);
    const arg = this.argument(info, start);
    switch (major) {
      case 0:
        return arg;
      case 1:
        if (arg >= Number.MAX_SAFE_INTEGER)
          throw new CborError('int_out_of_range', start, 'integer below -2^53');
        return -1 - arg;
      case 2: {
        this.need(arg);
        const out = this.b.slice(this.pos, this.pos + arg);
        this.pos += arg;
        return out;
      }
      case 3: {
        this.need(arg);
        let s: string;
        try {
          s = utf8.decode(this.b.subarray(this.pos, this.pos + arg));
        } catch {
          throw new CborError('invalid_utf8', start, 'text string is not valid UTF-8');
        }
        this.pos += arg;
        return s;
      }
      case 4: {
        this.deeper(depth, start);
        // Each element takes at least one byte: refuse impossible counts before allocating.
        this.need(arg);
        const out: CborValue[] = [];
        for (let i = 0; i < arg; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5:
        return this.map(arg, depth, start);
      case 6: {
        this.deeper(depth, start);
        if (!this.o.tags.includes(arg))
          throw new CborError('forbidden_tag', start, `tag ${arg} is not allowed here`);
        return new Tagged(arg, this.item(depth + 1));
      }
      default:
        throw new CborError('forbidden_type', start, `major type ${major}`);
    }
  }

  private deeper(depth: number, start: number): void {
    if (depth + 1 > this.o.maxDepth) {
      throw new CborError('too_deep', start, `nesting deeper than ${this.o.maxDepth}`);
    }
  }

  private map(n: number, depth: number, start: number): Map<CborKey, CborValue> {
    this.deeper(depth, start);
    this.need(2 * n);
    const out = new Map<CborKey, CborValue>();
    // The previous key's encoding as offsets into the input (no per-key copy or view).
    let prevStart = -1;
    let prevEnd = -1;
    const seen = this.o.sortedKeys ? null : new Set<string>();
    for (let i = 0; i < n; i++) {
      const keyStart = this.pos;
      const key = this.item(depth + 1);
      const keyEnd = this.pos;
      const isInt = typeof key === 'number';
      const isText = typeof key === 'string';
      const okType =
        this.o.keyTypes === 'int' ? isInt : this.o.keyTypes === 'text' ? isText : isInt || isText;
      if (!okType) {
        throw new CborError(
          'bad_key_type',
          keyStart,
          `map keys must be ${this.o.keyTypes.replace(/-/g, ' ')}`,
        );
      }
      if (seen !== null) {
        const k = Buffer.from(this.b.subarray(keyStart, keyEnd)).toString('latin1');
        if (seen.has(k)) throw new CborError('duplicate_key', keyStart, `key ${describeKey(key)} repeated`);
        seen.add(k);
      } else if (prevStart >= 0) {
        const c = compareRanges(this.b, prevStart, prevEnd, keyStart, keyEnd);
        if (c === 0) throw new CborError('duplicate_key', keyStart, `key ${describeKey(key)} repeated`);
        if (c > 0) throw new CborError('unsorted_keys', keyStart, `key ${describeKey(key)} out of order`);
      }
      prevStart = keyStart;
      prevEnd = keyEnd;
      out.set(key as CborKey, this.item(depth + 1));
    }
    return out;
  }

  private simpleOrFloat(info: number, start: number): CborValue {
    if (info < 24) {
      const names: Record<number, 'false' | 'true' | 'null' | 'undefined'> = {
        20: 'false',
        21: 'true',
        22: 'null',
        23: 'undefined',
      };
      const name = names[info];
      if (name === undefined || !this.o.simple.includes(name)) {
        throw new CborError('forbidden_simple', start, `simple value ${info} is not allowed here`);
      }
      return info === 20 ? false : info === 21 ? true : info === 22 ? null : undefined;
    }
    if (info === 24) {
      this.need(1);
      const v = this.b[this.pos++]!;
      if (v < 32) throw new CborError('non_shortest', start, `simple value ${v} in two bytes`);
      throw new CborError('forbidden_simple', start, `simple value ${v} is not allowed here`);
    }
    if (info === 31) throw new CborError('indefinite_length', start, 'unexpected break');
    if (info > 27) throw new CborError('reserved_info', start, `additional information ${info} is reserved`);
    const size = info === 25 ? 2 : info === 26 ? 4 : 8;
    this.need(size);
    const view = new DataView(this.b.buffer, this.b.byteOffset + this.pos, size);
    const v =
      size === 2 ? halfToNumber(view.getUint16(0)) : size === 4 ? view.getFloat32(0) : view.getFloat64(0);
    this.pos += size;
    if (!this.o.floats)
      throw new CborError('forbidden_float', start, 'floating-point numbers are not allowed here');
    if (floatSize(v) !== size) {
      throw new CborError('non_shortest', start, `float ${v} in ${size} bytes; shorter form exists`);
    }
    return v;
  }
}

function describeKey(k: CborValue): string {
  return typeof k === 'number'
    ? String(k)
    : typeof k === 'string'
      ? JSON.stringify(k.slice(0, 32))
      : typeof k;
}

/** compareBytes of b[aStart, aEnd) and b[bStart, bEnd), without making views. */
function compareRanges(b: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    const x = b[aStart + i]!;
    const y = b[bStart + i]!;
    if (x !== y) return x - y;
  }
  return aLen - bLen;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function halfToNumber(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function numberToHalf(v: number): number | null {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  for (let exp = 1; exp < 31; exp++) {
    const mant = (a / 2 ** (exp - 15) - 1) * 1024;
    if (mant >= 0 && mant < 1024 && Number.isInteger(mant)) return sign | (exp << 10) | mant;
  }
  const sub = a / 2 ** -24;
  if (Number.isInteger(sub) && sub < 1024) return sign | sub;
  return null;
}

/** The size (2, 4 or 8 bytes) of the shortest float encoding that preserves v exactly (§4.2.2). */
function floatSize(v: number): 2 | 4 | 8 {
  if (numberToHalf(v) !== null) return 2;
  if (Math.fround(v) === v) return 4;
  return 8;
}

// ------------------------------------------------------------------------------------------ encoder

class Writer {
  private buf = new Uint8Array(256);
  len = 0;

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  head(major: number, arg: number): void {
    const m = major << 5;
    if (arg < 24) this.bytes(Uint8Array.of(m | arg));
    else if (arg < 0x100) this.bytes(Uint8Array.of(m | 24, arg));
    else if (arg < 0x10000) this.bytes(Uint8Array.of(m | 25, arg >> 8, arg & 0xff));
    else if (arg < 0x100000000)
      this.bytes(
        Uint8Array.of(m | 26, (arg >>> 24) & 0xff, (arg >> 16) & 0xff, (arg >> 8) & 0xff, arg & 0xff),
      );
    else {
      const hi = Math.floor(arg / 0x100000000);
      const lo = arg >>> 0;
      this.bytes(
        Uint8Array.of(
          m | 27,
          (hi >>> 24) & 0xff,
          (hi >> 16) & 0xff,
          (hi >> 8) & 0xff,
          hi & 0xff,
          (lo >>> 24) & 0xff,
          (lo >> 16) & 0xff,
          (lo >> 8) & 0xff,
          lo & 0xff,
        ),
      );
    }
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/**
 * The deterministic encoding of a value (RFC 8949 §4.2.1): shortest heads, definite lengths, map keys
 * sorted bytewise by their encodings. Numbers must be safe integers unless `floats` is set (then shortest
 * float). Plain objects encode as maps with text keys.
 */
export function encodeCanonical(value: unknown, options: { floats?: boolean } = {}): Uint8Array {
  const w = new Writer();
  encodeInto(w, value, options.floats === true, 0);
  return w.result();
}

function encodeInto(w: Writer, v: unknown, floats: boolean, depth: number): void {
  if (depth > 64) throw new CborError('too_deep', w.len, 'value nested too deeply to encode');
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) {
      if (v >= 0) w.head(0, v);
      else w.head(1, -1 - v);
      return;
    }
    if (!floats) throw new CborError('unencodable', w.len, `${v} is not a safe integer`);
    const size = floatSize(v);
    const b = new Uint8Array(size + 1);
    const view = new DataView(b.buffer);
    if (size === 2) {
      b[0] = 0xf9;
      view.setUint16(1, numberToHalf(v)!);
    } else if (size === 4) {
      b[0] = 0xfa;
      view.setFloat32(1, v);
    } else {
      b[0] = 0xfb;
      view.setFloat64(1, v);
    }
    w.bytes(b);
    return;
  }
  if (typeof v === 'string') {
    const b = utf8Encoder.encode(v);
    w.head(3, b.length);
    w.bytes(b);
    return;
  }
  if (v instanceof Uint8Array) {
    w.head(2, v.length);
    w.bytes(v);
    return;
  }
  if (v === false || v === true || v === null || v === undefined) {
    w.bytes(Uint8Array.of(v === false ? 0xf4 : v === true ? 0xf5 : v === null ? 0xf6 : 0xf7));
    return;
  }
  if (Array.isArray(v)) {
    w.head(4, v.length);
    for (const x of v) encodeInto(w, x, floats, depth + 1);
    return;
  }
  if (v instanceof Tagged) {
    w.head(6, v.tag);
    encodeInto(w, v.value, floats, depth + 1);
    return;
  }
  let entries: Array<[unknown, unknown]>;
  if (v instanceof Map) entries = [...(v as Map<unknown, unknown>).entries()];
  else if (typeof v === 'object') entries = Object.entries(v as Record<string, unknown>);
  else throw new CborError('unencodable', w.len, `cannot encode a ${typeof v}`);
  const encoded = entries
    .filter(([, val]) => (!(v instanceof Map) ? val !== undefined : true))
    .map(([k, val]) => {
      if (typeof k !== 'number' && typeof k !== 'string') {
        throw new CborError('unencodable', w.len, 'map keys must be integers or text');
      }
      return { key: encodeCanonical(k), val };
    })
    .sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1]!.key, encoded[i]!.key) === 0) {
      throw new CborError('duplicate_key', w.len, 'the same key twice');
    }
  }
  w.head(5, encoded.length);
  for (const e of encoded) {
    w.bytes(e.key);
    encodeInto(w, e.val, floats, depth + 1);
  }
}

/** Lowercase hex of bytes (diagnostics and docs). */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
