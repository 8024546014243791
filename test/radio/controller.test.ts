// The emulated LE controller at the HCI level: raw command bytes in, expected event bytes out.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../sim/radio/Faults.ts';
import { LtkStore } from '../../sim/radio/Mgmt.ts';
import { randomStaticAddress } from '../../sim/radio/Runtime.ts';
import { TestHost, advertise, bringUp, createConnParams, newAir, settle } from './fixtures/hci.ts';

const P = 'c0:00:00:00:00:01'; // peripheral
const C = 'c0:00:00:00:00:02'; // central
const P_WIRE = '0100000000c0';
const C_WIRE = '0200000000c0';
const hex = (b: Buffer): string => b.toString('hex');

async function pair(opts: { keys?: LtkStore } = {}) {
  const air = newAir();
  const per = new TestHost(air, P, opts.keys ? { keys: opts.keys } : {});
  const cen = new TestHost(air, C);
  await bringUp(per);
  await bringUp(cen);
  await advertise(per);
  const cs = await cen.cmd(0x200d, createConnParams(P));
  expect(hex(cs)).toBe('040f0400010d20'); // Command Status: success, 1 packet, LE Create Connection
  const cc = await cen.event(0x3e, 0x01);
  const pc = await per.event(0x3e, 0x01);
  return { air, per, cen, cc, pc };
}

describe('controller: identity and buffers', () => {
  it('answers Read BD_ADDR with its address, least significant byte first', async () => {
    const h = new TestHost(newAir(), P);
    // event 0x0e, len 10, 1 packet, opcode 0x1009, status 0, address
    expect(hex(await h.cmd(0x1009))).toBe('040e0a010910' + '00' + P_WIRE);
  });

  it('generates random static addresses (two most significant bits set, never all ones or zeros)', () => {
    const rnd = seededRandom(42);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const a = randomStaticAddress(rnd);
      expect(a).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(parseInt(a.slice(0, 2), 16) & 0xc0).toBe(0xc0);
      seen.add(a);
    }
    expect(seen.size).toBe(2000);
    expect(randomStaticAddress(() => 0)).toBe('c0:00:00:00:00:01');
    expect(randomStaticAddress(() => 0.99999)).toBe('ff:ff:ff:ff:ff:fe');
  });

  it('reports HCI version 5.0 (>= 6 is what bleno and noble require) and non-zero LE buffers', async () => {
    const h = new TestHost(newAir(), P);
    // status 0, HCI 0x09, rev 0, LMP 0x09, manufacturer 0x05f1, subversion 0
    expect(hex(await h.cmd(0x1001))).toBe('040e0c010110' + '00' + '09' + '0000' + '09' + 'f105' + '0000');
    // LE Read Buffer Size: 251 bytes, 8 packets
    expect(hex(await h.cmd(0x2002))).toBe('040e07010220' + '00' + 'fb00' + '08');
    // Read Buffer Size (BR/EDR fallback) gives the same ACL numbers
    expect(hex(await h.cmd(0x1005))).toBe('040e0b010510' + '00' + 'fb00' + '00' + '0800' + '0000');
    expect(hex(await h.cmd(0x0c6c))).toBe('040e0601' + '6c0c' + '00' + '0100');
  });

  it('lists the emulated commands in Read Local Supported Commands', async () => {
    const h = new TestHost(newAir(), P);
    const r = await h.cmd(0x1002);
    const bits = r.subarray(7);
    expect(bits.length).toBe(64);
    expect(bits[26]! & (1 << 4)).not.toBe(0); // LE Create Connection
    expect(bits[28]! & (1 << 0)).not.toBe(0); // LE Start Encryption
    expect(bits[37]! & 0x30).toBe(0); // no extended scanning: noble stays on legacy commands
  });
});

