// Virtual radio benchmark. Every measurement runs in child processes (`node --import tsx bench/radio.ts
// ROLE`), so bleno/noble singletons and the module hook never touch the bench process itself.
//
//   radio_scan_to_first_read_ms_{inproc,xproc}   start scanning -> discovered -> connected -> services
//                                                 -> first characteristic read (median)
//   radio_write_notify_rtt_ms_{inproc,xproc}      200-byte write request + its 100-byte notification (median)
//   baseline_ipc_rtt_ms                           raw Unix-socket ping-pong between two node processes
//   radio_write_notify_rtt_xproc_vs_ipc           ratio of the two (a radio exchange crosses the hub twice)
//   baseline_immediate_hop_ms                     one setImmediate hop in this machine's event loop
//   radio_write_notify_rtt_inproc_vs_immediate    in-process exchange in units of event-loop hops
//   radio_pairs_sustained                         lock/phone pairs (each: 200 B write + 100 B notify once per
//                                                 second) sustained with >= 95 % of exchanges on time and p95
//                                                 latency < 100 ms, ramping up; locks and phones run in 4+4
//                                                 host processes joined by a hub
//   radio_pairs_cpu_ms_per_exchange               CPU (all processes) per exchange at the largest sustained step
//   radio_pairs_projected_2cores                  2000 ms / that: pairs 2 cores could carry if CPU-bound
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Noble } from '../sim/radio/index.ts';

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), '..');

type Json = Record<string, unknown>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
};
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
};
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

// ---- child process plumbing --------------------------------------------------------------------------

interface Worker {
  proc: ChildProcessWithoutNullStreams;
  next(pred: (e: Json) => boolean, ms?: number): Promise<Json>;
  send(o: Json): void;
}

function worker(role: string, env: Record<string, string> = {}): Worker {
  const proc = spawn(process.execPath, ['--import', 'tsx', HERE, role], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const queue: Json[] = [];
  const waiters: Array<{ pred: (e: Json) => boolean; resolve: (e: Json) => void }> = [];
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    let e: Json;
    try {
      e = JSON.parse(line) as Json;
    } catch {
      return;
    }
    const w = waiters.find((x) => x.pred(e));
    if (w) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    } else queue.push(e);
  });
  return {
    proc,
    send: (o) => proc.stdin.write(JSON.stringify(o) + '\n'),
    next: (pred, ms = 60_000) => {
      const i = queue.findIndex(pred);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as Json);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`bench worker ${role} timed out; stderr: ${err.slice(-2000)}`)),
          ms,
        );
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
        });
      });
    },
  };
}

async function runRole(role: string, env: Record<string, string> = {}): Promise<Json> {
  const w = worker(role, env);
  const r = await w.next((e) => e.ev === 'result', 120_000);
  w.proc.kill('SIGKILL');
  return r;
}

// ---- the benchmark (bench process) ---------------------------------------------------------------------

export async function run(): Promise<Record<string, number | string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-bench-radio-'));
  try {
    const inproc = await runRole('inproc');
    const xproc = await runRole('xproc', { BENCH_DIR: dir });
    const ipc = await runRole('ipc', { BENCH_DIR: dir });
    const pairs = await runRole('pairs', { BENCH_DIR: dir });
    const num = (o: Json, k: string): number => Number(o[k]);
    return {
      radio_scan_to_first_read_ms_inproc: round(num(inproc, 'scanToRead')),
      radio_write_notify_rtt_ms_inproc: round(num(inproc, 'rtt')),
      baseline_immediate_hop_ms: round(num(inproc, 'immediate'), 5),
      radio_write_notify_rtt_inproc_vs_immediate: round(num(inproc, 'rtt') / num(inproc, 'immediate'), 1),
      radio_scan_to_first_read_ms_xproc: round(num(xproc, 'scanToRead')),
      radio_write_notify_rtt_ms_xproc: round(num(xproc, 'rtt')),
      baseline_ipc_rtt_ms: round(num(ipc, 'rtt')),
      radio_write_notify_rtt_xproc_vs_ipc: round(num(xproc, 'rtt') / num(ipc, 'rtt'), 2),
      radio_pairs_sustained: num(pairs, 'sustained'),
      radio_pairs_p95_ms_at_sustained: round(num(pairs, 'p95')),
      radio_pairs_cpu_ms_per_exchange: round(num(pairs, 'cpuPerExchange')),
      // 1 if a step failed (the limit lies below the next step); 0 if the ramp's ceiling was reached first
      radio_pairs_limit_found: num(pairs, 'limitFound'),
      // 2 cores = 2000 ms of CPU per second, one exchange per pair per second
      radio_pairs_projected_2cores: Math.floor(2000 / num(pairs, 'cpuPerExchange')),
      radio_pairs_steps: String(pairs.steps),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- roles (child processes) -------------------------------------------------------------------------

const say = (o: Json): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

async function lib() {
  const radio = await import('../sim/radio/index.ts');
  const gatt = await import('../test/radio/fixtures/gatt.ts');
  return { ...radio, ...gatt };
}

type Lib = Awaited<ReturnType<typeof lib>>;

/** Scan -> read, `n` times (disconnecting in between), then the write+notify round trip `m` times. */
async function measure(
  L: Lib,
  noble: Noble,
  name: string,
  n: number,
  m: number,
): Promise<{ scanToRead: number; rtt: number }> {
  const s2r: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const p = await L.findPeripheral(noble, name);
    const link = await L.connectAndDiscover(p);
    await L.within(link.long.readAsync(), 5000, 'read');
    s2r.push(performance.now() - t0);
    if (i < n - 1) {
      await L.within(p.disconnectAsync(), 5000, 'disconnect');
      await new Promise((r) => setTimeout(r, 5)); // let the peripheral advertise again
    } else {
      await L.within(link.echo.subscribeAsync(), 5000, 'subscribe');
      const rtt: number[] = [];
      const value = Buffer.alloc(200, 7);
      for (let j = 0; j < m; j++) {
        const t = performance.now();
        const note = L.nextNotification(link.echo);
        await link.echo.writeAsync(value, false);
        await note;
        rtt.push(performance.now() - t);
      }
      await L.within(p.disconnectAsync(), 5000, 'disconnect');
      return { scanToRead: median(s2r), rtt: median(rtt.slice(Math.floor(m / 10))) };
    }
  }
  throw new Error('unreachable');
}

async function roleInproc(): Promise<void> {
  const L = await lib();
  const radio = L.installVirtualRadio({ hub: 'in-process', name: 'bench' });
  const per = await L.startPeripheral(radio.loadBleno(), 'bench-lock');
  per.long = Buffer.alloc(20, 1);
  const r = await measure(L, radio.loadNoble(), 'bench-lock', 30, 2000);
  const hops: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await new Promise((res) => setImmediate(res));
    hops.push(performance.now() - t);
  }
  await radio.close();
  say({ ev: 'result', ...r, immediate: median(hops) });
}

