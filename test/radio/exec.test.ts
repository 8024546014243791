// Unmodified third-party-style bleno/noble scripts (plain JavaScript, no keyway imports) run on the
// virtual radio through `keyway radio exec`, plus `keyway radio status` and `keyway trace`.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHub } from '../../sim/radio/index.ts';
import type { Hub } from '../../sim/radio/index.ts';
import { ROOT, killChildren, wrap } from './fixtures/children.ts';
import { until } from './fixtures/gatt.ts';

const run = promisify(execFile);
const KEYWAY = path.join(ROOT, 'bin/keyway.js');
const fixture = (f: string): string => path.join(ROOT, 'test/radio/fixtures', f);

describe('keyway radio exec / status and keyway trace', () => {
  let dir: string;
  let address: string;
  let hub: Hub;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-radio-exec-'));
    address = path.join(dir, 'hub.sock');
    hub = await startHub({ address });
  });
  afterEach(async () => {
    await killChildren();
  });
  afterAll(async () => {
    await hub?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const exec = (args: string[]) =>
    wrap(
      spawn(process.execPath, [KEYWAY, 'radio', 'exec', '--hub', address, ...args], {
        cwd: ROOT,
        stdio: 'pipe',
      }),
    );

  it('runs a plain bleno peripheral and a plain noble central, each in its own process', async () => {
    const trace = path.join(dir, 'periph.btsnoop');
    const periph = exec([
      '--name',
      'thirdparty-lock',
      '--trace',
      trace,
      '--',
      'node',
      fixture('thirdparty/peripheral.js'),
    ]);
    await periph.waitFor((e) => e.text === 'advertising ok', 20_000, 'advertising');

    const status = await run(process.execPath, [KEYWAY, 'radio', 'status', '--hub', address, '--json'], {
      cwd: ROOT,
    });
    const s = JSON.parse(status.stdout) as { devices: Array<{ name: string; advertising: boolean }> };
    expect(s.devices).toContainEqual(expect.objectContaining({ name: 'thirdparty-lock', advertising: true }));
    const text = await run(process.execPath, [KEYWAY, 'radio', 'status', '--hub', address], { cwd: ROOT });
    expect(text.stdout).toMatch(/thirdparty-lock\s+pid \d+\s+links 0\s+advertising/);

    const central = exec(['--', 'node', fixture('thirdparty/central.js')]);
    expect(await central.exited).toBe(0);
    expect(central.events.map((e) => e.text)).toEqual(['read hello from bleno', 'read hi from noble']);
    expect(await periph.exited).toBe(0);
    expect(periph.events.map((e) => String(e.text).replace(/accept .*/, 'accept'))).toEqual([
      'state poweredOn',
      'advertising ok',
      'accept',
      'written hi from noble',
      'disconnect',
    ]);

    const decoded = await run(process.execPath, [KEYWAY, 'trace', trace], { cwd: ROOT });
    expect(decoded.stdout).toMatch(
      /> LE Set Advertising Parameters \(0x2006\)\s+intervalMs=100 type=ADV_IND/,
    );
    expect(decoded.stdout).toMatch(
      /< LE Connection Complete\s+status=Success \(0x00\) handle=1 role=peripheral/,
    );
    expect(decoded.stdout).toMatch(/att=Write Request attHandle=\d+/);
    expect(decoded.stdout).toMatch(
      /< Disconnection Complete .*reason=Remote User Terminated Connection \(0x13\)/,
    );
    const json = await run(process.execPath, [KEYWAY, 'trace', trace, '--json'], { cwd: ROOT });
    const packets = JSON.parse(json.stdout) as Array<{ kind: string }>;
    expect(packets.filter((p) => p.kind === 'command').length).toBeGreaterThan(5);
  });

  it('makes bleno and noble use HCI where they would pick the macOS bindings', async () => {
    const mac = exec(['--', 'node', fixture('thirdparty/fake-darwin.js')]);
    expect(await mac.exited).toBe(0);
    expect(mac.events.map((e) => e.text)).toEqual(['platform darwin read mac ok']);
  });

  it('fails with one clear line when the hub is not there or the command is missing', async () => {
    const r = await run(
      process.execPath,
      [KEYWAY, 'radio', 'exec', '--hub', path.join(dir, 'none.sock'), '--', 'node', '-e', '1'],
      {
        cwd: ROOT,
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({
      code: 1,
      stderr: `keyway: no radio hub answers at ${path.join(dir, 'none.sock')}\n`,
    });
    const bad = await run(
      process.execPath,
      [KEYWAY, 'radio', 'exec', '--hub', address, '--faults', '{"loss":1}', '--', 'node'],
      {
        cwd: ROOT,
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 1, stderr: "keyway: radio faults: unknown option 'loss'\n" });
    const t = await run(process.execPath, [KEYWAY, 'trace', path.join(dir, 'missing.btsnoop')], {
      cwd: ROOT,
    }).catch((e: { code: number; stderr: string }) => e);
    expect(t).toMatchObject({
      code: 1,
      stderr: `keyway: cannot read ${path.join(dir, 'missing.btsnoop')}: ENOENT\n`,
    });
  });

  it('passes the child exit code through', async () => {
    const child = exec(['--', 'node', '-e', 'process.exit(3)']);
    expect(await child.exited).toBe(3);
    await until(() => hub.status().clients === 0, 5000, 'no clients left');
  });
});
