// A bleno peripheral in a child process and noble centrals in this one, joined by a hub over a Unix
// socket: the whole GATT flow, disconnects from either side, link loss when the peripheral process is
// killed mid-transfer, reconnect, and two peripherals with two centrals at once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installVirtualRadio, startHub } from '../../sim/radio/index.ts';
import type { Hub, Noble, RadioHandle } from '../../sim/radio/index.ts';
import type { Child } from './fixtures/children.ts';
import { killChildren, spawnTs } from './fixtures/children.ts';
import {
  connectAndDiscover,
  findPeripheral,
  nextNotification,
  pattern,
  until,
  within,
} from './fixtures/gatt.ts';

const PERIPHERAL = 'test/radio/fixtures/peripheralMain.ts';

describe('bleno and noble in two processes through the hub', () => {
  let dir: string;
  let address: string;
  let hub: Hub;
  let radio: RadioHandle;
  let noble: Noble;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-radio-x-'));
    address = path.join(dir, 'hub.sock');
    hub = await startHub({ address });
    radio = installVirtualRadio({ hub, name: 'phone' });
    noble = radio.loadNoble();
  });

  afterEach(async () => {
    await killChildren();
  });

  afterAll(async () => {
    await radio?.close();
    await hub?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const peripheral = async (name: string): Promise<Child> => {
    const child = spawnTs(PERIPHERAL, { KEYWAY_RADIO_HUB: address, PERIPHERAL_NAME: name });
    await child.waitFor((e) => e.ev === 'ready', 20_000, `${name} ready`);
    return child;
  };

  it('scans, connects, negotiates MTU 256, discovers, reads and writes long values, notifies', async () => {
    const child = await peripheral('lock-x');
    const ready = child.events[0]!;
    const found = await findPeripheral(noble, 'lock-x');
    expect(found.address).toBe(ready.address);
    const link = await connectAndDiscover(found);
    expect(found.mtu).toBe(256);
    expect(await child.waitFor((e) => e.ev === 'mtu')).toEqual({ ev: 'mtu', mtu: 256 });
    expect((await within(link.long.readAsync(), 5000, 'long read')).equals(pattern(600))).toBe(true);
    const value = pattern(600, 5);
    await within(link.long.writeAsync(value, false), 5000, 'long write');
    expect(await child.waitFor((e) => e.ev === 'write' && e.length === 600)).toMatchObject({
      withoutResponse: false,
      head: value.subarray(0, 8).toString('hex'),
    });
    await within(link.echo.subscribeAsync(), 5000, 'subscribe');
    const note = nextNotification(link.echo);
    await within(link.echo.writeAsync(pattern(200, 1), true), 5000, 'write without response');
    expect((await note).equals(pattern(200, 1).subarray(0, 100))).toBe(true);
    expect(await child.waitFor((e) => e.ev === 'write' && e.withoutResponse === true)).toMatchObject({
      length: 200,
    });
    expect((await within(link.secure.readAsync(), 5000, 'secure read')).toString()).toBe('sealed');

    // disconnect from the peripheral side: noble sees 0x13 Remote User Terminated
    const reason = within(new Promise((r) => found.once('disconnect', r)), 5000, 'disconnect');
    child.send('disconnect');
    expect(await reason).toBe(0x13);

    // it advertises again; reconnect, then disconnect from the central side
    const again = await findPeripheral(noble, 'lock-x');
    const link2 = await connectAndDiscover(again);
    expect((await within(link2.long.readAsync(), 5000, 'read')).length).toBe(600);
    await within(again.disconnectAsync(), 5000, 'disconnect');
    await child.waitFor(
      (e) => e.ev === 'disconnect' && child.events.filter((x) => x.ev === 'disconnect').length === 2,
    );
  });

  it('sees link loss (0x08 supervision timeout) when the peripheral process is killed mid-transfer, then reconnects', async () => {
    const child = await peripheral('lock-k');
    const found = await findPeripheral(noble, 'lock-k');
    const link = await connectAndDiscover(found);
    const reason = within(new Promise((r) => found.once('disconnect', r)), 10_000, 'link loss');
    let writes = 0;
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        await within(link.long.writeAsync(pattern(600, writes), false), 2000, 'write').catch(
          () => (stop = true),
        );
        writes++;
      }
    })();
    await child.waitFor((e) => e.ev === 'write', 10_000, 'first write');
    child.proc.kill('SIGKILL');
    expect(await reason).toBe(0x08);
    stop = true;
    await pump;
    expect(writes).toBeGreaterThan(0);
    await until(
      () => hub.status().devices.every((d) => d.name !== 'lock-k'),
      5000,
      'hub forgets the killed device',
    );

    const child2 = await peripheral('lock-k');
    const back = await findPeripheral(noble, 'lock-k');
    expect(back.address).toBe(child2.events[0]!.address);
    const link2 = await connectAndDiscover(back);
    expect((await within(link2.long.readAsync(), 5000, 'read')).equals(pattern(600))).toBe(true);
    await within(back.disconnectAsync(), 5000, 'disconnect');
  });

  it('runs two peripherals (two processes) and two centrals at once', async () => {
    const [a, b] = await Promise.all([peripheral('lock-a'), peripheral('lock-b')]);
    const noble2 = radio.newNoble();
    try {
      const [pa, pb] = [await findPeripheral(noble, 'lock-a'), await findPeripheral(noble2, 'lock-b')];
      const [la, lb] = await Promise.all([connectAndDiscover(pa), connectAndDiscover(pb)]);
      expect(radio.controllers().length).toBeGreaterThanOrEqual(2);
      expect(hub.status().links).toBe(2);
      await Promise.all([la.echo.subscribeAsync(), lb.echo.subscribeAsync()]);
      // interleaved exchanges on both links
      for (let i = 0; i < 5; i++) {
        const na = nextNotification(la.echo);
        const nb = nextNotification(lb.echo);
        await Promise.all([
          la.echo.writeAsync(pattern(200, i), false),
          lb.echo.writeAsync(pattern(200, 100 + i), false),
        ]);
        expect((await na).equals(pattern(200, i).subarray(0, 100))).toBe(true);
        expect((await nb).equals(pattern(200, 100 + i).subarray(0, 100))).toBe(true);
      }
      expect(a.events.filter((e) => e.ev === 'write')).toHaveLength(5);
      expect(b.events.filter((e) => e.ev === 'write')).toHaveLength(5);
      await Promise.all([pa.disconnectAsync(), pb.disconnectAsync()]);
      // the other way round: each central now talks to the other peripheral
      const [qa, qb] = [await findPeripheral(noble2, 'lock-a'), await findPeripheral(noble, 'lock-b')];
      const [ma, mb] = await Promise.all([connectAndDiscover(qa), connectAndDiscover(qb)]);
      const [ra, rb] = await Promise.all([ma.long.readAsync(), mb.long.readAsync()]);
      expect(ra.equals(pattern(600)) && rb.equals(pattern(600))).toBe(true);
      await Promise.all([qa.disconnectAsync(), qb.disconnectAsync()]);
    } finally {
      (noble2 as unknown as { removeAllListeners(): void }).removeAllListeners();
    }
  });

  it('lets a process that ends bleno exit by itself', async () => {
    const child = await peripheral('lock-e');
    child.send('exit');
    await child.waitFor((e) => e.ev === 'closed');
    expect(await within(child.exited, 10_000, 'child exits on its own')).toBe(0);
  });
});
