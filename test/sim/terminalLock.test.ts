// keyway lock driven through stdin in a child process, set up with keyway admin, restarted, and refused on
// data directories that are not its own.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { keyway, spawnKeyway } from './cli.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON lines, checked field by field
type Json = Record<string, any>;

/** A running `keyway lock` with its stdout parsed as JSON lines. */
class LockProcess {
  readonly events: Json[] = [];
  private waiters: Array<{ test: (e: Json) => boolean; resolve: (e: Json) => void }> = [];
  readonly exit: Promise<number | null>;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as Json;
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.test(e) ? (w.resolve(e), false) : true));
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** The first event (already seen or still to come) that passes the test. */
  next(test: (e: Json) => boolean, after = 0): Promise<Json> {
    const seen = this.events.slice(after).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  send(line: string): number {
    const mark = this.events.length;
    this.child.stdin!.write(`${line}\n`);
    return mark;
  }
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function start(dataDir: string): LockProcess {
  // --radio none: these tests are about the engine and the terminal (test/e2e covers the radio).
  const child = spawnKeyway([
    'lock',
    '--data',
    dataDir,
    '--speed',
    '50',
    '--tz',
    'Europe/Berlin',
    '--radio',
    'none',
  ]);
  running.push(child);
  return new LockProcess(child);
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    out[f.name] = f.isDirectory() ? 'directory' : readFileSync(join(dir, f.name)).toString('base64');
  }
  return out;
}

const isBolt = (state: string) => (e: Json) => e.type === 'bolt' && e.state === state;

