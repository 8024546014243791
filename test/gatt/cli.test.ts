// The story from the command line, across processes: `keyway lock` (bleno) in one child process, each
// `keyway phone` command (noble) in its own, joined by a private radio hub. Nothing in-process.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockChild, Sandbox } from '../e2e/helpers.ts';

const CODE = '40718263';
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

describe('keyway phone against keyway lock over the virtual radio', () => {
  let box: Sandbox;
  let lock: LockChild;

  beforeAll(async () => {
    box = new Sandbox('kw-gatt-');
    await box.startHub();
    lock = LockChild.spawn({
      name: 'front',
      dataDir: path.join(box.root, 'front'),
      hub: box.hubAddress,
      setupCode: CODE,
      tz: 'UTC',
      env: box.env,
    });
    await lock.ready(60_000);
  }, 90_000);

  afterAll(async () => {
    await lock?.stop().catch(() => undefined);
    box?.cleanup();
    fs.rmSync(box.root, { recursive: true, force: true });
  });

  const phone = (profile: string, ...args: string[]) => box.keyway(['phone', '--profile', profile, ...args]);

  it('claim, unlock, guest eKey inside and outside its schedule, revoke, log pull', () => {
    // Without presence at the lock the claim is refused.
    const early = phone('olivia', 'claim', '--setup-code', CODE);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toContain('not_authorized');

    lock.send('claim-press');
    const claim = phone('olivia', 'claim', '--setup-code', CODE, '--name', 'Olivia');
    expect(claim.stderr).toBe('');
    expect(claim.stdout).toMatch(/^claimed lock [0-9a-f]{16}; this phone is its owner/);
    const profileDir = path.join(box.root, 'data', 'keyway', 'phones', 'olivia');
    for (const f of ['noise.key', 'holder.key'])
      expect(fs.statSync(path.join(profileDir, f)).mode & 0o777).toBe(0o600);

    const unlock = phone('olivia', 'unlock');
    expect([unlock.status, unlock.stdout.trim()]).toEqual([0, 'unlocked']);

    // The guest's phone gives its public key; the owner issues two eKeys to it.
    const guestKey = phone('guest', 'pubkey').stdout.trim();
    expect(guestKey).toMatch(/^[0-9a-f]{64}$/);
    const otherDay = DAYS[(new Date().getUTCDay() + 3) % 7]!;
    const offFile = path.join(box.root, 'off.ekey.json');
    const onFile = path.join(box.root, 'on.ekey.json');
    expect(
      phone(
        'olivia',
        'ekey',
        'issue',
        '--to',
        guestKey,
        '--weekly',
        `${otherDay} 00:00-23:59`,
        '--out',
        offFile,
      ).status,
    ).toBe(0);
    expect(phone('guest', 'ekey', 'import', offFile).stdout).toMatch(/^imported a guest eKey/);
    const refused = phone('guest', 'unlock');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('outside_schedule');

    expect(
      phone('olivia', 'ekey', 'issue', '--to', guestKey, '--until', 'now+30d', '--out', onFile).status,
    ).toBe(0);
    expect(phone('guest', 'ekey', 'import', onFile).status).toBe(0);
    expect(phone('guest', 'unlock').stdout.trim()).toBe('unlocked');
    // A guest is refused management.
    expect(phone('guest', 'user', 'list').stderr).toContain('not_authorized');

    const revoke = phone('olivia', 'revoke', '--ekey', onFile);
    expect(revoke.stdout).toMatch(/^revoked eKey [0-9a-f]+/);
    const afterRevoke = phone('guest', 'unlock');
    expect(afterRevoke.status).not.toBe(0);
    expect(afterRevoke.stderr).toContain('revoked');

    const log = phone('olivia', 'log', 'pull', '--jsonl');
    expect(log.status).toBe(0);
    const entries = log.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; result?: string; reason?: string });
    expect(entries.filter((e) => e.action === 'unlock' && e.result === 'success').length).toBe(2);
    expect(entries.some((e) => e.reason === 'outside_schedule')).toBe(true);
    expect(entries.some((e) => e.action === 'revoke')).toBe(true);
    const csv = phone('olivia', 'log', 'pull', '--csv');
    expect(csv.stdout.split('\n')[0]).toBe('seq,time,kind,action,source,userIndex,result,reason');
  }, 240_000);
});
