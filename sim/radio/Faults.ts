// Modelled timing and faults of the virtual radio. Everything is off by default: adverts are reported
// at once, ACL packets are delivered at once and never lost, RSSI is a constant and nothing is ever out
// of range. Each device's faults apply to what that device transmits; range and RSSI depend on both
// devices' positions.
import { KeywayError } from '../../firmware/errors.ts';
import type { RadioInfo, Vec3 } from './Medium.ts';

export interface RadioFaults {
  /** Adverts appear at the host's advertising interval with a random phase instead of at once. */
  advertisingInterval?: boolean;
  /**
   * ACL packets wait for the next connection event (the connection interval in force), and a lost link
   * is noticed only after the connection's supervision timeout, as on real radios.
   */
  connectionInterval?: boolean;
  /** Extra latency added to every ACL packet this device transmits, in milliseconds. */
  packetDelayMs?: number;
  /**
   * Chance (0..1) that one transmission of an ACL packet is lost. The link layer retransmits at the
   * next connection event; when nothing gets through for the supervision timeout the link is lost
   * (reason 0x08 Connection Timeout on both sides).
   */
  packetLoss?: number;
  /** Position in metres. Enables distance -> RSSI (log-distance path loss) and out of range. */
  position?: Vec3;
  /** RSSI measured at 1 m (dBm). Default -59. */
  rssiAt1mDbm?: number;
  /** Path-loss exponent n: 2 in free space, 2.7..3.5 indoors. Default 2. */
  pathLossExponent?: number;
  /** Weakest signal still received (dBm); below it the devices are out of range. Default -90. */
  sensitivityDbm?: number;
  /** Seed for the loss and phase randomness (default: random). */
  seed?: number;
}

/** RSSI reported when no positions are modelled. */
export const DEFAULT_RSSI = -50;

export function validateFaults(f: RadioFaults): RadioFaults {
  const bad = (what: string): never => {
    throw new KeywayError('invalid_argument', `radio faults: ${what}`);
  };
  if (typeof f !== 'object' || f === null) bad('expected an object');
  const known = new Set([
    'advertisingInterval',
    'connectionInterval',
    'packetDelayMs',
    'packetLoss',
    'position',
    'rssiAt1mDbm',
    'pathLossExponent',
    'sensitivityDbm',
    'seed',
  ]);
  for (const k of Object.keys(f)) if (!known.has(k)) bad(`unknown option '${k}'`);
  const num = (v: unknown, name: string, min: number, max: number): void => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      bad(`${name} must be a number in [${min}, ${max}]`);
  };
  num(f.packetDelayMs, 'packetDelayMs', 0, 60_000);
  num(f.packetLoss, 'packetLoss', 0, 1);
  num(f.rssiAt1mDbm, 'rssiAt1mDbm', -127, 20);
  num(f.pathLossExponent, 'pathLossExponent', 1, 6);
  num(f.sensitivityDbm, 'sensitivityDbm', -127, 0);
  num(f.seed, 'seed', 0, 2 ** 32 - 1);
  for (const b of ['advertisingInterval', 'connectionInterval'] as const)
    if (f[b] !== undefined && typeof f[b] !== 'boolean') bad(`${b} must be a boolean`);
  if (f.position !== undefined) {
    const p: unknown = f.position;
    if (!Array.isArray(p) || p.length !== 3 || !p.every((x) => typeof x === 'number' && Number.isFinite(x)))
      bad('position must be [x, y, z] in metres');
  }
  return f;
}

/** Log-distance path loss: RSSI(d) = RSSI(1 m) - 10 n log10(d), d clamped to >= 0.1 m. */
export function rssiAt(tx: RadioInfo, rx: RadioInfo): number {
  if (tx.position === null && rx.position === null) return DEFAULT_RSSI;
  const a = tx.position ?? [0, 0, 0];
  const b = rx.position ?? [0, 0, 0];
  const d = Math.max(0.1, Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]));
  const rssi = tx.rssiAt1mDbm - 10 * tx.pathLossExponent * Math.log10(d);
  return Math.max(-127, Math.min(20, Math.round(rssi)));
}

/** Both directions must be heard for a connection to exist; adverts need only tx -> rx. */
export function inRange(tx: RadioInfo, rx: RadioInfo): boolean {
  return rssiAt(tx, rx) >= rx.sensitivityDbm;
}

/** mulberry32: small, fast, seedable; quality is plenty for loss and phase draws. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function radioInfoFrom(address: string, name: string, f: RadioFaults): RadioInfo {
  return {
    address,
    name,
    pid: process.pid,
    position: f.position ?? null,
    rssiAt1mDbm: f.rssiAt1mDbm ?? -59,
    pathLossExponent: f.pathLossExponent ?? 2,
    sensitivityDbm: f.sensitivityDbm ?? -90,
    advertisingInterval: f.advertisingInterval ?? false,
  };
}
