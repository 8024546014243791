// A process's connection to a hub, seen by its controllers as a Medium. It is usable at once: frames
// written before the connection is up are queued, so bleno and noble can be required synchronously.
// If the hub goes away, every link of this process is reported lost (0x08) and the radio goes down
// (isDevUp() turns false, so the hosts report poweredOff).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KeywayError } from '../../firmware/errors.ts';
import { FrameReader, PROTOCOL_VERSION, encodeFrame } from './Frame.ts';
import type { Wire } from './Frame.ts';
import type { HubStatus } from './Hub.ts';
import { defaultHubAddress, parseHubAddress } from './HubAddress.ts';
import type { DownMsg, Medium, MediumDevice, MediumPort, RadioInfo } from './Medium.ts';
import { deviceId, parseDown } from './Protocol.ts';

export interface HubClientOptions {
  /** Start a hub (a detached process that exits when idle) if none answers at the address. */
  autoStart?: boolean;
  /** How long to keep trying to reach an auto-started hub. */
  connectTimeoutMs?: number;
  /** Called once if the hub cannot be reached or goes away. */
  onDown?: (err: Error) => void;
}

interface Dev {
  device: MediumDevice;
  links: Set<number>;
}

export class HubClient implements Medium {
  private socket: net.Socket | null = null;
  private pending: Buffer[] = [];
  private out: Buffer[] = [];
  private scheduled = false;
  private readonly devices = new Map<number, Dev>();
  private nextDev = 1;
  private downErr: Error | null = null;
  private closed = false;
  private statusWaiters: Array<(s: HubStatus) => void> = [];
  readonly ready: Promise<void>;

  constructor(
    readonly address: string,
    private readonly opts: HubClientOptions = {},
  ) {
    this.ready = this.open();
    this.ready.catch(() => undefined); // failures are reported through onDown and `up`
    this.write({ t: 'hello', v: PROTOCOL_VERSION, pid: process.pid });
  }

  get up(): boolean {
    return this.downErr === null && !this.closed;
  }

  attach(device: MediumDevice, info: RadioInfo): MediumPort {
    const d = this.nextDev++;
    this.devices.set(d, { device, links: new Set() });
    this.write({ t: 'attach', d, info });
    return {
      send: (msg) => {
        if (this.devices.has(d)) this.write({ ...msg, t: `u:${msg.t}`, d });
      },
      detach: () => {
        if (this.devices.delete(d)) this.write({ t: 'detach', d });
      },
    };
  }

  async status(): Promise<HubStatus> {
    await this.ready;
    if (!this.up || !this.socket)
      throw this.downErr ?? new KeywayError('not_found', `no radio hub at ${this.address}`);
    const socket = this.socket;
    socket.ref(); // an answer is awaited: stay alive for it
    try {
      return await new Promise<HubStatus>((resolve) => {
        this.statusWaiters.push(resolve);
        this.write({ t: 'status?' });
      });
    } finally {
      socket.unref();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const s = this.socket;
    if (!s || s.destroyed) return;
    this.flushNow();
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.ref(); // keep the process alive until the goodbye is out
      s.end();
      setTimeout(() => s.destroy(), 500).unref();
    });
  }

  private write(msg: Wire): void {
    if (this.closed || this.downErr) return;
    this.out.push(encodeFrame(msg));
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flushNow());
  }

  private flushNow(): void {
    this.scheduled = false;
    if (this.out.length === 0) return;
    const batch = this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out);
    this.out = [];
    if (this.socket && !this.socket.connecting) this.socket.write(batch);
    else this.pending.push(batch);
  }

  private async open(): Promise<void> {
    let socket: net.Socket;
    try {
      socket = await connectOnce(this.address);
    } catch (err) {
      if (!this.opts.autoStart) return this.down(unreachable(this.address, err));
      try {
        spawnHub(this.address);
        socket = await retryConnect(this.address, this.opts.connectTimeoutMs ?? 5000);
      } catch (err2) {
        return this.down(unreachable(this.address, err2));
      }
    }
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay?.(true);
    socket.unref(); // the radio adds no liveness of its own: bleno/noble (or the program) decide
    this.socket = socket;
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const m of reader.push(chunk)) this.onMessage(m);
      } catch (err) {
        socket.destroy();
        this.down(err as Error);
      }
    });
    socket.on('error', (err) =>
      this.down(new KeywayError('protocol', `hub connection failed: ${err.message}`)),
    );
    socket.on('close', () =>
      this.down(new KeywayError('protocol', `the radio hub at ${this.address} went away`)),
    );
    for (const b of this.pending) socket.write(b);
    this.pending = [];
  }

  private onMessage(m: Wire): void {
    if (m.t === 'welcome') return;
    if (m.t === 'error') throw new KeywayError('protocol', `hub refused: ${String(m.message)}`);
    if (m.t === 'status') {
      const w = this.statusWaiters.shift();
      w?.(m.status as HubStatus);
      return;
    }
    if (!m.t.startsWith('d:')) throw new KeywayError('protocol', `unknown hub message '${m.t}'`);
    const dev = this.devices.get(deviceId(m));
    if (!dev) return; // detached meanwhile
    const msg: DownMsg = parseDown(m.t.slice(2), m);
    if (msg.t === 'connected') dev.links.add(msg.link);
    if (msg.t === 'disconnected') dev.links.delete(msg.link);
    dev.device.deliver(msg);
  }

  private down(err: Error): void {
    if (this.downErr || this.closed) return;
    this.downErr = err;
    // Everything this process was linked to is gone: the controllers see supervision timeouts.
    for (const dev of this.devices.values())
      for (const link of dev.links) dev.device.deliver({ t: 'disconnected', link, reason: 0x08 });
    this.opts.onDown?.(err);
  }
}

function unreachable(address: string, err: unknown): KeywayError {
  const detail = err instanceof Error ? err.message : String(err);
  return new KeywayError(
    'not_found',
    `no radio hub answers at ${address} (${detail}); start one with 'keyway radio hub'`,
  );
}

export function connectOnce(address: string): Promise<net.Socket> {
  const ep = parseHubAddress(address);
  return new Promise((resolve, reject) => {
    const s = ep.kind === 'unix' ? net.connect(ep.path) : net.connect(ep.port, ep.host);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function retryConnect(address: string, timeoutMs: number): Promise<net.Socket> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connectOnce(address);
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A detached hub process that outlives this one and exits after 5 s without clients. */
function spawnHub(address: string): void {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, path.join(here, 'hubMain.ts'), address, '5000'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  child.unref();
}

export { defaultHubAddress };