describe('controller: errors are answered, never silent', () => {
  it('answers an unknown opcode with Command Status 0x01 Unknown HCI Command', async () => {
    const h = new TestHost(newAir(), P);
    expect(hex(await h.cmd(0x0c14))).toBe('040f04' + '01' + '01' + '140c'); // status 0x01, 1 packet, opcode
    expect(hex(await h.cmd(0x2041, '00000501' + '12001200' + '011200' + '1200'))).toBe('040f04010141' + '20');
    expect(h.controller.stats.unknownCommands).toBe(2);
  });

  it('answers wrong parameter lengths with 0x12 Invalid HCI Command Parameters', async () => {
    const h = new TestHost(newAir(), P);
    expect(hex(await h.cmd(0x0c01, 'ffff'))).toBe('040e0401010c12');
    // declared length 8 but only 2 bytes follow: still answered
    const reply = h.next((b) => b[1] === 0x0e, 'reply');
    h.write('01010c08ffff');
    expect(hex(await reply)).toBe('040e0401010c12');
    // advertising data longer than 31 bytes
    expect(hex(await h.cmd(0x2008, '20' + '00'.repeat(31)))).toBe('040e0401082012');
  });

  it('rejects packets it cannot parse with a specific message', () => {
    const h = new TestHost(newAir(), P);
    expect(h.controller.fromHost(new Uint8Array([0x01, 0x03]))).toBe('HCI command too short (2 bytes)');
    expect(h.controller.fromHost(new Uint8Array([0x02, 0x01, 0x00, 0x05, 0x00, 0x01]))).toBe(
      'HCI ACL length 5 does not match 1 payload bytes',
    );
    expect(h.controller.fromHost(new Uint8Array([0x03, 0x00]))).toBe('unsupported HCI packet type 0x3');
  });

  it('refuses to change advertising parameters while advertising (0x0c Command Disallowed)', async () => {
    const h = new TestHost(newAir(), P);
    await advertise(h);
    const params = 'a000a000' + '00' + '00' + '00' + '000000000000' + '07' + '00'; // 15 bytes
    expect(hex(await h.cmd(0x2006, params.slice(0, 28)))).toBe('040e0401062012'); // 14 bytes
    expect(hex(await h.cmd(0x2006, params))).toBe('040e040106200c');
  });
});

describe('controller: advertising and scanning', () => {
  it('reports ADV_IND then SCAN_RSP with RSSI to an active scanner, each once when filtering duplicates', async () => {
    const air = newAir();
    const per = new TestHost(air, P);
    const scan = new TestHost(air, C);
    await bringUp(scan);
    await advertise(per, '020106', '0509746573740000'.slice(0, 12));
    await scan.cmd(0x200b, '01' + '1200' + '1200' + '00' + '00'); // active
    await scan.cmd(0x200c, '0101'); // enable, filter duplicates
    // LE meta, len, subevent 02, 1 report, ADV_IND, public, address, 3 bytes of data, RSSI -50 (0xce)
    expect(hex(await scan.event(0x3e, 0x02))).toBe('043e0f020100' + '00' + P_WIRE + '03' + '020106' + 'ce');
    // SCAN_RSP (type 4) with the scan response data
    expect(hex(await scan.event(0x3e, 0x02))).toBe(
      '043e120201' + '04' + '00' + P_WIRE + '06' + '050974657374' + 'ce',
    );
    await advertise(per, '020106', '050974657374'); // same data again: filtered
    await settle();
    expect(scan.received.filter((b) => b[1] === 0x3e)).toHaveLength(0);
  });

  it('sends only ADV_IND to a passive scanner', async () => {
    const air = newAir();
    const per = new TestHost(air, P);
    const scan = new TestHost(air, C);
    await bringUp(scan);
    await advertise(per);
    await scan.cmd(0x200b, '00' + '1200' + '1200' + '00' + '00');
    await scan.cmd(0x200c, '0101');
    expect((await scan.event(0x3e, 0x02))[5]).toBe(0x00);
    await settle();
    expect(scan.received.filter((b) => b[1] === 0x3e)).toHaveLength(0);
  });

  it('delivers no LE events while the host has not unmasked them (Set Event Mask default)', async () => {
    const air = newAir();
    const per = new TestHost(air, P);
    const scan = new TestHost(air, C);
    await advertise(per);
    await scan.cmd(0x200b, '01' + '1200' + '1200' + '00' + '00');
    await scan.cmd(0x200c, '0101');
    await settle();
    expect(scan.received.filter((b) => b[1] === 0x3e)).toHaveLength(0);
  });

  it('refuses LE Set Scan Parameters while scanning (0x0c)', async () => {
    const h = new TestHost(newAir(), C);
    await h.cmd(0x200c, '0101');
    expect(hex(await h.cmd(0x200b, '01' + '1200' + '1200' + '00' + '00'))).toBe('040e04010b200c');
  });
});

