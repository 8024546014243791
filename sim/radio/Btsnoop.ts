// btsnoop files (the format of Android's HCI snoop log, read by Wireshark, tshark and btmon):
// a 16-byte header, then one record per HCI packet in H4 framing (datalink 1002).
import fs from 'node:fs';
import { KeywayError } from '../../firmware/errors.ts';

const MAGIC = Buffer.from('btsnoop\0', 'latin1');
export const DATALINK_H4 = 1002;
/** Microseconds from 0000-01-01 to 1970-01-01, as Wireshark's btsnoop reader expects. */
const EPOCH_OFFSET_US = 0x00dcddb30f2f8000n;

export interface BtsnoopRecord {
  /** true: controller -> host (events, incoming ACL); false: host -> controller. */
  received: boolean;
  /** true: command or event; false: data. */
  commandOrEvent: boolean;
  /** Microseconds since the Unix epoch. */
  timestampUs: bigint;
  /** The H4 packet: type byte first. */
  packet: Uint8Array;
  originalLength: number;
}

export class BtsnoopWriter {
  private fd: number | null;

  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'w');
    } catch (err) {
      throw new KeywayError(
        'invalid_argument',
        `cannot write trace file ${path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const header = Buffer.alloc(16);
    MAGIC.copy(header, 0);
    header.writeUInt32BE(1, 8);
    header.writeUInt32BE(DATALINK_H4, 12);
    fs.writeSync(this.fd, header);
  }

  /** Records one H4 packet. Written synchronously so a killed process still leaves a complete file. */
  record(received: boolean, packet: Uint8Array): void {
    if (this.fd === null) return;
    const type = packet[0];
    const commandOrEvent = type === 0x01 || type === 0x04;
    const rec = Buffer.alloc(24 + packet.length);
    rec.writeUInt32BE(packet.length, 0);
    rec.writeUInt32BE(packet.length, 4);
    rec.writeUInt32BE((received ? 1 : 0) | (commandOrEvent ? 2 : 0), 8);
    rec.writeUInt32BE(0, 12);
    const us = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
    rec.writeBigInt64BE(us + EPOCH_OFFSET_US, 16);
    rec.set(packet, 24);
    fs.writeSync(this.fd, rec);
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }
}

export function readBtsnoop(bytes: Uint8Array, name = 'trace'): BtsnoopRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (what: string): never => {
    throw new KeywayError('malformed', `${name}: ${what}`);
  };
  if (buf.length < 16 || !buf.subarray(0, 8).equals(MAGIC)) bad('not a btsnoop file (bad magic)');
  const version = buf.readUInt32BE(8);
  if (version !== 1) bad(`unsupported btsnoop version ${version}`);
  const datalink = buf.readUInt32BE(12);
  if (datalink !== DATALINK_H4) bad(`unsupported datalink ${datalink} (only 1002, HCI H4, is decoded)`);
  const out: BtsnoopRecord[] = [];
  let off = 16;
  while (off < buf.length) {
    if (off + 24 > buf.length) bad(`truncated record header at byte ${off}`);
    const originalLength = buf.readUInt32BE(off);
    const included = buf.readUInt32BE(off + 4);
    const flags = buf.readUInt32BE(off + 8);
    const ts = buf.readBigInt64BE(off + 16);
    if (off + 24 + included > buf.length) bad(`truncated record at byte ${off}`);
    out.push({
      received: (flags & 1) === 1,
      commandOrEvent: (flags & 2) === 2,
      timestampUs: ts - EPOCH_OFFSET_US,
      packet: new Uint8Array(buf.subarray(off + 24, off + 24 + included)),
      originalLength,
    });
    off += 24 + included;
  }
  return out;
}
