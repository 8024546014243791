// Modelled timing and faults, driven by fake timers: delays, connection events, loss leading to link
// loss, distance -> RSSI and range, advertising intervals.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RSSI, rssiAt, radioInfoFrom, validateFaults } from '../../sim/radio/Faults.ts';
import type { RadioFaults } from '../../sim/radio/Faults.ts';
import {
  FakeTimers,
  TestHost,
  advertise,
  bringUp,
  createConnParams,
  newAir,
  settle,
} from './fixtures/hci.ts';

const P = 'c0:00:00:00:00:01';
const C = 'c0:00:00:00:00:02';

async function connected(timers: FakeTimers, central: RadioFaults = {}, peripheral: RadioFaults = {}) {
  const air = newAir(timers);
  const per = new TestHost(air, P, { timers, faults: peripheral });
  const cen = new TestHost(air, C, { timers, faults: central });
  await bringUp(per);
  await bringUp(cen);
  await advertise(per);
  await cen.cmd(0x200d, createConnParams(P));
  if (peripheral.advertisingInterval) timers.advance(200);
  await cen.event(0x3e, 0x01);
  await per.event(0x3e, 0x01);
  return { air, per, cen };
}

const ACL = '02' + '0100' + '0700' + '0300' + '0400' + '020001';
const aclCount = (h: TestHost): number => h.received.filter((b) => b[0] === 0x02).length;
const nocpCount = (h: TestHost): number => h.received.filter((b) => b[1] === 0x13).length;

describe('faults: ACL timing', () => {
  it('adds the packet delay before delivery, and completes the packet only once delivered', async () => {
    const timers = new FakeTimers();
    const { per, cen } = await connected(timers, { packetDelayMs: 30 });
    cen.write(ACL);
    await settle();
    expect(aclCount(per)).toBe(0);
    expect(nocpCount(cen)).toBe(0);
    timers.advance(29);
    await settle();
    expect(aclCount(per)).toBe(0);
    timers.advance(1);
    await settle();
    expect(aclCount(per)).toBe(1);
    expect(nocpCount(cen)).toBe(1);
  });

  it('holds packets for the next connection event (22.5 ms interval)', async () => {
    const timers = new FakeTimers();
    const { per, cen } = await connected(timers, { connectionInterval: true });
    timers.advance(5);
    cen.write(ACL);
    cen.write(ACL);
    timers.advance(17);
    await settle();
    expect(aclCount(per)).toBe(0);
    timers.advance(0.5);
    await settle();
    expect(aclCount(per)).toBe(2); // both go in the same connection event
  });

  it('loses the link after the supervision timeout when nothing gets through', async () => {
    const timers = new FakeTimers();
    const { per, cen } = await connected(timers, { packetLoss: 1 });
    cen.write(ACL);
    timers.advance(419);
    await settle();
    expect(cen.received.some((b) => b[1] === 0x05)).toBe(false);
    timers.advance(1);
    // Disconnection Complete, handle 1, reason 0x08 Connection Timeout, on both sides
    expect((await cen.event(0x05)).toString('hex')).toBe('040504000100' + '08');
    expect((await per.event(0x05)).toString('hex')).toBe('040504000100' + '08');
    expect(aclCount(per)).toBe(0);
  });

  it('retransmits lost packets at later connection events and keeps their order', async () => {
    const timers = new FakeTimers();
    const { per, cen } = await connected(timers, { packetLoss: 0.4, seed: 3 });
    for (let i = 0; i < 20; i++)
      cen.write('02' + '0100' + '0500' + '0100' + '0400' + i.toString(16).padStart(2, '0'));
    timers.advance(400);
    await settle();
    const got = per.received.filter((b) => b[0] === 0x02).map((b) => b[9]);
    expect(got).toEqual([...Array(20).keys()]);
  });
});

