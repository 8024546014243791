// The lock process over the radio: a phone in this process (real noble on the virtual radio) and the lock
// in a child process (real bleno), joined by a hub. kill -9 of the lock in the middle of a session loses
// nothing the phone was told was done, and the phone sees the link go (a clear error, not a hang); the
// restarted lock is still claimed and serves the same phone. And `keyway demo` passes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NobleTransport,
  scanLocks,
  type FoundLock,
  type Noble,
} from '../../ble-gatt/client/NobleTransport.ts';
import { PhoneSessionError } from '../../ble-gatt/client/PhoneSession.ts';
import { sendControl } from '../../sim/product/ControlSocket.ts';
import { memoryPhone } from '../../sim/product/Demo.ts';
import { installVirtualRadio, type RadioHandle } from '../../sim/radio/index.ts';
import { LockChild, Sandbox, type JsonEvent } from './helpers.ts';

const box = new Sandbox('kwble-');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
let radio: RadioHandle;
const locks: LockChild[] = [];
beforeAll(async () => {
  await box.startHub();
  radio = installVirtualRadio({ hub: box.hubAddress, name: 'e2e phone' });
  await radio.ready;
});
afterAll(async () => {
  await Promise.all(locks.map((l) => l.stop('SIGKILL')));
  await radio.close({ forget: true });
  box.cleanup();
});

async function find(noble: Noble, address: string): Promise<FoundLock> {
  const heard = await scanLocks(noble, { ms: 10_000, until: (f) => f.address === address });
  const f = heard.find((x) => x.address === address);
  if (f === undefined) throw new Error(`lock ${address} not heard`);
  return f;
}

async function lockAddress(name: string): Promise<string> {
  const d = (await radio.status()).devices.find((x) => x.name === `lock ${name}` && x.advertising);
  if (d === undefined) throw new Error(`lock ${name} is not advertising`);
  return d.address;
}

