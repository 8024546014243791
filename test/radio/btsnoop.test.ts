// btsnoop writing and reading, and the readable decode (which never prints keys).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BtsnoopWriter, readBtsnoop } from '../../sim/radio/Btsnoop.ts';
import { decodeAd, decodeTrace, formatTrace } from '../../sim/radio/TraceDecode.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-snoop-'));
  dirs.push(d);
  return d;
};
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('btsnoop', () => {
  it('writes the header and one record per packet with direction and type flags', () => {
    const file = path.join(tmp(), 't.btsnoop');
    const w = new BtsnoopWriter(file);
    const before = BigInt(Date.now()) * 1000n;
    w.record(false, h('01 09 10 00'));
    w.record(true, h('04 0e 0a 01 09 10 00 0a00000000c0'));
    w.record(false, h('02 0100 0700 0300 0400 020001'));
    w.close();
    const bytes = fs.readFileSync(file);
    // "btsnoop\0", version 1, datalink 1002 (H4)
    expect(bytes.subarray(0, 16).toString('hex')).toBe('6274736e6f6f7000' + '00000001' + '000003ea');
    // first record: lengths 4/4, flags 2 (sent, command), no drops
    expect(bytes.subarray(16, 32).toString('hex')).toBe('00000004' + '00000004' + '00000002' + '00000000');
    const recs = readBtsnoop(bytes);
    expect(recs.map((r) => [r.received, r.commandOrEvent, Buffer.from(r.packet).toString('hex')])).toEqual([
      [false, true, '01091000'],
      [true, true, '040e0a01091000' + '0a00000000c0'],
      [false, false, '02010007000300040002' + '0001'],
    ]);
    expect(recs[0]!.timestampUs >= before - 1000n).toBe(true);
  });

  it('rejects files that are not H4 btsnoop, or are cut short', () => {
    expect(() => readBtsnoop(Buffer.from('hello world, not a trace'), 'x')).toThrow(
      'malformed: x: not a btsnoop file (bad magic)',
    );
    const header = Buffer.from('6274736e6f6f7000' + '00000001' + '000007d1', 'hex');
    expect(() => readBtsnoop(header, 'm')).toThrow('unsupported datalink 2001');
    const good = Buffer.from('6274736e6f6f7000' + '00000001' + '000003ea', 'hex');
    expect(() => readBtsnoop(Buffer.concat([good, Buffer.alloc(10)]), 't')).toThrow(
      'truncated record header at byte 16',
    );
    const rec = Buffer.alloc(24);
    rec.writeUInt32BE(8, 4);
    expect(() => readBtsnoop(Buffer.concat([good, rec, Buffer.alloc(3)]), 't')).toThrow(
      'truncated record at byte 16',
    );
    expect(() => new BtsnoopWriter('/nonexistent-dir/x.btsnoop')).toThrow(
      'cannot write trace file /nonexistent-dir/x.btsnoop',
    );
  });

  it('decodes commands, events and ATT/SMP, and never shows an LTK', () => {
    const ltk = '00112233445566778899aabbccddeeff';
    const recs = [
      {
        received: false,
        commandOrEvent: true,
        timestampUs: 1_000_000n,
        originalLength: 0,
        packet: h('01 1920 1c 0100 0000000000000000 0000' + ltk),
      },
      {
        received: true,
        commandOrEvent: true,
        timestampUs: 1_000_500n,
        originalLength: 0,
        packet: h('04 08 04 00 0100 01'),
      },
      {
        received: true,
        commandOrEvent: false,
        timestampUs: 1_001_000n,
        originalLength: 0,
        packet: h('02 0120 0900 0500 0400 0c 0c00 ff00'),
      },
      {
        received: false,
        commandOrEvent: false,
        timestampUs: 1_002_000n,
        originalLength: 0,
        packet: h('02 0100 0b00 0700 0600 01 03 00 01 10 00 01'),
      },
      {
        received: true,
        commandOrEvent: true,
        timestampUs: 1_003_000n,
        originalLength: 0,
        packet: h('04 05 04 00 0100 08'),
      },
    ];
    const d = decodeTrace(recs);
    expect(d.map((p) => p.name)).toEqual([
      'LE Start Encryption (0x2019)',
      'Encryption Change',
      'ACL ATT',
      'ACL SMP',
      'Disconnection Complete',
    ]);
    expect(d[0]!.fields).toEqual({ handle: 1, ediv: 0, ltk: '(16 bytes, not shown)' });
    expect(d[2]!.fields).toMatchObject({
      att: 'Read Blob Request',
      attHandle: 12,
      offset: 255,
      pb: 'first flushable',
    });
    expect(d[3]!.fields.smp).toBe('Pairing Request');
    expect(d[4]!.fields.reason).toBe('Connection Timeout (0x08)');
    expect(d.map((p) => p.time)).toEqual([0, 0.0005, 0.001, 0.002, 0.003]);
    const text = formatTrace(d);
    expect(text).not.toContain(ltk);
    expect(text.split('\n')[1]).toBe(
      '    2    0.000500 < Encryption Change  status=Success (0x00) handle=1 encrypted=true',
    );
  });

  it('decodes advertising data structures', () => {
    expect(
      decodeAd(h('020106 0309 6869 0303 f0ff 11066b0d0001c6a14b7a9c3e5a0000000001'.replace(/ /g, ''))),
    ).toEqual({
      flags: '0x6',
      name: 'hi',
      uuid16: 'fff0',
      uuid128: '01000000005a3e9c7a4ba1c601000d6b',
    });
  });
});
