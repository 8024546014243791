// An LE controller emulated at the HCI level: it takes the H4 packets a host (bleno, noble, any other
// stack) writes, answers every command, and turns what happens on the medium into HCI events and ACL
// data for its host. One controller per HCI socket. The subset is documented command by command in
// docs/radio.md.
import crypto from 'node:crypto';
import type { BtsnoopWriter } from './Btsnoop.ts';
import type { RadioFaults } from './Faults.ts';
import { radioInfoFrom } from './Faults.ts';
import {
  DISCONNECT_REASONS,
  EVENT_MASK_BIT,
  EVT,
  LE_EVT,
  OP,
  OPCODE_NAMES,
  PKT_ACL,
  PKT_COMMAND,
  PKT_EVENT,
  STATUS,
  addressFromWire,
  addressToWire,
  hex,
} from './Hci.ts';
import type { AddressType, ConnParams, DownMsg, Medium, MediumPort, Timers } from './Medium.ts';
import type { LtkStore } from './Mgmt.ts';

const DEFAULT_EVENT_MASK = 0x00001fffffffffffn;
const DEFAULT_LE_EVENT_MASK = 0x1fn;
const ACL_BUFFER_LEN = 251;
const ACL_BUFFER_COUNT = 8;
const HCI_VERSION = 0x09; // Bluetooth 5.0
const MANUFACTURER = 0x05f1; // The Linux Foundation (used by emulators)
const UNSUPPORTED_FEATURE = 0x11;
/** Named (for traces) but not emulated: extended advertising/scanning, so noble stays on legacy commands. */
const NOT_EMULATED: ReadonlySet<number> = new Set([
  OP.LE_SET_EXT_SCAN_PARAMS,
  OP.LE_SET_EXT_SCAN_ENABLE,
  OP.LE_EXT_CREATE_CONN,
]);
/** Commands answered with Command Status (their result comes later as an event). */
const STATUS_COMMANDS: ReadonlySet<number> = new Set([
  OP.DISCONNECT,
  OP.LE_CREATE_CONN,
  OP.LE_CONN_UPDATE,
  OP.LE_START_ENCRYPTION,
]);

export interface ControllerOptions {
  address: string;
  name: string;
  faults: RadioFaults;
  medium: Medium;
  timers: Timers;
  random: () => number;
  keys: LtkStore;
  trace: BtsnoopWriter | null;
  /** Receives every packet for the host, asynchronously and in order. */
  toHost: (packet: Uint8Array) => void;
}

interface TxItem {
  at: number;
  start: boolean;
  data: Uint8Array;
}

interface Conn {
  handle: number;
  link: number;
  role: 0 | 1;
  peer: string;
  peerType: AddressType;
  params: ConnParams;
  rssi: number;
  encrypted: boolean;
  /** Central's LTK while the host answers an LE Long Term Key Request (no kernel key store). */
  pendingLtk: Uint8Array | null;
  tx: TxItem[];
  txTimer: unknown;
  lastTxAt: number;
  anchor: number;
  lost: boolean;
}

type Queued = Uint8Array | { nocp: Map<number, number> };

type Result = { complete: Uint8Array } | { status: number } | { answered: true };

/** The handler already sent Command Status itself (it must precede what it sends to the medium). */
const ANSWERED: Result = { answered: true };

