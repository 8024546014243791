// A readable decode of HCI traffic (btsnoop records): commands, events, LE meta events, and ACL down to
// L2CAP, ATT and SMP opcodes. Keys (LTKs, STKs, pairing randoms) are never printed, only their length.
import type { BtsnoopRecord } from './Btsnoop.ts';
import {
  ADV_TYPE_NAMES,
  EVENT_NAMES,
  EVT,
  LE_EVENT_NAMES,
  LE_EVT,
  OP,
  OPCODE_NAMES,
  PKT_ACL,
  PKT_COMMAND,
  PKT_EVENT,
  STATUS_NAMES,
  addressFromWire,
} from './Hci.ts';

export interface DecodedPacket {
  index: number;
  /** Seconds since the first record. */
  time: number;
  direction: 'host>ctrl' | 'ctrl>host';
  kind: 'command' | 'event' | 'acl' | 'other';
  name: string;
  fields: Record<string, string | number | boolean>;
  length: number;
}

const ATT_NAMES: ReadonlyMap<number, string> = new Map([
  [0x01, 'Error Response'],
  [0x02, 'Exchange MTU Request'],
  [0x03, 'Exchange MTU Response'],
  [0x04, 'Find Information Request'],
  [0x05, 'Find Information Response'],
  [0x06, 'Find By Type Value Request'],
  [0x07, 'Find By Type Value Response'],
  [0x08, 'Read By Type Request'],
  [0x09, 'Read By Type Response'],
  [0x0a, 'Read Request'],
  [0x0b, 'Read Response'],
  [0x0c, 'Read Blob Request'],
  [0x0d, 'Read Blob Response'],
  [0x10, 'Read By Group Type Request'],
  [0x11, 'Read By Group Type Response'],
  [0x12, 'Write Request'],
  [0x13, 'Write Response'],
  [0x16, 'Prepare Write Request'],
  [0x17, 'Prepare Write Response'],
  [0x18, 'Execute Write Request'],
  [0x19, 'Execute Write Response'],
  [0x1b, 'Handle Value Notification'],
  [0x1d, 'Handle Value Indication'],
  [0x1e, 'Handle Value Confirmation'],
  [0x52, 'Write Command'],
]);

const SMP_NAMES: ReadonlyMap<number, string> = new Map([
  [0x01, 'Pairing Request'],
  [0x02, 'Pairing Response'],
  [0x03, 'Pairing Confirm'],
  [0x04, 'Pairing Random'],
  [0x05, 'Pairing Failed'],
  [0x06, 'Encryption Information'],
  [0x07, 'Master Identification'],
]);

const statusName = (s: number): string =>
  `${STATUS_NAMES.get(s) ?? 'Unknown'} (0x${s.toString(16).padStart(2, '0')})`;
const opName = (op: number): string =>
  `${OPCODE_NAMES.get(op) ?? 'Unknown command'} (0x${op.toString(16).padStart(4, '0')})`;

/** AD structures of advertising data: flags, names, service UUIDs, manufacturer data. */
export function decodeAd(data: Uint8Array): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  let i = 0;
  while (i < data.length) {
    const len = data[i] ?? 0;
    if (len === 0 || i + 1 + len > data.length) break;
    const type = data[i + 1] ?? 0;
    const v = Buffer.from(data.subarray(i + 2, i + 1 + len));
    if (type === 0x01) out.flags = `0x${(v[0] ?? 0).toString(16)}`;
    else if (type === 0x08 || type === 0x09) out.name = v.toString('utf8');
    else if (type === 0x02 || type === 0x03) out.uuid16 = chunks(v, 2).join(',');
    else if (type === 0x06 || type === 0x07) out.uuid128 = chunks(v, 16).join(',');
    else if (type === 0xff) out.manufacturer = v.toString('hex');
    else out[`ad_0x${type.toString(16)}`] = v.toString('hex');
    i += 1 + len;
  }
  return out;
}

function chunks(v: Buffer, n: number): string[] {
  const out: string[] = [];
  for (let o = 0; o + n <= v.length; o += n)
    out.push(
      Buffer.from(v.subarray(o, o + n))
        .reverse()
        .toString('hex'),
    );
  return out;
}