async function roleXproc(): Promise<void> {
  const L = await lib();
  const address = path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'xproc.sock');
  const hub = await L.startHub({ address });
  const radio = L.installVirtualRadio({ hub, name: 'bench-phone' });
  const host = worker('periph-host', { KEYWAY_RADIO_HUB: address });
  host.send({ cmd: 'add', name: 'bench-lock', short: true });
  await host.next((e) => e.ev === 'added');
  const r = await measure(L, radio.loadNoble(), 'bench-lock', 20, 1000);
  host.proc.kill('SIGKILL');
  await radio.close();
  await hub.close();
  say({ ev: 'result', ...r });
}

async function roleIpc(): Promise<void> {
  const address = path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'ipc.sock');
  const echo = worker('echo', { ECHO_SOCKET: address });
  await echo.next((e) => e.ev === 'listening');
  const s = net.connect(address);
  s.setNoDelay(true);
  await new Promise((r) => s.once('connect', r));
  const rtt: number[] = [];
  const payload = Buffer.alloc(200, 1);
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    const got = new Promise((r) => s.once('data', r));
    s.write(payload);
    await got;
    rtt.push(performance.now() - t);
  }
  s.destroy();
  echo.proc.kill('SIGKILL');
  say({ ev: 'result', rtt: median(rtt.slice(200)) });
}

function roleEcho(): void {
  const server = net.createServer((c) => {
    c.setNoDelay(true);
    c.on('data', (d) => c.write(d.subarray(0, 100)));
  });
  server.listen(process.env.ECHO_SOCKET ?? '', () => say({ ev: 'listening' }));
}

/** Hosts any number of locks (fresh bleno instances) in this process, on the hub in KEYWAY_RADIO_HUB. */
async function rolePeriphHost(): Promise<void> {
  const L = await lib();
  process.setMaxListeners(0); // each bleno instance adds exit/SIGINT handlers
  const radio = L.installVirtualRadio({ hub: process.env.KEYWAY_RADIO_HUB ?? '', name: 'locks' });
  let first = true;
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line) as { cmd: string; name?: string; short?: boolean };
    if (m.cmd === 'add') {
      const bleno = radio.loadBleno({ fresh: !first });
      first = false;
      void L.startPeripheral(bleno, m.name ?? 'lock').then((p) => {
        if (m.short) p.long = Buffer.alloc(20, 1);
        say({ ev: 'added', name: m.name });
      });
    } else if (m.cmd === 'cpu') say({ ev: 'cpu', ...process.cpuUsage() });
  });
}

/** Hosts phones (fresh noble instances), each linked to one lock; runs timed unlock-sized exchanges. */
async function roleCentralHost(): Promise<void> {
  const L = await lib();
  process.setMaxListeners(0);
  const radio = L.installVirtualRadio({ hub: process.env.KEYWAY_RADIO_HUB ?? '', name: 'phones' });
  const links: Array<Awaited<ReturnType<Lib['connectAndDiscover']>>> = [];
  let adding = Promise.resolve();
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line) as { cmd: string; name?: string; ms?: number };
    if (m.cmd === 'add') {
      adding = adding.then(async () => {
        const noble = radio.newNoble();
        const p = await L.findPeripheral(noble, m.name ?? '');
        const link = await L.connectAndDiscover(p);
        await L.within(link.echo.subscribeAsync(), 5000, 'subscribe');
        links.push(link);
        say({ ev: 'added', name: m.name });
      });
    } else if (m.cmd === 'run') void exchanges(L, links, m.ms ?? 3000).then((r) => say({ ev: 'ran', ...r }));
    else if (m.cmd === 'cpu') say({ ev: 'cpu', ...process.cpuUsage() });
  });
}

