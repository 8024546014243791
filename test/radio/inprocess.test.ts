// bleno (peripheral) and noble (central), unmodified, in ONE process over the virtual radio: each has its
// own HCI socket and so its own emulated controller on the in-process air. The tests run in order and
// share the one bleno (a process singleton).
import type { Peripheral } from '@abandonware/noble';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBtsnoop } from '../../sim/radio/Btsnoop.ts';
import { installVirtualRadio } from '../../sim/radio/index.ts';
import type { Noble, RadioHandle } from '../../sim/radio/index.ts';
import { decodeTrace } from '../../sim/radio/TraceDecode.ts';
import type { Connected, TestPeripheral } from './fixtures/gatt.ts';
import {
  connectAndDiscover,
  findPeripheral,
  nextNotification,
  pattern,
  startPeripheral,
  until,
  within,
} from './fixtures/gatt.ts';

type NoblePeripheral = Peripheral;

describe('bleno and noble in one process', () => {
  let dir: string;
  let trace: string;
  let radio: RadioHandle;
  let noble: Noble;
  let per: TestPeripheral;
  let blenoAddress = '';
  const writes: Array<{ length: number; withoutResponse: boolean; data: Buffer }> = [];
  const blenoEvents: string[] = [];
  let link: Connected;
  let found: NoblePeripheral;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-radio-inproc-'));
    trace = path.join(dir, 'lock.btsnoop');
    radio = installVirtualRadio({ hub: 'in-process', name: 'inproc', trace });
    const bleno = radio.loadBleno();
    noble = radio.loadNoble();
    per = await startPeripheral(bleno, 'lock-in', {
      onWrite: (data, withoutResponse) => writes.push({ length: data.length, withoutResponse, data }),
      onAccept: () => blenoEvents.push('accept'),
      onDisconnect: () => blenoEvents.push('disconnect'),
    });
    blenoAddress = bleno.address;
  });

  afterAll(async () => {
    await radio?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scans: the peripheral appears with its name, a random-static-form address and RSSI', async () => {
    found = await findPeripheral(noble, 'lock-in');
    expect(found.address).toBe(blenoAddress);
    expect(parseInt(found.address.slice(0, 2), 16) & 0xc0).toBe(0xc0);
    expect(found.addressType).toBe('public'); // bleno and noble ask for own address type public
    expect(found.rssi).toBe(-50);
    expect(found.connectable).toBe(true);
    expect(radio.controllers()).toHaveLength(2);
  });

  it('connects, exchanges the MTU (256) and discovers the service', async () => {
    link = await connectAndDiscover(found);
    expect(found.mtu).toBe(256);
    expect(per.bleno.mtu).toBe(256);
    expect(blenoEvents).toEqual(['accept']);
  });

  it('reads a 600-byte value with Read Blob at offsets 0, 255 and 510', async () => {
    per.readOffsets.length = 0;
    const v = await within(link.long.readAsync(), 5000, 'long read');
    expect(v.equals(pattern(600))).toBe(true);
    expect(per.readOffsets).toEqual([0, 255, 510]);
  });

  it('writes 600 bytes with prepared writes, delivered to bleno as one value', async () => {
    writes.length = 0;
    const value = pattern(600, 3);
    await within(link.long.writeAsync(value, false), 5000, 'long write');
    expect(writes).toHaveLength(1);
    expect(writes[0]!.withoutResponse).toBe(false);
    expect(writes[0]!.data.equals(value)).toBe(true);
    expect((await within(link.long.readAsync(), 5000, 'read back')).equals(value)).toBe(true);
  });

  it('writes without response and gets notifications after subscribing', async () => {
    await within(link.echo.subscribeAsync(), 5000, 'subscribe');
    writes.length = 0;
    const value = pattern(200, 9);
    const note = nextNotification(link.echo);
    await within(link.echo.writeAsync(value, true), 5000, 'write without response');
    expect((await note).equals(value.subarray(0, 100))).toBe(true);
    expect(writes).toEqual([{ length: 200, withoutResponse: true, data: value }]);
  });

  it('pairs and encrypts for a characteristic that requires it', async () => {
    const v = await within(link.secure.readAsync(), 5000, 'secure read');
    expect(v.toString()).toBe('sealed');
  });

  it('reads the RSSI of the connection', async () => {
    expect(await within(found.updateRssiAsync(), 5000, 'rssi')).toBe(-50);
  });

  it('disconnects from the central side (0x16 locally), and bleno advertises again', async () => {
    const reason = new Promise((r) => found.once('disconnect', r));
    await within(found.disconnectAsync(), 5000, 'disconnect');
    expect(await reason).toBe(0x16);
    await until(() => blenoEvents.length === 2, 5000, 'bleno disconnect');
    expect(blenoEvents).toEqual(['accept', 'disconnect']);
    found = await findPeripheral(noble, 'lock-in');
  });

  it('reconnects, and a disconnect from the peripheral side reaches noble as 0x13', async () => {
    link = await connectAndDiscover(found);
    expect(found.mtu).toBe(256);
    const reason = within(new Promise((r) => found.once('disconnect', r)), 5000, 'disconnect');
    per.bleno.disconnect();
    expect(await reason).toBe(0x13);
  });

  it('loses the link (0x08) when packets stop getting through in the middle of a transfer', async () => {
    found = await findPeripheral(noble, 'lock-in');
    link = await connectAndDiscover(found);
    const reason = within(new Promise((r) => found.once('disconnect', r)), 5000, 'link loss');
    radio.setFaults({ packetLoss: 1 });
    void link.long.writeAsync(pattern(600), false).catch(() => undefined); // never completes
    expect(await reason).toBe(0x08);
    radio.setFaults({});
    found = await findPeripheral(noble, 'lock-in');
    link = await connectAndDiscover(found);
    expect((await within(link.long.readAsync(), 5000, 'read after reconnect')).length).toBe(600);
    await within(found.disconnectAsync(), 5000, 'disconnect');
  });

  it('cancels a pending connection: noble gets an error and no link is made', async () => {
    found = await findPeripheral(noble, 'lock-in');
    await new Promise<void>((r) => per.bleno.stopAdvertising(() => r()));
    const errors: string[] = [];
    found.on('connect', (err?: Error) => {
      if (err) errors.push(err.message);
    });
    found.connect();
    await new Promise((r) => setTimeout(r, 20));
    found.cancelConnect();
    await until(() => errors.length >= 2, 5000, 'cancel');
    expect(errors).toEqual(['connection canceled!', 'Unknown Connection Identifier (0x2)']);
    expect(radio.air?.linkCount).toBe(0);
    found.removeAllListeners('connect');
  });

  it('wrote a btsnoop trace that tshark reads without malformed packets, and keyway decodes', () => {
    const records = readBtsnoop(fs.readFileSync(trace));
    const decoded = decodeTrace(records);
    const names = decoded.map((p) => String(p.fields.att ?? p.fields.smp ?? p.name));
    expect(names).toContain('Read Blob Request');
    expect(names).toContain('Prepare Write Request');
    expect(names).toContain('Execute Write Request');
    expect(names).toContain('Pairing Request');
    expect(names).toContain('Encryption Change');
    expect(decoded.filter((p) => p.fields.att === 'Read Blob Request').map((p) => p.fields.offset)).toContain(
      510,
    );
    // the LTK bleno's kernel side used never appears in the decode
    expect(JSON.stringify(decoded)).not.toMatch(/ltk=(?!\(16 bytes)/);
    const out = execFileSync('tshark', ['-r', trace, '-V'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toContain('Bluetooth HCI H4');
    expect(out).toContain('Read Blob Request');
    expect(out).not.toMatch(/Malformed/i);
    const expert = execFileSync('tshark', ['-r', trace, '-q', '-z', 'expert,warn'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(expert).not.toMatch(/Malformed|Error/);
    const frames = execFileSync('tshark', ['-r', trace], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(frames.trim().split('\n')).toHaveLength(records.length);
  });
});