describe('keyway lock (no TTY: stdin commands, JSON lines out)', () => {
  it('opens with a PIN, relocks, refuses a second process, shuts down on SIGTERM and keeps its state', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'keyway-lock-')), 'front-door');
    const add = keyway(
      [
        'admin',
        '--data',
        dataDir,
        '--tz',
        'Europe/Berlin',
        'user',
        'add',
        'Olivia',
        '--role',
        'owner',
        '--pin',
        '-',
      ],
      {
        input: '4071\n',
      },
    );
    expect(add.stderr).toBe('');
    expect(add.stdout).toBe('added owner Olivia (#1, Unrestricted) with 1 PIN\n');
    expect(keyway(['admin', '--data', dataDir, 'settings', '--set', 'lockoutSeconds=[3600]']).status).toBe(0);

    const lock = start(dataDir);
    const ready = await lock.next((e) => e.type === 'ready');
    expect(ready).toMatchObject({ setupMode: false, created: false, speed: 50, timeZone: 'Europe/Berlin' });

    let mark = lock.send('4071#');
    const unlock = await lock.next((e) => e.type === 'audit' && e.entry.action === 'unlock', mark);
    expect(unlock).toMatchObject({
      user: 'Olivia',
      entry: { kind: 'LockOperation', result: 'success', source: 'keypad' },
    });
    await lock.next(isBolt('unlocked'), mark);
    const relock = await lock.next((e) => e.type === 'audit' && e.entry.action === 'lock', mark);
    expect(relock.entry).toMatchObject({ kind: 'LockOperation', source: 'auto', result: 'success' });
    await lock.next(isBolt('locked'), mark);

    // While it runs, keyway admin refuses the data directory.
    const busy = keyway(['admin', '--data', dataDir, 'user', 'list']);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(
      /^keyway: cannot use .*front-door: store_io: .* is in use by process \d+ \(keyway lock default\); stop it first/,
    );

    // Five wrong codes: the keypad locks out for an hour.
    mark = lock.send('1111#\n2222#\n3333#\n4444#\n5555#');
    await lock.next((e) => e.type === 'alarm' && e.code === 'WrongCodeEntryLimit', mark);
    mark = lock.send('bogus');
    expect(await lock.next((e) => e.type === 'error', mark)).toMatchObject({ line: 'bogus' });
    lock.child.kill('SIGTERM');
    expect(await lock.exit).toBe(0);
    expect(lock.events.at(-1)).toEqual({ type: 'shutdown', dataDir });
    expect(readdirSync(dataDir)).not.toContain('.keyway-lock');

    // Restart: users, the lockout and the audit log survived.
    const again = start(dataDir);
    await again.next((e) => e.type === 'ready');
    mark = again.send('status');
    const status = await again.next((e) => e.type === 'status', mark);
    expect(status.setupMode).toBe(false);
    expect(status.lockedOutRemainingMs).toBeGreaterThan(0);
    mark = again.send('4071#');
    const refused = await again.next(
      (e) => e.type === 'audit' && e.entry.kind === 'LockOperationError',
      mark,
    );
    expect(refused.entry).toMatchObject({ action: 'unlock', reason: 'locked_out' });
    again.child.stdin!.end(); // end of input also shuts it down cleanly
    expect(await again.exit).toBe(0);

    const users = JSON.parse(keyway(['admin', '--data', dataDir, 'user', 'list', '--json']).stdout) as Json[];
    expect(users.map((u): unknown[] => [u.name, u.role, u.credentials.length])).toEqual([
      ['Olivia', 'owner', 1],
    ]);
    const audit = keyway(['admin', '--data', dataDir, 'audit', '--jsonl'])
      .stdout.trim()
      .split('\n')
      .map((l): Json => JSON.parse(l) as Json);
    expect(audit.some((e) => e.kind === 'LockOperation' && e.action === 'unlock' && e.userIndex === 1)).toBe(
      true,
    );
    expect(audit.some((e) => e.kind === 'DoorLockAlarm' && e.action === 'WrongCodeEntryLimit')).toBe(true);
    const verify = keyway(['admin', '--data', dataDir, 'audit', '--verify']);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/^audit log verifies \(\d+ entries\)\n$/);
  });

  it('a new data directory starts in setup mode, shows its setup code and says how to create the owner', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'keyway-lock-')), 'new');
    const lock = start(dataDir);
    const ready = await lock.next((e) => e.type === 'ready');
    expect(ready).toMatchObject({ created: true, setupMode: true });
    expect(ready.setupCode).toMatch(/^[0-9]{8}$/);
    expect(ready.claimLink).toBe(
      `keyway://claim?v=1&code=${ready.setupCode}&id=${ready.lockId}&name=default`,
    );
    expect(ready.hint).toContain(`keyway admin --data "${dataDir}" user add Owner --role owner --pin -`);
    lock.send('quit');
    expect(await lock.exit).toBe(0);
    const code = String(ready.setupCode);
    expect(lock.stderr).toBe(
      `keyway: created a new lock in ${dataDir} (time zone Europe/Berlin)\n` +
        `keyway: setup code ${code.slice(0, 4)}-${code.slice(4)}  claim link ${ready.claimLink}\n`,
    );
  });

  it('refuses a corrupt store and leaves it byte-identical', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyway-corrupt-'));
    writeFileSync(
      join(dataDir, 'keyway.db'),
      'this is not a database, just some text that is long enough'.repeat(4),
    );
    writeFileSync(join(dataDir, 'keyway.secrets'), '{}');
    const before = snapshot(dataDir);
    for (const args of [
      ['lock', '--data', dataDir],
      ['admin', '--data', dataDir, 'user', 'list'],
    ]) {
      const r = keyway(args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`^keyway: cannot use ${dataDir}: store_corrupt: .*\\(nothing was changed\\)\\n$`),
      );
      expect(snapshot(dataDir)).toEqual(before);
    }
  });

  it('refuses a directory that is not a keyway data directory and leaves it alone', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyway-foreign-'));
    mkdirSync(join(dataDir, 'photos'));
    writeFileSync(join(dataDir, 'notes.txt'), 'my notes');
    const before = snapshot(join(dataDir));
    const r = keyway(['lock', '--data', dataDir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('store_foreign');
    expect(r.stderr).toContain('is not a keyway data directory (it holds other files and no keyway.db)');
    expect(snapshot(dataDir)).toEqual(before);
  });

  it('keyway admin validates before it changes anything', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'keyway-admin-')), 'd');
    expect(
      keyway(['admin', '--data', dataDir, 'user', 'add', 'Ann', '--role', 'guest', '--permanent']).stderr,
    ).toMatch(/^keyway: the lock has no owner yet: the first user must be --role owner\n$/);
    const weak = keyway(
      ['admin', '--data', dataDir, 'user', 'add', 'Olivia', '--role', 'owner', '--pin', '-'],
      { input: '1234\n' },
    );
    expect(weak.status).toBe(1);
    expect(weak.stderr).toBe(
      'keyway: --pin: a PIN that is a straight run of digits (up or down, 9 wrapping to 0) is too easy to guess (force to accept it); nothing was added\n',
    );
    expect(weak.stderr).not.toContain('1234');
    expect(keyway(['admin', '--data', dataDir, 'user', 'list']).stdout).toBe(
      'no users (the lock is in setup mode)\n',
    );
  });
});
