// The slice of the Linux Bluetooth management channel (HCI_CHANNEL_CONTROL) that bleno uses: it loads
// long-term keys so that "the kernel" can answer a central's encryption request. Here the process-wide
// key store plays the kernel's part for every virtual controller in the process.

export const MGMT_OP_LOAD_LONG_TERM_KEYS = 0x0013;
const MGMT_EV_CMD_COMPLETE = 0x0001;
const MGMT_EV_CMD_STATUS = 0x0002;
const MGMT_STATUS_SUCCESS = 0x00;
const MGMT_STATUS_UNKNOWN_COMMAND = 0x01;
const MGMT_STATUS_INVALID_PARAMS = 0x0d;
const LTK_INFO_SIZE = 36;

export interface LongTermKey {
  address: string; // peer identity address, most significant byte first
  addressType: 0 | 1;
  ediv: number;
  rand: Uint8Array; // 8 bytes as on the wire
  key: Uint8Array; // 16 bytes
}

export class LtkStore {
  /** True once a management socket was bound: from then on the "kernel" answers LTK requests. */
  active = false;
  private keys: LongTermKey[] = [];

  find(peer: string, ediv: number, rand: Uint8Array): LongTermKey | undefined {
    return this.keys.find(
      (k) =>
        k.address === peer && k.ediv === ediv && Buffer.compare(Buffer.from(k.rand), Buffer.from(rand)) === 0,
    );
  }

  get size(): number {
    return this.keys.length;
  }

  /** Handles one management command and returns the management event the kernel would send. */
  command(packet: Uint8Array): Uint8Array {
    const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    if (b.length < 6) return reply(MGMT_EV_CMD_STATUS, 0xffff, 0, MGMT_STATUS_INVALID_PARAMS);
    const op = b.readUInt16LE(0);
    const index = b.readUInt16LE(2);
    const len = b.readUInt16LE(4);
    if (len !== b.length - 6) return reply(MGMT_EV_CMD_STATUS, index, op, MGMT_STATUS_INVALID_PARAMS);
    if (op !== MGMT_OP_LOAD_LONG_TERM_KEYS)
      return reply(MGMT_EV_CMD_STATUS, index, op, MGMT_STATUS_UNKNOWN_COMMAND);
    if (len < 2) return reply(MGMT_EV_CMD_STATUS, index, op, MGMT_STATUS_INVALID_PARAMS);
    const count = b.readUInt16LE(6);
    if (len !== 2 + count * LTK_INFO_SIZE)
      return reply(MGMT_EV_CMD_STATUS, index, op, MGMT_STATUS_INVALID_PARAMS);
    const keys: LongTermKey[] = [];
    for (let i = 0; i < count; i++) {
      const o = 8 + i * LTK_INFO_SIZE;
      const type = b.readUInt8(o + 6); // BDADDR_LE_PUBLIC 1, BDADDR_LE_RANDOM 2
      if (type !== 1 && type !== 2) return reply(MGMT_EV_CMD_STATUS, index, op, MGMT_STATUS_INVALID_PARAMS);
      const parts: string[] = [];
      for (let j = 5; j >= 0; j--)
        parts.push(
          b
            .readUInt8(o + j)
            .toString(16)
            .padStart(2, '0'),
        );
      keys.push({
        address: parts.join(':'),
        addressType: type === 2 ? 1 : 0,
        ediv: b.readUInt16LE(o + 10),
        rand: new Uint8Array(b.subarray(o + 12, o + 20)),
        key: new Uint8Array(b.subarray(o + 20, o + 36)),
      });
    }
    this.keys = keys; // Load Long Term Keys replaces the whole list
    return reply(MGMT_EV_CMD_COMPLETE, index, op, MGMT_STATUS_SUCCESS);
  }
}

function reply(event: number, index: number, op: number, status: number): Uint8Array {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(event, 0);
  b.writeUInt16LE(index, 2);
  b.writeUInt16LE(3, 4);
  b.writeUInt16LE(op, 6);
  b.writeUInt8(status, 8);
  return new Uint8Array(b);
}
