// The virtual radio's public API. Typical use (see docs/radio.md):
//
//   const radio = installVirtualRadio({ hub: 'in-process' });   // before bleno/noble are required
//   const bleno = radio.loadBleno();                            // or createRequire(...)('@abandonware/bleno')
//   const noble = radio.loadNoble();
//   ...
//   await radio.close();                                        // ends bleno/noble; the process can exit
import type BlenoModule from '@abandonware/bleno';
import type * as NobleModule from '@abandonware/noble';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { KeywayError } from '../../firmware/errors.ts';
import { Air } from './Air.ts';
import type { RadioFaults } from './Faults.ts';
import { seededRandom, validateFaults } from './Faults.ts';
import { ADDRESS_RE } from './Hci.ts';
import { Hub } from './Hub.ts';
import type { HubStatus } from './Hub.ts';
import { HUB_ENV, defaultHubAddress, parseHubAddress } from './HubAddress.ts';
import { HubClient } from './HubClient.ts';
import type { RadioMode } from './install.ts';
import { hookInstalled, installHook, uninstallHook } from './install.ts';
import type { Medium, Timers } from './Medium.ts';
import { realTimers } from './Medium.ts';
import { RadioRuntime, peekRuntime, setRuntime } from './Runtime.ts';
import { forgetBle, shutdownBle } from './Shutdown.ts';
import type { ShutdownOptions } from './Shutdown.ts';

export type { RadioFaults } from './Faults.ts';
export type { RadioMode } from './install.ts';
export type { HubStatus } from './Hub.ts';
export type { Timers } from './Medium.ts';
export type { ShutdownOptions } from './Shutdown.ts';
export { Hub } from './Hub.ts';
export { Air } from './Air.ts';
export { VirtualHciSocket } from './HciSocket.ts';
export { shutdownBle, forgetBle } from './Shutdown.ts';
export { defaultHubAddress } from './HubAddress.ts';
export { readBtsnoop, BtsnoopWriter } from './Btsnoop.ts';
export { decodeTrace, formatTrace } from './TraceDecode.ts';
export type { DecodedPacket } from './TraceDecode.ts';

export type Bleno = typeof BlenoModule;
export type Noble = typeof NobleModule;

export interface VirtualRadioOptions {
  /** 'virtual' (default) emulates controllers; 'hci' / 'hci:N' uses the real native module (Linux). */
  radio?: RadioMode;
  /**
   * Which air the controllers join: 'in-process' (default: a private air in this process), a hub
   * address (Unix socket path or tcp:127.0.0.1:PORT), 'auto' (the default hub, started if none runs),
   * or a Hub started in this process.
   */
  hub?: string | Hub;
  /** Shown by `keyway radio status`. Default: the script's file name. */
  name?: string;
  /** Write a btsnoop trace of the first controller here (later ones: NAME.hci1.EXT, ...). */
  trace?: string;
  faults?: RadioFaults;
  /** Injected time and randomness (tests); real timers and a random seed by default. */
  timers?: Timers;
  random?: () => number;
  /** Fixed addresses for the first controllers, e.g. ['c0:00:00:00:00:01']. Default: random static. */
  addresses?: string[];
}

export interface ControllerSummary {
  address: string;
  connections: number;
}

export interface RadioHandle {
  readonly mode: RadioMode;
  /** The hub address joined, or null for an in-process air or real hardware. */
  readonly hubAddress: string | null;
  /** The in-process air (for 'in-process' and a local Hub), else null. */
  readonly air: Air | null;
  /** Settles once the hub connection is up (at once without a hub); rejects if it cannot be reached. */
  readonly ready: Promise<void>;
  /** The controllers created so far (one per bleno/noble HCI socket). */
  controllers(): ControllerSummary[];
  /** Change the faults of this process's controllers (e.g. walk a phone out of range). */
  setFaults(faults: RadioFaults): void;
  /** bleno, required through the hook. `fresh` drops the cached singleton first (one more lock). */
  loadBleno(opts?: { fresh?: boolean }): Bleno;
  /** noble's default instance, required through the hook. */
  loadNoble(): Noble;
  /** A new, independent noble instance (its own controller): several phones in one process. */
  newNoble(): Noble;
  /** The hub's view of the air (devices, links); for an in-process air, the same from the local air. */
  status(): Promise<HubStatus>;
  /** Ends bleno/noble (as shutdownBle), leaves the air and removes the hook. Idempotent. */
  close(opts?: ShutdownOptions): Promise<void>;
}

