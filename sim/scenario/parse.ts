// Reading a scenario file (YAML or JSON) into a checked plan. Every problem names the file, the line, the step
// and the field; nothing runs until the whole file has been read.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { isValidTimeZone, type HolidaySchedule, type LockTime, type Settings } from '../../firmware/index.ts';
import { readExpectation, type Expectation } from './expect.ts';
import { Field, suggest, type PathSegment } from './Field.ts';
import { registerBuiltinSteps } from './steps/index.ts';
import { readSettingsPatch } from './steps/manage.ts';
import {
  sectionKinds,
  stepKind,
  stepKinds,
  type ParseContext,
  type SectionKind,
  type StepKind,
} from './registry.ts';
import { ScenarioError, type Location } from './ScenarioError.ts';
import { parseTimePoint } from './time.ts';
import { readHoliday, readUserName, readUserPlan, type UserPlan } from './users.ts';

export interface BoardSetup {
  travelMs?: number;
  batteryPercent?: number;
  drainPerRun?: number;
  doorOpen?: boolean;
  bolt?: 'locked' | 'unlocked';
}

export interface ParsedStep {
  /** 1-based. */
  n: number;
  at: Location;
  /** null for a step that only checks expectations. */
  kind: StepKind | null;
  params: unknown;
  as?: string;
  expect?: Expectation;
  note?: string;
  /** Let the bolt motor finish before checking expectations (default true). */
  settle: boolean;
}

export interface Scenario {
  file: string;
  name: string;
  description?: string;
  timeZone: string;
  /** Initial settings (`lock:`), given to the store when it is created. */
  settings: Partial<Settings>;
  settingsAt: Location;
  board: BoardSetup;
  /** RTC at the start; null = unknown. */
  start: LockTime | null;
  seed: string;
  /** Declared users, the first owner first (it is created in setup mode; the others by createdBy). */
  users: Array<{ plan: UserPlan; at: Location }>;
  holidays: Array<{ holiday: HolidaySchedule; at: Location }>;
  /** Registered top-level sections present in the file (e.g. eKey `keys:`), in registration order. */
  sections?: ParsedSection[];
  steps: ParsedStep[];
}

export interface ParsedSection {
  kind: SectionKind;
  params: unknown;
  at: Location;
}

const TOP_KEYS = ['name', 'description', 'lock', 'board', 'start', 'seed', 'users', 'holidays', 'steps'];
const RESERVED_STEP_KEYS = ['as', 'expect', 'note', 'settle'];

function lineLookup(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
): (p: readonly PathSegment[]) => number | undefined {
  return (path) => {
    for (let len = path.length; len >= 0; len--) {
      const node = doc.getIn(path.slice(0, len), true) as YamlNode | undefined;
      const range = node?.range;
      if (range !== undefined && range !== null) return counter.linePos(range[0]).line;
    }
    return undefined;
  };
}

/** Parses scenario text; `file` is used in messages only. Throws ScenarioError. */
export function parseScenario(text: string, file: string): Scenario {
  registerBuiltinSteps();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0]?.line;
    const message = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ScenarioError(
      line === undefined ? { file } : { file, line },
      `not valid YAML or JSON: ${message}`,
    );
  }
  const root = Field.root(doc.toJS({ maxAliasCount: 100 }), file, lineLookup(doc, counter));
  if (!root.isMap()) root.fail('a scenario is a mapping with at least name and steps');
  root.onlyKeys([...TOP_KEYS, ...sectionKinds().map((k) => k.name)]);

  const name = root.at('name').required().nonEmptyString('a scenario name');
  const description = root.at('description').optString();

  const lockField = root.at('lock');
  const settings = lockField.present ? readSettingsPatch(lockField) : {};
  let timeZone = 'UTC';
  if (lockField.at('timeZone').present) {
    timeZone = lockField.at('timeZone').string('an IANA time zone name');
    if (!isValidTimeZone(timeZone)) {
      lockField
        .at('timeZone')
        .fail(`unknown time zone "${timeZone}" (expected an IANA name such as Europe/Berlin)`);
    }
  }

  const board = readBoard(root.at('board'));
  const startField = root.at('start');
  const start =
    startField.value === 'unknown'
      ? null
      : parseTimePoint(
          startField.present ? startField : new Field('2026-01-01T00:00', ['start'], file, () => undefined),
          timeZone,
        );

  const seedField = root.at('seed');
  const seed = seedField.present
    ? typeof seedField.value === 'number'
      ? String(seedField.value)
      : seedField.nonEmptyString('a seed (string or number)')
    : name;

  const known = new Set<string>();
  const userRef = (f: Field, name?: string): string => {
    const n = name ?? readUserName(f);
    if (!known.has(n)) {
      const list = [...known];
      f.fail(
        `unknown user "${n}"${suggest(n, list)}; known here: ${list.length === 0 ? 'none' : list.join(', ')}`,
      );
    }
    return n;
  };
  let currentStep: Field = root;
  const ctx: ParseContext = {
    file,
    timeZone,
    seed,
    users: known,
    userRef,
    time: (f) => parseTimePoint(f, timeZone),
    modifier: (key) => currentStep.at(key),
  };

  const users = readUsers(root.at('users'), ctx);
  const holidays = root.at('holidays').present
    ? root
        .at('holidays')
        .list()
        .map((h) => ({ holiday: readHoliday(h), at: h.location() }))
    : [];
  if (holidays.length > 0 && users.length === 0)
    root.at('holidays').fail('holidays are added by the owner; declare one in users');

  const sections: ParsedSection[] = [];
  for (const kind of sectionKinds()) {
    const sf = root.at(kind.name);
    if (sf.present) sections.push({ kind, params: kind.parse(sf, ctx), at: sf.location() });
  }

  const stepFields = root.at('steps').required().list();
  if (stepFields.length === 0) root.at('steps').fail('a scenario needs at least one step');
  const steps = stepFields.map((f, i) => {
    currentStep = f;
    return readStep(f, i + 1, ctx);
  });

  const scenario: Scenario = {
    file,
    name,
    timeZone,
    settings,
    settingsAt: lockField.location(),
    board,
    start,
    seed,
    users,
    holidays,
    steps,
  };
  if (sections.length > 0) scenario.sections = sections;
  if (description !== undefined) scenario.description = description;
  return scenario;
}

