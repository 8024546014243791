// The lock process's life: the control socket drives it while it runs; SIGINT and SIGTERM stop it cleanly
// (exit 0, radio left, store closed and verifiable); kill -9 in the middle of work loses nothing that was
// committed; several locks run side by side under `keyway fleet` and stop together.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, exitOf, LockChild, Sandbox, type JsonEvent } from './helpers.ts';

const box = new Sandbox();
const locks: LockChild[] = [];
beforeAll(async () => {
  await box.startHub();
});
afterAll(async () => {
  await Promise.all(locks.map((l) => l.stop('SIGKILL')));
  box.cleanup();
});

function lockIn(dataDir: string, name = 'front'): LockChild {
  const lock = LockChild.spawn({
    name,
    dataDir,
    hub: box.hubAddress,
    speed: 20,
    tz: 'Europe/Berlin',
    env: box.env,
  });
  locks.push(lock);
  return lock;
}

/** A claimed-by-admin lock: owner Olivia with PIN 4071. */
function withOwner(dataDir: string): void {
  const r = box.keyway(
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
    '4071\n',
  );
  expect(r.stderr).toBe('');
}

function auditVerifies(dataDir: string): JsonEvent[] {
  const verify = box.keyway(['admin', '--data', dataDir, 'audit', '--verify']);
  expect(verify.stderr).toBe('');
  expect(verify.stdout).toMatch(/^audit log verifies \(\d+ entries\)\n$/);
  expect(verify.status).toBe(0);
  return box
    .keyway(['admin', '--data', dataDir, 'audit', '--jsonl'])
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonEvent);
}