describe('controller: connections', () => {
  it('completes a connection with role 0 to the central and 1 to the peripheral, handles from 1', async () => {
    const { cc, pc, air } = await pair();
    // status 0, handle 1, role 0, peer public P, interval 0x12, latency 0, timeout 0x2a, accuracy 0
    expect(hex(cc)).toBe('043e1301' + '00' + '0100' + '00' + '00' + P_WIRE + '1200' + '0000' + '2a00' + '00');
    expect(hex(pc)).toBe('043e1301' + '00' + '0100' + '01' + '00' + C_WIRE + '1200' + '0000' + '2a00' + '00');
    // a connectable advertiser stops advertising once connected
    expect(air.status().find((d) => d.address === P)?.advertising).toBe(false);
    expect(air.linkCount).toBe(1);
  });

  it('waits for the target to advertise, and cancelling reports 0x02 Unknown Connection Identifier', async () => {
    const air = newAir();
    const cen = new TestHost(air, C);
    await bringUp(cen);
    expect(hex(await cen.cmd(0x200d, createConnParams(P)))).toBe('040f0400010d20');
    expect(hex(await cen.cmd(0x200d, createConnParams(P)))).toBe('040f04' + '0c' + '010d20'); // already initiating
    expect(hex(await cen.cmd(0x200e))).toBe('040e0401' + '0e20' + '00');
    const cc = await cen.event(0x3e, 0x01);
    expect(cc[4]).toBe(0x02);
    expect(hex(cc.subarray(9, 15))).toBe(P_WIRE);
    expect(hex(await cen.cmd(0x200e))).toBe('040e04010e200c'); // nothing to cancel
  });

  it('connects once the target starts advertising', async () => {
    const air = newAir();
    const per = new TestHost(air, P);
    const cen = new TestHost(air, C);
    await bringUp(per);
    await bringUp(cen);
    await cen.cmd(0x200d, createConnParams(P));
    await settle();
    expect(cen.received.some((b) => b[1] === 0x3e)).toBe(false);
    await advertise(per);
    expect((await cen.event(0x3e, 0x01))[4]).toBe(0);
    expect((await per.event(0x3e, 0x01))[7]).toBe(1);
  });

  it('refuses a second connection to the same peer (0x0b) and advertising while connected (0x0c)', async () => {
    const { per, cen } = await pair();
    expect(hex(await cen.cmd(0x200d, createConnParams(P)))).toBe('040f04' + '0b' + '010d20');
    expect(hex(await per.cmd(0x200a, '01'))).toBe('040e04010a200c');
  });

  it('forwards ACL data, rewriting the first-fragment boundary 0b00 to 0b10, and completes packets', async () => {
    const { per, cen } = await pair();
    const got = per.acl();
    const nocp = cen.event(0x13);
    cen.write('02' + '0100' + '0700' + '0300' + '0400' + '020001'); // PB 00: L2CAP len 3, ATT MTU req
    expect(hex(await got)).toBe('02' + '0120' + '0700' + '0300' + '0400' + '020001');
    // Number Of Completed Packets: 1 handle, handle 1, 1 packet
    expect(hex(await nocp)).toBe('0413050101000100');
    const cont = per.acl();
    cen.write('02' + '0110' + '0200' + 'abcd'); // continuation stays 0b01
    expect(hex(await cont)).toBe('020110' + '0200' + 'abcd');
  });

  it('drops ACL data for an unknown handle without completing it', async () => {
    const { per, cen } = await pair();
    cen.write('02' + '0500' + '0100' + 'ff');
    await settle();
    expect(cen.controller.stats.droppedAcl).toBe(1);
    expect(cen.received.some((b) => b[1] === 0x13)).toBe(false);
    expect(per.received.some((b) => b[0] === 0x02)).toBe(false);
  });

  it('disconnects with the given reason to the peer and 0x16 to the initiator', async () => {
    const { per, cen } = await pair();
    expect(hex(await cen.cmd(0x0406, '0100' + '42'))).toBe('040f04' + '12' + '010604'); // not a valid reason
    expect(hex(await cen.cmd(0x0406, '0900' + '13'))).toBe('040f04' + '02' + '010604'); // unknown handle
    expect(hex(await cen.cmd(0x0406, '0100' + '13'))).toBe('040f0400010604');
    expect(hex(await cen.event(0x05))).toBe('0405040001' + '00' + '16');
    expect(hex(await per.event(0x05))).toBe('0405040001' + '00' + '13');
  });

  it('reports a vanished peer as 0x08 Connection Timeout', async () => {
    const { per, cen } = await pair();
    per.controller.close();
    expect(hex(await cen.event(0x05))).toBe('040504000100' + '08');
  });

  it('reads RSSI on a connection and 0x02 for an unknown handle', async () => {
    const { cen } = await pair();
    expect(hex(await cen.cmd(0x1405, '0100'))).toBe('040e0701051400' + '0100' + 'ce');
    expect(hex(await cen.cmd(0x1405, '0700'))).toBe('040e0701051402' + '0700' + '00');
  });

  it('updates connection parameters on both sides; a peripheral may not (0x0c)', async () => {
    const { per, cen } = await pair();
    const params = '0100' + '1800' + '2800' + '0000' + '6400' + '0000' + '0000';
    expect(hex(await cen.cmd(0x2013, params))).toBe('040f0400011320');
    // subevent 03, status 0, handle 1, interval 0x28 (50 ms), latency 0, timeout 0x64
    expect(hex(await cen.event(0x3e, 0x03))).toBe('043e0a03' + '00' + '0100' + '2800' + '0000' + '6400');
    expect(hex(await per.event(0x3e, 0x03))).toBe('043e0a03' + '00' + '0100' + '2800' + '0000' + '6400');
    expect(hex(await per.cmd(0x2013, params))).toBe('040f04' + '0c' + '011320');
  });

  it('Reset drops connections (the peer sees 0x08) and forgets the event masks', async () => {
    const { per, cen } = await pair();
    expect(hex(await per.cmd(0x0c03))).toBe('040e0401030c00');
    expect(hex(await cen.event(0x05))).toBe('040504000100' + '08');
    await settle();
    expect(per.received.some((b) => b[1] === 0x05)).toBe(false);
    expect(per.controller.connectionCount).toBe(0);
  });
});

