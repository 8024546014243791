import { ScenarioError, type Location } from './ScenarioError.ts';

export type PathSegment = string | number;

/** Maps a document path to a 1-based line number (nearest existing ancestor when the path is absent). */
export type LineLookup = (path: readonly PathSegment[]) => number | undefined;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'a mapping';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** "did you mean x?" for a misspelt name, or '' when nothing is close. */
export function suggest(word: string, candidates: readonly string[]): string {
  const prefix = candidates.find((c) => word.length >= 3 && c.toLowerCase().startsWith(word.toLowerCase()));
  if (prefix !== undefined) return ` (did you mean ${prefix}?)`;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3))
    ? ` (did you mean ${best}?)`
    : '';
}

/**
 * One value of a parsed scenario document together with where it sits, so every complaint about it names the
 * file, line, step and field. Readers return plain values or throw ScenarioError.
 */
export class Field {
  constructor(
    readonly value: unknown,
    readonly path: readonly PathSegment[],
    private readonly file: string,
    private readonly lines: LineLookup,
  ) {}

  static root(value: unknown, file: string, lines: LineLookup): Field {
    return new Field(value, [], file, lines);
  }

  get present(): boolean {
    return this.value !== undefined;
  }

  location(): Location {
    const at: Location = { file: this.file, line: this.lines(this.path) };
    if (this.path[0] === 'steps' && typeof this.path[1] === 'number') {
      at.step = this.path[1] + 1;
      at.field = formatPath(this.path.slice(2));
    } else {
      at.field = formatPath(this.path);
    }
    return at;
  }

  fail(message: string): never {
    throw new ScenarioError(this.location(), message);
  }

  private child(key: PathSegment, value: unknown): Field {
    return new Field(value, [...this.path, key], this.file, this.lines);
  }

  // ---- mappings ----

  isMap(): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value);
  }

  map(): Field {
    if (!this.isMap()) this.fail(`expected a mapping, got ${describeValue(this.value)}`);
    return this;
  }

  keys(): string[] {
    return Object.keys(this.map().value as Record<string, unknown>);
  }

  /** Refuses keys outside `allowed`, suggesting the closest one. */
  onlyKeys(allowed: readonly string[]): Field {
    for (const key of this.keys()) {
      if (!allowed.includes(key)) {
        this.at(key).fail(`unknown field "${key}"${suggest(key, allowed)}; allowed: ${allowed.join(', ')}`);
      }
    }
    return this;
  }

  at(key: string): Field {
    const obj = this.isMap() ? (this.value as Record<string, unknown>) : {};
    return this.child(key, Object.hasOwn(obj, key) ? obj[key] : undefined);
  }

  // ---- lists ----

  list(): Field[] {
    if (!Array.isArray(this.value)) this.fail(`expected a list, got ${describeValue(this.value)}`);
    return (this.value as unknown[]).map((v, i) => this.child(i, v));
  }

  /** A list, or a single item standing for a list of one. */
  listOrOne(): Field[] {
    return Array.isArray(this.value) ? this.list() : [this];
  }

  // ---- scalars ----

  required(): Field {
    if (this.value === undefined) this.fail('is required');
    return this;
  }

  string(what = 'a string'): string {
    if (typeof this.value !== 'string') this.fail(`expected ${what}, got ${describeValue(this.value)}`);
    return this.value;
  }

  optString(): string | undefined {
    return this.present ? this.string() : undefined;
  }

  nonEmptyString(what = 'a non-empty string'): string {
    const s = this.string(what);
    if (s.trim() === '') this.fail(`expected ${what}, got an empty string`);
    return s;
  }

  number(opts: { min?: number; max?: number; integer?: boolean; what?: string } = {}): number {
    const v = this.value;
    const what = opts.what ?? (opts.integer === true ? 'an integer' : 'a number');
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`expected ${what}, got ${describeValue(v)}`);
    if (opts.integer === true && !Number.isInteger(v)) this.fail(`expected ${what}, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(`must be at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(`must be at most ${opts.max}, got ${v}`);
    return v;
  }

  bool(): boolean {
    if (typeof this.value !== 'boolean')
      this.fail(`expected true or false, got ${describeValue(this.value)}`);
    return this.value;
  }

  optBool(): boolean | undefined {
    return this.present ? this.bool() : undefined;
  }

  /** on/off, true/false, yes/no. */
  onOff(): boolean {
    const v = this.value;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      const s = v.toLowerCase();
      if (['on', 'yes', 'true'].includes(s)) return true;
      if (['off', 'no', 'false'].includes(s)) return false;
    }
    this.fail(`expected on or off, got ${describeValue(v)}`);
  }

  oneOf<T extends string>(choices: readonly T[]): T {
    const v = this.value;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      const hint = typeof v === 'string' ? suggest(v, choices) : '';
      this.fail(`expected one of ${choices.join(', ')}; got ${describeValue(v)}${hint}`);
    }
    return v as T;
  }
}
