// End-to-end helpers: real `keyway` processes, a private radio hub per test file, and an environment that
// keeps every default location (data directories, phone profiles, the hub socket) inside a temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KEYWAY_BIN } from '../../sim/product/LockChild.ts';

export { LockChild, type JsonEvent } from '../../sim/product/LockChild.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A sandbox: HOME, XDG dirs and the hub address all under one temp dir. */
export class Sandbox {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly children: ChildProcess[] = [];

  constructor(prefix = 'keyway-e2e-') {
    // Short paths: Unix socket paths are limited to ~100 bytes.
    this.root = mkdtempSync(join(tmpdir(), prefix));
    this.env = {
      ...process.env,
      NO_COLOR: '1',
      HOME: this.root,
      XDG_DATA_HOME: join(this.root, 'data'),
      XDG_CONFIG_HOME: join(this.root, 'config'),
      XDG_RUNTIME_DIR: this.root,
      KEYWAY_RADIO_HUB: join(this.root, 'hub.sock'),
    };
  }

  get hubAddress(): string {
    return this.env.KEYWAY_RADIO_HUB as string;
  }

  /** Runs `keyway ARGS` to completion. */
  keyway(args: string[], input = ''): CliResult {
    const r = spawnSync(process.execPath, [KEYWAY_BIN, ...args], {
      env: this.env,
      input,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a shell command line exactly as a person would type it (README blocks), with npx keyway. */
  sh(line: string, input = ''): CliResult {
    const r = spawnSync('bash', ['-c', line], {
      env: { ...this.env, PATH: `${join(KEYWAY_BIN, '..')}:${process.env.PATH ?? ''}` },
      cwd: join(KEYWAY_BIN, '..', '..'),
      input,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * As sh(), without blocking this process: a lock whose stdout this process reads keeps running (a full
   * pipe would stall its event loop while spawnSync waits).
   */
  shAsync(line: string, input = ''): Promise<CliResult> {
    const child = spawn('bash', ['-c', line], {
      env: { ...this.env, PATH: `${join(KEYWAY_BIN, '..')}:${process.env.PATH ?? ''}` },
      cwd: join(KEYWAY_BIN, '..', '..'),
      stdio: 'pipe',
    });
    this.children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
  }

  /** Starts `keyway ARGS` in the background (killed by cleanup()). */
  spawn(args: string[]): ChildProcess {
    const child = spawn(process.execPath, [KEYWAY_BIN, ...args], { env: this.env, stdio: 'pipe' });
    this.children.push(child);
    return child;
  }

  /** Starts a private radio hub at the sandbox's address and waits until it listens. */
  async startHub(): Promise<ChildProcess> {
    const hub = this.spawn(['radio', 'hub', '--socket', this.hubAddress]);
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: hub.stderr! });
      lines.on('line', (l) => {
        if (l.includes('listening')) resolve();
      });
      hub.once('exit', (code) => reject(new Error(`radio hub exited ${code}`)));
    });
    return hub;
  }

  /** Kills whatever is still running (after a failed test); removes the sandbox unless KEYWAY_E2E_KEEP=1. */
  cleanup(): void {
    for (const c of this.children.splice(0))
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (process.env.KEYWAY_E2E_KEEP !== '1') rmSync(this.root, { recursive: true, force: true });
  }
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