describe('faults: distance and range', () => {
  it('computes RSSI with log-distance path loss', () => {
    const at = (p: [number, number, number] | undefined) => radioInfoFrom(P, 'x', p ? { position: p } : {});
    expect(rssiAt(at(undefined), at(undefined))).toBe(DEFAULT_RSSI);
    expect(rssiAt(at([0, 0, 0]), at([1, 0, 0]))).toBe(-59);
    expect(rssiAt(at([0, 0, 0]), at([10, 0, 0]))).toBe(-79);
    expect(rssiAt(at([0, 0, 0]), at([3, 4, 0]))).toBe(-73); // 5 m: -59 - 20 log10 5 = -72.98
    const indoor = radioInfoFrom(P, 'x', { position: [0, 0, 0], pathLossExponent: 3 });
    expect(rssiAt(indoor, at([10, 0, 0]))).toBe(-89);
  });

  it('reports the modelled RSSI in advertising reports and hides devices out of range', async () => {
    const timers = new FakeTimers();
    const air = newAir(timers);
    const per = new TestHost(air, P, { timers, faults: { position: [0, 0, 0] } });
    const scan = new TestHost(air, C, { timers, faults: { position: [10, 0, 0] } });
    await bringUp(scan);
    await advertise(per);
    await scan.cmd(0x200b, '01' + '1200' + '1200' + '00' + '00');
    await scan.cmd(0x200c, '0100'); // duplicates allowed
    const r = await scan.event(0x3e, 0x02);
    expect(r.readInt8(r.length - 1)).toBe(-79);
    per.controller.setFaults({ position: [100, 0, 0] }); // 90 m away: -98 dBm, below -90
    await settle();
    scan.received.length = 0;
    timers.advance(1000);
    await settle();
    expect(scan.received.filter((b) => b[1] === 0x3e)).toHaveLength(0);
  });

  it('connects only in range, and walking out of range drops the link with 0x08', async () => {
    const timers = new FakeTimers();
    const air = newAir(timers);
    const per = new TestHost(air, P, { timers, faults: { position: [0, 0, 0] } });
    const cen = new TestHost(air, C, { timers, faults: { position: [200, 0, 0], connectionInterval: true } });
    await bringUp(per);
    await bringUp(cen);
    await advertise(per);
    await cen.cmd(0x200d, createConnParams(P));
    await settle();
    expect(cen.received.some((b) => b[1] === 0x3e)).toBe(false);
    cen.controller.setFaults({ position: [2, 0, 0], connectionInterval: true });
    expect((await cen.event(0x3e, 0x01))[4]).toBe(0);
    expect((await cen.cmd(0x1405, '0100')).readInt8(9)).toBe(-65); // 2 m
    cen.controller.setFaults({ position: [300, 0, 0], connectionInterval: true });
    expect((await per.event(0x05)).toString('hex')).toBe('040504000100' + '08');
    await settle();
    // the central models the supervision timeout: it notices 420 ms later
    expect(cen.received.some((b) => b[1] === 0x05)).toBe(false);
    timers.advance(420);
    expect((await cen.event(0x05)).toString('hex')).toBe('040504000100' + '08');
  });
});

describe('faults: advertising interval', () => {
  it('reports at advertising events (random phase, then once per interval) instead of at once', async () => {
    const timers = new FakeTimers();
    const air = newAir(timers);
    const per = new TestHost(air, P, { timers, faults: { advertisingInterval: true } });
    const scan = new TestHost(air, C, { timers });
    await bringUp(scan);
    await advertise(per); // interval 0xa0 = 100 ms
    await scan.cmd(0x200b, '00' + '1200' + '1200' + '00' + '00');
    await scan.cmd(0x200c, '0100');
    await settle();
    expect(scan.received.filter((b) => b[1] === 0x3e)).toHaveLength(0);
    timers.advance(100);
    await settle();
    expect(scan.received.filter((b) => b[1] === 0x3e)).toHaveLength(1);
    timers.advance(1000);
    await settle();
    const n = scan.received.filter((b) => b[1] === 0x3e).length;
    expect(n).toBeGreaterThanOrEqual(10); // 100 ms + 0..10 ms advDelay each
    expect(n).toBeLessThanOrEqual(11);
  });
});

describe('faults: validation', () => {
  it('rejects unknown options and out-of-range values with a specific message', () => {
    expect(() => validateFaults({ jitter: 3 } as never)).toThrow("radio faults: unknown option 'jitter'");
    expect(() => validateFaults({ packetLoss: 1.5 })).toThrow('packetLoss must be a number in [0, 1]');
    expect(() => validateFaults({ position: [1, 2] as never })).toThrow(
      'position must be [x, y, z] in metres',
    );
    expect(() => validateFaults({ connectionInterval: 'yes' as never })).toThrow(
      'connectionInterval must be a boolean',
    );
    expect(validateFaults({ packetDelayMs: 5, position: [0, 1, 2] })).toEqual({
      packetDelayMs: 5,
      position: [0, 1, 2],
    });
  });
});