export class Controller {
  readonly address: string;
  private readonly opts: ControllerOptions;
  private port: MediumPort;
  private faults: RadioFaults;
  private eventMask = DEFAULT_EVENT_MASK;
  private leEventMask = DEFAULT_LE_EVENT_MASK;
  private randomAddress: string | null = null;
  private adv = {
    intervalMs: 1280,
    advType: 0,
    ownType: 0,
    data: new Uint8Array(0),
    scanRsp: new Uint8Array(0),
  };
  private advEnabled = false;
  private scanParams = { active: false, ownType: 0 };
  private scanEnabled = false;
  private filterDuplicates = false;
  private seen = new Set<string>();
  private initiating: { peer: string; peerType: AddressType; cancelled: boolean } | null = null;
  private readonly conns = new Map<number, Conn>();
  private readonly byLink = new Map<number, Conn>();
  /** Links the host never heard of (completed after a successful cancel, or dropped by Reset). */
  private readonly ghostLinks = new Set<number>();
  private nextHandle = 1;
  private queue: Queued[] = [];
  private nocp: Map<number, number> | null = null;
  private flushing = false;
  private closed = false;
  readonly stats = { commands: 0, unknownCommands: 0, aclIn: 0, aclOut: 0, droppedAcl: 0 };

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.address = opts.address;
    this.faults = opts.faults;
    this.port = opts.medium.attach(
      { deliver: (m) => this.fromMedium(m) },
      radioInfoFrom(opts.address, opts.name, opts.faults),
    );
  }

  setFaults(faults: RadioFaults): void {
    this.faults = faults;
    this.port.send({ t: 'info', info: radioInfoFrom(this.address, this.opts.name, faults) });
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * What a host does on its way out (bleno's and noble's exit handlers): terminate every connection
   * (peers see 0x13 Remote User Terminated), stop advertising, scanning and connecting.
   */
  hostGone(): void {
    if (this.closed) return;
    for (const c of this.conns.values()) {
      this.dropTx(c);
      this.ghostLinks.add(c.link);
      this.port.send({ t: 'disconnect', link: c.link, reason: STATUS.REMOTE_USER_TERMINATED });
    }
    this.conns.clear();
    this.byLink.clear();
    if (this.initiating) this.port.send({ t: 'cancel' });
    this.initiating = null;
    if (this.advEnabled) this.port.send({ t: 'adv', adv: null });
    if (this.scanEnabled) this.port.send({ t: 'scan', scan: null });
    this.advEnabled = false;
    this.scanEnabled = false;
  }

  /** The host went away (socket closed): peers see a supervision timeout. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.conns.values()) this.opts.timers.clearTimeout(c.txTimer);
    this.conns.clear();
    this.byLink.clear();
    this.port.detach();
    this.opts.trace?.close();
  }

  // ---- host -> controller -------------------------------------------------------------------------

  /** Takes one H4 packet from the host. Returns an error message for a packet that cannot be parsed. */
  fromHost(packet: Uint8Array): string | null {
    if (this.closed) return 'controller closed';
    const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    if (b.length < 1) return 'empty HCI packet';
    this.opts.trace?.record(false, packet);
    const type = b[0];
    if (type === PKT_COMMAND) {
      if (b.length < 4) return `HCI command too short (${b.length} bytes)`;
      const op = b.readUInt16LE(1);
      const len = b[3] ?? 0;
      this.stats.commands++;
      if (b.length !== 4 + len) {
        // Declared and actual length disagree: the command cannot be trusted, but it is still answered,
        // in the event its kind calls for.
        if (!OPCODE_NAMES.has(op) || NOT_EMULATED.has(op))
          this.answer(op, { status: STATUS.UNKNOWN_COMMAND });
        else if (STATUS_COMMANDS.has(op)) this.answer(op, { status: STATUS.INVALID_PARAMETERS });
        else this.answer(op, { complete: status(STATUS.INVALID_PARAMETERS) });
        return null;
      }
      this.command(op, b.subarray(4));
      return null;
    }
    if (type === PKT_ACL) {
      if (b.length < 5) return `HCI ACL packet too short (${b.length} bytes)`;
      const hf = b.readUInt16LE(1);
      const len = b.readUInt16LE(3);
      if (b.length !== 5 + len) return `HCI ACL length ${len} does not match ${b.length - 5} payload bytes`;
      this.aclFromHost(hf & 0x0fff, (hf >> 12) & 0x3, new Uint8Array(b.subarray(5)));
      return null;
    }
    return `unsupported HCI packet type 0x${(type ?? 0).toString(16)}`;
  }

  private answer(op: number, r: Result): void {
    if ('answered' in r) return;
    if ('complete' in r) {
      const ev = Buffer.alloc(3 + r.complete.length);
      ev[0] = 1; // Num_HCI_Command_Packets
      ev.writeUInt16LE(op, 1);
      ev.set(r.complete, 3);
      this.event(EVT.CMD_COMPLETE, ev);
    } else {
      const ev = Buffer.alloc(4);
      ev[0] = r.status;
      ev[1] = 1;
      ev.writeUInt16LE(op, 2);
      this.event(EVT.CMD_STATUS, ev);
    }
  }

  private command(op: number, p: Buffer): void {
    const ok = (...rest: number[] | [Uint8Array]): Result => ({ complete: status(STATUS.SUCCESS, ...rest) });
    const fail = (s: number): Result => ({ complete: status(s) });
    const needLen = (n: number): boolean => p.length === n;
    let r: Result;
    switch (op) {
      case OP.SET_EVENT_MASK:
        if (!needLen(8)) r = fail(STATUS.INVALID_PARAMETERS);
        else {
          this.eventMask = p.readBigUInt64LE(0);
          r = ok();
        }
        break;
      case OP.SET_EVENT_MASK_PAGE_2:
        r = needLen(8) ? ok() : fail(STATUS.INVALID_PARAMETERS);
        break;
      case OP.RESET:
        this.reset();
        r = ok();
        break;
      case OP.READ_LE_HOST_SUPPORTED:
        r = ok(1, 0);
        break;
      case OP.WRITE_LE_HOST_SUPPORTED:
        r = needLen(2) ? ok() : fail(STATUS.INVALID_PARAMETERS);
        break;
      case OP.READ_LOCAL_VERSION: {
        const v = Buffer.alloc(8);
        v[0] = HCI_VERSION;
        v.writeUInt16LE(0, 1);
        v[3] = HCI_VERSION; // LMP/LL version
        v.writeUInt16LE(MANUFACTURER, 4);
        v.writeUInt16LE(0, 6);
        r = ok(v);
        break;
      }
      case OP.READ_LOCAL_COMMANDS:
        r = ok(supportedCommands());
        break;
      case OP.READ_LOCAL_FEATURES: {
        const f = new Uint8Array(8);
        f[4] = 0x60; // bit 37 BR/EDR Not Supported, bit 38 LE Supported (Controller)
        r = ok(f);
        break;
      }
      case OP.READ_BUFFER_SIZE: {
        const v = Buffer.alloc(7);
        v.writeUInt16LE(ACL_BUFFER_LEN, 0);
        v[2] = 0;
        v.writeUInt16LE(ACL_BUFFER_COUNT, 3);
        v.writeUInt16LE(0, 5);
        r = ok(v);
        break;
      }
      case OP.READ_BD_ADDR:
        r = ok(addressToWire(this.address));
        break;
      case OP.READ_RSSI: {
        if (!needLen(2)) {
          r = fail(STATUS.INVALID_PARAMETERS);
          break;
        }
        const handle = p.readUInt16LE(0);
        const c = this.conns.get(handle);
        const v = Buffer.alloc(3);
        v.writeUInt16LE(handle, 0);
        v.writeInt8(c ? c.rssi : 0, 2);
        r = { complete: status(c ? STATUS.SUCCESS : STATUS.UNKNOWN_CONNECTION_ID, v) };
        break;
      }
      case OP.LE_SET_EVENT_MASK:
        if (!needLen(8)) r = fail(STATUS.INVALID_PARAMETERS);
        else {
          this.leEventMask = p.readBigUInt64LE(0);
          r = ok();
        }
        break;
      case OP.LE_READ_BUFFER_SIZE: {
        const v = Buffer.alloc(3);
        v.writeUInt16LE(ACL_BUFFER_LEN, 0);
        v[2] = ACL_BUFFER_COUNT;
        r = ok(v);
        break;
      }
      case OP.LE_READ_LOCAL_FEATURES: {
        const f = new Uint8Array(8);
        f[0] = 0x01; // LE Encryption
        r = ok(f);
        break;
      }
      case OP.LE_READ_SUPPORTED_STATES:
        r = ok(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x03, 0x00, 0x00]));
        break;
      case OP.LE_READ_WHITE_LIST_SIZE:
        r = ok(0);
        break;
      case OP.LE_SET_RANDOM_ADDRESS:
        if (!needLen(6)) r = fail(STATUS.INVALID_PARAMETERS);
        else if (this.advEnabled || this.scanEnabled || this.initiating) r = fail(STATUS.COMMAND_DISALLOWED);
        else {
          this.randomAddress = addressFromWire(p);
          r = ok();
        }
        break;
      case OP.LE_SET_ADV_PARAMS:
        r = this.setAdvParams(p);
        break;
      case OP.LE_READ_ADV_TX_POWER:
        r = ok(0);
        break;
      case OP.LE_SET_ADV_DATA:
      case OP.LE_SET_SCAN_RSP_DATA: {
        const n = p[0] ?? 0;
        if (!needLen(32) || n > 31) {
          r = fail(STATUS.INVALID_PARAMETERS);
          break;
        }
        const data = new Uint8Array(p.subarray(1, 1 + n));
        if (op === OP.LE_SET_ADV_DATA) this.adv.data = data;
        else this.adv.scanRsp = data;
        this.publishAdv();
        r = ok();
        break;
      }
      case OP.LE_SET_ADV_ENABLE:
        r = this.setAdvEnable(p);
        break;
      case OP.LE_SET_SCAN_PARAMS:
        if (!needLen(7) || (p[0] ?? 2) > 1 || (p[5] ?? 4) > 3) r = fail(STATUS.INVALID_PARAMETERS);
        else if (this.scanEnabled) r = fail(STATUS.COMMAND_DISALLOWED);
        else {
          this.scanParams = { active: p[0] === 1, ownType: p[5] ?? 0 };
          r = ok();
        }
        break;
      case OP.LE_SET_SCAN_ENABLE:
        r = this.setScanEnable(p);
        break;
      case OP.LE_CREATE_CONN:
        r = this.createConnection(p);
        break;
      case OP.LE_CREATE_CONN_CANCEL:
        if (!this.initiating || this.initiating.cancelled) r = fail(STATUS.COMMAND_DISALLOWED);
        else {
          this.initiating.cancelled = true;
          this.port.send({ t: 'cancel' });
          r = ok();
        }
        break;
      case OP.LE_CONN_UPDATE:
        r = this.connectionUpdate(p);
        break;
      case OP.DISCONNECT: {
        if (!needLen(3)) {
          r = { status: STATUS.INVALID_PARAMETERS };
          break;
        }
        const c = this.conns.get(p.readUInt16LE(0));
        const reason = p[2] ?? 0;
        if (!c) r = { status: STATUS.UNKNOWN_CONNECTION_ID };
        else if (!DISCONNECT_REASONS.has(reason)) r = { status: STATUS.INVALID_PARAMETERS };
        else {
          this.answer(op, { status: STATUS.SUCCESS });
          this.dropTx(c);
          this.port.send({ t: 'disconnect', link: c.link, reason });
          return;
        }
        break;
      }
      case OP.LE_ENCRYPT: {
        if (!needLen(32)) {
          r = fail(STATUS.INVALID_PARAMETERS);
          break;
        }
        // Key and plaintext are given least significant octet first.
        const key = Buffer.from(p.subarray(0, 16)).reverse();
        const plain = Buffer.from(p.subarray(16, 32)).reverse();
        const c = crypto.createCipheriv('aes-128-ecb', key, null);
        c.setAutoPadding(false);
        r = ok(Buffer.concat([c.update(plain), c.final()]).reverse());
        break;
      }
      case OP.LE_RAND: {
        const v = new Uint8Array(8);
        for (let i = 0; i < 8; i++) v[i] = Math.floor(this.opts.random() * 256);
        r = ok(v);
        break;
      }
      case OP.LE_START_ENCRYPTION:
        r = this.startEncryption(p);
        break;
      case OP.LE_LTK_REPLY:
      case OP.LE_LTK_NEG_REPLY:
        r = this.ltkReply(op, p);
        break;
      case OP.LE_SET_DEFAULT_PHY:
        r = needLen(3) ? ok() : fail(STATUS.INVALID_PARAMETERS);
        break;
      default:
        // Never silence: an opcode this controller does not emulate gets Unknown HCI Command.
        this.stats.unknownCommands++;
        r = { status: STATUS.UNKNOWN_COMMAND };
    }
    this.answer(op, r);
  }

  private setAdvParams(p: Buffer): Result {
    if (p.length !== 15) return { complete: status(STATUS.INVALID_PARAMETERS) };
    if (this.advEnabled) return { complete: status(STATUS.COMMAND_DISALLOWED) };
    const min = p.readUInt16LE(0);
    const max = p.readUInt16LE(2);
    const advType = p[4] ?? 0;
    const ownType = p[5] ?? 0;
    const channels = p[13] ?? 0;
    const directed = advType === 0x01;
    const badInterval = !directed && (min < 0x20 || max > 0x4000 || min > max);
    if (badInterval || advType > 4 || ownType > 3 || (channels & 0x07) === 0 || (p[14] ?? 0) > 3)
      return { complete: status(STATUS.INVALID_PARAMETERS) };
    this.adv.intervalMs = max * 0.625;
    this.adv.advType = advType;
    this.adv.ownType = ownType;
    return { complete: status(STATUS.SUCCESS) };
  }

  private setAdvEnable(p: Buffer): Result {
    if (p.length !== 1 || (p[0] ?? 2) > 1) return { complete: status(STATUS.INVALID_PARAMETERS) };
    const on = p[0] === 1;
    if (on && (this.adv.ownType & 1) === 1 && this.randomAddress === null)
      return { complete: status(STATUS.INVALID_PARAMETERS) };
    // A peripheral that is already connected cannot accept another connection in this model.
    if (on && [0, 1, 4].includes(this.adv.advType) && [...this.conns.values()].some((c) => c.role === 1))
      return { complete: status(STATUS.COMMAND_DISALLOWED) };
    this.advEnabled = on;
    this.publishAdv();
    return { complete: status(STATUS.SUCCESS) };
  }

  private ownAddress(ownType: number): { address: string; type: AddressType } {
    if ((ownType & 1) === 1 && this.randomAddress) return { address: this.randomAddress, type: 1 };
    return { address: this.address, type: 0 };
  }

  private publishAdv(): void {
    if (!this.advEnabled) {
      this.port.send({ t: 'adv', adv: null });
      return;
    }
    const own = this.ownAddress(this.adv.ownType);
    this.port.send({
      t: 'adv',
      adv: {
        address: own.address,
        addressType: own.type,
        advType: this.adv.advType,
        data: this.adv.data,
        scanRsp: this.adv.scanRsp,
        intervalMs: this.adv.intervalMs,
      },
    });
  }

  private setScanEnable(p: Buffer): Result {
    if (p.length !== 2 || (p[0] ?? 2) > 1 || (p[1] ?? 2) > 1)
      return { complete: status(STATUS.INVALID_PARAMETERS) };
    const on = p[0] === 1;
    if (on && !this.scanEnabled) this.seen.clear();
    this.scanEnabled = on;
    this.filterDuplicates = p[1] === 1;
    this.port.send({
      t: 'scan',
      scan: on ? { active: this.scanParams.active, filterDuplicates: this.filterDuplicates } : null,
    });
    return { complete: status(STATUS.SUCCESS) };
  }

  private createConnection(p: Buffer): Result {
    if (p.length !== 25) return { status: STATUS.INVALID_PARAMETERS };
    if (this.initiating) return { status: STATUS.COMMAND_DISALLOWED };
    const policy = p[4] ?? 0;
    const peerType = p[5] ?? 0;
    const ownType = p[12] ?? 0;
    const min = p.readUInt16LE(13);
    const max = p.readUInt16LE(15);
    const latency = p.readUInt16LE(17);
    const timeout = p.readUInt16LE(19);
    if (policy !== 0) return { status: UNSUPPORTED_FEATURE }; // no white list in this model
    if (peerType > 3 || ownType > 3) return { status: STATUS.INVALID_PARAMETERS };
    if (min < 6 || max > 3200 || min > max || latency > 499 || timeout < 10 || timeout > 3200)
      return { status: STATUS.INVALID_PARAMETERS };
    if (timeout * 10 <= (1 + latency) * max * 1.25 * 2) return { status: STATUS.INVALID_PARAMETERS };
    const peer = addressFromWire(p, 6);
    const pt: AddressType = (peerType & 1) === 1 ? 1 : 0;
    if ([...this.conns.values()].some((c) => c.peer === peer && c.peerType === pt))
      return { status: STATUS.CONNECTION_ALREADY_EXISTS };
    const own = this.ownAddress(ownType);
    this.initiating = { peer, peerType: pt, cancelled: false };
    this.answer(OP.LE_CREATE_CONN, { status: STATUS.SUCCESS });
    this.port.send({
      t: 'connect',
      peer,
      peerType: pt,
      own: own.address,
      ownType: own.type,
      params: { intervalMs: max * 1.25, latency, supervisionTimeoutMs: timeout * 10 },
    });
    return ANSWERED;
  }

  private connectionUpdate(p: Buffer): Result {
    if (p.length !== 14) return { status: STATUS.INVALID_PARAMETERS };
    const c = this.conns.get(p.readUInt16LE(0));
    if (!c) return { status: STATUS.UNKNOWN_CONNECTION_ID };
    if (c.role !== 0) return { status: STATUS.COMMAND_DISALLOWED };
    const min = p.readUInt16LE(2);
    const max = p.readUInt16LE(4);
    const latency = p.readUInt16LE(6);
    const timeout = p.readUInt16LE(8);
    if (min < 6 || max > 3200 || min > max || latency > 499 || timeout < 10 || timeout > 3200)
      return { status: STATUS.INVALID_PARAMETERS };
    this.answer(OP.LE_CONN_UPDATE, { status: STATUS.SUCCESS });
    this.port.send({
      t: 'connUpdate',
      link: c.link,
      params: { intervalMs: max * 1.25, latency, supervisionTimeoutMs: timeout * 10 },
    });
    return ANSWERED;
  }

  private startEncryption(p: Buffer): Result {
    if (p.length !== 28) return { status: STATUS.INVALID_PARAMETERS };
    const c = this.conns.get(p.readUInt16LE(0));
    if (!c) return { status: STATUS.UNKNOWN_CONNECTION_ID };
    if (c.role !== 0) return { status: STATUS.COMMAND_DISALLOWED };
    this.answer(OP.LE_START_ENCRYPTION, { status: STATUS.SUCCESS });
    this.port.send({
      t: 'enc',
      link: c.link,
      rand: new Uint8Array(p.subarray(2, 10)),
      ediv: p.readUInt16LE(10),
      ltk: new Uint8Array(p.subarray(12, 28)),
    });
    return ANSWERED;
  }

  private ltkReply(op: number, p: Buffer): Result {
    const len = op === OP.LE_LTK_REPLY ? 18 : 2;
    if (p.length !== len) return { complete: status(STATUS.INVALID_PARAMETERS, 0, 0) };
    const handle = p.readUInt16LE(0);
    const c = this.conns.get(handle);
    const h = [handle & 0xff, handle >> 8];
    if (!c || !c.pendingLtk)
      return { complete: status(c ? STATUS.COMMAND_DISALLOWED : STATUS.UNKNOWN_CONNECTION_ID, ...h) };
    const expected = c.pendingLtk;
    c.pendingLtk = null;
    let s: number = STATUS.PIN_OR_KEY_MISSING;
    if (op === OP.LE_LTK_REPLY)
      s = keysEqual(p.subarray(2, 18), expected) ? STATUS.SUCCESS : STATUS.MIC_FAILURE;
    this.port.send({ t: 'encReply', link: c.link, status: s });
    return { complete: status(STATUS.SUCCESS, ...h) };
  }

  private reset(): void {
    for (const c of this.conns.values()) {
      this.dropTx(c);
      this.ghostLinks.add(c.link);
      this.port.send({ t: 'disconnect', link: c.link, reason: STATUS.CONNECTION_TIMEOUT, lost: true });
    }
    this.conns.clear();
    this.byLink.clear();
    if (this.initiating) this.port.send({ t: 'cancel' });
    this.initiating = null;
    if (this.advEnabled) this.port.send({ t: 'adv', adv: null });
    if (this.scanEnabled) this.port.send({ t: 'scan', scan: null });
    this.advEnabled = false;
    this.scanEnabled = false;
    this.eventMask = DEFAULT_EVENT_MASK;
    this.leEventMask = DEFAULT_LE_EVENT_MASK;
    this.randomAddress = null;
    this.adv = {
      intervalMs: 1280,
      advType: 0,
      ownType: 0,
      data: new Uint8Array(0),
      scanRsp: new Uint8Array(0),
    };
    this.scanParams = { active: false, ownType: 0 };
    this.queue = [];
    this.nocp = null;
  }

  // ---- ACL ------------------------------------------------------------------------------------------

  private aclFromHost(handle: number, pb: number, data: Uint8Array): void {
    const c = this.conns.get(handle);
    if (!c || c.lost || pb === 0b11) {
      this.stats.droppedAcl++;
      return;
    }
    this.stats.aclIn++;
    const start = pb !== 0b01; // 0b00 first non-flushable, 0b10 first flushable
    const f = this.faults;
    const timed = (f.packetDelayMs ?? 0) > 0 || f.connectionInterval === true || (f.packetLoss ?? 0) > 0;
    if (!timed && c.tx.length === 0) {
      this.transmit(c, start, data);
      return;
    }
    c.tx.push({ at: this.transmitTime(c), start, data });
    if (c.txTimer === null) this.scheduleTx(c);
  }

  /** When the packet gets through: next connection event, plus delay, plus a retry per lost attempt. */
  private transmitTime(c: Conn): number {
    const f = this.faults;
    const now = this.opts.timers.now();
    const interval = c.params.intervalMs;
    let at = Math.max(now + (f.packetDelayMs ?? 0), c.lastTxAt);
    if (f.connectionInterval) at = c.anchor + Math.ceil((at - c.anchor) / interval) * interval;
    const firstAttempt = at;
    const loss = f.packetLoss ?? 0;
    while (loss > 0 && this.opts.random() < loss) {
      at += interval;
      if (at - firstAttempt >= c.params.supervisionTimeoutMs) return Number.POSITIVE_INFINITY;
    }
    c.lastTxAt = at;
    return at;
  }

  private scheduleTx(c: Conn): void {
    const head = c.tx[0];
    if (!head) return;
    const now = this.opts.timers.now();
    if (head.at === Number.POSITIVE_INFINITY) {
      // Nothing gets through any more: the link is lost once the supervision timeout has passed.
      c.txTimer = this.opts.timers.setTimeout(() => this.linkLost(c), c.params.supervisionTimeoutMs);
      return;
    }
    c.txTimer = this.opts.timers.setTimeout(
      () => {
        c.txTimer = null;
        const t = this.opts.timers.now();
        while (c.tx.length > 0 && (c.tx[0]?.at ?? Infinity) <= t) {
          const item = c.tx.shift();
          if (item) this.transmit(c, item.start, item.data);
        }
        if (c.tx.length > 0 && !c.lost) this.scheduleTx(c);
      },
      Math.max(0, head.at - now),
    );
  }

  private linkLost(c: Conn): void {
    if (c.lost || !this.conns.has(c.handle)) return;
    c.lost = true;
    this.dropTx(c);
    this.port.send({ t: 'disconnect', link: c.link, reason: STATUS.CONNECTION_TIMEOUT, lost: true });
  }

  private dropTx(c: Conn): void {
    this.opts.timers.clearTimeout(c.txTimer);
    c.txTimer = null;
    c.tx = [];
  }

  private transmit(c: Conn, start: boolean, data: Uint8Array): void {
    this.port.send({ t: 'acl', link: c.link, start, data });
    this.stats.aclOut++;
    // The packet left the controller's buffer: tell the host (coalesced per flush).
    if (!this.nocp) {
      this.nocp = new Map();
      this.enqueue({ nocp: this.nocp });
    }
    this.nocp.set(c.handle, (this.nocp.get(c.handle) ?? 0) + 1);
  }

  // ---- medium -> controller --------------------------------------------------------------------------

  private fromMedium(m: DownMsg): void {
    if (this.closed) return;
    switch (m.t) {
      case 'report':
        this.report(m.address, m.addressType, m.evt, m.data, m.rssi);
        return;
      case 'connected':
        this.connected(m);
        return;
      case 'connectFailed': {
        const init = this.initiating;
        this.initiating = null;
        this.leConnComplete(m.status, 0, 0, init?.peerType ?? 0, init?.peer ?? '00:00:00:00:00:00', null);
        return;
      }
      case 'acl': {
        const c = this.byLink.get(m.link);
        if (!c || c.lost) return;
        const pkt = Buffer.alloc(5 + m.data.length);
        pkt[0] = PKT_ACL;
        // Packet boundary as a controller delivers it: 0b10 first (automatically flushable), 0b01 continuation.
        pkt.writeUInt16LE(c.handle | ((m.start ? 0b10 : 0b01) << 12), 1);
        pkt.writeUInt16LE(m.data.length, 3);
        pkt.set(m.data, 5);
        this.enqueue(pkt);
        return;
      }
      case 'disconnected':
        this.disconnected(m.link, m.reason);
        return;
      case 'encRequest':
        this.encRequest(m.link, m.rand, m.ediv, m.ltk);
        return;
      case 'encChanged': {
        const c = this.byLink.get(m.link);
        if (!c) return;
        if (m.status === STATUS.SUCCESS) c.encrypted = m.enabled;
        const ev = Buffer.alloc(4);
        ev[0] = m.status;
        ev.writeUInt16LE(c.handle, 1);
        ev[3] = c.encrypted ? 1 : 0;
        this.event(EVT.ENCRYPT_CHANGE, ev);
        return;
      }
      case 'connUpdated': {
        const c = this.byLink.get(m.link);
        if (!c) return;
        c.params = m.params;
        const ev = Buffer.alloc(10);
        ev[0] = LE_EVT.CONN_UPDATE_COMPLETE;
        ev[1] = STATUS.SUCCESS;
        ev.writeUInt16LE(c.handle, 2);
        ev.writeUInt16LE(Math.round(m.params.intervalMs / 1.25), 4);
        ev.writeUInt16LE(m.params.latency, 6);
        ev.writeUInt16LE(Math.round(m.params.supervisionTimeoutMs / 10), 8);
        this.leEvent(LE_EVT.CONN_UPDATE_COMPLETE, ev);
        return;
      }
      case 'rssi': {
        const c = this.byLink.get(m.link);
        if (c) c.rssi = m.rssi;
        return;
      }
    }
  }

  private report(
    address: string,
    addressType: AddressType,
    evt: number,
    data: Uint8Array,
    rssi: number,
  ): void {
    if (!this.scanEnabled) return;
    if (this.filterDuplicates) {
      const key = `${address}/${addressType}/${evt}/${hex(data)}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
    }
    const ev = Buffer.alloc(12 + data.length);
    ev[0] = LE_EVT.ADV_REPORT;
    ev[1] = 1; // one report
    ev[2] = evt;
    ev[3] = addressType;
    ev.set(addressToWire(address), 4);
    ev[10] = data.length;
    ev.set(data, 11);
    ev.writeInt8(rssi, 11 + data.length);
    this.leEvent(LE_EVT.ADV_REPORT, ev);
  }

  private connected(m: Extract<DownMsg, { t: 'connected' }>): void {
    if (m.role === 0) {
      const init = this.initiating;
      this.initiating = null;
      if (!init || init.cancelled) {
        // The host cancelled (and was told so) but the connection had already happened on the air.
        this.ghostLinks.add(m.link);
        this.port.send({ t: 'disconnect', link: m.link, reason: STATUS.REMOTE_USER_TERMINATED });
        if (init) this.leConnComplete(STATUS.UNKNOWN_CONNECTION_ID, 0, 0, init.peerType, init.peer, null);
        return;
      }
    } else {
      this.advEnabled = false; // connectable advertising ends when a connection is made
    }
    const handle = this.allocHandle();
    const now = this.opts.timers.now();
    const c: Conn = {
      handle,
      link: m.link,
      role: m.role,
      peer: m.peer,
      peerType: m.peerType,
      params: m.params,
      rssi: m.rssi,
      encrypted: false,
      pendingLtk: null,
      tx: [],
      txTimer: null,
      lastTxAt: now,
      anchor: now,
      lost: false,
    };
    this.conns.set(handle, c);
    this.byLink.set(m.link, c);
    this.leConnComplete(STATUS.SUCCESS, handle, m.role, m.peerType, m.peer, m.params);
  }

  private allocHandle(): number {
    for (;;) {
      const h = this.nextHandle;
      this.nextHandle = h >= 0x0eff ? 1 : h + 1;
      if (!this.conns.has(h)) return h;
    }
  }

  private leConnComplete(
    st: number,
    handle: number,
    role: number,
    peerType: number,
    peer: string,
    params: ConnParams | null,
  ): void {
    const ev = Buffer.alloc(19);
    ev[0] = LE_EVT.CONN_COMPLETE;
    ev[1] = st;
    ev.writeUInt16LE(handle, 2);
    ev[4] = role;
    ev[5] = peerType;
    ev.set(addressToWire(peer), 6);
    ev.writeUInt16LE(params ? Math.round(params.intervalMs / 1.25) : 0, 12);
    ev.writeUInt16LE(params ? params.latency : 0, 14);
    ev.writeUInt16LE(params ? Math.round(params.supervisionTimeoutMs / 10) : 0, 16);
    ev[18] = 0; // central clock accuracy: 500 ppm
    this.leEvent(LE_EVT.CONN_COMPLETE, ev);
  }

  private disconnected(link: number, reason: number): void {
    if (this.ghostLinks.delete(link)) return;
    const c = this.byLink.get(link);
    if (!c) return;
    const report = (): void => {
      if (this.conns.get(c.handle) !== c) return;
      this.dropTx(c);
      this.conns.delete(c.handle);
      this.byLink.delete(link);
      const ev = Buffer.alloc(4);
      ev[0] = STATUS.SUCCESS;
      ev.writeUInt16LE(c.handle, 1);
      ev[3] = reason;
      this.event(EVT.DISCONN_COMPLETE, ev);
    };
    // A peer that vanished is noticed only when the supervision timeout expires (when timing is modelled).
    if (reason === STATUS.CONNECTION_TIMEOUT && this.faults.connectionInterval && !c.lost) {
      c.lost = true;
      this.dropTx(c);
      this.opts.timers.setTimeout(report, c.params.supervisionTimeoutMs);
    } else {
      report();
    }
  }

  private encRequest(link: number, rand: Uint8Array, ediv: number, ltk: Uint8Array): void {
    const c = this.byLink.get(link);
    if (!c) return;
    const keys = this.opts.keys;
    const req = Buffer.alloc(13);
    req[0] = LE_EVT.LTK_REQUEST;
    req.writeUInt16LE(c.handle, 1);
    req.set(rand, 3);
    req.writeUInt16LE(ediv, 11);
    this.leEvent(LE_EVT.LTK_REQUEST, req);
    if (!keys.active) {
      c.pendingLtk = ltk; // the host answers with LE LTK Request (Negative) Reply
      return;
    }
    // As on Linux: the kernel answers from the keys loaded over the management socket, and a raw socket
    // sees the Command Complete of the kernel's reply.
    const found = keys.find(c.peer, ediv, rand);
    const h = [c.handle & 0xff, c.handle >> 8];
    this.answer(found ? OP.LE_LTK_REPLY : OP.LE_LTK_NEG_REPLY, { complete: status(STATUS.SUCCESS, ...h) });
    const s = !found
      ? STATUS.PIN_OR_KEY_MISSING
      : keysEqual(found.key, ltk)
        ? STATUS.SUCCESS
        : STATUS.MIC_FAILURE;
    this.port.send({ t: 'encReply', link, status: s });
  }

  // ---- events to the host -----------------------------------------------------------------------

  private event(code: number, params: Uint8Array): void {
    const bit = EVENT_MASK_BIT.get(code);
    if (bit !== undefined && ((this.eventMask >> BigInt(bit)) & 1n) === 0n) return;
    const pkt = new Uint8Array(3 + params.length);
    pkt[0] = PKT_EVENT;
    pkt[1] = code;
    pkt[2] = params.length;
    pkt.set(params, 3);
    this.enqueue(pkt);
  }

  private leEvent(sub: number, params: Uint8Array): void {
    if (((this.leEventMask >> BigInt(sub - 1)) & 1n) === 0n) return;
    this.event(EVT.LE_META, params);
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    const items = this.queue;
    this.queue = [];
    for (const item of items) {
      if (this.closed) return;
      let pkt: Uint8Array;
      if (item instanceof Uint8Array) pkt = item;
      else {
        if (this.nocp === item.nocp) this.nocp = null;
        pkt = nocpEvent(item.nocp);
      }
      this.opts.trace?.record(true, pkt);
      this.opts.toHost(pkt);
    }
  }
}

function status(s: number, ...rest: number[] | [Uint8Array]): Uint8Array {
  const first = rest[0];
  if (first instanceof Uint8Array) {
    const out = new Uint8Array(1 + first.length);
    out[0] = s;
    out.set(first, 1);
    return out;
  }
  return new Uint8Array([s, ...(rest as number[])]);
}

function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function nocpEvent(counts: Map<number, number>): Uint8Array {
  const entries = [...counts.entries()];
  const pkt = Buffer.alloc(4 + entries.length * 4);
  pkt[0] = PKT_EVENT;
  pkt[1] = EVT.NUM_COMPLETED_PACKETS;
  pkt[2] = 1 + entries.length * 4;
  pkt[3] = entries.length;
  entries.forEach(([handle, n], i) => {
    pkt.writeUInt16LE(handle, 4 + i * 4);
    pkt.writeUInt16LE(n, 6 + i * 4);
  });
  return pkt;
}

/** Read Local Supported Commands: the bits of the commands emulated here (Vol 4, Part E, 6.27). */
function supportedCommands(): Uint8Array {
  const bits: Array<[number, number]> = [
    [0, 5], // Disconnect
    [5, 6], // Set Event Mask
    [5, 7], // Reset
    [14, 3], // Read Local Version Information
    [14, 5], // Read Local Supported Features
    [14, 7], // Read Buffer Size
    [15, 1], // Read BD_ADDR
    [15, 5], // Read RSSI
    [22, 2], // Set Event Mask Page 2
    [24, 5], // Read LE Host Support
    [24, 6], // Write LE Host Support
    [25, 0], // LE Set Event Mask
    [25, 1], // LE Read Buffer Size
    [25, 2], // LE Read Local Supported Features
    [25, 4], // LE Set Random Address
    [25, 5], // LE Set Advertising Parameters
    [25, 6], // LE Read Advertising Channel TX Power
    [25, 7], // LE Set Advertising Data
    [26, 0], // LE Set Scan Response Data
    [26, 1], // LE Set Advertise Enable
    [26, 2], // LE Set Scan Parameters
    [26, 3], // LE Set Scan Enable
    [26, 4], // LE Create Connection
    [26, 5], // LE Create Connection Cancel
    [26, 6], // LE Read White List Size
    [27, 2], // LE Connection Update
    [27, 6], // LE Encrypt
    [27, 7], // LE Rand
    [28, 0], // LE Start Encryption
    [28, 1], // LE Long Term Key Request Reply
    [28, 2], // LE Long Term Key Request Negative Reply
    [28, 3], // LE Read Supported States
    [35, 5], // LE Set Default PHY
  ];
  const out = new Uint8Array(64);
  for (const [octet, bit] of bits) out[octet] = (out[octet] ?? 0) | (1 << bit);
  return out;
}
