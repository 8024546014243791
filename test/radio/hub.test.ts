// The hub's frame format, message validation, and the hub itself over a real Unix socket.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameReader, MAX_FRAME, encodeFrame } from '../../sim/radio/Frame.ts';
import { Hub } from '../../sim/radio/Hub.ts';
import { parseHubAddress } from '../../sim/radio/HubAddress.ts';
import { HubClient } from '../../sim/radio/HubClient.ts';
import { parseDown, parseUp } from '../../sim/radio/Protocol.ts';
import { TestHost, advertise, bringUp, createConnParams } from './fixtures/hci.ts';

const P = 'c0:00:00:00:00:01';
const C = 'c0:00:00:00:00:02';

describe('hub frames', () => {
  it('round-trips a message with its data in the tail and other bytes as hex, even byte by byte', () => {
    const msg = {
      t: 'u:enc',
      d: 3,
      link: 7,
      rand: new Uint8Array([1, 2]),
      ediv: 9,
      data: new Uint8Array([0xaa, 0xbb]),
    };
    const frame = encodeFrame(msg);
    // u32 length, u16 JSON length, JSON, then the two tail bytes
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame.subarray(frame.length - 2).toString('hex')).toBe('aabb');
    expect(frame.toString('utf8')).toContain('"rand":{"$hex":"0102"}');
    const r = new FrameReader();
    const out = [];
    for (const b of frame) out.push(...r.push(Buffer.from([b])));
    expect(out).toEqual([
      {
        t: 'u:enc',
        d: 3,
        link: 7,
        rand: new Uint8Array([1, 2]),
        ediv: 9,
        data: new Uint8Array([0xaa, 0xbb]),
      },
    ]);
  });

  it('rejects bad frames with a protocol error', () => {
    const len = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n, 0);
      return b;
    };
    expect(() => new FrameReader().push(len(MAX_FRAME + 1))).toThrow(
      `protocol: hub frame: bad length ${MAX_FRAME + 1}`,
    );
    expect(() =>
      new FrameReader().push(Buffer.concat([len(4), Buffer.from([0, 2]), Buffer.from('{x')])),
    ).toThrow('hub frame: header is not JSON');
    expect(() =>
      new FrameReader().push(Buffer.concat([len(4), Buffer.from([0, 2]), Buffer.from('{}')])),
    ).toThrow('hub frame: message without a type');
    expect(() =>
      new FrameReader().push(Buffer.concat([len(9), Buffer.from([0, 7]), Buffer.from('{"t":1}')])),
    ).toThrow('message without a type');
    expect(() =>
      new FrameReader().push(Buffer.concat([len(10), Buffer.from([0, 9]), Buffer.from('{"t":"x"')])),
    ).toThrow('hub frame: header longer than frame');
  });

  it('validates every medium message field', () => {
    expect(() => parseUp('acl', { link: 0, start: true, data: new Uint8Array(1) })).toThrow(
      'link must be an integer in [1,',
    );
    expect(() =>
      parseUp('adv', {
        adv: {
          address: P,
          addressType: 0,
          advType: 0,
          data: new Uint8Array(32),
          scanRsp: new Uint8Array(0),
          intervalMs: 100,
        },
      }),
    ).toThrow('data must be at most 31 bytes');
    expect(() => parseUp('connect', { peer: 'nope', peerType: 0, own: C, ownType: 0, params: {} })).toThrow(
      'peer must be a Bluetooth address',
    );
    expect(() =>
      parseUp('enc', { link: 1, rand: new Uint8Array(8), ediv: 0, ltk: new Uint8Array(15) }),
    ).toThrow('ltk must be 16 bytes');
    expect(() => parseUp('teleport', {})).toThrow("unknown controller message 'teleport'");
    expect(() =>
      parseDown('report', { address: P, addressType: 2, evt: 0, data: new Uint8Array(0), rssi: 0 }),
    ).toThrow('addressType must be an integer in [0, 1]');
    expect(parseUp('disconnect', { link: 4, reason: 0x13 })).toEqual({
      t: 'disconnect',
      link: 4,
      reason: 0x13,
      lost: false,
    });
  });

  it('parses hub addresses and refuses non-loopback TCP', () => {
    expect(parseHubAddress('tcp:127.0.0.1:4000')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 4000 });
    expect(() => parseHubAddress('tcp:10.0.0.1:4000')).toThrow('the hub only listens on loopback');
    expect(() => parseHubAddress('tcp:127.0.0.1')).toThrow('expected tcp:HOST:PORT');
    expect(() => parseHubAddress('/tmp/' + 'x'.repeat(120))).toThrow('too long for a Unix socket');
  });
});