describe('keyway lock as a process', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'is driven through keyway lock ctl and shuts down cleanly on %s',
    async (signal) => {
      const dataDir = join(box.root, `ctl-${signal}`);
      withOwner(dataDir);
      // No auto-relock and no door-ajar alarm during the test, whatever the machine's speed.
      for (const set of ['autoRelockSeconds=0', 'doorAjarSeconds=3600'])
        expect(box.keyway(['admin', '--data', dataDir, 'settings', '--set', set]).status).toBe(0);
      const lock = lockIn(dataDir);
      const ready = await lock.ready();
      expect(ready).toMatchObject({ setupMode: false, radio: 'virtual', name: 'front' });
      expect(ready.setupCode).toBeUndefined();

      const open = box.keyway(['lock', 'ctl', '--data', dataDir, 'keypad', '4071#']);
      expect(open.stderr).toBe('');
      expect(open.status).toBe(0);
      expect(open.stdout).toMatch(
        /^audit #\d+: LockOperation unlock success by Olivia\nbolt: unlocking\nkeypad: accepted\n$/,
      );
      const wrong = box.keyway(['lock', 'ctl', '--data', dataDir, 'keypad', '9999#']);
      expect(wrong.stdout).toMatch(
        /^audit #\d+: LockOperationError unlock failure \(invalid_credential\)\nkeypad: rejected\n$/,
      );
      const door = box.keyway(['lock', 'ctl', '--data', dataDir, '--json', 'door', 'open']);
      const reply = JSON.parse(door.stdout) as JsonEvent;
      expect(reply.ok).toBe(true);
      expect(reply.status).toMatchObject({ door: 'open' });
      const bad = box.keyway(['lock', 'ctl', '--data', dataDir, 'door', 'ajar']);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/^keyway: door needs open or close \(commands: /);
      const claimed = box.keyway(['lock', 'ctl', '--data', dataDir, 'claim-press']);
      expect(claimed.stderr).toBe('keyway: the lock is already claimed\n');
      const status = box.keyway(['lock', 'ctl', '--data', dataDir, 'status']);
      expect(status.stdout).toMatch(
        /^bolt (unlocked|unlocking), door open, battery [\d.]+%, mode Normal, claimed\nradio: advertising; phones connected: 0\n$/,
      );

      // The same events reached stdout as JSON lines.
      await lock.next((e) => e.type === 'keypad' && e.feedback === 'accepted');
      lock.process.kill(signal);
      expect(await lock.exited).toEqual({ code: 0, signal: null });
      expect(lock.events.at(-1)).toEqual({ type: 'shutdown', dataDir });
      expect(readdirSync(dataDir).sort()).toEqual([
        'keyway.counter',
        'keyway.db',
        'keyway.secrets',
        'noise.key',
      ]);
      const audit = auditVerifies(dataDir);
      expect(
        audit.filter((e) => e.kind === 'LockOperation' && e.action === 'unlock' && e.userIndex === 1),
      ).toHaveLength(1);

      const gone = box.keyway(['lock', 'ctl', '--data', dataDir, 'status']);
      expect(gone.status).toBe(1);
      expect(gone.stderr).toBe(`keyway: no lock is running with data directory ${dataDir} (no ctl.sock)\n`);
    },
  );

  it('kill -9 in the middle of a burst of entries loses no committed entry, and the lock restarts', async () => {
    const dataDir = join(box.root, 'kill9');
    withOwner(dataDir);
    const lock = lockIn(dataDir);
    await lock.ready();
    // A steady stream of keypad entries and door changes (each commits audit entries).
    let stop = false;
    void (async () => {
      for (let i = 0; !stop && lock.running; i++) {
        lock.send(i % 2 === 0 ? 'door open' : 'door close');
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const seqs: number[] = [];
    await lock.next((e) => {
      if (e.type === 'audit') seqs.push(e.entry.seq as number);
      return seqs.length >= 40;
    });
    lock.process.kill('SIGKILL');
    stop = true;
    expect(await lock.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const committed = lock.events.filter((e) => e.type === 'audit').map((e) => e.entry.seq as number);
    // Stale lock file and control socket are left behind; the store has every entry the lock reported.
    expect(existsSync(join(dataDir, 'ctl.sock'))).toBe(true);
    const audit = auditVerifies(dataDir);
    const stored = new Set(audit.map((e) => e.seq as number));
    for (const seq of committed) expect(stored.has(seq)).toBe(true);

    const again = lockIn(dataDir);
    await again.ready();
    const r = box.keyway(['lock', 'ctl', '--data', dataDir, 'keypad', '4071#']);
    expect(r.stdout).toContain('keypad: accepted');
    again.send('quit');
    expect(await again.exited).toEqual({ code: 0, signal: null });
    expect(Math.max(...auditVerifies(dataDir).map((e) => e.seq as number))).toBeGreaterThan(
      Math.max(...committed),
    );
  });

  it('a physical factory reset (the reset button) wipes the owner and makes the lock claimable again', async () => {
    const dataDir = join(box.root, 'reset');
    withOwner(dataDir);
    const lock = lockIn(dataDir);
    await lock.ready();
    const reset = box.keyway(['lock', 'ctl', '--data', dataDir, '--json', 'factory-reset']);
    expect(JSON.parse(reset.stdout)).toMatchObject({ ok: true, status: { setupMode: true } });
    // The old PIN is gone; the claim gesture works again.
    expect(box.keyway(['lock', 'ctl', '--data', dataDir, 'keypad', '4071#']).stdout).toContain(
      'keypad: rejected',
    );
    expect(box.keyway(['lock', 'ctl', '--data', dataDir, 'claim-press']).stdout).toBe(
      'claim window open for 60 s\n',
    );
    lock.send('quit');
    expect(await lock.exited).toEqual({ code: 0, signal: null });
    const audit = auditVerifies(dataDir);
    expect(audit.filter((e) => e.action === 'factory_reset').map((e): unknown[] => [e.kind, e.data])).toEqual(
      [['System', { by: 'physical' }]],
    );
    expect(JSON.parse(box.keyway(['admin', '--data', dataDir, 'user', 'list', '--json']).stdout)).toEqual([]);
  });

  it('keyway fleet starts N named locks on one air and stops them all on SIGTERM', async () => {
    const base = join(box.root, 'fleet');
    const fleet = box.spawn([
      'fleet',
      '--count',
      '3',
      '--base-dir',
      base,
      '--json',
      '--setup-code',
      '4821-3907',
    ]);
    const lines: JsonEvent[] = [];
    let buf = '';
    const readyLine = new Promise<void>((resolve) => {
      fleet.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        for (const p of parts) {
          const e = JSON.parse(p) as JsonEvent;
          lines.push(e);
          if (e.type === 'ready') resolve();
        }
      });
    });
    await readyLine;
    const members = lines.filter((e) => e.type === 'lock');
    expect(members.map((m): unknown[] => [m.name, m.dataDir, m.setupMode, m.setupCode])).toEqual([
      ['fleet-1', join(base, 'fleet-1'), true, '48213907'],
      ['fleet-2', join(base, 'fleet-2'), true, '48213907'],
      ['fleet-3', join(base, 'fleet-3'), true, '48213907'],
    ]);
    const st = box.keyway(['lock', 'ctl', '--data', join(base, 'fleet-2'), '--json', 'status']);
    expect(JSON.parse(st.stdout)).toMatchObject({ ok: true, status: { setupMode: true } });
    // All three are on the one hub, next to nothing else from this test.
    const hub = JSON.parse(box.keyway(['radio', 'status', '--json']).stdout) as JsonEvent;
    expect(hub.clients).toBeGreaterThanOrEqual(3);

    fleet.kill('SIGTERM');
    expect(await exitOf(fleet)).toEqual({ code: 0, signal: null });
    expect(lines.at(-1)).toEqual({
      type: 'stopped',
      exits: ['fleet-1', 'fleet-2', 'fleet-3'].map((name) => ({ name, code: 0, signal: null })),
    });
    for (const m of members) expect(alive(m.pid as number)).toBe(false);
    // The base directory was named, so it is kept (with each lock's store).
    expect(readdirSync(base).sort()).toEqual(['fleet-1', 'fleet-2', 'fleet-3']);
  });

  it('keyway fleet --claim claims each lock with a phone profile of its name, ready for load tests', async () => {
    const fleet = box.spawn(['fleet', '--count', '2', '--prefix', 'load', '--claim', '--json']);
    const lines: JsonEvent[] = [];
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      fleet.once('exit', (code) => reject(new Error(`fleet exited ${code}`)));
      fleet.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        for (const p of parts) {
          const e = JSON.parse(p) as JsonEvent;
          lines.push(e);
          if (e.type === 'ready') resolve();
        }
      });
    });
    const members = lines.filter((e) => e.type === 'lock');
    expect(members.map((m): unknown[] => [m.name, m.setupMode, m.profile, m.setupCode])).toEqual([
      ['load-1', false, 'load-1', undefined],
      ['load-2', false, 'load-2', undefined],
    ]);
    const unlock = box.keyway(['phone', '--profile', 'load-2', 'unlock']);
    expect(unlock.stderr).toBe('');
    expect(unlock.stdout).toBe('unlocked\n');
    const locks = box.keyway(['phone', '--profile', 'load-1', 'locks']);
    expect(locks.stdout).toBe(`${String(members[0]!.lockId)}  owner  eKeys: owner\n`);
    fleet.kill('SIGINT');
    expect(await exitOf(fleet)).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('refuses bad fleet and lock options with one line', () => {
    expect(box.keyway(['fleet', '--count', '0']).stderr).toBe(
      'keyway: --count must be a whole number from 1 to 200, got "0"\n',
    );
    expect(box.keyway(['lock', '--radio', 'bluetooth']).stderr).toBe(
      'keyway: --radio must be virtual, hci, hci:N or none, got "bluetooth"\n',
    );
    expect(box.keyway(['lock', '--setup-code', '123']).stderr).toBe(
      'keyway: a setup code is 8 digits (spaces and dashes are ignored)\n',
    );
    expect(box.keyway(['lock', '--log-level', 'loud']).stderr).toBe(
      'keyway: --log-level: log level must be one of error, warn, info, debug, got "loud"\n',
    );
    expect(box.keyway(['lock', '--radio', 'none', '--trace', 'x.btsnoop']).stderr).toBe(
      'keyway: --hub and --trace apply to the virtual radio only (--radio virtual)\n',
    );
  });
});
