// Fleet benchmark: 20 lock processes (`keyway lock`, each its own bleno) and 20 phones (noble instances in
// this process) on one virtual air through a hub. Each phone claims its lock, then unlocks it once a second
// for 30 s (connect, Noise IK with the eKey proof and the unlock as early request, disconnect).
//
//   fleet_unlocks_per_s        successful unlocks per second over the run (target: 20)
//   fleet_unlocks_vs_target    that / (locks x 1 per second): 1.0 = every phone got every unlock through
//   fleet_errors               unlocks that failed (refused, timed out or link lost): expect 0
//   fleet_late                 unlocks that started more than a second after their slot (overload)
//   fleet_unlock_ms_median     connect -> unlocked -> disconnected, median (absolute)
//   fleet_unlock_ms_p95
//   fleet_start_s              time for the 20 lock processes to come up (absolute, informative)
//
// KEYWAY_BENCH_QUICK=1 (or --quick on the command line) runs 5 locks for 5 s for a local check; the real
// run is 20 locks for 30 s. KEYWAY_FLEET_LOCKS / KEYWAY_FLEET_SECONDS override either.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Phone } from '../ble-gatt/client/Phone.ts';
import { NobleTransport, scanLocks, type FoundLock, type Noble } from '../ble-gatt/client/NobleTransport.ts';
import { generateSetupCode } from '../ble-gatt/pake/setupCode.ts';
import { CryptoRandom } from '../sim/clock/index.ts';
import { sendControl } from '../sim/product/ControlSocket.ts';
import { memoryPhone } from '../sim/product/Demo.ts';
import { Fleet } from '../sim/product/Fleet.ts';
import { keepProcessHandlers } from '../sim/product/ProcessHandlers.ts';
import { installVirtualRadio, startHub } from '../sim/radio/index.ts';

const quick = process.env.KEYWAY_BENCH_QUICK === '1' || process.argv.includes('--quick');
const LOCKS = Number(process.env.KEYWAY_FLEET_LOCKS ?? (quick ? 5 : 20));
const SECONDS = Number(process.env.KEYWAY_FLEET_SECONDS ?? (quick ? 5 : 30));

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
};
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

interface Member {
  name: string;
  dataDir: string;
  setupCode: string;
  address: string;
  phone: Phone;
  noble: Noble;
  lockId: string;
  found: FoundLock | null;
}

async function withConcurrency<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function run(): Promise<Record<string, number | string>> {
  const random = new CryptoRandom();
  const dir = mkdtempSync(join(tmpdir(), 'kwfleet-'));
  const hub = await startHub({ address: join(dir, 'hub.sock') });
  const restoreHandlers = keepProcessHandlers();
  const radio = installVirtualRadio({ hub, name: 'fleet bench phones' });
  // Every noble instance adds its own process exit and SIGINT handlers: 20 phones are not a leak.
  const maxListeners = process.getMaxListeners();
  process.setMaxListeners(Math.max(maxListeners, 2 * LOCKS + 10));
  let fleet: Fleet | null = null;
  try {
    const codes = Array.from({ length: LOCKS }, () => generateSetupCode(random));
    const t0 = performance.now();
    fleet = await Fleet.start({
      count: LOCKS,
      baseDir: join(dir, 'locks'),
      hub: hub.address,
      tz: 'UTC',
      setupCodes: codes,
      logLevel: 'error',
      readyTimeoutMs: 120_000,
    });
    const startS = (performance.now() - t0) / 1000;
    // Each lock's radio address, from the hub's view of the air (device names are "lock <name>").
    const devices = (await radio.status()).devices;
    const members: Member[] = fleet.members.map((m, i) => {
      const d = devices.find((x) => x.name === `lock ${m.name}`);
      if (d === undefined) throw new Error(`lock ${m.name} is not on the air`);
      return {
        name: m.name,
        dataDir: m.dataDir,
        setupCode: codes[i]!,
        address: d.address,
        phone: memoryPhone(random),
        noble: radio.newNoble(),
        lockId: String(m.ready.lockId),
        found: null,
      };
    });
    const transport = async (m: Member): Promise<NobleTransport> => {
      if (m.found === null) {
        const heard = await scanLocks(m.noble, { ms: 10_000, until: (f) => f.address === m.address });
        m.found = heard.find((f) => f.address === m.address) ?? null;
        if (m.found === null) throw new Error(`${m.name} not heard`);
      }
      return NobleTransport.connect(m.found.peripheral, { timeoutMs: 10_000 });
    };
    // Claim every lock (presence through its control socket), a few at a time: scrypt is the cost here.
    await withConcurrency(members, 4, async (m) => {
      const r = await sendControl(m.dataDir, 'claim-press');
      if (!r.ok) throw new Error(`claim-press on ${m.name}: ${String(r.error)}`);
      const rec = await m.phone.claim(await transport(m), { setupCode: m.setupCode, syncTime: Date.now() });
      if (rec.lockId !== m.lockId) throw new Error(`${m.name}: claimed ${rec.lockId}, expected ${m.lockId}`);
    });

    // The measured run: phone i unlocks at start + i/N s + k s, k = 0..SECONDS-1.
    const latencies: number[] = [];
    let errors = 0;
    let late = 0;
    const firstError: string[] = [];
    const begin = performance.now() + 200;
    await Promise.all(
      members.map(async (m, i) => {
        for (let k = 0; k < SECONDS; k++) {
          const slot = begin + (i / members.length) * 1000 + k * 1000;
          const wait = slot - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          else if (wait < -1000) late += 1;
          const s = performance.now();
          try {
            await m.phone.once(await transport(m), m.lockId, 'unlock', {});
            latencies.push(performance.now() - s);
          } catch (err) {
            errors += 1;
            if (firstError.length < 3)
              firstError.push(`${m.name}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }),
    );
    // Slots span SECONDS; a run that overran (overload) is measured over its real length.
    const elapsed = Math.max(SECONDS, (performance.now() - begin) / 1000);
    const perS = latencies.length / elapsed;
    if (firstError.length > 0) process.stderr.write(`fleet bench errors: ${firstError.join('; ')}\n`);
    return {
      fleet_locks: members.length,
      fleet_seconds: SECONDS,
      fleet_unlocks_per_s: round(perS),
      fleet_unlocks_vs_target: round(perS / members.length, 3),
      fleet_errors: errors,
      fleet_late: late,
      fleet_unlock_ms_median: round(quantile(latencies, 0.5)),
      fleet_unlock_ms_p95: round(quantile(latencies, 0.95)),
      fleet_start_s: round(startS),
    };
  } finally {
    await fleet?.stop();
    await radio.close({ forget: true });
    await hub.close();
    restoreHandlers();
    process.setMaxListeners(maxListeners);
    rmSync(dir, { recursive: true, force: true });
  }
}