/** Each link: one 200-byte write + 100-byte notification per second, random phase, for `ms`. */
async function exchanges(
  L: Lib,
  links: Array<Awaited<ReturnType<Lib['connectAndDiscover']>>>,
  ms: number,
): Promise<{ planned: number; done: number; latencies: number[] }> {
  const value = Buffer.alloc(200, 3);
  const latencies: number[] = [];
  let planned = 0;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    links.map(async (link) => {
      const phase = Math.random() * 1000;
      for (let at = phase; at < ms; at += 1000) {
        planned++;
        const wait = start + at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const t = performance.now();
        try {
          const note = L.nextNotification(link.echo, 2000);
          await L.within(link.echo.writeAsync(value, false), 2000, 'write');
          await note;
          const lat = performance.now() - t;
          latencies.push(lat);
          // on time: finished before the next exchange of this pair is due
          if (performance.now() - start < at + 1000) done++;
        } catch {
          // a lost exchange counts as not done
        }
      }
    }),
  );
  return { planned, done, latencies };
}

async function rolePairs(): Promise<void> {
  const L = await lib();
  const address = path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'pairs.sock');
  const hub = await L.startHub({ address });
  const env = { KEYWAY_RADIO_HUB: address };
  const locks = [1, 2, 3, 4].map(() => worker('periph-host', env));
  const phones = [1, 2, 3, 4].map(() => worker('central-host', env));
  const all = [...locks, ...phones];
  const cpu = async (): Promise<number> => {
    let total = 0;
    for (const w of all) {
      w.send({ cmd: 'cpu' });
      const c = await w.next((e) => e.ev === 'cpu');
      total += (Number(c.user) + Number(c.system)) / 1000;
    }
    const own = process.cpuUsage();
    return total + (own.user + own.system) / 1000;
  };
  let pairs = 0;
  let limitFound = 0;
  let sustained = 0;
  let p95AtSustained = NaN;
  let cpuPerExchange = NaN;
  const steps: string[] = [];
  const deadline = Date.now() + 60_000;
  for (const target of [10, 20, 40, 80, 160, 240, 320, 480, 640, 800]) {
    if (Date.now() > deadline) break;
    const names: string[] = [];
    for (; pairs < target; pairs++) names.push(`pair-${pairs}`);
    // locks first (all hosts at once), then each phone host links its phones one by one
    const host = <T>(list: T[], i: number): T => list[i % list.length] as T;
    await Promise.all(
      names.map((name, i) => {
        const lock = host(locks, pairs - names.length + i);
        lock.send({ cmd: 'add', name });
        return lock.next((e) => e.ev === 'added' && e.name === name);
      }),
    );
    await Promise.all(
      names.map((name, i) => {
        const phone = host(phones, pairs - names.length + i);
        phone.send({ cmd: 'add', name });
        return phone.next((e) => e.ev === 'added' && e.name === name, 120_000);
      }),
    );
    const cpu0 = await cpu();
    const ms = 4000;
    for (const p of phones) p.send({ cmd: 'run', ms });
    const results = await Promise.all(phones.map((p) => p.next((e) => e.ev === 'ran', 30_000)));
    const cpu1 = await cpu();
    const planned = results.reduce((a, r) => a + Number(r.planned), 0);
    const done = results.reduce((a, r) => a + Number(r.done), 0);
    const lat = results.flatMap((r) => r.latencies as number[]);
    const p95 = quantile(lat, 0.95);
    const ok = done >= 0.95 * planned && p95 < 100;
    steps.push(`${target}:${Math.round((100 * done) / planned)}%/p95=${p95.toFixed(1)}ms`);
    if (!ok) {
      limitFound = 1;
      break;
    }
    sustained = target;
    p95AtSustained = p95;
    cpuPerExchange = (cpu1 - cpu0) / Math.max(1, lat.length);
  }
  for (const w of all) w.proc.kill('SIGKILL');
  await hub.close();
  say({ ev: 'result', sustained, limitFound, p95: p95AtSustained, cpuPerExchange, steps: steps.join(' ') });
}

const roles: Record<string, () => Promise<void> | void> = {
  inproc: roleInproc,
  xproc: roleXproc,
  ipc: roleIpc,
  echo: roleEcho,
  pairs: rolePairs,
  'periph-host': rolePeriphHost,
  'central-host': roleCentralHost,
};

const role = process.argv[2];
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && role) {
  const f = roles[role];
  if (!f) throw new Error(`unknown bench role ${role}`);
  await f();
}