function decodeCommand(b: Buffer, f: DecodedPacket['fields']): string {
  if (b.length < 4) return 'truncated command';
  const op = b.readUInt16LE(1);
  const p = b.subarray(4);
  try {
    switch (op) {
      case OP.LE_SET_ADV_PARAMS:
        f.intervalMs = p.readUInt16LE(2) * 0.625;
        f.type = ADV_TYPE_NAMES.get(p[4] ?? 0) ?? String(p[4]);
        f.ownAddressType = p[5] ?? 0;
        break;
      case OP.LE_SET_ADV_DATA:
      case OP.LE_SET_SCAN_RSP_DATA:
        Object.assign(f, decodeAd(p.subarray(1, 1 + (p[0] ?? 0))));
        break;
      case OP.LE_SET_ADV_ENABLE:
        f.enable = p[0] === 1;
        break;
      case OP.LE_SET_SCAN_PARAMS:
        f.active = p[0] === 1;
        break;
      case OP.LE_SET_SCAN_ENABLE:
        f.enable = p[0] === 1;
        f.filterDuplicates = p[1] === 1;
        break;
      case OP.LE_CREATE_CONN:
        f.peer = addressFromWire(p, 6);
        f.peerType = p[5] === 1 ? 'random' : 'public';
        f.intervalMs = p.readUInt16LE(15) * 1.25;
        f.supervisionTimeoutMs = p.readUInt16LE(19) * 10;
        break;
      case OP.DISCONNECT:
        f.handle = p.readUInt16LE(0);
        f.reason = statusName(p[2] ?? 0);
        break;
      case OP.READ_RSSI:
        f.handle = p.readUInt16LE(0);
        break;
      case OP.LE_CONN_UPDATE:
        f.handle = p.readUInt16LE(0);
        f.intervalMs = p.readUInt16LE(4) * 1.25;
        break;
      case OP.LE_START_ENCRYPTION:
        f.handle = p.readUInt16LE(0);
        f.ediv = p.readUInt16LE(10);
        f.ltk = '(16 bytes, not shown)';
        break;
      case OP.LE_LTK_REPLY:
        f.handle = p.readUInt16LE(0);
        f.ltk = '(16 bytes, not shown)';
        break;
      case OP.LE_LTK_NEG_REPLY:
        f.handle = p.readUInt16LE(0);
        break;
      default:
        if (p.length > 0) f.params = p.length <= 16 ? p.toString('hex') : `(${p.length} bytes)`;
    }
  } catch {
    f.malformed = true;
  }
  return opName(op);
}

function decodeCommandReturn(op: number, r: Buffer, f: DecodedPacket['fields']): void {
  if (r.length === 0) return;
  f.status = statusName(r[0] ?? 0);
  const rest = r.subarray(1);
  if (rest.length === 0 || r[0] !== 0) return;
  switch (op) {
    case OP.READ_BD_ADDR:
      f.address = addressFromWire(rest);
      break;
    case OP.READ_LOCAL_VERSION:
      f.hciVersion = rest[0] ?? 0;
      f.manufacturer = `0x${rest.readUInt16LE(4).toString(16)}`;
      break;
    case OP.LE_READ_BUFFER_SIZE:
      f.aclLength = rest.readUInt16LE(0);
      f.aclPackets = rest[2] ?? 0;
      break;
    case OP.READ_RSSI:
      f.handle = rest.readUInt16LE(0);
      f.rssi = rest.readInt8(2);
      break;
    default:
      f.returns = rest.length <= 16 ? rest.toString('hex') : `(${rest.length} bytes)`;
  }
}

function decodeLeMeta(p: Buffer, f: DecodedPacket['fields']): string {
  const sub = p[0] ?? 0;
  const name = LE_EVENT_NAMES.get(sub) ?? `LE subevent 0x${sub.toString(16)}`;
  switch (sub) {
    case LE_EVT.CONN_COMPLETE:
      f.status = statusName(p[1] ?? 0);
      f.handle = p.readUInt16LE(2);
      f.role = p[4] === 0 ? 'central' : 'peripheral';
      f.peer = addressFromWire(p, 6);
      f.peerType = p[5] === 1 ? 'random' : 'public';
      f.intervalMs = p.readUInt16LE(12) * 1.25;
      f.supervisionTimeoutMs = p.readUInt16LE(16) * 10;
      break;
    case LE_EVT.ADV_REPORT: {
      const n = p[10] ?? 0;
      f.type = ADV_TYPE_NAMES.get(p[2] ?? 0) ?? String(p[2]);
      f.address = addressFromWire(p, 4);
      f.addressType = p[3] === 1 ? 'random' : 'public';
      Object.assign(f, decodeAd(p.subarray(11, 11 + n)));
      f.rssi = p.readInt8(11 + n);
      break;
    }
    case LE_EVT.CONN_UPDATE_COMPLETE:
      f.status = statusName(p[1] ?? 0);
      f.handle = p.readUInt16LE(2);
      f.intervalMs = p.readUInt16LE(4) * 1.25;
      break;
    case LE_EVT.LTK_REQUEST:
      f.handle = p.readUInt16LE(1);
      f.ediv = p.readUInt16LE(11);
      break;
  }
  return name;
}

