// eKey benchmark, all figures from one run (the machine is shared and noisy, so ratios matter):
//
//  ekey_native_verify_us   node:crypto Ed25519 verify of one Sig_structure (the baseline)
//  ekey_verify_us          EkeyVerifier.verify of a directly issued eKey, cache off: strict decode, COSE and
//                          claims checks, signature, trust anchor, revocation/uses lookups in SQLite, time,
//                          schedule
//  ekey_verify_ratio       ekey_verify_us / ekey_native_verify_us (target <= 1.5)
//  ekey_chain3_us          the same for a chain of 3 links (3 signatures), cache off
//  ekey_chain3_ratio       ekey_chain3_us / (3 x native): per-signature cost in a chain
//  ekey_cached_us          a repeat of the depth-3 chain served from the cache (no signature work; the
//                          time, revocation, schedule and uses checks still run)
//  ekey_cached_ratio       ekey_cached_us / ekey_native_verify_us
//  ekey_tweetnacl_ratio    tweetnacl's pure-JS verify / native verify, for comparison
import Database from 'better-sqlite3';
import { verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { decodeSign1, sigStructure } from '../firmware/ekey/Cose.ts';
import { EkeyStore } from '../firmware/ekey/EkeyStore.ts';
import { keyPairFromSeed } from '../firmware/ekey/Keys.ts';
import { mintEkey } from '../firmware/ekey/Mint.ts';
import { EkeyVerifier, type VerifyContext } from '../firmware/ekey/Verify.ts';
import { parseWeekly } from '../firmware/schedule/index.ts';

const T0 = Date.UTC(2025, 0, 6, 12, 0);
const DAY = 86_400_000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function batch(fn: () => void, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

/**
 * Runs fn for at least `ms` milliseconds so V8 has compiled it to optimized code before it is timed: the
 * native baseline is compiled C from the first call, the TypeScript subject is not, and timing its first
 * few thousand calls measures the JIT (ratios around 2) rather than the verification.
 */
function warmUp(fn: () => void, ms: number): void {
  const end = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  do fn();
  while (process.hrtime.bigint() < end);
}

/**
 * Subject and baseline measured in alternating batches (so drift on a shared machine hits both alike),
 * after a warm-up of both: median microseconds per call of each, and the median of the per-round ratios.
 */
function paired(
  subject: () => void,
  baseline: () => void,
  perBatch: number,
  rounds = 21,
): { us: number; base: number; ratio: number } {
  warmUp(subject, 500);
  warmUp(baseline, 200);
  const s: number[] = [];
  const b: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const bs = batch(baseline, perBatch);
    const ss = batch(subject, perBatch);
    s.push(ss);
    b.push(bs);
    r.push(ss / bs);
  }
  return { us: median(s), base: median(b), ratio: median(r) };
}

export function run(): Promise<Record<string, number | string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-bench-ekey-'));
  const db = new Database(path.join(dir, 'ekey.db'));
  // As the lock's store: WAL, synchronous=FULL.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  try {
    const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);
    const [owner, admin, member, guest] = [1, 2, 3, 4].map((n) => keyPairFromSeed(seed(n))) as [
      ReturnType<typeof keyPairFromSeed>,
      ReturnType<typeof keyPairFromSeed>,
      ReturnType<typeof keyPairFromSeed>,
      ReturnType<typeof keyPairFromSeed>,
    ];
    let counter = 0;
    const random = { bytes: (n: number) => new Uint8Array(n).fill(++counter & 0xff) };
    const store = new EkeyStore(db);
    store.addTrustAnchor(owner.publicRaw, 'owner', T0);
    // Some unrelated revocations so the lookups hit a populated index.
    for (let i = 0; i < 1000; i++) {
      store.addRevocation(
        { kind: 'cti', id: new Uint8Array(16).fill(i % 251).map((b, j) => b ^ j ^ (i >> 8)), until: null },
        T0,
      );
    }
    const base = { aud: 'front-door', from: T0 - DAY, until: T0 + 7 * DAY } as const;
    const sched = [parseWeekly('mon-fri 08:00-18:00')];
    const direct = mintEkey(owner, { ...base, holder: guest.publicRaw, schedules: sched, uses: 10 }, random);
    const l1 = mintEkey(owner, { ...base, holder: admin.publicRaw, role: 'admin', delegateDepth: 2 }, random);
    const l2 = mintEkey(
      admin,
      { ...base, holder: member.publicRaw, role: 'member', delegateDepth: 1, chain: l1 },
      random,
    );
    const l3 = mintEkey(
      member,
      { ...base, holder: guest.publicRaw, schedules: sched, uses: 10, chain: l2 },
      random,
    );
    const ctx: VerifyContext = { lockId: 'front-door', now: T0, timeZone: 'Europe/Berlin', skewMs: 60_000 };

    const msg = decodeSign1(direct);
    const tbs = sigStructure(msg.protectedBytes, msg.payload);
    const sig = msg.signature;

    const cold = new EkeyVerifier(store, { cacheSize: 0 });
    const warm = new EkeyVerifier(store);
    const check = (ok: boolean, what: string): void => {
      if (!ok) throw new Error(`benchmark setup: ${what} did not verify`);
    };
    check(cold.verify(direct, ctx).granted, 'direct eKey');
    check(cold.verify(l3, ctx).granted, 'chain of 3');
    check(verify(null, tbs, owner.publicKey, sig), 'native');
    check(nacl.sign.detached.verify(tbs, sig, owner.publicRaw), 'tweetnacl');
    warm.verify(l3, ctx);

    const nativeVerify = (): void => {
      verify(null, tbs, owner.publicKey, sig);
    };
    const native3 = (): void => {
      nativeVerify();
      nativeVerify();
      nativeVerify();
    };
    const one = paired(() => cold.verify(direct, ctx), nativeVerify, 100);
    const three = paired(() => cold.verify(l3, ctx), native3, 40);
    const cached = paired(() => warm.verify(l3, ctx), nativeVerify, 200);
    const tweet = paired(() => nacl.sign.detached.verify(tbs, sig, owner.publicRaw), nativeVerify, 4, 7);
    return Promise.resolve({
      ekey_native_verify_us: one.base,
      ekey_verify_us: one.us,
      ekey_verify_ratio: one.ratio,
      ekey_chain3_us: three.us,
      ekey_chain3_ratio: three.ratio,
      ekey_cached_us: cached.us,
      ekey_cached_ratio: cached.ratio,
      ekey_tweetnacl_us: tweet.us,
      ekey_tweetnacl_ratio: tweet.ratio,
    });
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
