// What a keyway lock advertises (THREATS 40): the service UUID ("a keyway lock"), a setup-mode flag and a
// rotating identifier; no name, no lock id, no user data, no lock state.
//
// adv data:      02 01 06                      flags: LE General Discoverable, BR/EDR not supported
//                11 07 <service UUID, LE>      complete list of 128-bit service UUIDs
// scan response: 0a ff ff ff <flags> <rid 6>  manufacturer specific, company 0xFFFF (test/unassigned)
//                flags: 0x01 = setup mode (unclaimed), 0x10..0xF0 = format version 1
//
// The rotating identifier is HMAC-SHA256(lock static public key, "keyway-rid/1" || epoch as 8 bytes BE)
// truncated to 6 bytes, epoch = lock time / 15 min. Only phones that know the lock's static key (its owner
// and eKey holders, from the claim or the eKey bundle) can recognise it; to anyone else it is a fresh
// random-looking value every 15 minutes. While the lock is in setup mode, or does not know the time,
// the identifier is random (drawn again at each rotation).
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../firmware/index.ts';
import { SERVICE_UUID, uuidNoDashes } from '../uuids.ts';

export const RID_LENGTH = 6;
export const RID_EPOCH_MS = 15 * 60_000;
export const COMPANY_ID = 0xffff;
const FLAG_SETUP = 0x01;
const FORMAT_V1 = 0x10;
const RID_LABEL = new TextEncoder().encode('keyway-rid/1');

export function ridEpoch(time: number): number {
  return Math.floor(time / RID_EPOCH_MS);
}

/** The rotating identifier of a lock for an epoch. */
export function rotatingId(lockKey: Uint8Array, epoch: number): Uint8Array {
  const e = Buffer.alloc(8);
  e.writeBigUInt64BE(BigInt(Math.max(0, epoch)));
  return new Uint8Array(
    createHmac('sha256', lockKey).update(RID_LABEL).update(e).digest().subarray(0, RID_LENGTH),
  );
}

/** Phone side: is `rid` this lock's for an epoch within `slack` epochs of `time`? */
export function matchesRotatingId(lockKey: Uint8Array, rid: Uint8Array, time: number, slack = 2): boolean {
  if (rid.length !== RID_LENGTH) return false;
  const now = ridEpoch(time);
  let hit = false;
  for (let e = now - slack; e <= now + slack; e++)
    hit = constantTimeEqual(rotatingId(lockKey, e), rid) || hit;
  return hit;
}

/** The service UUID as it goes on air (128-bit, little-endian). */
function serviceUuidBytes(): Uint8Array {
  return Uint8Array.from(Buffer.from(uuidNoDashes(SERVICE_UUID), 'hex').reverse());
}

export function advertisingData(): Uint8Array {
  return Uint8Array.from([0x02, 0x01, 0x06, 0x11, 0x07, ...serviceUuidBytes()]);
}

export function scanResponseData(setup: boolean, rid: Uint8Array): Uint8Array {
  if (rid.length !== RID_LENGTH) throw new RangeError('rid must be 6 bytes');
  return Uint8Array.from([
    1 + 2 + 1 + RID_LENGTH, // length: type, company id, flags, rid
    0xff,
    COMPANY_ID & 0xff,
    COMPANY_ID >> 8,
    FORMAT_V1 | (setup ? FLAG_SETUP : 0),
    ...rid,
  ]);
}

/** Phone side: the manufacturer data of a scan response (noble's advertisement.manufacturerData). */
export function parseManufacturerData(
  data: Uint8Array | null | undefined,
): { setup: boolean; rid: Uint8Array } | null {
  if (data === null || data === undefined || data.length !== 2 + 1 + RID_LENGTH) return null;
  if (data[0] !== (COMPANY_ID & 0xff) || data[1] !== COMPANY_ID >> 8) return null;
  const flags = data[2]!;
  if ((flags & 0xf0) !== FORMAT_V1) return null;
  return { setup: (flags & FLAG_SETUP) !== 0, rid: Uint8Array.from(data.subarray(3)) };
}
