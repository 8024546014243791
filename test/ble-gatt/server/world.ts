// A lock (real engine, real SQLite in a temp dir, fake clock) behind a LockService, and phones that talk
// to it through in-memory links: the pure LockSession <-> PhoneSession pair with nothing faked but time
// and randomness.
import { keyPairFromSeed } from '../../../firmware/index.ts';
import { keyPairFromPrivate } from '../../../ble-gatt/noise/cryptoFunctions.ts';
import { MemoryPhoneStore, Phone } from '../../../ble-gatt/client/Phone.ts';
import { MemoryTransport, type MemoryTransportOptions } from '../../../ble-gatt/client/MemoryTransport.ts';
import { LockService, type ServiceEvent } from '../../../ble-gatt/server/LockService.ts';
import type { LockServiceLimits } from '../../../ble-gatt/server/limits.ts';
import { cleanup, startLock, type Fixture } from '../../helpers/lockFixture.ts';
import { SeededRandom } from '../../helpers/SeededRandom.ts';

export const SETUP_CODE = '24681357';
export const CHEAP_PBKDF = { N: 1 << 10, r: 8, p: 1 };

export interface World {
  f: Fixture;
  service: LockService;
  events: ServiceEvent[];
  /** Physical presence at the lock (keypad code or inside button within the window). */
  presence: boolean;
  phone(name: string): Phone;
  link(opts?: MemoryTransportOptions): MemoryTransport;
  close(): void;
}

export function makeWorld(
  opts: { limits?: Partial<LockServiceLimits>; seed?: string; time?: number | null } = {},
): World {
  const f = startLock(opts.time === undefined ? {} : { time: opts.time });
  const random = new SeededRandom(opts.seed ?? `world-${f.dir}`);
  const events: ServiceEvent[] = [];
  const w: World = {
    f,
    events,
    presence: false,
    service: undefined as unknown as LockService,
    phone(name) {
      const r = new SeededRandom(`${name}-${f.dir}`);
      const seed = r.bytes(32);
      const store = new MemoryPhoneStore(keyPairFromPrivate(r.bytes(32)), keyPairFromSeed(seed), seed);
      return new Phone(store, r, { timeoutMs: 2000 });
    },
    link(o) {
      return new MemoryTransport(w.service, o);
    },
    close() {
      w.service.closeAll(null, 'test end');
      cleanup(f);
    },
  };
  w.service = new LockService({
    lock: f.lock,
    staticKey: keyPairFromPrivate(random.bytes(32)),
    random,
    clock: f.clock,
    setupCode: () => (f.lock.status().setupMode ? SETUP_CODE : null),
    presence: () => w.presence,
    onClaimed: () => {
      w.presence = false;
    },
    onEvent: (e) => events.push(e),
    pbkdfCost: CHEAP_PBKDF,
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
  });
  return w;
}
