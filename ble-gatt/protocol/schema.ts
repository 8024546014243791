// Tiny codec combinators for the wire messages: each codec validates a decoded CBOR value (strictly:
// exact types, bounds, no unknown map keys) into a typed value, turns a typed value back into something
// the canonical encoder takes, and renders a log form in which secrets never appear.
import type { CborValue } from '../../firmware/codec/StrictCbor.ts';
import { BleError } from '../errors.ts';

export interface Codec<T> {
  /** Validates a decoded CBOR value; `path` names the field in errors (e.g. "args.user"). */
  decode(value: CborValue, path: string): T;
  /** A value for encodeCanonical (plain objects become text-keyed maps). */
  encode(value: T): unknown;
  /** A JSON-friendly rendering for logs; secret fields are masked. */
  log(value: T): unknown;
  /** Short type description for docs and errors. */
  readonly describe: string;
}

const typeName = (v: CborValue): string =>
  v === null
    ? 'null'
    : v === undefined
      ? 'undefined'
      : v instanceof Uint8Array
        ? 'bytes'
        : Array.isArray(v)
          ? 'array'
          : v instanceof Map
            ? 'map'
            : typeof v === 'number'
              ? 'integer'
              : typeof v === 'string'
                ? 'text'
                : typeof v === 'boolean'
                  ? 'bool'
                  : 'tag';

function badType(path: string, want: string, v: CborValue): never {
  throw new BleError('wire.bad_type', `${path}: expected ${want}, got ${typeName(v)}`);
}
function outOfRange(path: string, why: string): never {
  throw new BleError('wire.out_of_range', `${path}: ${why}`);
}

const identityLog = <T>(v: T): unknown => v;

export function uint(min = 0, max = Number.MAX_SAFE_INTEGER): Codec<number> {
  return {
    describe: max === Number.MAX_SAFE_INTEGER ? `uint >= ${min}` : `uint ${min}..${max}`,
    decode(v, path) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return badType(path, 'unsigned integer', v);
      if (v < min || v > max) return outOfRange(path, `${v} not in ${min}..${max}`);
      return v;
    },
    encode: (v) => v,
    log: identityLog,
  };
}

/** Text of at most `maxChars` Unicode characters; control and format characters refused. */
export function text(maxChars: number, minChars = 1, pattern?: RegExp): Codec<string> {
  return {
    describe: pattern ? `text ${pattern.source}` : `text ${minChars}..${maxChars} chars`,
    decode(v, path) {
      if (typeof v !== 'string') return badType(path, 'text', v);
      const n = [...v].length;
      if (n < minChars || n > maxChars)
        return outOfRange(path, `text of ${n} characters, allowed ${minChars}..${maxChars}`);
      if (/[\p{Cc}\p{Cf}\p{Cs}]/u.test(v))
        return outOfRange(path, 'control or format characters are not allowed');
      if (pattern !== undefined && !pattern.test(v))
        return outOfRange(path, `does not match ${pattern.source}`);
      return v;
    },
    encode: (v) => v,
    log: identityLog,
  };
}

export function bytes(min: number, max = min): Codec<Uint8Array> {
  return {
    describe: min === max ? `bytes[${min}]` : `bytes[${min}..${max}]`,
    decode(v, path) {
      if (!(v instanceof Uint8Array)) return badType(path, 'byte string', v);
      if (v.length < min || v.length > max) {
        return outOfRange(path, `${v.length} bytes, allowed ${min === max ? String(min) : `${min}..${max}`}`);
      }
      return v;
    },
    encode: (v) => v,
    log: (v) =>
      v.length <= 16
        ? `h'${Buffer.from(v).toString('hex')}'`
        : `h'${Buffer.from(v.subarray(0, 8)).toString('hex')}…' (${v.length} bytes)`,
  };
}

export function bool(): Codec<boolean> {
  return {
    describe: 'bool',
    decode: (v, path) => (typeof v === 'boolean' ? v : badType(path, 'bool', v)),
    encode: (v) => v,
    log: identityLog,
  };
}

export function oneOf<const V extends string>(values: readonly V[]): Codec<V> {
  return {
    describe: values.map((x) => `"${x}"`).join(' | '),
    decode(v, path) {
      if (typeof v !== 'string') return badType(path, 'text', v);
      if (!(values as readonly string[]).includes(v))
        return outOfRange(path, `"${v.slice(0, 40)}" is not one of ${values.join(', ')}`);
      return v as V;
    },
    encode: (v) => v,
    log: identityLog,
  };
}

export function nullable<T>(inner: Codec<T>): Codec<T | null> {
  return {
    describe: `${inner.describe} | null`,
    decode: (v, path) => (v === null ? null : inner.decode(v, path)),
    encode: (v) => (v === null ? null : inner.encode(v)),
    log: (v) => (v === null ? null : inner.log(v)),
  };
}