function decodeEvent(b: Buffer, f: DecodedPacket['fields']): string {
  if (b.length < 3) return 'truncated event';
  const code = b[1] ?? 0;
  const p = b.subarray(3);
  try {
    switch (code) {
      case EVT.CMD_COMPLETE: {
        const op = p.readUInt16LE(1);
        f.command = opName(op);
        decodeCommandReturn(op, p.subarray(3), f);
        return 'Command Complete';
      }
      case EVT.CMD_STATUS:
        f.command = opName(p.readUInt16LE(2));
        f.status = statusName(p[0] ?? 0);
        return 'Command Status';
      case EVT.DISCONN_COMPLETE:
        f.status = statusName(p[0] ?? 0);
        f.handle = p.readUInt16LE(1);
        f.reason = statusName(p[3] ?? 0);
        return 'Disconnection Complete';
      case EVT.ENCRYPT_CHANGE:
        f.status = statusName(p[0] ?? 0);
        f.handle = p.readUInt16LE(1);
        f.encrypted = p[3] === 1;
        return 'Encryption Change';
      case EVT.NUM_COMPLETED_PACKETS: {
        const n = p[0] ?? 0;
        const parts: string[] = [];
        for (let i = 0; i < n; i++) parts.push(`${p.readUInt16LE(1 + i * 4)}:${p.readUInt16LE(3 + i * 4)}`);
        f.completed = parts.join(',');
        return 'Number Of Completed Packets';
      }
      case EVT.LE_META:
        return decodeLeMeta(p, f);
    }
  } catch {
    f.malformed = true;
  }
  return EVENT_NAMES.get(code) ?? `Event 0x${code.toString(16)}`;
}

function decodeAcl(b: Buffer, f: DecodedPacket['fields']): string {
  if (b.length < 5) return 'truncated ACL';
  const hf = b.readUInt16LE(1);
  f.handle = hf & 0x0fff;
  const pb = (hf >> 12) & 3;
  f.pb = ['first non-flushable', 'continuation', 'first flushable', 'complete'][pb] ?? String(pb);
  const d = b.subarray(5);
  f.length = d.length;
  if (pb === 1 || d.length < 4) return 'ACL Data';
  const cid = d.readUInt16LE(2);
  f.l2capLength = d.readUInt16LE(0);
  f.cid = `0x${cid.toString(16).padStart(4, '0')}`;
  const pdu = d.subarray(4);
  const op = pdu[0] ?? 0;
  if (cid === 0x0004) {
    f.att = ATT_NAMES.get(op) ?? `ATT 0x${op.toString(16)}`;
    if ([0x0a, 0x0c, 0x12, 0x16, 0x1b, 0x1d, 0x52].includes(op) && pdu.length >= 3)
      f.attHandle = pdu.readUInt16LE(1);
    if (op === 0x0c && pdu.length >= 5) f.offset = pdu.readUInt16LE(3);
    if ((op === 0x02 || op === 0x03) && pdu.length >= 3) f.mtu = pdu.readUInt16LE(1);
    if (op === 0x01 && pdu.length >= 5) f.error = `0x${(pdu[4] ?? 0).toString(16)}`;
    return 'ACL ATT';
  }
  if (cid === 0x0006) {
    f.smp = SMP_NAMES.get(op) ?? `SMP 0x${op.toString(16)}`;
    return 'ACL SMP';
  }
  if (cid === 0x0005) return 'ACL L2CAP signaling';
  return 'ACL Data';
}

export function decodeTrace(records: BtsnoopRecord[]): DecodedPacket[] {
  const t0 = records[0]?.timestampUs ?? 0n;
  return records.map((r, index) => {
    const b = Buffer.from(r.packet.buffer, r.packet.byteOffset, r.packet.byteLength);
    const fields: DecodedPacket['fields'] = {};
    const type = b[0];
    let kind: DecodedPacket['kind'] = 'other';
    let name = `packet type 0x${(type ?? 0).toString(16)}`;
    if (type === PKT_COMMAND) {
      kind = 'command';
      name = decodeCommand(b, fields);
    } else if (type === PKT_EVENT) {
      kind = 'event';
      name = decodeEvent(b, fields);
    } else if (type === PKT_ACL) {
      kind = 'acl';
      name = decodeAcl(b, fields);
    }
    return {
      index,
      time: Number(r.timestampUs - t0) / 1e6,
      direction: r.received ? 'ctrl>host' : 'host>ctrl',
      kind,
      name,
      fields,
      length: b.length,
    };
  });
}

export function formatTrace(packets: DecodedPacket[]): string {
  return packets
    .map((p) => {
      const arrow = p.direction === 'host>ctrl' ? '>' : '<';
      const fields = Object.entries(p.fields)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      return `${String(p.index + 1).padStart(5)} ${p.time.toFixed(6).padStart(11)} ${arrow} ${p.name}${fields ? '  ' + fields : ''}`;
    })
    .join('\n');
}
