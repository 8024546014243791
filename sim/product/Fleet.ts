// Several lock processes side by side on one air (bleno is a process singleton: one lock per process),
// for load tests and demos: `keyway fleet --count N` and the fleet benchmark.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NobleTransport, scanLocks } from '../../ble-gatt/client/NobleTransport.ts';
import { Phone } from '../../ble-gatt/client/Phone.ts';
import { Profile } from '../../ble-gatt/client/Profile.ts';
import { KeywayError } from '../../firmware/index.ts';
import { CryptoRandom } from '../clock/index.ts';
import { installVirtualRadio } from '../radio/index.ts';
import { sendControl } from './ControlSocket.ts';
import { LockChild, type JsonEvent } from './LockChild.ts';
import { keepProcessHandlers } from './ProcessHandlers.ts';

export interface FleetOptions {
  count: number;
  /** Each lock's data directory is <baseDir>/<name>. */
  baseDir: string;
  /** Lock names are <prefix>-1 .. <prefix>-N. Default "fleet". */
  prefix?: string;
  radio?: string;
  hub?: string;
  speed?: number;
  tz?: string;
  /** Setup codes per lock (index 0 = first lock), e.g. for scripted claims. Default: random. */
  setupCodes?: string[];
  logLevel?: string;
  env?: NodeJS.ProcessEnv;
  /** How long each lock may take to come up. */
  readyTimeoutMs?: number;
}

export interface FleetMember {
  name: string;
  dataDir: string;
  child: LockChild;
  ready: JsonEvent;
}

export const MAX_FLEET = 200;

export class Fleet {
  private constructor(readonly members: FleetMember[]) {}

  /** Starts every lock at once and waits for all to be ready; if one fails, all are stopped. */
  static async start(options: FleetOptions): Promise<Fleet> {
    const { count } = options;
    if (!Number.isInteger(count) || count < 1 || count > MAX_FLEET)
      throw new KeywayError('out_of_range', `a fleet has 1 to ${MAX_FLEET} locks, got ${count}`);
    const prefix = options.prefix ?? 'fleet';
    mkdirSync(options.baseDir, { recursive: true, mode: 0o700 });
    const children = Array.from({ length: count }, (_, i) => {
      const name = `${prefix}-${i + 1}`;
      const code = options.setupCodes?.[i];
      return LockChild.spawn({
        name,
        dataDir: join(options.baseDir, name),
        radio: options.radio ?? 'virtual',
        ...(options.hub === undefined ? {} : { hub: options.hub }),
        ...(options.speed === undefined ? {} : { speed: options.speed }),
        ...(options.tz === undefined ? {} : { tz: options.tz }),
        ...(code === undefined ? {} : { setupCode: code }),
        ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
        ...(options.env === undefined ? {} : { env: options.env }),
      });
    });
    const results = await Promise.allSettled(children.map((c) => c.ready(options.readyTimeoutMs ?? 60_000)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      await Promise.all(children.map((c) => c.stop('SIGTERM')));
      const r = results[failed] as PromiseRejectedResult;
      throw new KeywayError(
        'internal',
        `lock ${prefix}-${failed + 1} did not start: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`,
      );
    }
    return new Fleet(
      children.map((child, i) => ({
        name: child.options.name,
        dataDir: child.options.dataDir,
        child,
        ready: (results[i] as PromiseFulfilledResult<JsonEvent>).value,
      })),
    );
  }

  /** SIGTERM to every lock, then waits; returns each exit (a lock that hangs is killed after graceMs). */
  async stop(graceMs = 10_000): Promise<Array<{ name: string; code: number | null; signal: string | null }>> {
    const exits = await Promise.all(this.members.map((m) => m.child.stop('SIGTERM', graceMs)));
    return exits.map((e, i) => ({ name: this.members[i]?.name ?? '?', code: e.code, signal: e.signal }));
  }

  /** Resolves when any lock exits on its own (crash): the fleet command then stops the rest. */
  anyExit(): Promise<FleetMember> {
    return Promise.race(this.members.map((m) => m.child.exited.then(() => m)));
  }
}

/**
 * Claims every lock of a fleet with a phone profile of the same name (fleet-1, ...), through the radio hub
 * the locks joined: the claim gesture over each lock's control socket, then a real claim over the air. A
 * load test can then drive `keyway phone --profile fleet-3 unlock` or the Phone API directly.
 */
export async function claimFleet(
  fleet: Fleet,
  options: { hub: string; profilesDir?: string; timeoutMs?: number },
): Promise<Array<{ name: string; lockId: string }>> {
  const random = new CryptoRandom();
  const restoreHandlers = keepProcessHandlers();
  const radio = installVirtualRadio({ hub: options.hub, name: 'keyway fleet claims' });
  try {
    await radio.ready;
    const devices = (await radio.status()).devices;
    const noble = radio.loadNoble();
    const out: Array<{ name: string; lockId: string }> = [];
    for (const m of fleet.members) {
      const code = m.ready.setupCode as string | undefined;
      if (m.ready.setupMode !== true || code === undefined) {
        throw new KeywayError('invalid_argument', `lock ${m.name} is already claimed`);
      }
      const address = devices.find((d) => d.name === `lock ${m.name}`)?.address;
      if (address === undefined) throw new KeywayError('not_found', `lock ${m.name} is not on the air`);
      const heard = await scanLocks(noble, { ms: 10_000, until: (f) => f.address === address });
      const found = heard.find((f) => f.address === address);
      if (found === undefined) throw new KeywayError('not_found', `lock ${m.name} was not heard`);
      const presence = await sendControl(m.dataDir, 'claim-press');
      if (!presence.ok)
        throw new KeywayError('protocol', `claim-press on ${m.name}: ${String(presence.error)}`);
      const profile = Profile.open(m.name, {
        create: true,
        random,
        ...(options.profilesDir === undefined ? {} : { root: options.profilesDir }),
      });
      const phone = new Phone(profile, random, { timeoutMs: options.timeoutMs ?? 10_000 });
      const transport = await NobleTransport.connect(found.peripheral, {
        timeoutMs: options.timeoutMs ?? 10_000,
      });
      const rec = await phone.claim(transport, { setupCode: code, ownerName: m.name, syncTime: Date.now() });
      profile.saveLock({ ...rec, address });
      out.push({ name: m.name, lockId: rec.lockId });
    }
    return out;
  } finally {
    await radio.close({ forget: true });
    restoreHandlers();
  }
}
