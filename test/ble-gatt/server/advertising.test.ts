// THREATS 40 on the air: exactly what a keyway lock advertises, and the rotating identifier. Plus the
// phone profile's files (keys 0600, reopened unchanged).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RID_EPOCH_MS,
  advertisingData,
  matchesRotatingId,
  parseManufacturerData,
  ridEpoch,
  rotatingId,
  scanResponseData,
} from '../../../ble-gatt/server/Advertising.ts';
import { Profile } from '../../../ble-gatt/client/Profile.ts';
import { T0 } from '../../helpers/lockFixture.ts';
import { SeededRandom } from '../../helpers/SeededRandom.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('advertising (THREATS 40)', () => {
  it('holds flags, the service UUID and the manufacturer field, nothing else', () => {
    expect(hex(advertisingData())).toBe('020106' + '1107' + 'f4a7e0521c6b3a9d8e4b7c4f01002a8e');
    const rid = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    expect(hex(scanResponseData(true, rid))).toBe('0aff' + 'ffff' + '11' + '010203040506');
    expect(hex(scanResponseData(false, rid))).toBe('0aff' + 'ffff' + '10' + '010203040506');
    // noble hands the phone the field without its length and type.
    expect(parseManufacturerData(scanResponseData(false, rid).subarray(2))).toEqual({ setup: false, rid });
    expect(parseManufacturerData(Uint8Array.from([0x4c, 0x00, 0x10, 1, 2, 3, 4, 5, 6]))).toBeNull();
    expect(parseManufacturerData(Uint8Array.from([0xff, 0xff, 0x20, 1, 2, 3, 4, 5, 6]))).toBeNull();
  });

  it('the identifier rotates every 15 minutes and only the lock key recognises it', () => {
    const key = new SeededRandom('rid').bytes(32);
    const other = new SeededRandom('rid-other').bytes(32);
    const e = ridEpoch(T0);
    const ids = [0, 1, 2, 3].map((i) => hex(rotatingId(key, e + i)));
    expect(new Set(ids).size).toBe(4);
    expect(hex(rotatingId(other, e))).not.toBe(ids[0]);
    const now = rotatingId(key, e);
    expect(matchesRotatingId(key, now, T0)).toBe(true);
    expect(matchesRotatingId(key, now, T0 + 2 * RID_EPOCH_MS)).toBe(true); // phone clock 30 min off
    expect(matchesRotatingId(key, now, T0 + 3 * RID_EPOCH_MS)).toBe(false);
    expect(matchesRotatingId(other, now, T0)).toBe(false);
  });
});

describe('phone profile', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it('is created with private files, reopens with the same keys, and refuses bad names', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-profile-'));
    const random = new SeededRandom('profile');
    const p = Profile.open('ana', { root, create: true, random });
    const dir = path.join(root, 'ana');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['noise.key', 'holder.key', 'profile.json']) {
      expect([f, fs.statSync(path.join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    }
    const again = Profile.open('ana', { root, random });
    expect(hex(again.holderKey().publicRaw)).toBe(hex(p.holderKey().publicRaw));
    expect(hex(again.noiseKey().publicKey)).toBe(hex(p.noiseKey().publicKey));
    p.saveLock({
      lockId: 'abc123',
      lockKey: new Uint8Array(32).fill(1),
      deviceKey: new Uint8Array(32).fill(2),
    });
    expect(fs.statSync(path.join(dir, 'locks', 'abc123.json')).mode & 0o777).toBe(0o600);
    expect(again.locks()).toEqual([
      { lockId: 'abc123', lockKey: new Uint8Array(32).fill(1), deviceKey: new Uint8Array(32).fill(2) },
    ]);
    expect(() => Profile.open('../x', { root, random })).toThrow(/profile name/);
    expect(() => Profile.open('nobody', { root, random })).toThrow(/no phone profile "nobody"/);
  });
});
