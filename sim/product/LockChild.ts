// A `keyway lock` running as a child process in JSON-lines mode: what `keyway fleet`, `keyway demo`, the
// fleet benchmark and the end-to-end tests start. Events are parsed as they arrive; `next()` waits for one.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KeywayError } from '../../firmware/index.ts';

export const KEYWAY_BIN = fileURLToPath(new URL('../../bin/keyway.js', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON lines, read field by field
export type JsonEvent = Record<string, any>;

export interface LockChildOptions {
  name: string;
  dataDir: string;
  /** 'virtual' (default), 'none', 'hci', 'hci:N'. */
  radio?: string;
  hub?: string;
  speed?: number;
  tz?: string;
  setupCode?: string;
  logLevel?: string;
  trace?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra arguments after `keyway lock`. */
  args?: string[];
}

export class LockChild {
  readonly events: JsonEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<{ test: (e: JsonEvent) => boolean; resolve: (e: JsonEvent) => void }> = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  private constructor(
    readonly options: LockChildOptions,
    readonly process: ChildProcess,
  ) {
    createInterface({ input: process.stdout! }).on('line', (line) => {
      let e: JsonEvent;
      try {
        e = JSON.parse(line) as JsonEvent;
      } catch {
        e = { type: 'text', line };
      }
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.test(e) ? (w.resolve(e), false) : true));
    });
    process.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
    });
    this.exited = new Promise((resolve) =>
      process.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
  }

  static spawn(options: LockChildOptions): LockChild {
    const args = ['lock', '--json', '--name', options.name, '--data', options.dataDir];
    args.push('--radio', options.radio ?? 'virtual');
    if (options.hub !== undefined) args.push('--hub', options.hub);
    if (options.speed !== undefined) args.push('--speed', String(options.speed));
    if (options.tz !== undefined) args.push('--tz', options.tz);
    if (options.setupCode !== undefined) args.push('--setup-code', options.setupCode);
    if (options.logLevel !== undefined) args.push('--log-level', options.logLevel);
    if (options.trace !== undefined) args.push('--trace', options.trace);
    args.push(...(options.args ?? []));
    const child = spawn(process.execPath, [KEYWAY_BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new LockChild(options, child);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** The first event (already seen, or still to come) passing the test, from index `after` on. */
  next(test: (e: JsonEvent) => boolean, after = 0, timeoutMs = 30_000): Promise<JsonEvent> {
    const seen = this.events.slice(after).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (e: JsonEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new KeywayError(
            'protocol',
            `lock ${this.options.name}: expected event did not come within ${timeoutMs} ms${this.running ? '' : ' (the process exited)'}; stderr: ${this.stderr.slice(-400)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
      void this.exited.then(() => {
        if (this.waiters.includes(waiter)) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(
            new KeywayError(
              'protocol',
              `lock ${this.options.name} exited (code ${String(this.exitInfo?.code)}) before the expected event; stderr: ${this.stderr.slice(-400)}`,
            ),
          );
        }
      });
    });
  }

  /** Waits for the `ready` line. */
  ready(timeoutMs = 30_000): Promise<JsonEvent> {
    return this.next((e) => e.type === 'ready', 0, timeoutMs);
  }

  /** Writes a line command to stdin; returns the event index to wait from. */
  send(line: string): number {
    const mark = this.events.length;
    this.process.stdin!.write(`${line}\n`);
    return mark;
  }

  /** Sends a signal and waits for the exit (SIGKILL after graceMs). */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    graceMs = 10_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitInfo !== null) return this.exitInfo;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }
}
