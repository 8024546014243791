// Runs a parsed scenario against a fresh lock: a temporary data directory, the virtual board, a simulated
// clock and seeded randomness, so every run of a scenario is identical.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isKeywayError,
  KeywayError,
  Lock,
  type AlarmCode,
  type AuditEntry,
  type LockEvent,
  type LockOptions,
  type LockTime,
} from '../../firmware/index.ts';
import { VirtualBoard } from '../board/index.ts';
import { SeededRandom, SimClock } from '../clock/index.ts';
import { checkExpectation, type Failure, type Observation, type UserState } from './expect.ts';
import type { ParsedStep, Scenario } from './parse.ts';
import type { Operation } from './registry.ts';
import type { RunContext } from './RunContext.ts';
import { ScenarioError, type Location } from './ScenarioError.ts';
import { giveCredentials } from './steps/manage.ts';
import { stripCode } from './time.ts';
import { ALARM_CODES } from './vocabulary.ts';

export interface StepResult {
  n: number;
  line: number | null;
  kind: string;
  as: string | null;
  note: string | null;
  description: string;
  /** Lock time when the step began (null if unknown). */
  time: LockTime | null;
  /** Extra words from the step (e.g. the new time after advance). */
  text: string | null;
  operation: (Operation & { user: string | null }) | null;
  error: { code: string; message: string } | null;
  bolt: string;
  door: string;
  alarms: Array<{ code: AlarmCode; silent: boolean }>;
  failures: Failure[];
  ok: boolean;
}

export interface ScenarioResult {
  file: string;
  name: string;
  timeZone: string;
  ok: boolean;
  /** Steps in the file. */
  stepCount: number;
  /** Steps run (all of them unless one failed and keepGoing was off). */
  steps: StepResult[];
  /** Where the run was kept (keepDataDir), else null. */
  dataDir: string | null;
}

export interface RunOptions {
  /** Keep the temporary data directory (for inspection with keyway admin). */
  keepDataDir?: boolean;
  /** Go on after a failing step (default: stop at the first failure). */
  keepGoing?: boolean;
  /** Called after each step (for live output). */
  onStep?: (step: StepResult) => void;
}

const MAX_SETTLE_TIMERS = 10_000;

class World implements RunContext {
  lock: Lock;
  readonly board: VirtualBoard;
  readonly clock: SimClock;
  readonly timeZone: string;
  private readonly options: LockOptions;
  private readonly names = new Map<string, number>();
  private readonly credentials = new Map<string, number>();
  private cursor = 0;
  private readonly cache: AuditEntry[] = [];
  actorName: string | undefined;
  events: LockEvent[] = [];

  constructor(
    readonly scenario: Scenario,
    readonly dataDir: string,
  ) {
    this.timeZone = scenario.timeZone;
    this.clock = new SimClock({ start: scenario.start });
    this.board = new VirtualBoard({ clock: this.clock, ...scenario.board });
    this.options = {
      dataDir,
      clock: this.clock,
      random: new SeededRandom(scenario.seed),
      board: this.board,
      events: { emit: (e) => this.events.push(e) },
      initialSettings: scenario.settings,
    };
    try {
      this.lock = Lock.open(this.options);
    } catch (err) {
      if (isKeywayError(err) && (err.code === 'out_of_range' || err.code === 'invalid_argument')) {
        throw new ScenarioError(scenario.settingsAt, stripCode(err.message));
      }
      throw err;
    }
    this.board.attach(this.lock);
  }

  actor(): number {
    if (this.actorName === undefined) throw new KeywayError('internal', 'this step has no as: user');
    return this.userIndex(this.actorName);
  }

  hasActor(): boolean {
    return this.actorName !== undefined;
  }

  userIndex(name: string): number {
    const index = this.names.get(name);
    if (index === undefined) {
      throw new KeywayError(
        'not_found',
        `user "${name}" does not exist on the lock (was adding it refused?)`,
      );
    }
    return index;
  }

  nameOf(index: number | null | undefined): string | null {
    if (index === null || index === undefined) return null;
    let found: string | null = null;
    for (const [name, i] of this.names) if (i === index) found = name; // the latest name wins (renames)
    return found;
  }