describe('controller: encryption', () => {
  const ltk = crypto.randomBytes(16);
  const startEnc = (key: Buffer): string => '0100' + '0000000000000000' + '0000' + key.toString('hex');

  function loadKey(store: LtkStore, peer: string, key: Buffer): void {
    const info = Buffer.alloc(36);
    Buffer.from(peer.split(':').reverse().join(''), 'hex').copy(info, 0);
    info[6] = 1; // LE public
    info[9] = 16;
    key.copy(info, 20);
    const pkt = Buffer.concat([Buffer.from('130000002600', 'hex'), Buffer.from('0100', 'hex'), info]);
    // MGMT Command Complete: event 1, index 0, len 3, opcode 0x0013, status 0
    expect(Buffer.from(store.command(pkt)).toString('hex')).toBe('010000000300' + '1300' + '00');
    store.active = true;
  }

  it('encrypts when the peripheral side holds the same LTK (kernel key store, as bleno loads it)', async () => {
    const keys = new LtkStore();
    loadKey(keys, C, ltk);
    const { per, cen } = await pair({ keys });
    expect(hex(await cen.cmd(0x2019, startEnc(ltk)))).toBe('040f0400011920');
    // Encryption Change: status 0, handle 1, on
    expect(hex(await cen.event(0x08))).toBe('0408040001' + '00' + '01');
    expect(hex(await per.event(0x08))).toBe('0408040001' + '00' + '01');
    // the peripheral's raw socket also sees the LTK request and the kernel's reply completing
    expect((await per.event(0x3e, 0x05)).readUInt16LE(4)).toBe(1);
    expect(hex(await per.next((b) => b[1] === 0x0e && b.readUInt16LE(4) === 0x201a))).toBe(
      '040e06011a2000' + '0100',
    );
  });

  it('reports 0x06 PIN or Key Missing to the central and an LTK negative reply to the peripheral', async () => {
    const keys = new LtkStore();
    keys.active = true;
    const { per, cen } = await pair({ keys });
    await cen.cmd(0x2019, startEnc(ltk));
    expect(hex(await cen.event(0x08))).toBe('0408040601' + '00' + '00');
    expect(hex(await per.next((b) => b[1] === 0x0e && b.readUInt16LE(4) === 0x201b))).toBe(
      '040e06011b2000' + '0100',
    );
    await settle();
    expect(per.received.some((b) => b[1] === 0x08)).toBe(false);
  });

  it('drops the link with 0x3d MIC Failure when the keys differ', async () => {
    const keys = new LtkStore();
    loadKey(keys, C, ltk);
    const { per, cen } = await pair({ keys });
    await cen.cmd(0x2019, startEnc(crypto.randomBytes(16)));
    expect(hex(await cen.event(0x05))).toBe('040504000100' + '3d');
    expect(hex(await per.event(0x05))).toBe('040504000100' + '3d');
  });

  it('lets the host answer the LTK request when no management socket is bound', async () => {
    const { per, cen } = await pair();
    await cen.cmd(0x2019, startEnc(ltk));
    const req = await per.event(0x3e, 0x05);
    expect(hex(req)).toBe('043e0d05' + '0100' + '0000000000000000' + '0000');
    expect(hex(await per.cmd(0x201a, '0100' + ltk.toString('hex')))).toBe('040e06011a2000' + '0100');
    expect(hex(await cen.event(0x08))).toBe('040804000100' + '01');
    expect(hex(await per.event(0x08))).toBe('040804000100' + '01');
    expect(hex(await per.cmd(0x201b, '0100'))).toBe('040e06011b200c' + '0100'); // nothing pending any more
  });

  it('computes LE Encrypt with AES-128 (operands least significant octet first)', async () => {
    const h = new TestHost(newAir(), P);
    const key = crypto.randomBytes(16);
    const plain = crypto.randomBytes(16);
    const c = crypto.createCipheriv('aes-128-ecb', key, null);
    c.setAutoPadding(false);
    const expected = Buffer.concat([c.update(plain), c.final()]);
    const r = await h.cmd(0x2017, Buffer.concat([Buffer.from(key).reverse(), Buffer.from(plain).reverse()]));
    expect(hex(r.subarray(7))).toBe(hex(Buffer.from(expected).reverse()));
  });
});
