// The README's walk-through, run as a newcomer would: every command of its "# terminal 1" / "# terminal 2"
// blocks exactly as written (through bash and npx, from the repository root), with only the environment
// pointing the default locations (data, phone profiles, the radio hub) into a temp dir. Terminal 1 is
// stopped with Ctrl-C (SIGINT to its process group), restarted with the same command, and the owner's
// phone still opens it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../sim/cli.ts';
import { readWalkthrough, type WalkStep } from './readme.ts';
import { Sandbox, type JsonEvent } from './helpers.ts';

const box = new Sandbox('kwwalk-');
// The README's own setting: no hub address, so the first process starts the per-user hub (here in the
// sandbox's runtime dir); it exits by itself a few seconds after the last client leaves.
delete box.env.KEYWAY_RADIO_HUB;
const FILES = ['guest.pub', 'guest.ekey'];

class Terminal1 {
  readonly events: JsonEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        this.events.push(JSON.parse(l) as JsonEvent);
      } catch {
        this.events.push({ type: 'text', line: l });
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  async next(test: (e: JsonEvent) => boolean): Promise<JsonEvent> {
    for (;;) {
      const e = this.events.find(test);
      if (e !== undefined) return e;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`terminal 1 exited; stderr: ${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Ctrl-C: SIGINT to the whole foreground process group (bash, npx, node). */
  interrupt(): void {
    process.kill(-this.child.pid!, 'SIGINT');
  }
}

const started: Terminal1[] = [];
function terminal1(command: string): Terminal1 {
  // stdin stays open (as a terminal does): the lock runs until interrupted.
  const child = spawn('bash', ['-c', command], { cwd: ROOT, env: box.env, detached: true, stdio: 'pipe' });
  const t = new Terminal1(child);
  started.push(t);
  return t;
}

afterAll(() => {
  for (const t of started)
    if (t.child.exitCode === null && t.child.signalCode === null) process.kill(-t.child.pid!, 'SIGKILL');
  for (const f of FILES) rmSync(join(ROOT, f), { force: true });
  box.cleanup();
});

/** What particular steps must print, beyond succeeding. */
const EXPECT: Array<[RegExp, RegExp]> = [
  [/phone --profile olivia scan$/, /SETUP MODE \(unclaimed\)/],
  [/claim-press$/, /^claim window open for 60 s$/m],
  [/phone --profile olivia claim /, /^claimed lock [0-9a-f]+; this phone is its owner$/m],
  [/phone --profile \w+ unlock$/, /^unlocked$/m],
  [/user list$/, /Olivia/],
  [/keypad 4071#/, /^keypad: accepted$/m],
  [/ekey import/, /^imported a guest eKey for lock /m],
  [/log pull$/, /LockOperation unlock success/],
];

describe('README walk-through', () => {
  const steps: WalkStep[] = readWalkthrough(join(ROOT, 'README.md'));

  it('has both terminals and the whole story', () => {
    expect(steps.filter((s) => s.terminal === 1).map((s) => s.command)).toEqual([
      'npx keyway lock --name front --setup-code 4821-3907',
    ]);
    const t2 = steps.filter((s) => s.terminal === 2).map((s) => s.command);
    for (const needed of ['claim', 'pin set', 'ekey issue', 'ekey import', 'unlock', 'revoke', 'log pull'])
      expect(
        t2.some((c) => c.includes(needed)),
        needed,
      ).toBe(true);
  });

  it('runs exactly as written, survives a restart, and stops cleanly on Ctrl-C', async () => {
    for (const f of FILES) rmSync(join(ROOT, f), { force: true });
    const lockCommand = steps.find((s) => s.terminal === 1)!.command;
    let lock = terminal1(lockCommand);
    const ready = await lock.next((e) => e.type === 'ready');
    expect(ready).toMatchObject({ name: 'front', setupMode: true, setupCode: '48213907', radio: 'virtual' });
    const dataDir = String(ready.dataDir);
    expect(dataDir).toBe(join(box.root, 'data', 'keyway', 'locks', 'front'));

    for (const step of steps.filter((s) => s.terminal === 2)) {
      const r = await box.shAsync(step.command);
      const context = `${step.command}\nexit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nlock: ${lock.events
        .filter((e) => e.type === 'audit' || e.type === 'ble')
        .slice(-8)
        .map((e) =>
          e.type === 'ble'
            ? String(e.text)
            : `${String(e.entry.action)} ${String(e.entry.result ?? '')} ${String(e.entry.reason ?? '')}`,
        )
        .join(' | ')}`;
      if (step.refused !== undefined) {
        expect(r.status, context).not.toBe(0);
        expect(r.stderr, context).toContain(step.refused);
        continue;
      }
      expect(r.status, context).toBe(0);
      for (const [command, output] of EXPECT)
        if (command.test(step.command)) expect(r.stdout, context).toMatch(output);
    }
    // Terminal 1 printed every event: the owner's, the keypad's and the guest's unlocks, then the refusal.
    const audit = lock.events.filter((e) => e.type === 'audit').map((e) => e.entry as JsonEvent);
    expect(
      audit.filter((e) => e.kind === 'LockOperation' && e.action === 'unlock').map((e): unknown => e.source),
    ).toEqual(['remote', 'keypad', 'remote']);
    expect(
      audit.filter((e) => e.kind === 'LockOperationError').map((e): unknown[] => [e.action, e.reason]),
    ).toEqual([['unlock', 'revoked']]);

    // Ctrl-C: the lock shuts down cleanly (store closed, lock file and socket gone).
    lock.interrupt();
    await lock.exited;
    expect(lock.events.at(-1)).toEqual({ type: 'shutdown', dataDir });
    expect(readdirSync(dataDir).sort()).toEqual([
      'keyway.counter',
      'keyway.db',
      'keyway.offline-pin', // the offline-PIN secret installed at claim
      'keyway.secrets',
      'noise.key',
      'setup-code',
    ]);
    const verify = box.keyway(['admin', '--data', dataDir, 'audit', '--verify']);
    expect(verify.stdout).toMatch(/^audit log verifies \(\d+ entries\)\n$/);

    // The same command again: still claimed, users and keys kept; the owner's phone opens it, the
    // revoked guest still cannot.
    lock = terminal1(lockCommand);
    expect(await lock.next((e) => e.type === 'ready')).toMatchObject({ setupMode: false, created: false });
    expect((await box.shAsync('npx keyway phone --profile olivia unlock')).stdout).toBe('unlocked\n');
    const guest = await box.shAsync('npx keyway phone --profile guest unlock');
    expect(guest.status).not.toBe(0);
    expect(guest.stderr).toContain('revoked');
    lock.interrupt();
    await lock.exited;
    expect(lock.events.at(-1)).toEqual({ type: 'shutdown', dataDir });
    expect(existsSync(join(dataDir, '.keyway-lock'))).toBe(false);
  }, 240_000);
});
