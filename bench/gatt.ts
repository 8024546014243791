// GATT benchmark: an owner's unlock against a real Lock behind LockGattService (bleno) from NobleTransport
// (noble) over the virtual radio in one child process, measured after the connection is up and with
// it; without and with modelled connection intervals. Baseline in the same run: the same unlock over an
// in-memory link (no radio), so the radio's share shows as a ratio.
//
//   gatt_round_trips_per_unlock      GATT exchanges the phone waits for, after connecting (target <= 2)
//   gatt_bytes_on_air_per_unlock     ATT values both ways: status read + writes + notifications
//   gatt_unlock_ms_*                 median, session start (status read) -> unlock answered
//   gatt_connect_unlock_ms_*         median, connect + discover + subscribe + unlock + disconnect
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), '..');
type Json = Record<string, number | string>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

export async function run(): Promise<Record<string, number | string>> {
  const proc = spawn(process.execPath, ['--import', 'tsx', HERE, 'child'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let result: Json | null = null;
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      result = JSON.parse(line) as Json;
    } catch {
      // not ours
    }
  });
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  if (code !== 0 || result === null)
    throw new Error(`gatt bench child failed (${code}): ${err.slice(-2000)}`);
  return result;
}

async function child(): Promise<void> {
  const { installVirtualRadio } = await import('../sim/radio/index.ts');
  const { LockGattService } = await import('../ble-gatt/server/LockGattService.ts');
  const { NobleTransport, scanLocks } = await import('../ble-gatt/client/NobleTransport.ts');
  const { makeWorld, SETUP_CODE } = await import('../test/ble-gatt/server/world.ts');

  const radio = installVirtualRadio({ hub: 'in-process', name: 'bench-gatt' });
  const world = makeWorld({ limits: { challengeBurst: 100_000, requestBurst: 100_000 } });
  const gatt = await LockGattService.start({
    bleno: radio.loadBleno(),
    service: world.service,
    time: () => world.f.lock.status().time,
  });
  const noble = radio.loadNoble();
  const owner = world.phone('owner');
  world.presence = true;
  const { lockId } = await owner.claim(world.link(), { setupCode: SETUP_CODE });
  const relock = (): void => world.f.clock.advance(40_000);

  // Baseline: in memory.
  const memory: number[] = [];
  for (let i = 0; i < 200; i++) {
    const link = world.link();
    const t = performance.now();
    await owner.once(link, lockId, 'unlock', {});
    memory.push(performance.now() - t);
    relock();
  }

  const [found] = await scanLocks(noble, { ms: 3000, until: (f) => !f.setup });
  if (found === undefined) throw new Error('lock not heard');
  const measure = async (n: number) => {
    const unlock: number[] = [];
    const whole: number[] = [];
    let trips = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const tr = await NobleTransport.connect(found.peripheral, { timeoutMs: 10_000 });
      const t1 = performance.now();
      await owner.once(tr, lockId, 'unlock', {});
      const t2 = performance.now();
      await tr.close();
      whole.push(performance.now() - t0);
      unlock.push(t2 - t1);
      trips = tr.roundTrips + (owner.lastStats?.waits ?? NaN);
      bytes = tr.stats.bytesIn + tr.stats.bytesOut;
      relock();
      await new Promise((r) => setTimeout(r, 5)); // let bleno advertise again
    }
    return { unlock: median(unlock), whole: median(whole), trips, bytes };
  };
  const plain = await measure(30);
  radio.setFaults({ connectionInterval: true });
  const paced = await measure(8);
  await gatt.stop();
  await radio.close();
  world.close();
  const mem = median(memory);
  const out: Json = {
    gatt_round_trips_per_unlock: plain.trips,
    gatt_bytes_on_air_per_unlock: plain.bytes,
    gatt_unlock_ms_memory_baseline: round(mem),
    gatt_unlock_ms_radio: round(plain.unlock),
    gatt_unlock_radio_vs_memory: round(plain.unlock / mem, 2),
    gatt_connect_unlock_ms_radio: round(plain.whole),
    gatt_unlock_ms_conn_interval: round(paced.unlock),
    gatt_connect_unlock_ms_conn_interval: round(paced.whole),
    gatt_round_trips_per_unlock_conn_interval: paced.trips,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (process.argv[2] === 'child') {
  child().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
      process.exit(1);
    },
  );
}