describe('hub', () => {
  let dir: string;
  let hub: Hub | null = null;
  const clients: HubClient[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-hub-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await hub?.close();
    hub = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const client = (address: string): HubClient => {
    const c = new HubClient(address);
    clients.push(c);
    return c;
  };

  it('connects controllers in different clients, and a dropped client is link loss (0x08) for its peers', async () => {
    const address = path.join(dir, 'hub.sock');
    hub = await Hub.start({ address });
    const a = client(address);
    const b = client(address);
    const per = new TestHost(a, P);
    const cen = new TestHost(b, C);
    await bringUp(per);
    await bringUp(cen);
    await advertise(per);
    await cen.cmd(0x200d, createConnParams(P));
    expect((await cen.event(0x3e, 0x01))[4]).toBe(0);
    expect((await per.event(0x3e, 0x01))[7]).toBe(1);
    const got = per.acl();
    cen.write('02' + '0100' + '0700' + '0300' + '0400' + '020001');
    expect((await got).toString('hex')).toBe('02' + '0120' + '0700' + '0300' + '0400' + '020001');
    const s = await b.status();
    expect(s.links).toBe(1);
    expect(s.devices.map((d) => d.address).sort()).toEqual([P, C]);
    await a.close(); // the peripheral's process is gone
    expect((await cen.event(0x05)).toString('hex')).toBe('040504000100' + '08');
  });

  it('answers a client that breaks the protocol with an error and drops it, and keeps serving others', async () => {
    const address = path.join(dir, 'hub.sock');
    hub = await Hub.start({ address });
    const raw = net.connect(address);
    const reader = new FrameReader();
    const replies: unknown[] = [];
    raw.on('data', (d: Buffer) => replies.push(...reader.push(d)));
    const closed = new Promise((r) => raw.on('close', r));
    raw.write(encodeFrame({ t: 'attach', d: 1 }));
    await closed;
    expect(replies).toEqual([{ t: 'error', message: "protocol: expected hello, got 'attach'" }]);
    const raw2 = net.connect(address);
    const r2 = new FrameReader();
    const replies2: unknown[] = [];
    raw2.on('data', (d: Buffer) => replies2.push(...r2.push(d)));
    const closed2 = new Promise((r) => raw2.on('close', r));
    raw2.write(encodeFrame({ t: 'hello', v: 99 }));
    await closed2;
    expect(replies2).toEqual([{ t: 'error', message: 'protocol: hub speaks protocol 1, client sent 99' }]);
    expect((await client(address).status()).clients).toBe(1);
  });

  it('refuses a second hub at a live address and replaces a stale socket file', async () => {
    const address = path.join(dir, 'hub.sock');
    hub = await Hub.start({ address });
    await expect(Hub.start({ address })).rejects.toThrow(
      `duplicate: a radio hub is already running at ${address}`,
    );
    await hub.close();
    fs.writeFileSync(address, ''); // what a killed hub leaves behind (a dead socket path)
    hub = await Hub.start({ address });
    expect((await client(address).status()).address).toBe(address);
  });

  it('reports an unreachable hub as down', async () => {
    const errors: string[] = [];
    const c = new HubClient(path.join(dir, 'nobody.sock'), { onDown: (e) => errors.push(e.message) });
    clients.push(c);
    await c.ready;
    expect(c.up).toBe(false);
    expect(errors[0]).toMatch(/^not_found: no radio hub answers at .*nobody\.sock/);
  });

  it('listens on loopback TCP too', async () => {
    hub = await Hub.start({ address: 'tcp:127.0.0.1:0' });
    expect(hub.address).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    expect((await client(hub.address).status()).clients).toBe(1);
  });
});
