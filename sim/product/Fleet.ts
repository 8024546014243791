// Several lock processes side by side on one air (bleno is a process singleton: one lock per process),
// for load tests and demos: `keyway fleet --count N` and the fleet benchmark.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KeywayError } from '../../firmware/index.ts';
import { LockChild, type JsonEvent } from './LockChild.ts';

export interface FleetOptions {
  count: number;
  /** Each lock's data directory is <baseDir>/<name>. */
  baseDir: string;
  /** Lock names are <prefix>-1 .. <prefix>-N. Default "fleet". */
  prefix?: string;
  radio?: string;
  hub?: string;
  speed?: number;
  tz?: string;
  /** Setup codes per lock (index 0 = first lock), e.g. for scripted claims. Default: random. */
  setupCodes?: string[];
  logLevel?: string;
  env?: NodeJS.ProcessEnv;
  /** How long each lock may take to come up. */
  readyTimeoutMs?: number;
}

export interface FleetMember {
  name: string;
  dataDir: string;
  child: LockChild;
  ready: JsonEvent;
}

export const MAX_FLEET = 200;

export class Fleet {
  private constructor(readonly members: FleetMember[]) {}

  /** Starts every lock at once and waits for all to be ready; if one fails, all are stopped. */
  static async start(options: FleetOptions): Promise<Fleet> {
    const { count } = options;
    if (!Number.isInteger(count) || count < 1 || count > MAX_FLEET)
      throw new KeywayError('out_of_range', `a fleet has 1 to ${MAX_FLEET} locks, got ${count}`);
    const prefix = options.prefix ?? 'fleet';
    mkdirSync(options.baseDir, { recursive: true, mode: 0o700 });
    const children = Array.from({ length: count }, (_, i) => {
      const name = `${prefix}-${i + 1}`;
      const code = options.setupCodes?.[i];
      return LockChild.spawn({
        name,
        dataDir: join(options.baseDir, name),
        radio: options.radio ?? 'virtual',
        ...(options.hub === undefined ? {} : { hub: options.hub }),
        ...(options.speed === undefined ? {} : { speed: options.speed }),
        ...(options.tz === undefined ? {} : { tz: options.tz }),
        ...(code === undefined ? {} : { setupCode: code }),
        ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
        ...(options.env === undefined ? {} : { env: options.env }),
      });
    });
    const results = await Promise.allSettled(children.map((c) => c.ready(options.readyTimeoutMs ?? 60_000)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      await Promise.all(children.map((c) => c.stop('SIGTERM')));
      const r = results[failed] as PromiseRejectedResult;
      throw new KeywayError(
        'internal',
        `lock ${prefix}-${failed + 1} did not start: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`,
      );
    }
    return new Fleet(
      children.map((child, i) => ({
        name: child.options.name,
        dataDir: child.options.dataDir,
        child,
        ready: (results[i] as PromiseFulfilledResult<JsonEvent>).value,
      })),
    );
  }

  /** SIGTERM to every lock, then waits; returns each exit (a lock that hangs is killed after graceMs). */
  async stop(graceMs = 10_000): Promise<Array<{ name: string; code: number | null; signal: string | null }>> {
    const exits = await Promise.all(this.members.map((m) => m.child.stop('SIGTERM', graceMs)));
    return exits.map((e, i) => ({ name: this.members[i]?.name ?? '?', code: e.code, signal: e.signal }));
  }

  /** Resolves when any lock exits on its own (crash): the fleet command then stops the rest. */
  anyExit(): Promise<FleetMember> {
    return Promise.race(this.members.map((m) => m.child.exited.then(() => m)));
  }
}