const requireHere = createRequire(import.meta.url);
const KNOWN = new Set(['radio', 'hub', 'name', 'trace', 'faults', 'timers', 'random', 'addresses']);

export function parseRadioMode(v: string): RadioMode {
  if (v === 'virtual' || v === 'hci') return v;
  const m = /^hci:(\d{1,4})$/.exec(v);
  if (m) return `hci:${Number(m[1])}`;
  throw new KeywayError('invalid_argument', `radio must be 'virtual', 'hci' or 'hci:N', got '${v}'`);
}

let installed: RadioHandle | null = null;

/** The handle of the radio installed in this process, if any. */
export function currentRadio(): RadioHandle | null {
  return installed;
}

export function installVirtualRadio(opts: VirtualRadioOptions = {}): RadioHandle {
  for (const k of Object.keys(opts))
    if (!KNOWN.has(k))
      throw new KeywayError('invalid_argument', `installVirtualRadio: unknown option '${k}'`);
  if (installed || hookInstalled() || peekRuntime())
    throw new KeywayError('duplicate', 'the radio is already installed in this process; close() it first');
  const mode = parseRadioMode(opts.radio ?? 'virtual');
  const name = opts.name ?? defaultName();
  if (typeof name !== 'string' || name.length === 0 || name.length > 64)
    throw new KeywayError('invalid_argument', 'radio name must be 1..64 characters');
  const faults = validateFaults(opts.faults ?? {});
  for (const a of opts.addresses ?? [])
    if (!ADDRESS_RE.test(a)) throw new KeywayError('invalid_argument', `bad Bluetooth address '${a}'`);

  if (mode !== 'virtual') {
    if (opts.hub !== undefined || opts.trace !== undefined || opts.faults !== undefined)
      throw new KeywayError(
        'invalid_argument',
        `hub, trace and faults apply to the virtual radio, not '${mode}'`,
      );
    const dev = mode === 'hci' ? undefined : mode.slice(4);
    if (dev !== undefined) {
      process.env.BLENO_HCI_DEVICE_ID ??= dev;
      process.env.NOBLE_HCI_DEVICE_ID ??= dev;
    }
    installHook(mode);
    installed = makeHandle(mode, null, null, Promise.resolve(), null, false);
    return installed;
  }

  const timers = opts.timers ?? realTimers;
  const random = opts.random ?? seededRandom(crypto.randomInt(2 ** 32));
  let medium: Medium;
  let air: Air | null = null;
  let hubAddress: string | null = null;
  let ready: Promise<void> = Promise.resolve();
  const hub = opts.hub ?? 'in-process';
  if (hub instanceof Hub) {
    air = hub.air;
    medium = hub.air;
  } else if (hub === 'in-process') {
    air = new Air({ timers, random });
    medium = air;
  } else {
    const auto = hub === 'auto';
    hubAddress = auto ? defaultHubAddress() : hub;
    parseHubAddress(hubAddress);
    const client = new HubClient(hubAddress, {
      autoStart: auto,
      onDown: (err) => process.emitWarning(`keyway virtual radio: ${err.message}`),
    });
    medium = client;
    ready = client.ready.then(() => {
      if (!client.up) throw new KeywayError('not_found', `the radio hub at ${hubAddress} cannot be reached`);
    });
    ready.catch(() => undefined);
  }
  const runtime = new RadioRuntime({
    medium,
    name,
    faults,
    trace: opts.trace ? path.resolve(opts.trace) : null,
    timers,
    random,
    addresses: opts.addresses ?? [],
  });
  setRuntime(runtime);
  installHook('virtual');
  installed = makeHandle('virtual', hubAddress, air, ready, runtime, !(hub instanceof Hub));
  return installed;
}