  lookup(name: string): number | undefined {
    return this.names.get(name);
  }

  nameUser(name: string, index: number): void {
    this.names.delete(name);
    this.names.set(name, index);
  }

  rememberCredential(userIndex: number, key: string, credentialIndex: number): void {
    this.credentials.set(`${userIndex}/${key}`, credentialIndex);
  }

  credentialIndex(userIndex: number, key: string): number | undefined {
    return this.credentials.get(`${userIndex}/${key}`);
  }

  forgetCredential(credentialIndex: number): void {
    for (const [k, v] of this.credentials) if (v === credentialIndex) this.credentials.delete(k);
  }

  /** Entries read so far, refreshed from the lock. */
  entries(): AuditEntry[] {
    const fresh = this.lock.audit.entries(this.cursor + 1);
    for (const e of fresh) {
      this.cache.push(e);
      this.cursor = e.seq;
    }
    return this.cache;
  }

  auditSeq(): number {
    this.entries();
    return this.cursor;
  }

  operationSince(seq: number): Operation | null {
    const e = this.entries().find(
      (x) => x.seq > seq && (x.kind === 'LockOperation' || x.kind === 'LockOperationError'),
    );
    if (e === undefined) return null;
    return {
      granted: e.kind === 'LockOperation' && e.result !== 'failure',
      reason: e.reason ?? null,
      userIndex: e.userIndex ?? null,
      action: e.action,
    };
  }

  /** Lets the bolt motor finish its run (time passes, timers fire). */
  settle(): void {
    for (let i = 0; this.board.state().motorRunning; i++) {
      const next = this.clock.nextTimerIn();
      if (next === null || i > MAX_SETTLE_TIMERS) break;
      this.clock.advance(next);
    }
  }

  powerCycle(loseTime: boolean, offForMs: number): void {
    this.settle();
    this.lock.close();
    this.board.detach();
    this.clock.advance(offForMs);
    this.clock.reboot();
    if (loseTime) this.clock.unknown();
    const { initialSettings: _unused, ...reopen } = this.options;
    this.lock = Lock.open(reopen);
    this.board.attach(this.lock);
    // The audit log is the same store; re-read it from the start so the cache follows what is on disk.
    this.cache.length = 0;
    this.cursor = 0;
  }

  close(): void {
    try {
      this.lock.close();
    } finally {
      this.clock.close();
    }
  }
}

function errorOf(err: unknown): { code: string; message: string } | null {
  if (isKeywayError(err)) return { code: err.code, message: err.message };
  return null;
}

function setup(world: World, s: Scenario): void {
  const fail = (at: Location, name: string, err: unknown): never => {
    if (!isKeywayError(err)) throw err;
    throw new ScenarioError(at, `setting up ${name} failed: ${err.message}`);
  };
  let ownerIndex: number | null = null;
  for (const { plan, at } of s.users) {
    try {
      let index: number;
      let actor: number;
      if (ownerIndex === null) {
        const { role: _role, ...spec } = plan.spec;
        index = world.lock.createOwner(spec).index;
        ownerIndex = index;
        actor = index;
      } else {
        actor = plan.createdBy === undefined ? ownerIndex : world.userIndex(plan.createdBy);
        index = world.lock.addUser(actor, plan.spec).index;
      }
      world.nameUser(plan.name, index);
      giveCredentials(world, actor, index, plan);
    } catch (err) {
      fail(at, `user ${plan.name}`, err);
    }
  }
  for (const { holiday, at } of s.holidays) {
    try {
      world.lock.addHoliday(ownerIndex!, holiday);
    } catch (err) {
      fail(at, 'a holiday', err);
    }
  }
  for (const { kind, params, at } of s.sections ?? []) {
    try {
      kind.setup(params, world, ownerIndex);
    } catch (err) {
      fail(at, kind.name, err);
    }
  }
  world.settle();
}

