// keyway admin trust / revoke / offline-secret through the real CLI in child processes, checked with the
// lock's own verifier (keyway ekey verify --data) and a terminal lock reading keypad lines from stdin.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyway } from './cli.ts';

let dir: string;
let data: string;
let lockId: string;
const at = (f: string): string => join(dir, f);

function ok(args: string[], input?: string): string {
  const r = keyway(args, input === undefined ? {} : { input });
  if (r.status !== 0) throw new Error(`keyway ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const admin = (...args: string[]) => keyway(['admin', '--data', data, ...args]);
const pubs = new Map<string, string>();
const pub = (name: string): string => {
  if (!pubs.has(name))
    pubs.set(
      name,
      (JSON.parse(ok(['keys', 'show', at(`${name}.key`), '--json'])) as { public: string }).public,
    );
  return pubs.get(name)!;
};
const verify = (ekey: string) => keyway(['ekey', 'verify', at(ekey), '--data', data]);
const mint = (holder: string, out: string) =>
  ok([
    'ekey',
    'mint',
    '--issuer',
    at('owner.key'),
    '--holder',
    at(`${holder}.key.pub`),
    '--lock',
    lockId,
    '--out',
    at(out),
  ]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyway-admin-ekey-'));
  data = at('lock');
  ok(
    ['admin', '--data', data, '--tz', 'UTC', 'user', 'add', 'Olivia', '--role', 'owner', '--pin', '-'],
    '602418\n',
  );
  ok(['admin', '--data', data, 'user', 'add', 'Max', '--role', 'member', '--permanent']);
  for (const k of ['owner', 'guest', 'guest2', 'stranger']) ok(['keys', 'new', '--out', at(`${k}.key`)]);
  lockId = (JSON.parse(ok(['admin', '--data', data, 'settings', '--json'])) as { lockId: string }).lockId;
});

describe('keyway admin trust', () => {
  it('add (owner only), list, remove; eKeys verify against the anchors', () => {
    const denied = admin('--as', 'Max', 'trust', 'add', at('owner.key.pub'));
    expect(denied.status).toBe(1);
    expect(denied.stderr).toBe('keyway: not_authorized: only an owner may install a trust anchor\n');
    expect(JSON.parse(admin('trust', 'list', '--json').stdout)).toEqual([]);

    mint('guest', 'a.ekey');
    expect(verify('a.ekey').stdout).toMatch(/^invalid: untrusted_issuer /);

    const added = admin('trust', 'add', at('owner.key.pub'), '--label', 'Olivia phone');
    expect(added.status).toBe(0);
    const fp = (JSON.parse(ok(['keys', 'show', at('owner.key'), '--json'])) as { fingerprint: string })
      .fingerprint;
    expect(added.stdout).toBe(`trusted ${fp} (Olivia phone)\n`);
    expect(admin('trust', 'add', pub('stranger')).stdout).toMatch(/^trusted [0-9a-f-]{19}\n$/);
    const list = JSON.parse(admin('trust', 'list', '--json').stdout) as Array<Record<string, unknown>>;
    expect(list.map((a) => [a.public, a.fingerprint, a.label]).sort()).toEqual(
      [
        [pub('owner'), fp, 'Olivia phone'],
        [pub('stranger'), expect.any(String), null],
      ].sort(),
    );
    expect(verify('a.ekey').status).toBe(0);

    expect(admin('trust', 'remove', pub('stranger')).stdout).toMatch(/^no longer trusted: /);
    const again = admin('trust', 'remove', pub('stranger'));
    expect([again.status, again.stderr]).toEqual([1, 'keyway: not_found: no such trust anchor\n']);
    expect(admin('trust', 'add', 'nothex').stderr).toBe(
      'keyway: <pubkey>: "nothex" is neither 64 hex digits nor a key file\n',
    );
  });
});

describe('keyway admin revoke', () => {
  it('--ekey, --holder, --issuer (cascading); refuses a member and ambiguous input', () => {
    mint('guest', 'r1.ekey');
    mint('guest2', 'r2.ekey');
    expect([verify('r1.ekey').status, verify('r2.ekey').status]).toEqual([0, 0]);

    const member = admin('--as', 'Max', 'revoke', '--ekey', at('r1.ekey'));
    expect([member.status, member.stderr]).toEqual([
      1,
      'keyway: not_authorized: a member cannot revoke eKeys\n',
    ]);
    expect(verify('r1.ekey').status).toBe(0);

    const two = admin('revoke', '--ekey', at('r1.ekey'), '--holder', pub('guest'));
    expect([two.status, two.stderr]).toEqual([
      1,
      'keyway: give exactly one of --ekey FILE, --issuer PUBKEY, --holder PUBKEY, --offline-pin ID\n',
    ]);
    writeFileSync(at('junk.ekey'), 'not an ekey');
    expect(admin('revoke', '--ekey', at('junk.ekey')).stderr).toMatch(/^keyway: --ekey: .*junk\.ekey: /);

    const cti = (JSON.parse(ok(['ekey', 'inspect', at('r1.ekey'), '--json'])) as { claims: { cti: string } })
      .claims.cti;
    expect(admin('revoke', '--ekey', at('r1.ekey')).stdout).toMatch(
      new RegExp(
        `^revoked eKey ${cti} \\(kept until \\w{3} \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC\\)\\n$`,
      ),
    );
    const r1 = verify('r1.ekey');
    expect([r1.status, r1.stdout]).toEqual([1, 'invalid: revoked (eKey id revoked)\n']);
    expect(verify('r2.ekey').status).toBe(0);

    expect(admin('revoke', '--holder', at('guest2.key.pub')).stdout).toMatch(
      /^revoked every eKey held by [0-9a-f-]{19} \(kept until removed\)\n$/,
    );
    expect(verify('r2.ekey').stdout).toBe('invalid: revoked (holder key revoked)\n');

    mint('stranger', 'r3.ekey');
    expect(verify('r3.ekey').status).toBe(0);
    expect(admin('revoke', '--issuer', pub('owner'), '--until', '2099-01-01T00:00Z').stdout).toMatch(
      /^revoked everything issued by [0-9a-f-]{19} \(kept until Thu 2099-01-01 00:00:00 UTC\)\n$/,
    );
    expect(verify('r3.ekey').stdout).toBe('invalid: revoked (issuer revoked)\n');
    expect(admin('audit').stdout.match(/LockUserChange +revoke by Olivia/g)).toHaveLength(3);
  });
});

describe('keyway admin offline-secret set', () => {
  it('installs the secret (0600); a minted offline PIN opens the terminal lock until it is revoked', () => {
    const bad = admin('offline-secret', 'set', at('owner.key'));
    expect([bad.status, bad.stderr]).toEqual([
      1,
      `keyway: ${at('owner.key')} is not an offline PIN secret file\n`,
    ]);
    ok(['pin', 'secret', '--out', at('pin.secret')]);
    expect(admin('--as', 'Max', 'offline-secret', 'set', at('pin.secret')).stderr).toBe(
      'keyway: not_authorized: only an owner may set the offline PIN secret\n',
    );
    expect(admin('offline-secret', 'set', at('pin.secret')).stdout).toBe(
      `offline PINs enabled for lock ${lockId} (mint them with keyway pin offline --secret ${at('pin.secret')} --lock ${lockId})\n`,
    );
    expect(statSync(join(data, 'keyway.offline-pin')).mode & 0o777).toBe(0o600);

    const pin = JSON.parse(
      ok([
        'pin',
        'offline',
        '--secret',
        at('pin.secret'),
        '--lock',
        lockId,
        '--from',
        'now',
        '--hours',
        '2',
        '--json',
      ]),
    ) as { pin: string; id: string };
    const type = () =>
      ok(['lock', '--data', data], `${pin.pin}#\n`)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; entry?: Record<string, unknown> })
        .filter((e) => e.type === 'audit' && e.entry?.action === 'unlock')
        .map((e) => [e.entry!.kind, e.entry!.result, e.entry!.reason ?? null, e.entry!.data]);
    expect(type()).toEqual([['LockOperation', 'success', null, { offlinePin: pin.id, variant: 'hourly' }]]);

    expect(admin('revoke', '--offline-pin', pin.id).stdout).toBe(
      `revoked offline PIN ${pin.id} (kept until removed)\n`,
    );
    expect(type()).toEqual([['LockOperationError', 'failure', 'revoked', { detail: 'offline PIN revoked' }]]);
  });
});