export function arrayOf<T>(item: Codec<T>, max: number, min = 0): Codec<T[]> {
  return {
    describe: `[${item.describe}] (${min}..${max})`,
    decode(v, path) {
      if (!Array.isArray(v)) return badType(path, 'array', v);
      if (v.length < min || v.length > max)
        return outOfRange(path, `${v.length} items, allowed ${min}..${max}`);
      return v.map((x, i) => item.decode(x, `${path}[${i}]`));
    },
    encode: (v) => v.map((x) => item.encode(x)),
    log: (v) => v.map((x) => item.log(x)),
  };
}

/** Marks a value as secret: decoded normally, never shown in logs. */
export function secret<T>(inner: Codec<T>): Codec<T> {
  return { ...inner, describe: `${inner.describe} (secret)`, log: () => '«secret»' };
}

export interface Field<T, O extends boolean> {
  readonly codec: Codec<T>;
  readonly optional: O;
}
export const req = <T>(codec: Codec<T>): Field<T, false> => ({ codec, optional: false });
export const opt = <T>(codec: Codec<T>): Field<T, true> => ({ codec, optional: true });

type Fields = Record<string, Field<unknown, boolean>>;
type FieldType<F> = F extends Field<infer T, boolean> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type MapOf<F extends Fields> = Simplify<
  { [K in keyof F as F[K]['optional'] extends false ? K : never]: FieldType<F[K]> } & {
    [K in keyof F as F[K]['optional'] extends true ? K : never]?: FieldType<F[K]>;
  }
>;

/** A map with text keys: every required key present, optional ones absent or valid, nothing else. */
export function map<F extends Fields>(fields: F): Codec<MapOf<F>> & { readonly fields: F } {
  const names = Object.keys(fields);
  return {
    fields,
    describe: `{ ${names.map((n) => `${n}${fields[n]!.optional ? '?' : ''}`).join(', ')} }`,
    decode(v, path) {
      if (!(v instanceof Map)) return badType(path, 'map', v);
      for (const k of v.keys()) {
        if (typeof k !== 'string' || !Object.hasOwn(fields, k)) {
          throw new BleError(
            'wire.unknown_field',
            `${path}: unknown field ${JSON.stringify(String(k).slice(0, 40))}`,
          );
        }
      }
      const out: Record<string, unknown> = {};
      for (const name of names) {
        const f = fields[name]!;
        const sub = path === '' ? name : `${path}.${name}`;
        if (!v.has(name)) {
          if (!f.optional) throw new BleError('wire.missing_field', `${sub}: required`);
          continue;
        }
        out[name] = f.codec.decode(v.get(name), sub);
      }
      return out as MapOf<F>;
    },
    encode(v) {
      const out: Record<string, unknown> = {};
      const rec = v as Record<string, unknown>;
      for (const name of names)
        if (rec[name] !== undefined) out[name] = fields[name]!.codec.encode(rec[name]);
      return out;
    },
    log(v) {
      const out: Record<string, unknown> = {};
      const rec = v as Record<string, unknown>;
      for (const name of names) if (rec[name] !== undefined) out[name] = fields[name]!.codec.log(rec[name]);
      return out;
    },
  };
}

/** A map whose text field `tag` selects one of several map shapes (the tag field is part of each). */
export function tagged<const K extends string, V extends Record<string, Codec<Record<string, unknown>>>>(
  tag: K,
  variants: V,
): Codec<{ [N in keyof V]: V[N] extends Codec<infer T> ? T : never }[keyof V]> {
  const names = Object.keys(variants);
  return {
    describe: `one of ${names.join(', ')} (by "${tag}")`,
    decode(v, path) {
      if (!(v instanceof Map)) return badType(path, 'map', v);
      const t = v.get(tag);
      if (typeof t !== 'string') return badType(path === '' ? tag : `${path}.${tag}`, 'text', t);
      const codec = Object.hasOwn(variants, t) ? variants[t] : undefined;
      if (codec === undefined)
        return outOfRange(path === '' ? tag : `${path}.${tag}`, `unknown kind "${t.slice(0, 40)}"`);
      return codec.decode(v, path) as never;
    },
    encode: (v) => variants[(v as Record<string, string>)[tag]!]!.encode(v as never),
    log: (v) => variants[(v as Record<string, string>)[tag]!]!.log(v as never),
  };
}

/** The empty map {} (commands without arguments). */
export const empty = map({});

/** A codec with an extra check across fields (throws a wire.* BleError naming the path). */
export function refine<C extends Codec<unknown>>(
  codec: C,
  check: (value: ReturnType<C['decode']>, path: string) => void,
): C {
  return {
    ...codec,
    decode(v: CborValue, path: string) {
      const out = codec.decode(v, path) as ReturnType<C['decode']>;
      check(out, path);
      return out;
    },
  };
}
