// The lock's static Noise key (X25519): made on first start with radio, kept in <dataDir>/noise.key (mode
// 0600, hex) next to the engine's secrets file, and never printed. Its public half is given to the owner's
// phone at claim, so later sessions use Noise IK.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyPairFromPrivate, type KeyPair } from '../../ble-gatt/noise/cryptoFunctions.ts';
import { KeywayError, type Random } from '../../firmware/index.ts';

export const NOISE_KEY_FILE = 'noise.key';

export function loadOrCreateNoiseKey(dataDir: string, random: Random): KeyPair {
  const path = join(dataDir, NOISE_KEY_FILE);
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new KeywayError('store_corrupt', `${path} does not hold a key`);
    return keyPairFromPrivate(Uint8Array.from(Buffer.from(text, 'hex')));
  }
  const secret = random.bytes(32);
  const pair = keyPairFromPrivate(secret);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${Buffer.from(secret).toString('hex')}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  secret.fill(0);
  return pair;
}
