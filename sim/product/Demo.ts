// `keyway demo`: the whole story against a temporary lock, by itself, checking every step. Its own radio hub
// (in this process), a factory-new lock in a child process (`keyway lock`, exactly as a user starts it) and
// two phones (owner and guest) on this process's virtual radio. Each step prints what it did and what the
// lock answered; the demo fails (and says which step) as soon as one does not behave as expected.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Phone, MemoryPhoneStore, type PhoneStore } from '../../ble-gatt/client/Phone.ts';
import { PhoneSessionError } from '../../ble-gatt/client/PhoneSession.ts';
import { Profile } from '../../ble-gatt/client/Profile.ts';
import {
  NobleTransport,
  pickLock,
  scanLocks,
  type FoundLock,
  type Noble,
} from '../../ble-gatt/client/NobleTransport.ts';
import { keyPairFromPrivate } from '../../ble-gatt/noise/cryptoFunctions.ts';
import { generateSetupCode } from '../../ble-gatt/pake/setupCode.ts';
import {
  decodeClaims,
  decodeSign1,
  keyPairFromSeed,
  KeywayError,
  type AuditEntry,
  type Random,
  type WeekDay,
} from '../../firmware/index.ts';
import { CryptoRandom } from '../clock/index.ts';
import { installVirtualRadio, startHub, type RadioHandle } from '../radio/index.ts';
import { sendControl } from './ControlSocket.ts';
import { LockChild, type JsonEvent } from './LockChild.ts';
import { keepProcessHandlers } from './ProcessHandlers.ts';

export interface DemoOptions {
  /** Where each printed line goes. */
  out: (line: string) => void;
  /** Keep the temporary directory (lock data, phone eKey bundle, hub socket) for a look afterwards. */
  keep?: boolean;
}

export interface DemoResult {
  ok: boolean;
  steps: Array<{ title: string; ok: boolean; ms: number; detail: string }>;
  dir: string;
}

class StepFailed extends Error {}

const random = new CryptoRandom();
const HOUR = 3_600_000;

/** A phone whose keys live in memory (the demo and the fleet benchmark). */
export function memoryPhone(rand: Random = random): Phone {
  const seed = rand.bytes(32);
  const store: PhoneStore = new MemoryPhoneStore(
    keyPairFromPrivate(rand.bytes(32)),
    keyPairFromSeed(seed),
    seed,
  );
  return new Phone(store, rand, { timeoutMs: 10_000 });
}

function expect(cond: boolean, why: string): void {
  if (!cond) throw new StepFailed(why);
}

/** The refusal reason a phone got, or null if the command went through. */
async function refusal(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (err) {
    if (err instanceof PhoneSessionError) return `${err.kind}: ${err.reason} (${err.message})`;
    throw err;
  }
}

const auditIs = (e: JsonEvent, kind: string, action: string): boolean =>
  e.type === 'audit' && (e.entry as AuditEntry).kind === kind && (e.entry as AuditEntry).action === action;