describe('lock process over the radio', () => {
  it('kill -9 mid-session: committed changes survive, the phone sees link loss, the restarted lock serves it', async () => {
    const dataDir = join(box.root, 'k9');
    const spawnLock = (trace?: string): LockChild => {
      const l = LockChild.spawn({
        name: 'k9',
        dataDir,
        hub: box.hubAddress,
        tz: 'UTC',
        setupCode: '48213907',
        env: box.env,
        ...(trace === undefined ? {} : { trace }),
      });
      locks.push(l);
      return l;
    };
    let lock = spawnLock();
    const ready = await lock.ready();
    const noble = radio.newNoble();
    const phone = memoryPhone();
    let found = await find(noble, await lockAddress('k9'));

    expect((await sendControl(dataDir, 'claim-press')).ok).toBe(true);
    const rec = await phone.claim(await NobleTransport.connect(found.peripheral), { setupCode: '4821-3907' });
    expect(rec.lockId).toBe(ready.lockId);

    // A session in which the owner adds a user; the lock answers after committing.
    const { session } = await phone.open(await NobleTransport.connect(found.peripheral), rec.lockId);
    const added = await session.request('user.add', {
      role: 'guest',
      name: 'Grace',
      validUntil: Date.now() + 86_400_000,
    });
    const seen = await lock.next(
      (e) =>
        e.type === 'audit' &&
        (e.entry as JsonEvent).action === 'add_user' &&
        (e.entry as JsonEvent).userIndex !== null,
    );
    lock.process.kill('SIGKILL');
    expect(await lock.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // The phone's next request fails because the link is gone, not because it waited out its deadline.
    const err = await session.request('status', {}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PhoneSessionError);
    expect((err as PhoneSessionError).kind).toBe('closed');
    expect((err as PhoneSessionError).message).toMatch(/^protocol: connection closed: /);

    // Nothing committed was lost: the user is there and the audit chain verifies up to the change.
    const users = JSON.parse(
      box.keyway(['admin', '--data', dataDir, 'user', 'list', '--json']).stdout,
    ) as JsonEvent[];
    expect(users.map((u): unknown[] => [u.index, u.name, u.role])).toEqual([
      [1, null, 'owner'],
      [added.user, 'Grace', 'guest'],
    ]);
    const verify = box.keyway(['admin', '--data', dataDir, 'audit', '--verify']);
    expect(verify.stdout).toMatch(/^audit log verifies \(\d+ entries\)\n$/);
    const audit = box
      .keyway(['admin', '--data', dataDir, 'audit', '--jsonl'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as JsonEvent);
    expect(audit.find((e) => e.seq === (seen.entry as JsonEvent).seq)).toMatchObject({
      kind: 'LockUserChange',
      action: 'add_user',
    });

    // Restarted (stale lock file and socket taken over): still claimed; the same phone opens it. This
    // time with --trace: the lock's HCI traffic goes to a btsnoop file.
    const trace = join(box.root, 'k9.btsnoop');
    lock = spawnLock(trace);
    expect(await lock.ready()).toMatchObject({ setupMode: false, created: false, lockId: rec.lockId });
    found = await find(radio.newNoble(), await lockAddress('k9'));
    await phone.once(await NobleTransport.connect(found.peripheral), rec.lockId, 'unlock', {});
    await lock.next((e) => e.type === 'bolt' && e.state === 'unlocked');
    lock.process.kill('SIGTERM');
    expect(await lock.exited).toEqual({ code: 0, signal: null });
    const decoded = box.keyway(['trace', trace]);
    expect(decoded.status).toBe(0);
    expect(decoded.stdout).toMatch(/> LE Set Advertising Parameters \(0x2006\)/);
    expect(decoded.stdout).toMatch(/LE Connection Complete/);
  }, 120_000);

  it('logs at debug level without a PIN, a key or the setup code in any log line', async () => {
    const dataDir = join(box.root, 'logs');
    const lock = LockChild.spawn({
      name: 'logs',
      dataDir,
      hub: box.hubAddress,
      tz: 'UTC',
      setupCode: '48213907',
      logLevel: 'debug',
      env: box.env,
    });
    locks.push(lock);
    await lock.ready();
    const phone = memoryPhone();
    const found = await find(radio.newNoble(), await lockAddress('logs'));
    // The claim window opened by typing the setup code on the keypad (cleared, never submitted as a PIN).
    const typed = await sendControl(dataDir, 'keypad 48213907#');
    expect((typed.events as JsonEvent[]).map((e) => `${String(e.type)} ${String(e.feedback)}`)).toEqual([
      ...Array<string>(8).fill('keypad key'),
      'keypad cleared',
    ]);
    const rec = await phone.claim(await NobleTransport.connect(found.peripheral), { setupCode: '48213907' });
    await phone.withSession(await NobleTransport.connect(found.peripheral), rec.lockId, async (s) => {
      await s.request('cred.add', { type: 'pin', user: 1, pin: '4071' });
    });
    const entry = await sendControl(dataDir, 'keypad 4071#');
    expect(entry.events).toContainEqual(expect.objectContaining({ type: 'keypad', feedback: 'accepted' }));
    lock.process.kill('SIGINT');
    expect(await lock.exited).toEqual({ code: 0, signal: null });

    const logLines = lock.stderr
      .split('\n')
      .filter((l) => /^\d\d:\d\d:\d\d\.\d{3} (error|warn |info |debug) /.test(l));
    expect(logLines.some((l) => l.includes('claimed over Bluetooth'))).toBe(true);
    expect(logLines.some((l) => l.includes('claim window open by=keypad'))).toBe(true);
    const secrets = [
      '4071',
      '48213907',
      hex(rec.pinSecret!),
      hex(phone.store.holderSeed()),
      hex(phone.store.noiseKey().privateKey),
      readFileSync(join(dataDir, 'noise.key'), 'utf8').trim(),
    ];
    for (const secret of secrets) {
      for (const l of logLines) expect(l).not.toContain(secret);
      // Events on stdout carry no secret either (the ready line shows the label's setup code by design).
      for (const e of lock.events.filter((x) => x.type !== 'ready'))
        expect(JSON.stringify(e)).not.toContain(secret);
    }
  }, 120_000);

  it('keyway demo runs the whole story and exits 0', () => {
    const r = box.keyway(['demo']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const titles = r.stdout.split('\n').filter((l) => /^\[\d+\] /.test(l));
    expect(titles).toHaveLength(12);
    expect(r.stdout).not.toContain('FAILED');
    expect(r.stdout).toMatch(/refused: outside_schedule/);
    expect(r.stdout).toMatch(/refused: revoked/);
    expect(r.stdout).toMatch(/^demo passed: 12 steps in [\d.]+ s$/m);
  }, 120_000);
});
