// The lock's radio side: the virtual radio (or a real adapter), bleno on it, and the GATT service in
// front of the engine. Activity (connections, commands) is reported for the panel and the logs.
import { LockGattService } from '../../ble-gatt/server/LockGattService.ts';
import { LockService, type ServiceEvent } from '../../ble-gatt/server/LockService.ts';
import { CryptoRandom } from '../clock/index.ts';
import { installVirtualRadio, type RadioHandle, type RadioMode } from '../radio/index.ts';
import type { Logger } from './Logger.ts';
import type { LockRuntime } from './LockRuntime.ts';
import { loadOrCreateNoiseKey } from './NoiseKey.ts';

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
  let gatt: GattHandle;
  try {
    gatt = await startGattService(options, radio);
  } catch (err) {
    await radio.close();
    throw err;
  }
  return {
    phones: () => gatt.phones(),
    state: () => gatt.state(),
    stop: async () => {
      try {
        await gatt.stop();
      } finally {
        await radio.close();
      }
    },
  };
}

interface GattHandle {
  phones(): Array<{ address: string; since: number; user?: string }>;
  state(): string;
  stop(): Promise<void>;
}

/** Wires the lock's BLE service (ble-gatt/server) to bleno on this radio and to the engine. */
async function startGattService(options: BleOptions, radio: RadioHandle): Promise<GattHandle> {
  const { runtime, log, onActivity } = options;
  const random = new CryptoRandom();
  const staticKey = loadOrCreateNoiseKey(runtime.dataDir, random);
  const bleno = radio.loadBleno();
  let gatt: LockGattService | null = null;
  const activity = (kind: BleActivity['kind'], text: string, address?: string): void =>
    onActivity({ time: Date.now(), kind, text, ...(address === undefined ? {} : { address }) });
  const service = new LockService({
    lock: runtime.lock,
    staticKey,
    random,
    // Protocol timeouts run on real time, whatever --speed does to the lock's clock.
    clock: { monotonic: () => performance.now() },
    setupCode: () => runtime.currentSetupCode(),
    presence: () => runtime.presence.active(),
    onClaimed: (owner) => {
      runtime.presence.close();
      log.info('claimed over Bluetooth', { owner: runtime.lock.getUser(owner)?.name ?? `#${owner}` });
      activity('claim', `claimed: owner ${runtime.lock.getUser(owner)?.name ?? `#${owner}`}`);
      gatt?.refreshAdvertising();
    },
    onFactoryReset: () => {
      log.warn('factory reset over Bluetooth: the lock is unclaimed again');
      activity('claim', 'factory reset by the owner');
      gatt?.refreshAdvertising();
    },
    onEvent: (e) => {
      const line = describeServiceEvent(e);
      if (line === null) return;
      log.debug(line.text, { session: e.session });
      if (line.show) activity(e.kind === 'claim' ? 'claim' : 'command', line.text);
    },
  });
  gatt = await LockGattService.start({
    bleno,
    service,
    time: () => runtime.lock.status().time,
    onActivity: (a) => {
      log.info(a.kind === 'connect' ? 'phone connected' : 'phone disconnected', { address: a.address });
      activity(a.kind, `${a.kind === 'connect' ? 'connected' : 'disconnected'} ${a.address}`, a.address);
    },
  });
  // bleno (once started) has a SIGINT handler that calls process.exit(1) when it is the last one; the lock
  // process shuts itself down on SIGINT (radio, control socket, store), so that handler must not cut it short.
  for (const l of process.listeners('SIGINT'))
    if (l.name === 'bound onSigInt') process.removeListener('SIGINT', l);
  log.info('GATT service up: advertising', { setupMode: runtime.lock.status().setupMode });
  const g = gatt;
  return {
    phones: () => g.phones(),
    state: () => g.state(),
    stop: () => g.stop(),
  };
}

/** A line for the panel and the debug log (no secrets: events carry none). */
function describeServiceEvent(e: ServiceEvent): { text: string; show: boolean } | null {
  switch (e.kind) {
    case 'connect':
      return e.refused === undefined ? null : { text: `connection refused (${e.refused})`, show: true };
    case 'established':
      return { text: `session ${e.session}: ${e.pattern} handshake done`, show: false };
    case 'proof':
      return {
        text: `session ${e.session}: ${e.role}${e.user === null ? '' : ` #${e.user}`} proved an eKey`,
        show: true,
      };
    case 'proof_refused':
      return { text: `session ${e.session}: eKey refused (${e.reason})`, show: true };
    case 'command':
      return { text: `${e.cmd} ${e.ok ? 'ok' : `refused (${e.code ?? 'error'})`}`, show: true };
    case 'claim':
      return { text: e.ok ? 'claim accepted' : `claim refused (${e.reason ?? 'failed'})`, show: true };
    case 'close':
      return { text: `session ${e.session} closed: ${e.why}`, show: false };
  }
}