function observe(
  world: World,
  stepEntries: AuditEntry[],
  op: Operation | null,
  error: StepResult['error'],
): Observation {
  const alarms = new Map<string, { code: AlarmCode; silent: boolean }>();
  for (const e of world.events)
    if (e.type === 'alarm') alarms.set(e.code, { code: e.code, silent: e.silent });
  for (const e of stepEntries) {
    if (e.kind === 'DoorLockAlarm' && (ALARM_CODES as string[]).includes(e.action) && !alarms.has(e.action)) {
      alarms.set(e.action, { code: e.action as AlarmCode, silent: e.data?.silent === true });
    }
  }
  return {
    operation: op,
    error,
    status: world.lock.status(),
    settings: world.lock.settings,
    timeZone: world.timeZone,
    alarmsRaised: [...alarms.values()],
    stepEntries,
    allEntries: () => world.entries(),
    verify: () => {
      const v = world.lock.audit.verify();
      return v.ok
        ? { ok: true, detail: `${v.count} entries verify` }
        : { ok: false, detail: `entry #${v.seq}: ${v.problem}` };
    },
    nameOf: (i) => world.nameOf(i),
    indexOf: (name) => world.lookup(name),
    userState: (name): UserState => {
      const index = world.lookup(name);
      const user = index === undefined ? null : world.lock.getUser(index);
      return user === null ? 'absent' : user.enabled ? 'enabled' : 'disabled';
    },
    credentialCount: (name) => {
      const index = world.lookup(name);
      return index === undefined ? 0 : world.lock.listCredentials(index).length;
    },
  };
}

function runStep(world: World, step: ParsedStep): StepResult {
  world.events = [];
  world.actorName = step.as;
  const time = world.clock.now();
  const seq = world.auditSeq();
  let operation: Operation | null = null;
  let text: string | null = null;
  let error: StepResult['error'] = null;
  if (step.kind !== null) {
    try {
      const outcome = step.kind.run(step.params, world);
      if (outcome?.operation !== undefined) operation = outcome.operation;
      if (outcome?.text !== undefined) text = outcome.text;
    } catch (err) {
      // A non-KeywayError is a bug somewhere; report it on the step instead of losing the whole run.
      error = errorOf(err) ?? {
        code: 'internal',
        message: `crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      };
    }
  }
  if (step.settle) world.settle();
  const stepEntries = world.entries().filter((e) => e.seq > seq);
  const obs = observe(world, stepEntries, operation, error);
  const failures = step.expect === undefined ? [] : checkExpectation(step.expect, obs);
  if (error !== null && step.expect?.error === undefined) {
    failures.unshift({ field: 'error', expected: 'no error', actual: error.message });
  }
  const status = obs.status;
  return {
    n: step.n,
    line: step.at.line ?? null,
    kind: step.kind?.name ?? 'expect',
    as: step.as ?? null,
    note: step.note ?? null,
    description: step.kind === null ? 'check' : step.kind.describe(step.params, step.as),
    time,
    text,
    operation: operation === null ? null : { ...operation, user: world.nameOf(operation.userIndex) },
    error,
    bolt: status.bolt,
    door: status.door,
    alarms: obs.alarmsRaised,
    failures,
    ok: failures.length === 0,
  };
}

/**
 * Runs the scenario in a fresh temporary data directory (removed afterwards unless keepDataDir). Expected
 * denials and refusals are results; a broken scenario (setup refused) throws ScenarioError.
 */
export function runScenario(scenario: Scenario, options: RunOptions = {}): ScenarioResult {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-scenario-'));
  let world: World | null = null;
  const result: ScenarioResult = {
    file: scenario.file,
    name: scenario.name,
    timeZone: scenario.timeZone,
    ok: true,
    stepCount: scenario.steps.length,
    steps: [],
    dataDir: options.keepDataDir === true ? dataDir : null,
  };
  try {
    world = new World(scenario, dataDir);
    setup(world, scenario);
    for (const step of scenario.steps) {
      const r = runStep(world, step);
      result.steps.push(r);
      options.onStep?.(r);
      if (!r.ok) {
        result.ok = false;
        if (options.keepGoing !== true) break;
      }
    }
    return result;
  } finally {
    world?.close();
    if (options.keepDataDir !== true) rmSync(dataDir, { recursive: true, force: true });
  }
}
