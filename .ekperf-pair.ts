import Database from 'better-sqlite3';
import { verify, createHash } from 'node:crypto';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { decodeSign1, sigStructure, verifySign1 } from './firmware/ekey/Cose.ts';
import { decodeClaims } from './firmware/ekey/Cwt.ts';
import { EkeyStore } from './firmware/ekey/EkeyStore.ts';
import { keyPairFromSeed } from './firmware/ekey/Keys.ts';
import { mintEkey } from './firmware/ekey/Mint.ts';
import { EkeyVerifier, type VerifyContext } from './firmware/ekey/Verify.ts';
import { parseWeekly } from './firmware/schedule/index.ts';
const T0 = Date.UTC(2025, 0, 6, 12, 0); const DAY = 86_400_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekperf-'));
const db = new Database(path.join(dir, 'e.db')); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL');
const seed = (n: number) => new Uint8Array(32).fill(n);
const owner = keyPairFromSeed(seed(1)), guest = keyPairFromSeed(seed(4));
let c = 0; const random = { bytes: (n: number) => new Uint8Array(n).fill(++c & 0xff) };
const store = new EkeyStore(db); store.addTrustAnchor(owner.publicRaw, 'owner', T0);
for (let i = 0; i < 1000; i++) store.addRevocation({ kind: 'cti', id: new Uint8Array(16).fill(i % 251).map((b, j) => b ^ j ^ (i >> 8)), until: null }, T0);
const sched = [parseWeekly('mon-fri 08:00-18:00')];
const direct = mintEkey(owner, { aud: 'front-door', from: T0 - DAY, until: T0 + 7 * DAY, holder: guest.publicRaw, schedules: sched, uses: 10 }, random);
const ctx: VerifyContext = { lockId: 'front-door', now: T0, timeZone: 'Europe/Berlin', skewMs: 60_000 };
const cold = new EkeyVerifier(store, { cacheSize: 0 });
const msg = decodeSign1(direct); const tbs = sigStructure(msg.protectedBytes, msg.payload);
const r = cold.resolve(direct); if (!r.granted) throw 0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function batch(fn: () => void, n: number) { const s = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); return Number(process.hrtime.bigint() - s) / 1000 / n; }
function paired(name: string, subject: () => void, baseline: () => void, perBatch = 100, rounds = 21) {
  batch(subject, perBatch); batch(baseline, perBatch); const s: number[] = [], b: number[] = [], q: number[] = [];
  for (let i = 0; i < rounds; i++) { const bs = batch(baseline, perBatch); const ss = batch(subject, perBatch); s.push(ss); b.push(bs); q.push(ss / bs); }
  console.log(name.padEnd(16), median(s).toFixed(1), median(b).toFixed(1), median(q).toFixed(3), q.map(x=>x.toFixed(2)).join(" "));
}
const nat = () => { verify(null, tbs, owner.publicKey, msg.signature); };
const which = process.argv[2] ?? 'all';
paired('cold.verify', () => cold.verify(direct, ctx), nat);




paired('cold.verify', () => cold.verify(direct, ctx), nat);
db.close(); fs.rmSync(dir, { recursive: true });
