// Where a terminal lock keeps its data, and the advisory lock file that keeps two processes (a running
// `keyway lock` and `keyway admin`) from using one data directory at once.
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KeywayError } from '../../firmware/index.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Files a keyway data directory may hold (the engine's store plus our lock file). */
const STORE_DB = 'keyway.db';
export const LOCK_FILE = '.keyway-lock';

/** $XDG_DATA_HOME/keyway/locks/<name>, or ~/.local/share/keyway/locks/<name>. */
export function defaultDataDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!NAME.test(name)) {
    throw new KeywayError(
      'invalid_argument',
      `lock name "${name}" must be 1-64 letters, digits, dots, dashes or underscores`,
    );
  }
  const base =
    env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== ''
      ? env.XDG_DATA_HOME
      : join(homedir(), '.local', 'share');
  return join(base, 'keyway', 'locks', name);
}

/**
 * Refuses a directory that is clearly not a keyway data directory (it exists, is not empty, and holds no
 * keyway.db), so `--data ~/Documents` does not scatter a store among someone's files. Corrupt, foreign or
 * newer stores are refused by the engine itself when it opens them.
 */
export function checkDataDir(dir: string): 'new' | 'existing' {
  if (!existsSync(dir)) return 'new';
  if (!statSync(dir).isDirectory()) throw new KeywayError('store_foreign', `${dir} is not a directory`);
  const entries = readdirSync(dir).filter((e) => e !== LOCK_FILE);
  if (entries.length === 0) return 'new';
  if (!entries.includes(STORE_DB)) {
    throw new KeywayError(
      'store_foreign',
      `${dir} is not a keyway data directory (it holds other files and no ${STORE_DB}); choose a new or empty directory`,
    );
  }
  return 'existing';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An advisory lock: <dir>/.keyway-lock holding the owner's pid; a stale file (dead pid) is taken over. */
export class DataDirLock {
  private released = false;

  private constructor(readonly path: string) {}

  /** Takes the lock or throws KeywayError naming the process that holds it. The directory must exist. */
  static acquire(dir: string, purpose: string): DataDirLock {
    const path = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, `${JSON.stringify({ pid: process.pid, purpose })}\n`);
        closeSync(fd);
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new KeywayError('store_io', `cannot create ${path}: ${(err as Error).message}`);
        }
      }
      let holder: { pid?: unknown; purpose?: unknown } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
      } catch {
        // unreadable or half-written: treat as stale
      }
      const pid = typeof holder.pid === 'number' ? holder.pid : null;
      if (pid !== null && pid !== process.pid && alive(pid)) {
        throw new KeywayError(
          'store_io',
          `${dir} is in use by process ${pid} (${typeof holder.purpose === 'string' ? holder.purpose : 'keyway'}); stop it first`,
        );
      }
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it; try again
      }
    }
    throw new KeywayError('store_io', `cannot take the lock file ${path}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