/** For preload use: options from KEYWAY_RADIO, KEYWAY_RADIO_HUB, _NAME, _TRACE and _FAULTS (JSON). */
export function installVirtualRadioFromEnv(env: NodeJS.ProcessEnv = process.env): RadioHandle {
  const opts: VirtualRadioOptions = {};
  if (env.KEYWAY_RADIO) opts.radio = parseRadioMode(env.KEYWAY_RADIO);
  if (opts.radio === undefined || opts.radio === 'virtual') {
    opts.hub = env[HUB_ENV] ?? 'auto';
    if (env.KEYWAY_RADIO_TRACE) opts.trace = env.KEYWAY_RADIO_TRACE;
    if (env.KEYWAY_RADIO_FAULTS) {
      try {
        opts.faults = JSON.parse(env.KEYWAY_RADIO_FAULTS) as RadioFaults;
      } catch {
        throw new KeywayError('invalid_argument', 'KEYWAY_RADIO_FAULTS is not valid JSON');
      }
    }
  }
  if (env.KEYWAY_RADIO_NAME) opts.name = env.KEYWAY_RADIO_NAME;
  return installVirtualRadio(opts);
}

function defaultName(): string {
  const main = process.argv[1];
  return main ? path.basename(main).slice(0, 64) || 'keyway' : 'keyway';
}

function makeHandle(
  mode: RadioMode,
  hubAddress: string | null,
  air: Air | null,
  ready: Promise<void>,
  runtime: RadioRuntime | null,
  ownsMedium: boolean,
): RadioHandle {
  let closed = false;
  const handle: RadioHandle = {
    mode,
    hubAddress,
    air,
    ready,
    controllers: () =>
      (runtime?.controllers ?? []).map((c) => ({ address: c.address, connections: c.connectionCount })),
    setFaults: (faults) => {
      if (!runtime) throw new KeywayError('invalid_argument', 'faults apply to the virtual radio only');
      runtime.setFaults(validateFaults(faults));
    },
    loadBleno: (o) => {
      if (o?.fresh) forgetPackage('@abandonware/bleno');
      return requireHere('@abandonware/bleno') as Bleno;
    },
    loadNoble: () => requireHere('@abandonware/noble') as Noble,
    newNoble: () => (requireHere('@abandonware/noble/with-custom-binding') as (o?: object) => Noble)({}),
    status: async () => {
      if (runtime && runtime.config.medium instanceof HubClient) return runtime.config.medium.status();
      return {
        address: 'in-process',
        pid: process.pid,
        clients: 1,
        links: air?.linkCount ?? 0,
        devices: air?.status() ?? [],
      };
    },
    close: async (o) => {
      if (closed) return;
      closed = true;
      await shutdownBle(o);
      if (runtime) {
        // A Hub passed in belongs to the caller; everything else was opened here.
        if (ownsMedium) await runtime.config.medium.close();
        setRuntime(null);
      }
      uninstallHook();
      if (o?.forget) forgetBle();
      installed = null;
    },
  };
  return handle;
}

/** Starts a hub in this process (other processes join it by address). */
export function startHub(opts: { address: string; idleMs?: number }): Promise<Hub> {
  return Hub.start(opts);
}

function forgetPackage(pkg: string): void {
  let dir: string;
  try {
    dir = path.dirname(requireHere.resolve(`${pkg}/package.json`)) + path.sep;
  } catch {
    return;
  }
  for (const key of Object.keys(requireHere.cache)) if (key.startsWith(dir)) delete requireHere.cache[key];
}
