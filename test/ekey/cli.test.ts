// The CLI round trip through the real binary: keys new -> ekey mint -> inspect -> verify (with --trust and
// with a lock's --data directory), and pin offline.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyFile } from '../../firmware/ekey/Keys.ts';
import { OfflinePinKey } from '../../firmware/offline-pin/OfflinePin.ts';
import { parseSecretFile } from '../../firmware/ekey/EkeyGate.ts';
import { cleanup, startLock, tempDir, type Fixture } from '../helpers/lockFixture.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/keyway.js');

async function keyway(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
let lockFixture: Fixture | undefined;
beforeAll(() => {
  dir = tempDir('keyway-cli-');
});
afterAll(() => {
  cleanup(lockFixture);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('keyway keys / ekey / pin', () => {
  it('mint -> inspect -> verify round trip', { timeout: 60_000 }, async () => {
    const [a, b, c] = await Promise.all([
      keyway(dir, 'keys', 'new', '--out', 'owner.key'),
      keyway(dir, 'keys', 'new', '--out', 'admin.key'),
      keyway(dir, 'keys', 'new', '--out', 'guest.key'),
    ]);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    expect(fs.statSync(path.join(dir, 'owner.key')).mode & 0o777).toBe(0o600);
    const show = await keyway(dir, 'keys', 'show', 'guest.key.pub', '--json');
    const guestPub = loadKeyFile(path.join(dir, 'guest.key.pub'));
    expect(guestPub.kind).toBe('public');
    const shown = JSON.parse(show.stdout) as Record<string, string>;
    expect(shown.public).toBe(Buffer.from((guestPub as { publicRaw: Uint8Array }).publicRaw).toString('hex'));
    expect(shown.coseKey).toBe(`a301012006215820${shown.public}`);
    expect(show.stdout).not.toMatch(/seed/);

    const adminMint = await keyway(
      dir,
      'ekey',
      'mint',
      '--issuer',
      'owner.key',
      '--holder',
      'admin.key.pub',
      '--lock',
      'front-door',
      '--role',
      'admin',
      '--may-delegate',
      '--from',
      '2025-01-06T08:00Z',
      '--until',
      '2025-01-13T08:00Z',
      '--out',
      'admin.ekey',
    );
    expect(adminMint.code, adminMint.stderr).toBe(0);
    const mint = await keyway(
      dir,
      'ekey',
      'mint',
      '--issuer',
      'admin.key',
      '--holder',
      'guest.key.pub',
      '--lock',
      'front-door',
      '--from',
      '2025-01-06T09:00Z',
      '--until',
      '2025-01-07T09:00Z',
      '--weekly',
      'mon,thu 09:00-12:00',
      '--uses',
      '3',
      '--chain',
      'admin.ekey',
      '--out',
      'guest.ekey',
    );
    expect(mint.code, mint.stderr).toBe(0);

    const inspect = await keyway(dir, 'ekey', 'inspect', 'guest.ekey', '--json');
    const j = JSON.parse(inspect.stdout) as {
      claims: Record<string, unknown>;
      chain: Array<Record<string, unknown>>;
    };
    expect(j.claims).toMatchObject({
      aud: ['front-door'],
      role: 'guest',
      nbf: '2025-01-06T09:00:00Z',
      exp: '2025-01-07T09:00:00Z',
      uses: 3,
      holder: shown.public,
      schedules: [{ kind: 'weekly', days: ['mon', 'thu'], start: '09:00', end: '12:00' }],
    });
    expect(j.chain).toHaveLength(1);
    expect(j.chain[0]).toMatchObject({ role: 'admin', delegateDepth: 1 });

    const [ok, outside, untrusted] = await Promise.all([
      keyway(dir, 'ekey', 'verify', 'guest.ekey', '--trust', 'owner.key.pub', '--at', '2025-01-06T10:00Z'),
      keyway(dir, 'ekey', 'verify', 'guest.ekey', '--trust', 'owner.key.pub', '--at', '2025-01-06T13:00Z'),
      keyway(dir, 'ekey', 'verify', 'guest.ekey', '--trust', 'admin.key.pub', '--at', '2025-01-06T10:00Z'),
    ]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^valid: guest eKey for front-door at 2025-01-06T10:00:00.000Z \(2 links/);
    expect(outside).toMatchObject({ code: 1, stdout: 'invalid: outside_schedule (eKey schedule)\n' });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(/^invalid: untrusted_issuer/);

    // --data: a real lock data directory whose owner revoked the admin as an issuer.
    const ownerKey = loadKeyFile(path.join(dir, 'owner.key'));
    const adminKey = loadKeyFile(path.join(dir, 'admin.key'));
    lockFixture = startLock({
      settings: { lockId: 'front-door', sites: ['front-door'] },
      time: Date.UTC(2025, 0, 6, 10),
    });
    const o = lockFixture.lock.createOwner({ name: 'o' }).index;
    lockFixture.lock.installTrustAnchor(
      o,
      ownerKey.kind === 'private' ? ownerKey.pair.publicRaw : new Uint8Array(),
    );
    lockFixture.lock.close();
    const before = await keyway(
      dir,
      'ekey',
      'verify',
      'guest.ekey',
      '--data',
      lockFixture.dir,
      '--at',
      '2025-01-06T10:00Z',
    );
    expect(before).toMatchObject({ code: 0 });
    lockFixture.reopen();
    lockFixture.lock.revokeEkey(o, {
      kind: 'issuer',
      id: adminKey.kind === 'private' ? adminKey.pair.publicRaw : new Uint8Array(),
      until: null,
    });
    lockFixture.lock.close();
    const after = await keyway(
      dir,
      'ekey',
      'verify',
      'guest.ekey',
      '--data',
      lockFixture.dir,
      '--at',
      '2025-01-06T10:00Z',
    );
    expect(after).toMatchObject({ code: 1, stdout: 'invalid: revoked (issuer revoked)\n' });
  });

  it('pin offline mints what the lock accepts; bad usage is a clear error', { timeout: 60_000 }, async () => {
    const s = await keyway(dir, 'pin', 'secret', '--out', 'pin.secret');
    expect(s.code).toBe(0);
    expect(fs.statSync(path.join(dir, 'pin.secret')).mode & 0o777).toBe(0o600);
    const [hourly, bad] = await Promise.all([
      keyway(
        dir,
        'pin',
        'offline',
        '--secret',
        'pin.secret',
        '--lock',
        'front-door',
        '--from',
        '2025-01-06T12:30Z',
        '--hours',
        '3',
        '--json',
      ),
      keyway(
        dir,
        'pin',
        'offline',
        '--secret',
        'pin.secret',
        '--lock',
        'front-door',
        '--from',
        '2025-01-06T12:30Z',
        '--hours',
        '73',
      ),
    ]);
    expect(hourly.code, hourly.stderr).toBe(0);
    const out = JSON.parse(hourly.stdout) as Record<string, string>;
    expect(out).toMatchObject({
      variant: 'hourly',
      from: '2025-01-06T12:00:00.000Z',
      until: '2025-01-06T15:00:00.000Z',
    });
    const key = new OfflinePinKey(
      parseSecretFile(fs.readFileSync(path.join(dir, 'pin.secret'), 'utf8'), 'x'),
      'front-door',
    );
    expect(key.match(out.pin!, Date.UTC(2025, 0, 6, 14, 59), 'UTC')).toMatchObject({ variant: 'hourly' });
    expect(bad).toMatchObject({ code: 1, stderr: 'keyway: hours must be 1..72\n' });
  });
});
