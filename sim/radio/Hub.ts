// The hub: one Air shared by controllers in several processes on this machine. Each client process
// opens one stream connection and attaches any number of devices (controllers) over it. When a client's
// connection closes (the process exited or was killed) its devices leave the air and their peers see
// a supervision timeout, exactly as if the other radio had gone silent.
import fs from 'node:fs';
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { KeywayError } from '../../firmware/errors.ts';
import type { AirDeviceStatus, AirOptions } from './Air.ts';
import { Air } from './Air.ts';
import { FrameReader, PROTOCOL_VERSION, encodeFrame } from './Frame.ts';
import type { Wire } from './Frame.ts';
import { parseHubAddress } from './HubAddress.ts';
import type { MediumPort } from './Medium.ts';
import { deviceId, parseRadioInfo, parseUp } from './Protocol.ts';

export interface HubOptions extends AirOptions {
  /** Unix socket path or tcp:127.0.0.1:PORT. */
  address: string;
  /** Exit-worthy idleness: emit 'idle' once no client has been connected for this long. */
  idleMs?: number;
}

export interface HubStatus {
  address: string;
  pid: number;
  clients: number;
  links: number;
  devices: AirDeviceStatus[];
}

class ClientConn {
  readonly ports = new Map<number, MediumPort>();
  private out: Buffer[] = [];
  private scheduled = false;
  private readonly reader = new FrameReader();
  helloed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly hub: Hub,
  ) {
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.hub.dropClient(this));
  }

  send(msg: Wire): void {
    if (this.socket.destroyed) return;
    this.out.push(encodeFrame(msg));
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const batch = this.out;
      this.out = [];
      if (!this.socket.destroyed)
        this.socket.write(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch));
    });
  }

  private onData(chunk: Buffer): void {
    try {
      for (const m of this.reader.push(chunk)) this.onMessage(m);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.send({ t: 'error', message });
      queueMicrotask(() => this.socket.end());
      this.socket.pause();
      this.hub.dropClient(this);
    }
  }

  private onMessage(m: Wire): void {
    if (!this.helloed) {
      if (m.t !== 'hello') throw new KeywayError('protocol', `expected hello, got '${m.t}'`);
      if (m.v !== PROTOCOL_VERSION)
        throw new KeywayError(
          'protocol',
          `hub speaks protocol ${PROTOCOL_VERSION}, client sent ${String(m.v)}`,
        );
      this.helloed = true;
      this.send({ t: 'welcome', v: PROTOCOL_VERSION, pid: process.pid });
      return;
    }
    if (m.t === 'status?') {
      this.send({ t: 'status', status: this.hub.status() });
      return;
    }
    if (m.t === 'attach') {
      const d = deviceId(m);
      if (this.ports.has(d)) throw new KeywayError('protocol', `device ${d} attached twice`);
      const info = parseRadioInfo(m.info);
      const port = this.hub.air.attach({ deliver: (msg) => this.send({ ...msg, t: `d:${msg.t}`, d }) }, info);
      this.ports.set(d, port);
      return;
    }
    if (m.t === 'detach') {
      const d = deviceId(m);
      this.ports.get(d)?.detach();
      this.ports.delete(d);
      return;
    }
    if (m.t.startsWith('u:')) {
      const d = deviceId(m);
      const port = this.ports.get(d);
      if (!port) throw new KeywayError('protocol', `device ${d} is not attached`);
      port.send(parseUp(m.t.slice(2), m));
      return;
    }
    throw new KeywayError('protocol', `unknown message '${m.t}'`);
  }
}

export class Hub extends EventEmitter {
  readonly air: Air;
  private readonly clients = new Set<ClientConn>();
  private idleTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly address: string,
    private readonly server: net.Server,
    private readonly opts: HubOptions,
  ) {
    super();
    this.air = new Air(opts);
  }

  /** Starts listening. Fails with code 'duplicate' if a live hub already answers at that address. */
  static async start(opts: HubOptions): Promise<Hub> {
    const ep = parseHubAddress(opts.address);
    if (ep.kind === 'unix' && fs.existsSync(ep.path)) {
      if (await answers(ep.path))
        throw new KeywayError('duplicate', `a radio hub is already running at ${ep.path}`);
      fs.rmSync(ep.path, { force: true }); // stale socket left by a killed hub
    }
    const server = net.createServer();
    server.on('connection', (s) => hub?.accept(s));
    let hub: Hub | null = null;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new KeywayError('duplicate', `a radio hub is already running at ${opts.address}`)
            : new KeywayError('invalid_argument', `cannot listen at ${opts.address}: ${err.message}`, {
                cause: err,
              }),
        );
      });
      if (ep.kind === 'unix') server.listen(ep.path, resolve);
      else server.listen(ep.port, ep.host, resolve);
    });
    const bound = server.address();
    const address =
      ep.kind === 'unix' || bound === null || typeof bound === 'string'
        ? ep.kind === 'unix'
          ? ep.path
          : opts.address
        : `tcp:${ep.host}:${bound.port}`;
    const created = new Hub(address, server, opts);
    hub = created;
    created.armIdle();
    return created;
  }

  status(): HubStatus {
    return {
      address: this.address,
      pid: process.pid,
      clients: this.clients.size,
      links: this.air.linkCount,
      devices: this.air.status(),
    };
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const c of this.clients) c.socket.destroy();
    this.clients.clear();
    await this.air.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const c = new ClientConn(socket, this);
    this.clients.add(c);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** @internal called by a client connection when it ends, cleanly or not. */
  dropClient(c: ClientConn): void {
    for (const port of c.ports.values()) port.detach();
    c.ports.clear();
    if (this.clients.delete(c)) this.armIdle();
  }

  private armIdle(): void {
    const ms = this.opts.idleMs;
    if (ms === undefined || this.clients.size > 0) return;
    this.idleTimer = setTimeout(() => this.emit('idle'), ms);
  }
}

/** Whether something accepts connections on this Unix socket path. */
export function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
