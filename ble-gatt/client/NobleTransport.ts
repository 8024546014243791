// The noble adapter: scan for keyway locks, connect, discover, subscribe, read and write, each with a
// deadline and a clear error (noble swallows ATT errors: a failed read resolves empty and a failed write
// never settles, so a timeout is the only way to notice). noble is passed in (the virtual radio's
// loadNoble(), or require('@abandonware/noble') with a real adapter).
import type * as NobleModule from '@abandonware/noble';
import type { Characteristic, Peripheral } from '@abandonware/noble';
import { KeywayError } from '../../firmware/index.ts';
import { matchesRotatingId, parseManufacturerData } from '../server/Advertising.ts';
import { RX_CHAR_UUID, SERVICE_UUID, STATUS_CHAR_UUID, TX_CHAR_UUID, uuidNoDashes } from '../uuids.ts';
import type { PhoneTransport } from './PhoneSession.ts';

export type Noble = typeof NobleModule;

export class NobleError extends KeywayError {
  constructor(
    readonly operation: string,
    message: string,
  ) {
    super('protocol', `bluetooth ${operation}: ${message}`);
    this.name = 'NobleError';
  }
}

export function within<T>(p: Promise<T>, ms: number, operation: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new NobleError(operation, `no answer within ${ms} ms`)), ms);
    }),
  ]).catch((err: unknown) => {
    if (err instanceof NobleError) throw err;
    throw new NobleError(operation, err instanceof Error ? err.message : String(err));
  });
}

/** A keyway lock seen while scanning. */
export interface FoundLock {
  address: string;
  rssi: number;
  setup: boolean;
  rid: Uint8Array;
  peripheral: Peripheral;
}

const SERVICE = uuidNoDashes(SERVICE_UUID);

async function poweredOn(noble: Noble, ms: number): Promise<void> {
  if ((noble as unknown as { state: string }).state === 'poweredOn') return;
  await within(
    new Promise<void>((resolve, reject) => {
      const check = (s: string): void => {
        if (s === 'poweredOn') resolve();
        else if (s === 'unsupported' || s === 'unauthorized') reject(new Error(`adapter ${s}`));
        else noble.once('stateChange', check);
      };
      noble.once('stateChange', check);
    }),
    ms,
    'power on',
  );
}

/** Scans for `ms` and returns every keyway lock heard (strongest first). Stops early when `until` says so. */
export async function scanLocks(
  noble: Noble,
  opts: { ms?: number; until?: (found: FoundLock) => boolean; timeoutMs?: number } = {},
): Promise<FoundLock[]> {
  const timeout = opts.timeoutMs ?? 5000;
  await poweredOn(noble, timeout);
  const found = new Map<string, FoundLock>();
  let stop: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const onDiscover = (p: Peripheral): void => {
    const m = parseManufacturerData(p.advertisement.manufacturerData);
    if (m === null || !p.advertisement.serviceUuids.includes(SERVICE)) return;
    const f: FoundLock = { address: p.address, rssi: p.rssi, setup: m.setup, rid: m.rid, peripheral: p };
    found.set(p.address, f);
    if (opts.until?.(f) === true) stop();
  };
  noble.on('discover', onDiscover);
  try {
    await within(noble.startScanningAsync([SERVICE], true), timeout, 'start scanning');
    const t = setTimeout(stop, opts.ms ?? 2000);
    await done;
    clearTimeout(t);
  } finally {
    noble.removeListener('discover', onDiscover);
    await within(noble.stopScanningAsync(), timeout, 'stop scanning').catch(() => undefined);
  }
  return [...found.values()].sort((a, b) => b.rssi - a.rssi);
}

/** Picks the lock whose rotating identifier matches `lockKey`, else the only claimed one heard. */
export function pickLock(found: FoundLock[], lockKey: Uint8Array, now = Date.now()): FoundLock | null {
  const mine = found.find((f) => !f.setup && matchesRotatingId(lockKey, f.rid, now));
  if (mine !== undefined) return mine;
  const claimed = found.filter((f) => !f.setup);
  return claimed.length === 1 ? claimed[0]! : null;
}

