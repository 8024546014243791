// Kill a writing child process at random moments many times; after each kill the store must open, pass its
// integrity check, its audit chain must verify and no change may be half-written.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lock } from '../../firmware/Lock.ts';
import { FakeBoard } from '../helpers/FakeBoard.ts';
import { FakeClock } from '../helpers/FakeClock.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';
import { tempDir } from '../helpers/lockFixture.ts';

const ITERATIONS = 30;
const worker = path.join(import.meta.dirname, 'crash-worker.ts');
const dir = tempDir('keyway-crash-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Start the worker, wait for "ready", let it write for delayMs, SIGKILL it. Resolves with what it printed. */
function runAndKill(
  seed: number,
  delayMs: number,
): Promise<{ stdout: string; stderr: string; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, dir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('ready') && !child.killed) setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ stdout, stderr, signal }));
  });
}

function check(iteration: number): { users: number; entries: number } {
  const clock = new FakeClock({ time: Date.now() });
  const lock = Lock.open({
    dataDir: dir,
    clock,
    board: new FakeBoard(clock),
    random: new SeededRandom('crash'),
  });
  try {
    expect(lock.audit.verify()).toMatchObject({ ok: true });
    const entries = lock.audit.entries();
    const added = new Set(entries.filter((e) => e.action === 'add_user').map((e) => e.targetUserIndex));
    const removed = new Set(entries.filter((e) => e.action === 'remove_user').map((e) => e.targetUserIndex));
    const creds = new Set(
      entries.filter((e) => e.action === 'add_credential').map((e) => e.credential?.index),
    );
    const users = lock.listUsers();
    for (const u of users) {
      expect([iteration, u.index, added.has(u.index)]).toEqual([iteration, u.index, true]);
      expect(removed.has(u.index)).toBe(false);
      // a Disposable guest's single use is spent exactly when an unlock entry for it exists
      if (u.userType === 'Disposable') {
        const unlocked = entries.some(
          (e) => e.action === 'unlock' && e.result === 'success' && e.userIndex === u.index,
        );
        expect([u.index, u.usesRemaining]).toEqual([u.index, unlocked ? 0 : 1]);
      }
    }
    for (const r of removed) expect(lock.getUser(r!)).toBeNull();
    for (const c of lock.listCredentials()) expect(creds.has(c.index)).toBe(true);
    return { users: users.length, entries: entries.length };
  } finally {
    lock.close();
    const db = new Database(path.join(dir, 'keyway.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  }
}

describe('crash safety', () => {
  it(`SIGKILL mid-write ${ITERATIONS} times: integrity ok, chain verifies, nothing half-written`, async () => {
    const rnd = new SeededRandom('kill-delays');
    let last = { users: 0, entries: 0 };
    let progressed = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const delay = 5 + ((rnd.bytes(1)[0] ?? 0) % 150);
      const r = await runAndKill(i + 1, delay);
      expect([i, r.signal, r.stderr]).toEqual([i, 'SIGKILL', '']);
      const now = check(i);
      if (now.entries > last.entries) progressed++;
      last = now;
    }
    // the workers really wrote between kills
    expect(progressed).toBeGreaterThan(ITERATIONS / 2);
  }, 180_000);
});
