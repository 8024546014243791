// Shared pieces of the eKey tests: seeded keys, a real SQLite-backed EkeyStore in a temp dir, minting.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EkeyStore } from '../../firmware/ekey/EkeyStore.ts';
import { keyPairFromSeed, type KeyPair } from '../../firmware/ekey/Keys.ts';
import { mintEkey, type MintSpec } from '../../firmware/ekey/Mint.ts';
import { EkeyVerifier, type VerifyContext } from '../../firmware/ekey/Verify.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';

export const T0 = Date.UTC(2025, 0, 6, 12, 0, 0); // Monday 12:00 UTC
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const LOCK = 'lock-a';

export function seededKey(name: string): KeyPair {
  return keyPairFromSeed(new Uint8Array(createHash('sha256').update(`key:${name}`).digest()));
}

export const owner = seededKey('owner');
export const admin = seededKey('admin');
export const member = seededKey('member');
export const guest = seededKey('guest');
export const stranger = seededKey('stranger');

export interface Env {
  dir: string;
  db: Database.Database;
  store: EkeyStore;
  verifier: EkeyVerifier;
  random: SeededRandom;
  ctx(over?: Partial<VerifyContext>): VerifyContext;
  close(): void;
}

export function makeEnv(): Env {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-ekey-'));
  const db = new Database(path.join(dir, 'ekey.db'));
  const store = new EkeyStore(db);
  store.addTrustAnchor(owner.publicRaw, 'owner', T0);
  return {
    dir,
    db,
    store,
    verifier: new EkeyVerifier(store),
    random: new SeededRandom(dir),
    ctx: (over = {}) => ({ lockId: LOCK, now: T0, timeZone: 'UTC', skewMs: 60_000, ...over }),
    close() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Defaults: a guest eKey for LOCK, valid T0-1h .. T0+1d. */
export function mint(env: Env, issuer: KeyPair, holder: KeyPair, over: Partial<MintSpec> = {}): Uint8Array {
  return mintEkey(
    issuer,
    { holder: holder.publicRaw, aud: LOCK, from: T0 - HOUR, until: T0 + DAY, ...over },
    env.random,
  );
}

/** owner -> admin (may delegate 2 more levels) -> guest. */
export function adminChain(
  env: Env,
  over: Partial<MintSpec> = {},
): { adminKey: Uint8Array; guestKey: Uint8Array } {
  const adminKey = mint(env, owner, admin, { role: 'admin', delegateDepth: 2, until: T0 + 7 * DAY });
  const guestKey = mint(env, admin, guest, { chain: adminKey, ...over });
  return { adminKey, guestKey };
}
