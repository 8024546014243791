// The bleno adapter: the keyway primary service (status read, rx write / write without response, tx
// notify; ble-gatt/uuids.ts), advertising per Advertising.ts, and one LockSession per connection. Thin:
// every protocol decision is in LockSession. bleno is a process singleton (one lock per process); it is
// passed in (the virtual radio's loadBleno(), or require('@abandonware/bleno') on real hardware).
import type BlenoModule from '@abandonware/bleno';
import { KeywayError } from '../../firmware/index.ts';
import { RX_CHAR_UUID, SERVICE_UUID, STATUS_CHAR_UUID, TX_CHAR_UUID, uuidNoDashes } from '../uuids.ts';
import { advertisingData, ridEpoch, rotatingId, RID_LENGTH, scanResponseData } from './Advertising.ts';
import type { LockService } from './LockService.ts';
import type { LockSession } from './LockSession.ts';

export type Bleno = typeof BlenoModule;

export interface LockGattOptions {
  bleno: Bleno;
  service: LockService;
  /** The lock's time (ms) for the rotating identifier; null when unknown. */
  time: () => number | null;
  /** How often timeouts are checked (ms of real time). */
  sweepMs?: number;
  /** Deadline for bleno to power on, set services and start advertising. */
  startTimeoutMs?: number;
  onActivity?: (a: { kind: 'connect' | 'disconnect'; address: string }) => void;
}

interface Connection {
  address: string;
  since: number;
  session: LockSession;
  notify: ((b: Buffer) => void) | null;
  /** The status value being read (long reads come back with offsets). */
  status: Buffer | null;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(
        () => reject(new KeywayError('protocol', `bleno: ${what} did not finish within ${ms} ms`)),
        ms,
      );
    }),
  ]);
}

export class LockGattService {
  #conn: Connection | null = null;
  #sweep: NodeJS.Timeout | null = null;
  #rotate: NodeJS.Timeout | null = null;
  #state = 'starting';
  #epoch: number | null = null;
  #setup: boolean | null = null;
  readonly #listeners: Array<[string, (...a: never[]) => void]> = [];
  /** Bytes and operations seen (for the benchmark). */
  readonly stats = { writes: 0, notifications: 0, reads: 0, bytesIn: 0, bytesOut: 0 };

  private constructor(private readonly o: LockGattOptions) {}

  static async start(o: LockGattOptions): Promise<LockGattService> {
    const g = new LockGattService(o);
    await g.#start();
    return g;
  }

  /** The phone connected now (bleno serves one connection at a time). */
  phones(): Array<{ address: string; since: number; user?: string }> {
    const c = this.#conn;
    if (c === null) return [];
    const p = c.session.principal;
    return [{ address: c.address, since: c.since, ...(p?.user != null ? { user: `#${p.user}` } : {}) }];
  }

  state(): string {
    return this.#conn === null ? this.#state : `connected (${this.#conn.address})`;
  }