export class NobleTransport implements PhoneTransport {
  #fragmentListener: ((f: Uint8Array) => void) | null = null;
  #closeListener: ((why: string) => void) | null = null;
  #closed = false;
  /** GATT operations that waited for an answer (reads, writes with response). */
  roundTrips = 0;
  readonly stats = { writes: 0, notifications: 0, bytesOut: 0, bytesIn: 0 };

  private constructor(
    readonly peripheral: Peripheral,
    private readonly status: Characteristic,
    private readonly rx: Characteristic,
    private readonly tx: Characteristic,
    private readonly timeoutMs: number,
    private readonly withResponse: boolean,
  ) {}

  /** Connects, discovers the keyway service and subscribes to its notifications. */
  static async connect(
    peripheral: Peripheral,
    opts: { timeoutMs?: number; withResponse?: boolean } = {},
  ): Promise<NobleTransport> {
    const ms = opts.timeoutMs ?? 5000;
    await within(peripheral.connectAsync(), ms, `connect to ${peripheral.address}`);
    try {
      const { characteristics } = await within(
        peripheral.discoverSomeServicesAndCharacteristicsAsync(
          [SERVICE],
          [STATUS_CHAR_UUID, RX_CHAR_UUID, TX_CHAR_UUID].map(uuidNoDashes),
        ),
        ms,
        'discover the keyway service',
      );
      const by = (u: string): Characteristic => {
        const c = characteristics.find((x) => x.uuid === uuidNoDashes(u));
        if (c === undefined) throw new NobleError('discover', `the lock has no characteristic ${u}`);
        return c;
      };
      const t = new NobleTransport(
        peripheral,
        by(STATUS_CHAR_UUID),
        by(RX_CHAR_UUID),
        by(TX_CHAR_UUID),
        ms,
        opts.withResponse === true,
      );
      t.tx.on('data', (d: Buffer) => {
        t.stats.notifications += 1;
        t.stats.bytesIn += d.length;
        if (!t.#closed) t.#fragmentListener?.(new Uint8Array(d));
      });
      peripheral.once('disconnect', () => t.#end('the lock disconnected'));
      await within(t.tx.subscribeAsync(), ms, 'subscribe to notifications');
      return t;
    } catch (err) {
      await within(peripheral.disconnectAsync(), ms, 'disconnect').catch(() => undefined);
      throw err;
    }
  }

  get mtu(): number {
    const m = this.peripheral.mtu;
    return typeof m === 'number' && m >= 23 ? Math.min(m, 517) : 23;
  }

  async readStatus(): Promise<Uint8Array> {
    this.#live();
    this.roundTrips += 1;
    const v = await within(this.status.readAsync(), this.timeoutMs, 'read status');
    if (v.length === 0) throw new NobleError('read status', 'the lock returned nothing (ATT error?)');
    this.stats.bytesIn += v.length;
    return new Uint8Array(v);
  }

  async write(f: Uint8Array): Promise<void> {
    this.#live();
    this.stats.writes += 1;
    this.stats.bytesOut += f.length;
    if (this.withResponse) this.roundTrips += 1;
    await within(this.rx.writeAsync(Buffer.from(f), !this.withResponse), this.timeoutMs, 'write');
  }

  onFragment(listener: (f: Uint8Array) => void): void {
    this.#fragmentListener = listener;
  }

  onClose(listener: (why: string) => void): void {
    this.#closeListener = listener;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#end('closed by the phone');
    await within(this.peripheral.disconnectAsync(), this.timeoutMs, 'disconnect').catch(() => undefined);
  }

  #live(): void {
    if (this.#closed) throw new NobleError('link', 'not connected');
  }

  #end(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeListener?.(why);
  }
}
