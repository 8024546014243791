import Database from 'better-sqlite3';
import { verify } from 'node:crypto';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { decodeSign1, sigStructure } from './firmware/ekey/Cose.ts';
import { decodeClaims } from './firmware/ekey/Cwt.ts';
import { EkeyStore } from './firmware/ekey/EkeyStore.ts';
import { keyPairFromSeed } from './firmware/ekey/Keys.ts';
import { mintEkey } from './firmware/ekey/Mint.ts';
import { EkeyVerifier, type VerifyContext } from './firmware/ekey/Verify.ts';
import { parseWeekly } from './firmware/schedule/index.ts';
const T0 = Date.UTC(2025, 0, 6, 12, 0); const DAY = 86_400_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekperf-'));
const db = new Database(path.join(dir, 'e.db')); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL');
const owner = keyPairFromSeed(new Uint8Array(32).fill(1)), guest = keyPairFromSeed(new Uint8Array(32).fill(4));
let c = 0; const random = { bytes: (n: number) => new Uint8Array(n).fill(++c & 0xff) };
const store = new EkeyStore(db); store.addTrustAnchor(owner.publicRaw, 'owner', T0);
for (let i = 0; i < 1000; i++) store.addRevocation({ kind: 'cti', id: new Uint8Array(16).fill(i % 251).map((b, j) => b ^ j ^ (i >> 8)), until: null }, T0);
const direct = mintEkey(owner, { aud: 'front-door', from: T0 - DAY, until: T0 + 7 * DAY, holder: guest.publicRaw, schedules: [parseWeekly('mon-fri 08:00-18:00')], uses: 10 }, random);
const ctx: VerifyContext = { lockId: 'front-door', now: T0, timeZone: 'Europe/Berlin', skewMs: 60_000 };
const cold = new EkeyVerifier(store, { cacheSize: 0 });
const msg = decodeSign1(direct); const tbs = sigStructure(msg.protectedBytes, msg.payload);
const r = cold.resolve(direct); if (!r.granted) throw 0;
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
function run(name: string, between: () => void, n = 3000) {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) { between(); const s = process.hrtime.bigint(); verify(null, tbs, owner.publicKey, msg.signature); ts.push(Number(process.hrtime.bigint() - s) / 1000); }
  console.log(name.padEnd(14), 'verify median', med(ts).toFixed(1));
}
for (let k = 0; k < 2; k++) {
run('nothing', () => {});
run('decode', () => { decodeSign1(direct); decodeClaims(msg.payload); });
run('check(sql)', () => { cold.check(r.ekey, ctx); });
run('usesOf', () => { store.usesOf(r.ekey.claims.cti); });
run('alloc', () => { for (let i = 0; i < 50; i++) new Uint8Array(64); });
run('nothing', () => {});
}
db.close(); fs.rmSync(dir, { recursive: true });