  /** Re-advertises if the setup flag or the identifier's epoch changed. */
  refreshAdvertising(force = false): void {
    const setup = this.o.service.lock.status().setupMode;
    const time = this.o.time();
    const epoch = time === null ? -1 : ridEpoch(time);
    if (!force && setup === this.#setup && epoch === this.#epoch) return;
    this.#setup = setup;
    this.#epoch = epoch;
    const rid =
      setup || time === null
        ? this.o.service.options.random.bytes(RID_LENGTH)
        : rotatingId(this.o.service.options.staticKey.publicKey, epoch);
    this.o.bleno.startAdvertisingWithEIRData(
      Buffer.from(advertisingData()),
      Buffer.from(scanResponseData(setup, rid)),
    );
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    if (this.#sweep !== null) clearInterval(this.#sweep);
    if (this.#rotate !== null) clearInterval(this.#rotate);
    this.#sweep = this.#rotate = null;
    const bleno = this.o.bleno;
    this.#conn?.session.abort(null, 'service stopped');
    this.#conn = null;
    for (const [event, fn] of this.#listeners) bleno.removeListener(event, fn as never);
    this.#listeners.length = 0;
    await within(
      new Promise<void>((resolve) => bleno.stopAdvertising(() => resolve())),
      2000,
      'stopAdvertising',
    ).catch(() => undefined);
  }

  async #start(): Promise<void> {
    const { bleno } = this.o;
    const limit = this.o.startTimeoutMs ?? 10_000;
    const on = <A extends unknown[]>(event: string, fn: (...a: A) => void): void => {
      bleno.on(event as 'accept', fn as never);
      this.#listeners.push([event, fn as never]);
    };
    if (bleno.state !== 'poweredOn') {
      await within(
        new Promise<void>((resolve, reject) => {
          const check = (s: string): void => {
            if (s === 'poweredOn') resolve();
            else if (s === 'unsupported' || s === 'unauthorized')
              reject(new KeywayError('protocol', `adapter ${s}`));
            else bleno.once('stateChange', check);
          };
          bleno.once('stateChange', check);
        }),
        limit,
        'power on',
      );
    }
    const { Characteristic, PrimaryService } = bleno;
    const status = new Characteristic({
      uuid: uuidNoDashes(STATUS_CHAR_UUID),
      properties: ['read'],
      onReadRequest: (offset, cb) => {
        const c = this.#conn;
        if (c === null) return cb(Characteristic.RESULT_UNLIKELY_ERROR);
        // A read at 0 takes the current value; Read Blob continues the same value.
        if (offset === 0 || c.status === null) c.status = Buffer.from(c.session.readStatus());
        if (offset > c.status.length) return cb(Characteristic.RESULT_INVALID_OFFSET);
        this.stats.reads += 1;
        cb(Characteristic.RESULT_SUCCESS, c.status.subarray(offset));
      },
    });
    const rx = new Characteristic({
      uuid: uuidNoDashes(RX_CHAR_UUID),
      properties: ['write', 'writeWithoutResponse'],
      onWriteRequest: (data, offset, _withoutResponse, cb) => {
        const c = this.#conn;
        if (c === null) return cb(Characteristic.RESULT_UNLIKELY_ERROR);
        if (offset !== 0) return cb(Characteristic.RESULT_ATTR_NOT_LONG);
        this.stats.writes += 1;
        this.stats.bytesIn += data.length;
        cb(Characteristic.RESULT_SUCCESS);
        c.session.receive(new Uint8Array(data));
      },
    });
    const tx = new Characteristic({
      uuid: uuidNoDashes(TX_CHAR_UUID),
      properties: ['notify'],
      onSubscribe: (maxValueSize, update) => {
        const c = this.#conn;
        if (c === null) return;
        c.notify = update;
        // bleno truncates notifications longer than MTU - 3 without a word: fragment to what it allows.
        c.session.setMtu(Math.min(maxValueSize + 3, bleno.mtu ?? 23));
      },
      onUnsubscribe: () => {
        if (this.#conn !== null) this.#conn.notify = null;
      },
    });
    on('accept', (address: string) => this.#accept(address));
    on('disconnect', (address: string) => this.#disconnect(address));
    on('mtuChange', (mtu: number) => this.#conn?.session.setMtu(mtu));
    await within(
      new Promise<void>((resolve, reject) =>
        bleno.setServices(
          [
            new PrimaryService({
              uuid: uuidNoDashes(SERVICE_UUID),
              characteristics: [status, rx, tx],
            }),
          ],
          (err) => (err ? reject(err) : resolve()),
        ),
      ),
      limit,
      'setServices',
    );
    this.refreshAdvertising(true);
    this.#state = 'advertising';
    const sweepMs = this.o.sweepMs ?? 500;
    this.#sweep = setInterval(() => this.o.service.sweep(), sweepMs);
    this.#sweep.unref();
    this.#rotate = setInterval(() => {
      if (this.#conn === null) this.refreshAdvertising();
    }, 5_000);
    this.#rotate.unref();
  }

  #accept(address: string): void {
    const bleno = this.o.bleno;
    this.#conn?.session.closed();
    const conn: Connection = {
      address,
      since: Date.now(),
      notify: null,
      status: null,
      session: undefined as unknown as LockSession,
    };
    this.#conn = conn;
    conn.session = this.o.service.connect({
      send: (f) => {
        if (conn.notify === null) return; // the phone must subscribe before it writes (docs/protocol.md)
        this.stats.notifications += 1;
        this.stats.bytesOut += f.length;
        conn.notify(Buffer.from(f));
      },
      disconnect: () => {
        // Let the alert notification leave before the link drops.
        setImmediate(() => {
          if (this.#conn === conn) bleno.disconnect();
        });
      },
    });
    conn.session.setMtu(bleno.mtu ?? 23);
    this.o.onActivity?.({ kind: 'connect', address });
  }

  #disconnect(address: string): void {
    const c = this.#conn;
    if (c === null) return;
    this.#conn = null;
    c.session.closed();
    this.o.onActivity?.({ kind: 'disconnect', address });
    // bleno advertises again by itself after a disconnect; refresh in case the state changed meanwhile.
    if (this.#state === 'advertising') this.refreshAdvertising();
  }
}
