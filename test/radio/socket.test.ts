// The drop-in socket class and the module-load hook: the API bleno and noble use, the Linux raw-socket
// filter, the management channel, and errors reported on the socket.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualHciSocket, installVirtualRadio, parseRadioMode } from '../../sim/radio/index.ts';
import type { RadioHandle } from '../../sim/radio/index.ts';
import { hookInstalled } from '../../sim/radio/install.ts';

const requireHere = createRequire(import.meta.url);
const A = 'c0:00:00:00:00:0a';

function collect(s: VirtualHciSocket): { data: Buffer[]; errors: NodeJS.ErrnoException[] } {
  const out = { data: [] as Buffer[], errors: [] as NodeJS.ErrnoException[] };
  s.on('data', (d: Buffer) => out.data.push(d));
  s.on('error', (e: NodeJS.ErrnoException) => out.errors.push(e));
  return out;
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const cmd = (op: number, params = ''): Buffer =>
  Buffer.concat([Buffer.from([1, op & 0xff, op >> 8, params.length / 2]), Buffer.from(params, 'hex')]);

describe('virtual HCI socket', () => {
  let radio: RadioHandle | null = null;
  afterEach(async () => {
    await radio?.close();
    radio = null;
  });

  it('answers require of the socket module with the virtual class, and only once installed', () => {
    radio = installVirtualRadio({ hub: 'in-process', addresses: [A] });
    expect(hookInstalled()).toBe(true);
    expect(requireHere('@abandonware/bluetooth-hci-socket')).toBe(VirtualHciSocket);
    expect(() => installVirtualRadio()).toThrow('duplicate: the radio is already installed in this process');
  });

  it('rejects unknown options and bad values with a specific message', () => {
    expect(() => installVirtualRadio({ hubb: 'x' } as never)).toThrow(
      "installVirtualRadio: unknown option 'hubb'",
    );
    expect(() => installVirtualRadio({ addresses: ['nope'] })).toThrow("bad Bluetooth address 'nope'");
    expect(() => installVirtualRadio({ hub: 'tcp:8.8.8.8:1' })).toThrow('the hub only listens on loopback');
    expect(() => parseRadioMode('usb')).toThrow("radio must be 'virtual', 'hci' or 'hci:N', got 'usb'");
    expect(parseRadioMode('hci:2')).toBe('hci:2');
    expect(hookInstalled()).toBe(false);
  });

  it('binds a raw socket to its own controller and delivers events asynchronously, in order', async () => {
    radio = installVirtualRadio({ hub: 'in-process', addresses: [A] });
    const s = new VirtualHciSocket();
    const got = collect(s);
    expect(s.isDevUp()).toBe(false);
    expect(s.bindRaw(undefined)).toBe(0);
    expect(() => s.bindRaw(0)).toThrow('bind: socket already bound');
    s.start();
    expect(s.isDevUp()).toBe(true);
    expect(s.getDeviceList()).toEqual([
      { devId: 0, devUp: true, idVendor: null, idProduct: null, busNumber: null, deviceAddress: null },
    ]);
    s.write(cmd(0x1009));
    s.write(cmd(0x2002));
    expect(got.data).toHaveLength(0); // never synchronously
    await tick();
    expect(got.data.map((d) => d.toString('hex'))).toEqual([
      '040e0a01091000' + '0a00000000c0',
      '040e07010220' + '00fb0008',
    ]);
    expect(radio.controllers()).toEqual([{ address: A, connections: 0 }]);
    s.close();
    expect(s.isDevUp()).toBe(false);
    s.write(cmd(0x1009)); // after close: dropped
    await tick();
    expect(got.data).toHaveLength(2);
    expect(got.errors).toHaveLength(0);
  });

  it('applies the raw channel filter (types, events, opcode) as Linux does', async () => {
    radio = installVirtualRadio({ hub: 'in-process' });
    const s = new VirtualHciSocket();
    const got = collect(s);
    s.bindRaw(0);
    s.start();
    const filter = Buffer.alloc(16);
    filter.writeUInt32LE(1 << 4, 0); // events only
    filter.writeUInt32LE(1 << 0x0e, 4); // Command Complete only
    filter.writeUInt16LE(0x1009, 12); // for Read BD_ADDR only
    s.setFilter(filter);
    s.write(cmd(0x1001));
    s.write(cmd(0x1009));
    s.write(cmd(0x0c14)); // answered with Command Status: filtered out
    await tick();
    expect(got.data.map((d) => d.readUInt16LE(4))).toEqual([0x1009]);
    s.setFilter(Buffer.alloc(4));
    await tick();
    expect(got.errors.map((e) => [e.code, e.message])).toEqual([
      ['EINVAL', 'setsockopt: filter of 4 bytes (expected 14 or more)'],
    ]);
    s.close();
  });

  it('holds packets while stopped and delivers them on start', async () => {
    radio = installVirtualRadio({ hub: 'in-process' });
    const s = new VirtualHciSocket();
    const got = collect(s);
    s.bindUser(0);
    s.write(cmd(0x0c03));
    await tick();
    expect(got.data).toHaveLength(0);
    s.start();
    expect(got.data.map((d) => d.toString('hex'))).toEqual(['040e0401030c00']);
    s.close();
  });

  it('reports unusable writes as socket errors', async () => {
    radio = installVirtualRadio({ hub: 'in-process' });
    const unbound = new VirtualHciSocket();
    const u = collect(unbound);
    unbound.write(cmd(0x1009));
    const s = new VirtualHciSocket();
    const got = collect(s);
    s.bindRaw(0);
    s.start();
    s.write(Buffer.from([0x01, 0x09]));
    s.write(Buffer.from([0x07, 0x00, 0x00]));
    await tick();
    expect(u.errors.map((e) => [e.code, e.message])).toEqual([['ENOTCONN', 'write: socket is not bound']]);
    expect(got.errors.map((e) => [e.code, e.message])).toEqual([
      ['EINVAL', 'write: HCI command too short (2 bytes)'],
      ['EINVAL', 'write: unsupported HCI packet type 0x7'],
    ]);
    unbound.close();
    s.close();
  });

  it('emulates the management channel: Load Long Term Keys, and errors for the rest', async () => {
    radio = installVirtualRadio({ hub: 'in-process' });
    const m = new VirtualHciSocket();
    const got = collect(m);
    m.bindControl();
    m.start();
    m.write(Buffer.from('13000000' + '0200' + '0000', 'hex')); // zero keys
    m.write(Buffer.from('13000000' + '0300' + '010000', 'hex')); // one key announced, none given
    m.write(Buffer.from('04000000' + '0000', 'hex')); // MGMT_OP_READ_INFO: not emulated
    await tick();
    expect(got.data.map((d) => d.toString('hex'))).toEqual([
      '010000000300' + '1300' + '00', // Command Complete, success
      '020000000300' + '1300' + '0d', // Command Status, invalid parameters
      '020000000300' + '0400' + '01', // Command Status, unknown command
    ]);
    m.close();
  });

  it('leaves the real module alone in hci mode and passes the device id to bleno and noble', async () => {
    const before = { b: process.env.BLENO_HCI_DEVICE_ID, n: process.env.NOBLE_HCI_DEVICE_ID };
    delete process.env.BLENO_HCI_DEVICE_ID;
    delete process.env.NOBLE_HCI_DEVICE_ID;
    try {
      radio = installVirtualRadio({ radio: 'hci:1' });
      expect(radio.mode).toBe('hci:1');
      expect(process.env.BLENO_HCI_DEVICE_ID).toBe('1');
      expect(process.env.NOBLE_HCI_DEVICE_ID).toBe('1');
      expect(requireHere('@abandonware/bluetooth-hci-socket')).not.toBe(VirtualHciSocket);
      expect(() => installVirtualRadio({ radio: 'hci', trace: 'x' })).toThrow('duplicate');
    } finally {
      await radio?.close();
      radio = null;
      process.env.BLENO_HCI_DEVICE_ID = before.b;
      process.env.NOBLE_HCI_DEVICE_ID = before.n;
      if (before.b === undefined) delete process.env.BLENO_HCI_DEVICE_ID;
      if (before.n === undefined) delete process.env.NOBLE_HCI_DEVICE_ID;
    }
    expect(() => installVirtualRadio({ radio: 'hci', faults: { packetLoss: 0.1 } })).toThrow(
      "hub, trace and faults apply to the virtual radio, not 'hci'",
    );
  });
});
