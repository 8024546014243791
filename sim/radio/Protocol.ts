// Checks every medium message that arrives from another process, so a confused or hostile peer gets a
// clear protocol error instead of crashing the hub or a controller.
import { KeywayError } from '../../firmware/errors.ts';
import { ADDRESS_RE } from './Hci.ts';
import type { AdvState, ConnParams, DownMsg, RadioInfo, UpMsg } from './Medium.ts';

type Obj = Record<string, unknown>;

const fail = (what: string): never => {
  throw new KeywayError('protocol', `hub message: ${what}`);
};

function int(o: Obj, k: string, min: number, max: number): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(`${k} must be an integer in [${min}, ${max}]`);
  return v as number;
}

function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${k} must be a number`);
  return v as number;
}

function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(`${k} must be a boolean`);
  return v as boolean;
}

function bytes(o: Obj, k: string, max: number, exact?: number): Uint8Array {
  const v = o[k];
  if (!(v instanceof Uint8Array) || v.length > max || (exact !== undefined && v.length !== exact))
    fail(`${k} must be ${exact ?? `at most ${max}`} bytes`);
  return v as Uint8Array;
}

function addr(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || !ADDRESS_RE.test(v)) fail(`${k} must be a Bluetooth address`);
  return v as string;
}

function obj(v: unknown, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${what} must be an object`);
  return v as Obj;
}

const addrType = (o: Obj, k: string): 0 | 1 => int(o, k, 0, 1) as 0 | 1;

function params(v: unknown): ConnParams {
  const o = obj(v, 'params');
  return {
    intervalMs: num(o, 'intervalMs'),
    latency: int(o, 'latency', 0, 499),
    supervisionTimeoutMs: num(o, 'supervisionTimeoutMs'),
  };
}

export function parseRadioInfo(v: unknown): RadioInfo {
  const o = obj(v, 'info');
  const name = o.name;
  if (typeof name !== 'string' || name.length > 248) fail('name must be a string of at most 248 characters');
  let position: RadioInfo['position'] = null;
  if (o.position !== null) {
    const p = o.position;
    if (!Array.isArray(p) || p.length !== 3 || !p.every((x) => typeof x === 'number' && Number.isFinite(x)))
      fail('position must be [x, y, z] or null');
    position = p as [number, number, number];
  }
  return {
    address: addr(o, 'address'),
    name: name as string,
    pid: int(o, 'pid', 0, 2 ** 31),
    position,
    rssiAt1mDbm: num(o, 'rssiAt1mDbm'),
    pathLossExponent: num(o, 'pathLossExponent'),
    sensitivityDbm: num(o, 'sensitivityDbm'),
    advertisingInterval: bool(o, 'advertisingInterval'),
  };
}

function adv(v: unknown): AdvState | null {
  if (v === null) return null;
  const o = obj(v, 'adv');
  return {
    address: addr(o, 'address'),
    addressType: addrType(o, 'addressType'),
    advType: int(o, 'advType', 0, 4),
    data: bytes(o, 'data', 31),
    scanRsp: bytes(o, 'scanRsp', 31),
    intervalMs: num(o, 'intervalMs'),
  };
}

const LINK_MAX = 2 ** 31;

export function parseUp(t: string, o: Obj): UpMsg {
  switch (t) {
    case 'info':
      return { t, info: parseRadioInfo(o.info) };
    case 'adv':
      return { t, adv: adv(o.adv) };
    case 'scan': {
      if (o.scan === null) return { t, scan: null };
      const s = obj(o.scan, 'scan');
      return { t, scan: { active: bool(s, 'active'), filterDuplicates: bool(s, 'filterDuplicates') } };
    }
    case 'connect':
      return {
        t,
        peer: addr(o, 'peer'),
        peerType: addrType(o, 'peerType'),
        own: addr(o, 'own'),
        ownType: addrType(o, 'ownType'),
        params: params(o.params),
      };
    case 'cancel':
      return { t };
    case 'acl':
      return { t, link: int(o, 'link', 1, LINK_MAX), start: bool(o, 'start'), data: bytes(o, 'data', 65535) };
    case 'disconnect':
      return {
        t,
        link: int(o, 'link', 1, LINK_MAX),
        reason: int(o, 'reason', 0, 255),
        lost: o.lost === true,
      };
    case 'enc':
      return {
        t,
        link: int(o, 'link', 1, LINK_MAX),
        rand: bytes(o, 'rand', 8, 8),
        ediv: int(o, 'ediv', 0, 0xffff),
        ltk: bytes(o, 'ltk', 16, 16),
      };
    case 'encReply':
      return { t, link: int(o, 'link', 1, LINK_MAX), status: int(o, 'status', 0, 255) };
    case 'connUpdate':
      return { t, link: int(o, 'link', 1, LINK_MAX), params: params(o.params) };
    default:
      return fail(`unknown controller message '${t}'`);
  }
}

export function parseDown(t: string, o: Obj): DownMsg {
  switch (t) {
    case 'report':
      return {
        t,
        address: addr(o, 'address'),
        addressType: addrType(o, 'addressType'),
        evt: int(o, 'evt', 0, 4),
        data: bytes(o, 'data', 31),
        rssi: int(o, 'rssi', -127, 20),
      };
    case 'connected':
      return {
        t,
        link: int(o, 'link', 1, LINK_MAX),
        role: int(o, 'role', 0, 1) as 0 | 1,
        peer: addr(o, 'peer'),
        peerType: addrType(o, 'peerType'),
        params: params(o.params),
        rssi: int(o, 'rssi', -127, 20),
      };
    case 'connectFailed':
      return { t, status: int(o, 'status', 0, 255) };
    case 'acl':
      return { t, link: int(o, 'link', 1, LINK_MAX), start: bool(o, 'start'), data: bytes(o, 'data', 65535) };
    case 'disconnected':
      return { t, link: int(o, 'link', 1, LINK_MAX), reason: int(o, 'reason', 0, 255) };
    case 'encRequest':
      return {
        t,
        link: int(o, 'link', 1, LINK_MAX),
        rand: bytes(o, 'rand', 8, 8),
        ediv: int(o, 'ediv', 0, 0xffff),
        ltk: bytes(o, 'ltk', 16, 16),
      };
    case 'encChanged':
      return {
        t,
        link: int(o, 'link', 1, LINK_MAX),
        status: int(o, 'status', 0, 255),
        enabled: bool(o, 'enabled'),
      };
    case 'connUpdated':
      return { t, link: int(o, 'link', 1, LINK_MAX), params: params(o.params) };
    case 'rssi':
      return { t, link: int(o, 'link', 1, LINK_MAX), rssi: int(o, 'rssi', -127, 20) };
    default:
      return fail(`unknown medium message '${t}'`);
  }
}

export function deviceId(o: Obj): number {
  return int(o, 'd', 1, 2 ** 31);
}
