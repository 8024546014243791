// The lock's radio side: the virtual radio (or a real adapter), bleno on it, and the GATT service in
// front of the engine. Activity (connections, commands) is reported for the panel and the logs.
import { installVirtualRadio, type RadioHandle, type RadioMode } from '../radio/index.ts';
import type { Logger } from './Logger.ts';
import type { LockRuntime } from './LockRuntime.ts';

export interface BleActivity {
  /** Wall-clock ms. */
  time: number;
  kind: 'radio' | 'connect' | 'disconnect' | 'command' | 'claim';
  address?: string;
  text: string;
}

export interface BleEndpoint {
  phones(): Array<{ address: string; since: number; user?: string }>;
  state(): string;
  stop(): Promise<void>;
}

export interface BleOptions {
  runtime: LockRuntime;
  radio: RadioMode;
  name: string;
  hub?: string;
  trace?: string;
  log: Logger;
  onActivity: (a: BleActivity) => void;
}

export async function startBle(options: BleOptions): Promise<BleEndpoint> {
  const { log } = options;
  const virtual = options.radio === 'virtual';
  const radio: RadioHandle = installVirtualRadio({
    radio: options.radio,
    name: `lock ${options.name}`.slice(0, 64),
    ...(virtual ? { hub: options.hub ?? process.env.KEYWAY_RADIO_HUB ?? 'auto' } : {}),
    ...(virtual && options.trace !== undefined ? { trace: options.trace } : {}),
  });
  try {
    await radio.ready;
  } catch (err) {
    await radio.close();
    throw err;
  }
  const where = radio.hubAddress ?? (virtual ? 'in-process air' : options.radio);
  log.info('radio up', {
    radio: options.radio,
    hub: where,
    ...(options.trace ? { trace: options.trace } : {}),
  });
  options.onActivity({ time: Date.now(), kind: 'radio', text: `radio ${options.radio} (${where})` });
  const gatt = await startGattService(options, radio);
  let state = gatt === null ? 'radio up; GATT service not built in yet' : 'advertising';
  return {
    phones: () => gatt?.phones() ?? [],
    state: () => gatt?.state() ?? state,
    stop: async () => {
      state = 'stopped';
      await gatt?.stop();
      await radio.close();
    },
  };
}

interface GattHandle {
  phones(): Array<{ address: string; since: number; user?: string }>;
  state(): string;
  stop(): Promise<void>;
}

/** Wires the GATT service (ble-gatt/server) to bleno and the engine. */
async function startGattService(options: BleOptions, radio: RadioHandle): Promise<GattHandle | null> {
  void radio;
  options.log.warn(
    'the BLE GATT service is not available in this build: the lock is on the air but not serving',
  );
  return Promise.resolve(null);
}