const hhmm = (t: number): string => new Date(t).toISOString().slice(11, 16);
const DAYS: WeekDay[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { out } = options;
  const dir = mkdtempSync(join(tmpdir(), 'keyway-demo-'));
  const steps: DemoResult['steps'] = [];
  const started = performance.now();
  let radio: RadioHandle | null = null;
  let hub: Awaited<ReturnType<typeof startHub>> | null = null;
  let lock: LockChild | null = null;
  const restoreHandlers = keepProcessHandlers();

  const step = async (title: string, fn: () => Promise<string>): Promise<void> => {
    const t0 = performance.now();
    out(`[${steps.length + 1}] ${title}`);
    try {
      const detail = await fn();
      const ms = Math.round(performance.now() - t0);
      steps.push({ title, ok: true, ms, detail });
      out(`    ok (${ms} ms)${detail === '' ? '' : `: ${detail}`}`);
    } catch (err) {
      const ms = Math.round(performance.now() - t0);
      const detail = err instanceof Error ? err.message : String(err);
      steps.push({ title, ok: false, ms, detail });
      out(`    FAILED: ${detail}`);
      throw new StepFailed(detail);
    }
  };

  try {
    const setupCode = generateSetupCode(random);
    const dataDir = join(dir, 'lock');
    const hubAddress = join(dir, 'hub.sock');
    let lockId = '';
    let ownerNoble: Noble;
    let guestNoble: Noble;

    await step('start a radio hub and a factory-new lock ("keyway lock --name demo")', async () => {
      hub = await startHub({ address: hubAddress });
      radio = installVirtualRadio({ hub, name: 'keyway demo phones' });
      ownerNoble = radio.newNoble();
      guestNoble = radio.newNoble();
      lock = LockChild.spawn({
        name: 'demo',
        dataDir,
        hub: hubAddress,
        tz: 'UTC',
        setupCode,
        logLevel: 'warn',
      });
      const ready = await lock.ready(30_000);
      expect(ready.setupMode === true, 'the new lock is not in setup mode');
      expect(ready.setupCode === setupCode, 'the lock shows another setup code');
      lockId = String(ready.lockId);
      return `lock ${lockId} in setup mode, setup code ${setupCode.slice(0, 4)}-${setupCode.slice(4)}`;
    });

    // Two phone profiles (directories with each phone's keys, locks and eKeys), as `keyway phone` keeps them.
    const profile = (name: string): Phone =>
      new Phone(Profile.open(name, { root: join(dir, 'phones'), create: true, random }), random, {
        timeoutMs: 10_000,
      });
    const owner = profile('olivia');
    const guest = profile('guest');
    // Each phone finds the lock with its own radio: by the setup flag before the claim, by the rotating
    // identifier derived from the lock's key afterwards (the advertisement names no lock).
    const seen = new Map<Noble, FoundLock>();
    const transport = async (phone: Phone, noble: Noble): Promise<NobleTransport> => {
      let f = seen.get(noble);
      if (f === undefined) {
        const rec = phone.store.locks().find((l) => l.lockId === lockId);
        const heard = await scanLocks(noble, {
          ms: 5000,
          until: (x) => (rec === undefined ? x.setup : pickLock([x], rec.lockKey) !== null),
        });
        f = rec === undefined ? heard.find((x) => x.setup) : (pickLock(heard, rec.lockKey) ?? undefined);
        if (f === undefined) throw new StepFailed('the phone did not hear the lock');
        seen.set(noble, f);
      }
      return NobleTransport.connect(f.peripheral, { timeoutMs: 10_000 });
    };

    await step("the owner's phone scans and finds the lock in setup mode", async () => {
      const locks = await scanLocks(ownerNoble, { ms: 3000, until: (f) => f.setup });
      const setup = locks.filter((f) => f.setup);
      expect(setup.length === 1, `expected one lock in setup mode, heard ${setup.length}`);
      seen.set(ownerNoble, setup[0]!);
      return `heard ${setup[0]!.address} (setup mode; the advertisement names no lock)`;
    });

    await step('claim without the gesture at the lock is refused', async () => {
      const why = await refusal(owner.claim(await transport(owner, ownerNoble), { setupCode }));
      expect(why !== null, 'the lock accepted a claim without physical presence');
      return why ?? '';
    });

    await step(
      'claim gesture at the lock ("keyway lock ctl claim-press"), then the owner claims',
      async () => {
        const r = await sendControl(dataDir, 'claim-press');
        expect(r.ok, `claim-press failed: ${String(r.error)}`);
        const rec = await owner.claim(await transport(owner, ownerNoble), {
          setupCode,
          ownerName: 'Olivia',
          syncTime: Date.now(),
        });
        expect(rec.lockId === lockId, `claimed lock ${rec.lockId}, expected ${lockId}`);
        return `Olivia owns lock ${rec.lockId}; her phone keeps the lock's key for later sessions`;
      },
    );

    await step('the owner unlocks', async () => {
      const mark = lock!.events.length;
      await owner.once(await transport(owner, ownerNoble), lockId, 'unlock', {});
      await lock!.next((e) => e.type === 'bolt' && e.state === 'unlocked', mark, 10_000);
      return 'the bolt moved: unlocked';
    });

    let ownerIndex = 0;
    await step('the owner adds a PIN, and it opens the keypad', async () => {
      await owner.withSession(await transport(owner, ownerNoble), lockId, async (s) => {
        const users = await s.request('user.list', {});
        const olivia = users.users.find((u) => u.name === 'Olivia');
        expect(olivia !== undefined, 'the owner is not among the users');
        ownerIndex = olivia!.index;
        await s.request('cred.add', { type: 'pin', user: ownerIndex, pin: '4071' });
      });
      const r = await sendControl(dataDir, 'keypad 4071#');
      const events = (r.events as JsonEvent[] | undefined) ?? [];
      expect(
        events.some((e) => e.type === 'keypad' && e.feedback === 'accepted'),
        `the keypad did not accept the PIN: ${JSON.stringify(r)}`,
      );
      return 'PIN 4071 for Olivia; "4071#" on the keypad: accepted';
    });

    const now = Date.now();
    const window = { from: hhmm(now - HOUR), until: hhmm(now + HOUR) };
    let guestCti: Uint8Array = new Uint8Array();
    let guestExp = 0;
    await step('the owner issues a guest eKey to a second phone (today, within an hour of now)', () => {
      const ekey = owner.mint({
        lockId,
        holder: guest.holderPublic,
        role: 'guest',
        from: now - HOUR,
        until: now + 24 * HOUR,
        schedules: [{ kind: 'weekly', days: [...DAYS], start: window.from, end: window.until }],
      });
      const claims = decodeClaims(decodeSign1(ekey).payload);
      guestCti = claims.cti;
      guestExp = claims.exp;
      // Handed over as a file, as `keyway phone ekey issue` / `ekey import` do.
      const file = join(dir, 'guest.ekey.json');
      writeFileSync(file, JSON.stringify(owner.bundle(lockId, ekey)), { mode: 0o600 });
      const imported = guest.importBundle(JSON.parse(readFileSync(file, 'utf8')));
      expect(imported.lockId === lockId, 'the guest imported an eKey for another lock');
      return Promise.resolve(
        `guest eKey, daily ${window.from}-${window.until} UTC, valid 24 h; bundle ${file}`,
      );
    });

    await step('the guest unlocks', async () => {
      const mark = lock!.events.length;
      await guest.once(await transport(guest, guestNoble), lockId, 'unlock', {});
      const e = await lock!.next((x) => auditIs(x, 'LockOperation', 'unlock'), mark, 10_000);
      return `audit #${String((e.entry as AuditEntry).seq)}: unlock by eKey`;
    });

    await step('three hours later (owner syncs the lock clock forward), the guest is refused', async () => {
      await owner.once(await transport(owner, ownerNoble), lockId, 'time.sync', {
        time: Date.now() + 3 * HOUR,
      });
      const why = await refusal(guest.once(await transport(guest, guestNoble), lockId, 'unlock', {}));
      expect(
        why !== null && why.includes('outside_schedule'),
        `expected outside_schedule, got ${why ?? 'success'}`,
      );
      return why ?? '';
    });

    await step('the owner revokes the guest eKey; the guest is refused as revoked', async () => {
      await owner.once(await transport(owner, ownerNoble), lockId, 'revoke', {
        cti: guestCti,
        until: guestExp * 1000,
      });
      const why = await refusal(guest.once(await transport(guest, guestNoble), lockId, 'unlock', {}));
      expect(why !== null && why.includes('revoked'), `expected revoked, got ${why ?? 'success'}`);
      return why ?? '';
    });

    await step("the owner pulls the audit log and verifies it against the lock's device key", async () => {
      const pulled = await owner.withSession(await transport(owner, ownerNoble), lockId, (s) =>
        owner.pullAudit(s, lockId),
      );
      const entries: AuditEntry[] = pulled.entries;
      const unlocks = entries.filter((e) => e.kind === 'LockOperation' && e.action === 'unlock');
      const refusals = entries.filter((e) => e.kind === 'LockOperationError' && e.action === 'unlock');
      expect(unlocks.length >= 3, `expected 3 unlocks (owner app, PIN, guest), found ${unlocks.length}`);
      const reasons = refusals.map((e) => e.reason);
      expect(reasons.includes('outside_schedule'), 'the schedule refusal is not in the log');
      expect(reasons.includes('revoked'), 'the revoked refusal is not in the log');
      return `${entries.length} entries, hash chain and signed checkpoint verify; ${unlocks.length} unlocks, refusals: ${reasons.join(', ')}`;
    });

    await step('stop the lock (SIGTERM): it shuts down cleanly', async () => {
      const exit = await lock!.stop('SIGTERM');
      expect(exit.code === 0, `the lock exited with ${String(exit.code ?? exit.signal)}`);
      return 'exit code 0';
    });
  } catch (err) {
    if (!(err instanceof StepFailed)) {
      const detail = err instanceof Error ? err.message : String(err);
      steps.push({ title: 'unexpected error', ok: false, ms: 0, detail });
      out(`    FAILED: ${detail}`);
    }
  } finally {
    const l = lock as LockChild | null;
    if (l !== null && l.running) await l.stop('SIGTERM', 5000);
    const r = radio as RadioHandle | null;
    await r?.close({ forget: true });
    const h = hub as { close(): Promise<void> } | null;
    await h?.close();
    restoreHandlers();
    if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
  const ok = steps.length > 0 && steps.every((s) => s.ok);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  out(ok ? `demo passed: ${steps.length} steps in ${secs} s` : `demo FAILED after ${secs} s`);
  if (options.keep === true) out(`kept ${dir}`);
  if (!ok && lock !== null) {
    const tail = (lock as LockChild).stderr.trim().split('\n').slice(-5).join('\n    ');
    if (tail !== '') out(`    lock stderr: ${tail}`);
  }
  void KeywayError;
  return { ok, steps, dir };
}
