// A drop-in for `@abandonware/bluetooth-hci-socket`: the same EventEmitter API, but instead of a kernel
// socket each bound HCI socket gets its own emulated LE controller on the virtual radio, and a
// management (control) socket talks to the process's emulated kernel key store.
import { EventEmitter } from 'node:events';
import type { Controller } from './Controller.ts';
import { EVT, PKT_EVENT } from './Hci.ts';
import { currentRuntime } from './Runtime.ts';
import type { RadioRuntime } from './Runtime.ts';

export interface HciDevice {
  devId: number | null;
  devUp: boolean | null;
  idVendor: number | null;
  idProduct: number | null;
  busNumber: number | null;
  deviceAddress: number | null;
}

interface Filter {
  typeMask: number;
  eventMask0: number;
  eventMask1: number;
  opcode: number;
}

const live = new Set<VirtualHciSocket>();

/** Every virtual socket created in this process and not yet closed. */
export function liveSockets(): ReadonlySet<VirtualHciSocket> {
  return live;
}

function socketError(message: string, code: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(message);
  e.code = code;
  return e;
}

export class VirtualHciSocket extends EventEmitter {
  private mode: 'raw' | 'user' | 'control' | null = null;
  private runtime: RadioRuntime | null = null;
  private controllerRef: Controller | null = null;
  private running = false;
  private held: Uint8Array[] = [];
  private filter: Filter | null = null;
  private closed = false;
  private devId = 0;

  constructor() {
    super();
    live.add(this);
  }

  /** The emulated controller behind this socket (null for a management socket or before binding). */
  get controller(): Controller | null {
    return this.controllerRef;
  }

  bindRaw(devId?: number): number {
    return this.bindHci('raw', devId);
  }

  bindUser(devId?: number): number {
    return this.bindHci('user', devId);
  }

  bindControl(): void {
    this.ensureUnbound();
    this.mode = 'control';
    this.runtime = currentRuntime();
    this.runtime.keys.active = true;
  }

  private bindHci(mode: 'raw' | 'user', devId?: number): number {
    this.ensureUnbound();
    if (devId !== undefined && devId !== null && (!Number.isInteger(devId) || devId < 0 || devId > 0xfffe))
      throw socketError(`bind: invalid device id ${String(devId)}`, 'EINVAL');
    this.mode = mode;
    this.devId = devId ?? 0;
    this.runtime = currentRuntime();
    this.controllerRef = this.runtime.newController((pkt) => this.toHost(pkt));
    return this.devId;
  }

  private ensureUnbound(): void {
    if (this.closed) throw socketError('socket closed', 'EBADF');
    if (this.mode !== null) throw socketError('bind: socket already bound', 'EINVAL');
  }

  start(): void {
    if (this.closed) return;
    this.running = true;
    const held = this.held;
    this.held = [];
    for (const p of held) this.emitData(p);
  }

  /** Stops delivering (packets wait, as they would in the kernel's socket buffer) until start(). */
  stop(): void {
    this.running = false;
  }

  /** Linux `struct hci_filter`: u32 type mask, u32[2] event mask, u16 opcode. */
  setFilter(filter: Uint8Array): void {
    if (filter.length < 14) {
      this.emitError(
        socketError(`setsockopt: filter of ${filter.length} bytes (expected 14 or more)`, 'EINVAL'),
      );
      return;
    }
    const b = Buffer.from(filter.buffer, filter.byteOffset, filter.byteLength);
    this.filter = {
      typeMask: b.readUInt32LE(0),
      eventMask0: b.readUInt32LE(4),
      eventMask1: b.readUInt32LE(8),
      opcode: b.readUInt16LE(12),
    };
  }

  write(data: Uint8Array): void {
    if (this.closed) return; // written after close (e.g. a host's exit handler): dropped
    if (!(data instanceof Uint8Array)) {
      this.emitError(socketError('write: expected a Buffer', 'EINVAL'));
      return;
    }
    if (this.mode === 'control') {
      const reply = this.runtime?.keys.command(data);
      if (reply) setImmediate(() => this.deliver(reply));
      return;
    }
    if (!this.controllerRef) {
      this.emitError(socketError('write: socket is not bound', 'ENOTCONN'));
      return;
    }
    const err = this.controllerRef.fromHost(new Uint8Array(data));
    if (err) this.emitError(socketError(`write: ${err}`, 'EINVAL'));
  }

  isDevUp(): boolean {
    if (this.closed || this.mode === null) return false;
    return this.runtime?.config.medium.up ?? false;
  }

  getDeviceList(): HciDevice[] {
    const up = !this.closed && (this.runtime ?? currentRuntime()).config.medium.up;
    return [{ devId: 0, devUp: up, idVendor: null, idProduct: null, busNumber: null, deviceAddress: null }];
  }

  reset(): void {
    // USB transport only in the native module; nothing to reset here.
  }

  cleanup(): void {
    // The native module prunes half-open kernel connections; there are none here.
  }

  /** Ends this socket for good: its controller leaves the air (peers see a supervision timeout). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    this.held = [];
    this.controllerRef?.close();
    live.delete(this);
  }

  private toHost(pkt: Uint8Array): void {
    if (this.closed || !this.passes(pkt)) return;
    this.deliver(pkt);
  }

  private deliver(pkt: Uint8Array): void {
    if (this.closed) return;
    if (this.running) this.emitData(pkt);
    else this.held.push(pkt);
  }

  private emitData(pkt: Uint8Array): void {
    this.emit('data', Buffer.from(pkt.buffer, pkt.byteOffset, pkt.byteLength));
  }

  /** The raw channel's filter, as Linux applies it; the user channel is unfiltered. */
  private passes(pkt: Uint8Array): boolean {
    const f = this.filter;
    if (this.mode !== 'raw' || !f) return true;
    const type = pkt[0] ?? 0;
    if (((f.typeMask >>> (type & 31)) & 1) === 0) return false;
    if (type !== PKT_EVENT) return true;
    const code = pkt[1] ?? 0;
    const word = code < 32 ? f.eventMask0 : f.eventMask1;
    if (((word >>> (code & 31)) & 1) === 0) return false;
    if (f.opcode !== 0) {
      const op =
        code === EVT.CMD_COMPLETE
          ? (pkt[4] ?? 0) | ((pkt[5] ?? 0) << 8)
          : code === EVT.CMD_STATUS
            ? (pkt[5] ?? 0) | ((pkt[6] ?? 0) << 8)
            : -1;
      if (op !== -1 && op !== f.opcode) return false;
    }
    return true;
  }

  private emitError(err: NodeJS.ErrnoException): void {
    setImmediate(() => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }
}
