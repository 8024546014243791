// Starts a real Lock on a real SQLite store in a fresh temporary directory, with a fake clock and board.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lock, type LockOptions } from '../../firmware/Lock.ts';
import type { LockEvent, Settings } from '../../firmware/types.ts';
import { FakeBoard } from './FakeBoard.ts';
import { FakeClock } from './FakeClock.ts';
import { SeededRandom } from './SeededRandom.ts';

export const T0 = Date.UTC(2025, 0, 6, 12, 0, 0); // Monday 2025-01-06 12:00 UTC

export interface Fixture {
  dir: string;
  clock: FakeClock;
  board: FakeBoard;
  random: SeededRandom;
  events: LockEvent[];
  lock: Lock;
  /** Close and open the same data directory again (a restart). */
  reopen(): Lock;
  options(): LockOptions;
}

export function tempDir(prefix = 'keyway-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function startLock(
  opts: { settings?: Partial<Settings>; time?: number | null; dir?: string } = {},
): Fixture {
  const dir = opts.dir ?? tempDir();
  const clock = new FakeClock({ time: opts.time === undefined ? T0 : opts.time });
  const board = new FakeBoard(clock);
  const random = new SeededRandom(dir);
  const events: LockEvent[] = [];
  const options = (): LockOptions => ({
    dataDir: dir,
    clock,
    board,
    random,
    events: { emit: (e) => events.push(e) },
    initialSettings: opts.settings,
  });
  const f: Fixture = {
    dir,
    clock,
    board,
    random,
    events,
    lock: Lock.open(options()),
    reopen() {
      f.lock.close();
      f.lock = Lock.open(options());
      return f.lock;
    },
    options,
  };
  return f;
}

/** Removes the fixture's directory (call in afterEach). */
export function cleanup(f: Fixture | undefined): void {
  if (!f) return;
  try {
    f.lock.close();
  } catch {
    // already closed
  }
  fs.rmSync(f.dir, { recursive: true, force: true });
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
