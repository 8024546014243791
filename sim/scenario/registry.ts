// The step registry: every kind of scenario step (keypad, advance, add_user, ...) is one entry keyed by the
// step's name. A step is a mapping with exactly one registered key; later issues register eKey and BLE steps
// here without touching the parser or the runner.
import type { Field } from './Field.ts';
import type { RunContext } from './RunContext.ts';

export interface ParseContext {
  readonly file: string;
  readonly timeZone: string;
  /** The scenario's seed (`seed:`, default its name): steps derive deterministic keys and secrets from it. */
  readonly seed: string;
  /** Names of users that exist at this point of the scenario (declared, or added by an earlier step). */
  readonly users: Set<string>;
  /** Reads a user name that must be known at this point of the scenario (or checks `name`, reporting at field). */
  userRef(field: Field, name?: string): string;
  /** A time point: local "YYYY-MM-DDTHH:MM[:SS]" in the lock's zone, the same followed by a zone name, or ISO with Z/offset. */
  time(field: Field): number;
  /** A sibling key of the step, declared in the kind's `modifiers`. */
  modifier(name: string): Field;
}

/** An access attempt's outcome, as the lock reported it (return value or audit entry). */
export interface Operation {
  granted: boolean;
  reason: string | null;
  userIndex: number | null;
  /** 'unlock' | 'lock' | ... as the audit entry names it. */
  action: string | null;
}

export interface StepOutcome {
  /** Extra words for the report line (e.g. "bolt jams next run"). */
  text?: string;
  /** The access attempt this step made, if any (used by expect.result/reason/user). */
  operation?: Operation | null;
}

export interface StepKind<P = unknown> {
  /** The key that selects this kind in a step, e.g. "keypad". */
  readonly name: string;
  /** One line for docs and errors. */
  readonly summary: string;
  /** Who acts: "required" (management actions need `as: NAME`), "optional", or "none" (default). */
  readonly actor?: 'required' | 'optional' | 'none';
  /** Sibling keys this kind reads besides its own (e.g. power_cycle's lose_time). */
  readonly modifiers?: readonly string[];
  /** May be written as a bare word in the step list ("- button"). */
  readonly bare?: boolean;
  /** Validates and converts the step's value at parse time (names file/step/field on error). */
  parse(value: Field, ctx: ParseContext): P;
  /** Short human description for the report line; must never show a secret (PINs are masked). */
  describe(params: P, as: string | undefined): string;
  /** Performs the step on the running lock. Throwing KeywayError is an outcome `expect.error` can match. */
  run(params: P, ctx: RunContext): StepOutcome | void;
}

const kinds = new Map<string, StepKind>();

/** Adds a step kind. Names are unique; registering one twice is a programming error. */
export function registerStep<P>(kind: StepKind<P>): void {
  if (kinds.has(kind.name)) throw new Error(`scenario step "${kind.name}" is already registered`);
  if (['as', 'expect', 'note', 'settle'].includes(kind.name))
    throw new Error(`"${kind.name}" is reserved in steps`);
  kinds.set(kind.name, kind);
}

export function stepKind(name: string): StepKind | undefined {
  return kinds.get(name);
}

export function stepKinds(): StepKind[] {
  return [...kinds.values()];
}

/**
 * A top-level section besides the built-in ones (users, holidays, ...), e.g. `keys:` from the eKey steps. It is
 * parsed after users and holidays, in registration order, and set up after them, before the first step.
 */
export interface SectionKind<P = unknown> {
  /** The top-level key, e.g. "keys". */
  readonly name: string;
  /** One line for docs and errors. */
  readonly summary: string;
  /** Validates and converts the section at parse time (names file/field on error). */
  parse(value: Field, ctx: ParseContext): P;
  /** Performs the set-up on the new lock; `owner` is the first declared owner's index (null: none). */
  setup(params: P, ctx: RunContext, owner: number | null): void;
}

const sections = new Map<string, SectionKind>();
const BUILTIN_SECTIONS = [
  'name',
  'description',
  'lock',
  'board',
  'start',
  'seed',
  'users',
  'holidays',
  'steps',
];

/** Adds a top-level section kind. Names are unique and may not shadow a built-in key. */
export function registerSection<P>(kind: SectionKind<P>): void {
  if (sections.has(kind.name) || BUILTIN_SECTIONS.includes(kind.name))
    throw new Error(`scenario section "${kind.name}" is already registered`);
  sections.set(kind.name, kind);
}

export function sectionKinds(): SectionKind[] {
  return [...sections.values()];
}