/** Reads and parses a scenario file. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScenarioError(
      { file },
      code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(err)})`,
    );
  }
  return parseScenario(text, file);
}

function readBoard(f: Field): BoardSetup {
  if (!f.present) return {};
  f.map().onlyKeys(['travelMs', 'battery', 'drainPerRun', 'door', 'bolt']);
  const b: BoardSetup = {};
  if (f.at('travelMs').present) b.travelMs = f.at('travelMs').number({ min: 0, max: 60_000 });
  if (f.at('battery').present) b.batteryPercent = f.at('battery').number({ min: 0, max: 100 });
  if (f.at('drainPerRun').present) b.drainPerRun = f.at('drainPerRun').number({ min: 0, max: 100 });
  if (f.at('door').present) b.doorOpen = f.at('door').oneOf(['open', 'closed'] as const) === 'open';
  if (f.at('bolt').present) b.bolt = f.at('bolt').oneOf(['locked', 'unlocked'] as const);
  return b;
}

function readUsers(f: Field, ctx: ParseContext): Scenario['users'] {
  if (!f.present) return [];
  const fields = f.list();
  const ownerAt = fields.findIndex((u) => u.isMap() && u.at('role').value === 'owner');
  if (fields.length > 0 && ownerAt < 0) {
    f.fail(
      'declared users need an owner (role: owner): the first owner is created in setup mode and adds the others',
    );
  }
  const order = ownerAt < 0 ? [] : [ownerAt, ...fields.keys()].filter((v, i, a) => a.indexOf(v) === i);
  const out: Scenario['users'] = [];
  for (const i of order) {
    const uf = fields[i]!;
    const plan = readUserPlan(uf, ctx, { allowCreatedBy: i !== ownerAt });
    if (ctx.users.has(plan.name)) uf.at('name').fail(`user "${plan.name}" is declared twice`);
    ctx.users.add(plan.name);
    out.push({ plan, at: uf.location() });
  }
  return out;
}

function readStep(f: Field, n: number, ctx: ParseContext): ParsedStep {
  const names = stepKinds().map((k) => k.name);
  if (typeof f.value === 'string') {
    const kind = stepKind(f.value);
    if (kind === undefined) f.fail(`unknown step "${f.value}"${suggest(f.value, names)}`);
    if (kind.bare !== true)
      f.fail(`step "${kind.name}" needs a value, e.g. "${kind.name}: ..." (${kind.summary})`);
    if (kind.actor === 'required') f.fail(`step "${kind.name}" needs as: NAME`);
    return {
      n,
      at: f.location(),
      kind,
      params: kind.parse(new Field(null, f.path, ctx.file, () => f.location().line), ctx),
      settle: true,
    };
  }
  if (!f.isMap())
    f.fail(`a step is a mapping such as { pin: "1234", expect: { result: granted } }, got ${typeof f.value}`);
  const keys = f.keys();
  const actions = keys.filter((k) => !RESERVED_STEP_KEYS.includes(k) && stepKind(k) !== undefined);
  if (actions.length > 1)
    f.fail(`a step does one thing; found ${actions.join(' and ')} (split them into separate steps)`);
  const kind = actions[0] === undefined ? null : stepKind(actions[0])!;
  for (const k of keys) {
    if (RESERVED_STEP_KEYS.includes(k) || k === kind?.name || kind?.modifiers?.includes(k) === true) continue;
    f.at(k).fail(
      `unknown step field "${k}"${suggest(k, [...(kind?.modifiers ?? []), ...names, ...RESERVED_STEP_KEYS])}`,
    );
  }
  if (kind === null && !f.at('expect').present) {
    f.fail(`a step needs an action (${names.join(', ')}) or an expect`);
  }
  const step: ParsedStep = {
    n,
    at: f.location(),
    kind,
    params: null,
    settle: f.at('settle').optBool() ?? true,
  };
  if (f.at('note').present) step.note = f.at('note').string('a note');
  if (f.at('as').present) {
    if (kind === null || (kind.actor ?? 'none') === 'none') {
      f.at('as').fail(`step "${kind?.name ?? 'expect'}" is not performed as a user; remove as`);
    }
    step.as = ctx.userRef(f.at('as'));
  } else if (kind?.actor === 'required') {
    f.fail(`step "${kind.name}" is a management action and needs as: NAME (the user performing it)`);
  }
  if (kind !== null) step.params = kind.parse(f.at(kind.name), ctx);
  if (f.at('expect').present) step.expect = readExpectation(f.at('expect'), ctx);
  return step;
}
