// Everything a lock process needs to serve BLE in one call: its Noise static key (kept in the data
// directory), the LockService over the engine and the bleno GATT service. Used by `keyway lock`
// (sim/product/BleWiring.ts) and the end-to-end tests' lock process.
import fs from 'node:fs';
import path from 'node:path';
import { KeywayError, type Lock, type Random } from '../../firmware/index.ts';
import type { MonotonicClock } from '../Framing.ts';
import { keyPairFromPrivate, type KeyPair } from '../noise/cryptoFunctions.ts';
import type { LockServiceLimits } from './limits.ts';
import { LockGattService, type Bleno } from './LockGattService.ts';
import { LockService, type ServiceEvent } from './LockService.ts';

/** Same file and format as `keyway lock` (sim/product/NoiseKey.ts): 64 hex digits, mode 0600. */
export const NOISE_KEY_FILE = 'noise.key';

/** The lock's Noise static key: <dataDir>/noise.key, made on first use. */
export function loadOrCreateLockNoiseKey(dataDir: string, random: Random): KeyPair {
  const file = path.join(dataDir, NOISE_KEY_FILE);
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new KeywayError('store_corrupt', `${file} does not hold a key`);
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    return keyPairFromPrivate(new Uint8Array(Buffer.from(text, 'hex')));
  }
  const key = random.bytes(32);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${Buffer.from(key).toString('hex')}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return keyPairFromPrivate(key);
}

export interface LockBleOptions {
  bleno: Bleno;
  lock: Lock;
  dataDir: string;
  random: Random;
  setupCode: () => string | null;
  presence: () => boolean;
  onClaimed?: (owner: number) => void;
  onFactoryReset?: () => void;
  onEvent?: (e: ServiceEvent) => void;
  onActivity?: (a: { kind: 'connect' | 'disconnect'; address: string }) => void;
  clock?: MonotonicClock;
  limits?: Partial<LockServiceLimits>;
  pbkdfCost?: { N: number; r: number; p: number };
}

export interface LockBle {
  service: LockService;
  gatt: LockGattService;
  stop(): Promise<void>;
}

export async function startLockBle(o: LockBleOptions): Promise<LockBle> {
  const service = new LockService({
    lock: o.lock,
    staticKey: loadOrCreateLockNoiseKey(o.dataDir, o.random),
    random: o.random,
    clock: o.clock ?? { monotonic: () => performance.now() },
    setupCode: o.setupCode,
    presence: o.presence,
    ...(o.onClaimed === undefined ? {} : { onClaimed: o.onClaimed }),
    // The advertised setup flag follows on the next disconnect (LockGattService re-advertises then).
    ...(o.onFactoryReset === undefined ? {} : { onFactoryReset: o.onFactoryReset }),
    ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
    ...(o.limits === undefined ? {} : { limits: o.limits }),
    ...(o.pbkdfCost === undefined ? {} : { pbkdfCost: o.pbkdfCost }),
  });
  const gatt: LockGattService = await LockGattService.start({
    bleno: o.bleno,
    service,
    time: () => o.lock.status().time,
    ...(o.onActivity === undefined ? {} : { onActivity: o.onActivity }),
  });
  return {
    service,
    gatt,
    stop: async () => {
      service.closeAll(null, 'lock stopping');
      await gatt.stop();
    },
  };
}
