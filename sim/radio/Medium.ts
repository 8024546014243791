// What travels between a controller and the medium (the in-process Air, or a hub in another process).
// These are link-layer happenings, not HCI packets: each controller turns them into HCI events for its
// own host. Messages are plain data (JSON plus Uint8Array) so the hub can carry them between processes.

export type Address = string; // 'c3:11:22:33:44:55', most significant byte first
export type AddressType = 0 | 1; // 0 public, 1 random
export type Vec3 = [number, number, number];

export interface ConnParams {
  intervalMs: number;
  latency: number;
  supervisionTimeoutMs: number;
}

export interface AdvState {
  address: Address;
  addressType: AddressType;
  advType: number; // 0 ADV_IND, 1/4 ADV_DIRECT_IND, 2 ADV_SCAN_IND, 3 ADV_NONCONN_IND
  data: Uint8Array;
  scanRsp: Uint8Array;
  intervalMs: number;
}

/** Radio properties of a device that the medium needs (range and RSSI). */
export interface RadioInfo {
  address: Address;
  name: string;
  pid: number;
  position: Vec3 | null;
  rssiAt1mDbm: number;
  pathLossExponent: number;
  sensitivityDbm: number;
  /** Model the advertising interval: first report after a random phase, then once per interval. */
  advertisingInterval: boolean;
}

/** Controller -> medium. */
export type UpMsg =
  | { t: 'info'; info: RadioInfo }
  | { t: 'adv'; adv: AdvState | null }
  | { t: 'scan'; scan: { active: boolean; filterDuplicates: boolean } | null }
  | {
      t: 'connect';
      peer: Address;
      peerType: AddressType;
      own: Address;
      ownType: AddressType;
      params: ConnParams;
    }
  | { t: 'cancel' }
  | { t: 'acl'; link: number; start: boolean; data: Uint8Array }
  /** `lost`: the link died (supervision timeout), so both sides see `reason`. */
  | { t: 'disconnect'; link: number; reason: number; lost?: boolean }
  | { t: 'enc'; link: number; rand: Uint8Array; ediv: number; ltk: Uint8Array }
  | { t: 'encReply'; link: number; status: number }
  | { t: 'connUpdate'; link: number; params: ConnParams };

/** Medium -> controller. */
export type DownMsg =
  | { t: 'report'; address: Address; addressType: AddressType; evt: number; data: Uint8Array; rssi: number }
  | {
      t: 'connected';
      link: number;
      role: 0 | 1;
      peer: Address;
      peerType: AddressType;
      params: ConnParams;
      rssi: number;
    }
  | { t: 'connectFailed'; status: number }
  | { t: 'acl'; link: number; start: boolean; data: Uint8Array }
  | { t: 'disconnected'; link: number; reason: number }
  | { t: 'encRequest'; link: number; rand: Uint8Array; ediv: number; ltk: Uint8Array }
  | { t: 'encChanged'; link: number; status: number; enabled: boolean }
  | { t: 'connUpdated'; link: number; params: ConnParams }
  | { t: 'rssi'; link: number; rssi: number };

/** The medium's side of one device: it calls `deliver` for everything addressed to the device. */
export interface MediumDevice {
  deliver(msg: DownMsg): void;
}

/** The device's handle on the medium. */
export interface MediumPort {
  send(msg: UpMsg): void;
  /** Leave the medium. 'lost' (process died, radio reset) makes peers see a supervision timeout. */
  detach(): void;
}

export interface Medium {
  attach(device: MediumDevice, info: RadioInfo): MediumPort;
  /** Whether devices can currently reach the medium (false once a hub connection is gone). */
  readonly up: boolean;
  close(): Promise<void>;
}

/** Injected time: real timers by default, fakes in tests. Timers must not keep a process alive. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Captured at load so a temporarily wrapped global (see install.ts) never sees the radio's own timers.
const nativeSetTimeout = globalThis.setTimeout;
const nativeClearTimeout = globalThis.clearTimeout;

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = nativeSetTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => nativeClearTimeout(h as NodeJS.Timeout),
};
