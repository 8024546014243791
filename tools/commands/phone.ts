// keyway phone --profile NAME <command>: a simulated phone (a profile directory with its keys and eKeys,
// ble-gatt/client/Profile.ts) talking to keyway locks over Bluetooth: the virtual radio by default, or a
// real adapter with --radio hci. Each command scans, connects, runs one session and disconnects.
import fs from 'node:fs';
import type { Command } from 'commander';
import {
  decodeClaims,
  decodeSign1,
  isKeywayError,
  parseWeekly,
  type AccessSchedule,
  type Role,
} from '../../firmware/index.ts';
import { Phone, type LockRecord } from '../../ble-gatt/client/Phone.ts';
import { PhoneSessionError } from '../../ble-gatt/client/PhoneSession.ts';
import { defaultPhonesDir, Profile } from '../../ble-gatt/client/Profile.ts';
import {
  NobleTransport,
  pickLock,
  scanLocks,
  type FoundLock,
  type Noble,
} from '../../ble-gatt/client/NobleTransport.ts';
import { matchesRotatingId } from '../../ble-gatt/server/Advertising.ts';
import { CryptoRandom } from '../../sim/clock/index.ts';
import { installVirtualRadio, parseRadioMode, type RadioHandle } from '../../sim/radio/index.ts';
import { CliError } from '../CliError.ts';
import { parseTimeArg, readToken } from './ekey.ts';

const strip = (m: string): string => m.replace(/^[a-z_]+: /, '');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ROLES: Role[] = ['owner', 'admin', 'member', 'guest'];

interface Globals {
  profile?: string;
  profilesDir?: string;
  radio: string;
  hub?: string;
  timeout: string;
  scanSeconds: string;
  lock?: string;
}

interface Ctx {
  phone: Phone;
  profile: Profile;
  g: Globals;
  noble(): Promise<Noble>;
  out(line: string): void;
}

function print(line: string): void {
  process.stdout.write(line + '\n');
}

function positive(flag: string, v: string, max = 86_400_000): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new CliError(`${flag} must be a whole number 1..${max}`);
  return n;
}

/** Runs fn with a profile and (lazily) a radio, and turns expected failures into one-line CLI errors. */
async function withPhone(cmd: Command, fn: (c: Ctx) => Promise<void>): Promise<void> {
  const g = cmd.optsWithGlobals<Globals>();
  if (g.profile === undefined) throw new CliError('--profile NAME is required (the phone to act as)');
  const random = new CryptoRandom();
  let profile: Profile;
  try {
    profile = Profile.open(g.profile, {
      random,
      create: true,
      ...(g.profilesDir === undefined ? {} : { root: g.profilesDir }),
    });
  } catch (err) {
    if (isKeywayError(err)) throw new CliError(strip(err.message));
    throw err;
  }
  const timeoutMs = positive('--timeout', g.timeout, 600_000);
  const phone = new Phone(profile, random, { timeoutMs });
  const held: { radio: RadioHandle | null } = { radio: null };
  const ctx: Ctx = {
    phone,
    profile,
    g,
    out: print,
    noble: async () => {
      if (held.radio === null) {
        let mode;
        try {
          mode = parseRadioMode(g.radio);
        } catch (err) {
          throw new CliError(isKeywayError(err) ? strip(err.message) : String(err));
        }
        held.radio = installVirtualRadio({
          radio: mode,
          name: `phone ${g.profile}`.slice(0, 64),
          ...(mode === 'virtual' ? { hub: g.hub ?? process.env.KEYWAY_RADIO_HUB ?? 'auto' } : {}),
        });
        await held.radio.ready;
      }
      return held.radio.loadNoble();
    },
  };
  try {
    await fn(ctx);
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof PhoneSessionError) throw new CliError(describeRefusal(err));
    if (isKeywayError(err)) throw new CliError(strip(err.message));
    throw err;
  } finally {
    if (held.radio !== null) await held.radio.close();
  }
}

function describeRefusal(err: PhoneSessionError): string {
  const text = strip(err.message);
  if (err.kind === 'refused') return `the lock refused: ${text}`;
  if (err.kind === 'alert') return `the lock ended the session (${err.reason})`;
  return text;
}

/** The lock this command is for: --lock, or the only one the profile knows. */
function lockOf(c: Ctx): LockRecord {
  const locks = c.profile.locks();
  if (c.g.lock !== undefined) {
    const r = locks.find((l) => l.lockId === c.g.lock);
    if (r === undefined) throw new CliError(`profile "${c.profile.name}" knows no lock "${c.g.lock}"`);
    return r;
  }
  if (locks.length === 0)
    throw new CliError(`profile "${c.profile.name}" knows no lock yet (claim one, or import an eKey)`);
  if (locks.length > 1)
    throw new CliError(`profile "${c.profile.name}" knows several locks: pick one with --lock ID`);
  return locks[0]!;
}

/** Finds the lock on the air: its rotating identifier, its last address, or the only claimed lock heard. */
async function findLock(c: Ctx, rec: LockRecord): Promise<FoundLock> {
  const noble = await c.noble();
  const ms = positive('--scan-seconds', c.g.scanSeconds, 120) * 1000;
  const found = await scanLocks(noble, {
    ms,
    until: (f) =>
      !f.setup && (f.address === rec.address || matchesRotatingId(rec.lockKey, f.rid, Date.now())),
  });
  const pick =
    found.find((f) => !f.setup && matchesRotatingId(rec.lockKey, f.rid, Date.now())) ??
    found.find((f) => f.address === rec.address) ??
    pickLock(found, rec.lockKey);
  if (pick === undefined || pick === null) {
    throw new CliError(
      found.length === 0
        ? 'no keyway lock heard (is it running, on the same radio hub?)'
        : `lock ${rec.lockId} not recognised among ${found.length} keyway lock(s) heard`,
    );
  }
  return pick;
}

async function connect<T>(c: Ctx, fn: (t: NobleTransport, rec: LockRecord) => Promise<T>): Promise<T> {
  const rec = lockOf(c);
  const found = await findLock(c, rec);
  const t = await NobleTransport.connect(found.peripheral, {
    timeoutMs: positive('--timeout', c.g.timeout, 600_000),
  });
  try {
    const r = await fn(t, rec);
    if (rec.address !== found.address) c.profile.saveLock({ ...rec, address: found.address });
    return r;
  } finally {
    await t.close();
  }
}

/** A scalar audit field as text (CSV cells hold no commas or quotes here: keyway's values are simple). */
function field(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v).replace(/[",\n]/g, ' ') : '';
}

function ts(t: number | null): string {
  return t === null ? 'unknown' : new Date(t).toISOString();
}

export function register(program: Command): void {
  const phone = program
    .command('phone')
    .description(
      'act as a phone: claim a lock, unlock, manage users and eKeys, pull the log (over Bluetooth)',
    )
    .option('--profile <name>', `phone profile (a directory in ${defaultPhonesDir()}, made on first use)`)
    .option('--profiles-dir <dir>', 'where profiles live (default: $XDG_DATA_HOME/keyway/phones)')
    .option('--radio <mode>', 'virtual (default), hci or hci:N (a real adapter)', 'virtual')
    .option('--hub <address>', 'virtual radio hub (default: $KEYWAY_RADIO_HUB or the per-user hub)')
    .option('--lock <id>', 'which lock (when the profile knows several)')
    .option('--timeout <ms>', 'deadline for every Bluetooth operation and answer', '10000')
    .option('--scan-seconds <s>', 'how long to scan for the lock at most', '5');

  phone
    .command('pubkey')
    .description("print this phone's public holder key (give it to an owner for `ekey issue --to`)")
    .action(async (_o, cmd: Command) =>
      withPhone(cmd, (c) => {
        c.out(hex(c.phone.holderPublic));
        return Promise.resolve();
      }),
    );

  phone
    .command('scan')
    .description('list the keyway locks in radio range (setup mode, identifier, and which known lock it is)')
    .action(async (_o, cmd: Command) =>
      withPhone(cmd, async (c) => {
        const found = await scanLocks(await c.noble(), {
          ms: positive('--scan-seconds', c.g.scanSeconds, 120) * 1000,
        });
        if (found.length === 0) c.out('no keyway lock heard');
        for (const f of found) {
          const known = c.profile.locks().find((l) => matchesRotatingId(l.lockKey, f.rid, Date.now()));
          c.out(
            `${f.address}  rssi ${f.rssi}  ${f.setup ? 'SETUP MODE (unclaimed)' : 'claimed'}  id ${hex(f.rid)}${known ? `  = ${known.lockId}` : ''}`,
          );
        }
      }),
    );

  phone
    .command('locks')
    .description('list the locks this profile knows')
    .action(async (_o, cmd: Command) =>
      withPhone(cmd, (c) => {
        for (const l of c.profile.locks()) {
          const keys = c.phone.ekeysFor(l.lockId).map((e) => e.claims.role);
          c.out(`${l.lockId}  ${l.pinSecret ? 'owner' : 'eKey'}  eKeys: ${keys.join(',') || 'none'}`);
        }
        return Promise.resolve();
      }),
    );

  phone
    .command('claim')
    .description(
      'claim a lock in setup mode (show presence at the lock first: setup code + # on its keypad, or its inside button)',
    )
    .requiredOption('--setup-code <code>', "the 8-digit code on the lock's label")
    .option('--name <name>', "the owner's name on the lock")
    .option('--address <addr>', 'which lock, when several are in setup mode')
    .action(async (o: { setupCode: string; name?: string; address?: string }, cmd: Command) =>
      withPhone(cmd, async (c) => {
        const found = (
          await scanLocks(await c.noble(), {
            ms: positive('--scan-seconds', c.g.scanSeconds, 120) * 1000,
            until: (f) => f.setup && (o.address === undefined || f.address === o.address),
          })
        ).filter((f) => f.setup && (o.address === undefined || f.address === o.address));
        if (found.length === 0) throw new CliError('no keyway lock in setup mode heard');
        if (found.length > 1)
          throw new CliError(`${found.length} locks in setup mode: pick one with --address`);
        const t = await NobleTransport.connect(found[0]!.peripheral, {
          timeoutMs: positive('--timeout', c.g.timeout, 600_000),
        });
        try {
          const rec = await c.phone.claim(t, {
            setupCode: o.setupCode,
            syncTime: Date.now(),
            ...(o.name === undefined ? {} : { ownerName: o.name }),
          });
          c.profile.saveLock({ ...rec, address: found[0]!.address });
          c.out(`claimed lock ${rec.lockId}; this phone is its owner`);
        } finally {
          await t.close();
        }
      }),
    );

  phone
    .command('status')
    .description("the lock's state (bolt, door, battery, mode, time, lockout, alarms)")
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) =>
      withPhone(cmd, async (c) => {
        const s = await connect(c, (t, rec) => c.phone.once(t, rec.lockId, 'status', {}));
        if (o.json === true) c.out(JSON.stringify(s));
        else {
          c.out(
            `lock ${s.lockId}: ${s.bolt}, door ${s.door}, battery ${s.battery}%, mode ${s.mode}, time ${ts(s.time)}`,
          );
          if (s.lockedOutRemainingMs > 0)
            c.out(`locked out for ${Math.ceil(s.lockedOutRemainingMs / 1000)} s`);
          if (s.alarms.length > 0) c.out(`alarms: ${s.alarms.join(', ')}`);
        }
      }),
    );

  for (const op of ['unlock', 'lock'] as const) {
    phone
      .command(op)
      .description(`${op} the lock`)
      .option('--pin <pin>', 'your PIN (when the lock requires one for remote operations)')
      .option('--for <seconds>', 'unlock: relock after this many seconds')
      .action(async (o: { pin?: string; for?: string }, cmd: Command) =>
        withPhone(cmd, async (c) => {
          const pin = o.pin === undefined ? {} : { pin: o.pin };
          await connect(c, (t, rec) =>
            op === 'unlock' && o.for !== undefined
              ? c.phone.once(t, rec.lockId, 'unlock_with_timeout', {
                  seconds: positive('--for', o.for, 86_400),
                  ...pin,
                })
              : c.phone.once(t, rec.lockId, op, pin),
          );
          c.out(op === 'unlock' ? 'unlocked' : 'locked');
        }),
      );
  }

  const user = phone.command('user').description('users of the lock (owner or admin)');
  user
    .command('add')
    .description('add a user')
    .requiredOption('--name <name>', 'display name (at most 32 characters)')
    .option('--role <role>', 'admin | member | guest', 'member')
    .option('--until <time>', 'valid until (now+30d, ISO with Z, or local YYYY-MM-DDTHH:MM UTC)')
    .option('--permanent', 'no end date')
    .action(async (o: { name: string; role: string; until?: string; permanent?: boolean }, cmd: Command) =>
      withPhone(cmd, async (c) => {
        if (!ROLES.includes(o.role as Role) || o.role === 'owner')
          throw new CliError('--role must be admin, member or guest');
        if ((o.until === undefined) === (o.permanent !== true))
          throw new CliError('give exactly one of --until and --permanent');
        const spec = {
          role: o.role as 'admin' | 'member' | 'guest',
          name: o.name,
          ...(o.until === undefined
            ? { permanent: true }
            : { validUntil: parseTimeArg('--until', o.until, 'UTC') }),
        };
        const r = await connect(c, (t, rec) => c.phone.once(t, rec.lockId, 'user.add', spec));
        c.out(`user ${r.user} added (${o.role})`);
      }),
    );
  user
    .command('list')
    .description('list the users')
    .action(async (_o, cmd: Command) =>
      withPhone(cmd, async (c) => {
        const users = await connect(c, (t, rec) =>
          c.phone.withSession(t, rec.lockId, async (s) => {
            const all: Awaited<ReturnType<typeof s.request<'user.list'>>>['users'] = [];
            let from: number | null = 1;
            while (from !== null) {
              const page: { users: typeof all; next: number | null } = await s.request('user.list', {
                from,
                limit: 16,
              });
              all.push(...page.users);
              from = page.next;
            }
            return all;
          }),
        );
        for (const u of users) {
          c.out(
            `${String(u.index).padStart(4)}  ${u.role.padEnd(6)}  ${u.enabled ? 'enabled ' : 'disabled'}  ${u.name ?? '(no name)'}${u.validUntil === null ? '' : `  until ${ts(u.validUntil)}`}`,
          );
        }
      }),
    );
  user
    .command('remove <index>')
    .description('remove a user (and their credentials and schedules)')
    .option('--erase', 'also erase the name (GDPR)')
    .action(async (index: string, o: { erase?: boolean }, cmd: Command) =>
      withPhone(cmd, async (c) => {
        const u = positive('user index', index, 0xffff);
        await connect(c, (t, rec) =>
          c.phone.once(t, rec.lockId, 'user.remove', { user: u, ...(o.erase ? { erase: true } : {}) }),
        );
        c.out(`user ${u} removed`);
      }),
    );

  phone
    .command('pin')
    .description('PIN codes')
    .command('set')
    .description('give a user a keypad PIN')
    .requiredOption('--user <index>', 'user index')
    .requiredOption('--pin <digits>', 'the PIN')
    .option('--force', 'accept a weak PIN deliberately')
    .action(async (o: { user: string; pin: string; force?: boolean }, cmd: Command) =>
      withPhone(cmd, async (c) => {
        const r = await connect(c, (t, rec) =>
          c.phone.once(t, rec.lockId, 'cred.add', {
            type: 'pin',
            user: positive('--user', o.user, 0xffff),
            pin: o.pin,
            ...(o.force ? { force: true } : {}),
          }),
        );
        c.out(`PIN set for user ${r.user} (credential ${r.credential})`);
      }),
    );

  const ekey = phone.command('ekey').description('eKeys: issue to another phone, import one');
  ekey
    .command('issue')
    .description("mint an eKey for another phone's public key (`keyway phone pubkey` on that phone)")
    .requiredOption('--to <pubkey>', "the receiving phone's public key (64 hex digits)")
    .requiredOption('--out <file>', 'write the eKey bundle here (give it to the other phone)')
    .option('--role <role>', 'guest | member | admin', 'guest')
    .option('--from <time>', 'valid from', 'now')
    .option('--until <time>', 'valid until', 'now+7d')
    .option('--weekly <spec...>', 'weekly windows, e.g. "mon-fri 09:00-17:00" (repeatable)')
    .option('--uses <n>', 'number of unlocks allowed')
    .option('--delegate <n>', 'how many further levels the holder may issue', '0')
    .option('--register <user>', 'also register it on the lock to this user index (needed for admins)')
    .action(
      async (
        o: {
          to: string;
          out: string;
          role: string;
          from: string;
          until: string;
          weekly?: string[];
          uses?: string;
          delegate: string;
          register?: string;
        },
        cmd: Command,
      ) =>
        withPhone(cmd, async (c) => {
          if (!/^[0-9a-fA-F]{64}$/.test(o.to))
            throw new CliError('--to must be a public key of 64 hex digits');
          if (!['guest', 'member', 'admin'].includes(o.role))
            throw new CliError('--role must be guest, member or admin');
          const rec = lockOf(c);
          let schedules: AccessSchedule[] = [];
          try {
            schedules = (o.weekly ?? []).map((w) => parseWeekly(w));
          } catch (err) {
            throw new CliError(`--weekly: ${isKeywayError(err) ? strip(err.message) : String(err)}`);
          }
          const token = c.phone.mint({
            lockId: rec.lockId,
            holder: new Uint8Array(Buffer.from(o.to, 'hex')),
            role: o.role as Role,
            from: parseTimeArg('--from', o.from, 'UTC'),
            until: parseTimeArg('--until', o.until, 'UTC'),
            schedules,
            uses: o.uses === undefined ? null : positive('--uses', o.uses, 1_000_000),
            delegateDepth: Number(o.delegate),
          });
          if (o.register !== undefined) {
            const u = positive('--register', o.register, 0xffff);
            await connect(c, (t) =>
              c.phone.once(t, rec.lockId, 'cred.add', { type: 'ekey', user: u, ekey: token }),
            );
            c.out(`registered on the lock to user ${u}`);
          }
          fs.writeFileSync(o.out, JSON.stringify(c.phone.bundle(rec.lockId, token), null, 2) + '\n', {
            mode: 0o600,
          });
          const claims = decodeClaims(decodeSign1(token).payload);
          c.out(`eKey ${hex(claims.cti)} (${claims.role}) written to ${o.out}`);
        }),
    );
  ekey
    .command('import <file>')
    .description('import an eKey bundle issued to this phone')
    .action(async (file: string, _o, cmd: Command) =>
      withPhone(cmd, (c) => {
        let bundle: unknown;
        try {
          bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
        } catch {
          throw new CliError(`${file} is not a readable eKey bundle`);
        }
        const r = c.phone.importBundle(bundle);
        c.out(
          `imported a ${r.claims.role} eKey for lock ${r.lockId}, valid ${ts(r.claims.nbf * 1000)} .. ${ts(r.claims.exp * 1000)}`,
        );
        return Promise.resolve();
      }),
    );

  phone
    .command('revoke')
    .description('revoke an eKey on the lock (owner or admin)')
    .option('--ekey <file>', 'the eKey bundle or token file')
    .option('--cti <hex>', 'the eKey id')
    .option('--until <time>', "when it would expire anyway (default: the eKey's expiry, or now+365d)")
    .action(async (o: { ekey?: string; cti?: string; until?: string }, cmd: Command) =>
      withPhone(cmd, async (c) => {
        let cti: Uint8Array;
        let until: number;
        if (o.ekey !== undefined) {
          const text = fs.existsSync(o.ekey) ? fs.readFileSync(o.ekey, 'utf8') : '';
          let token: Uint8Array;
          try {
            token = new Uint8Array(Buffer.from((JSON.parse(text) as { ekey: string }).ekey, 'hex'));
          } catch {
            token = readToken(o.ekey);
          }
          const claims = decodeClaims(decodeSign1(token).payload);
          cti = claims.cti;
          until = claims.exp * 1000;
        } else if (o.cti !== undefined && /^([0-9a-fA-F]{2}){8,32}$/.test(o.cti)) {
          cti = new Uint8Array(Buffer.from(o.cti, 'hex'));
          until = Date.now() + 365 * 86_400_000;
        } else throw new CliError('give --ekey FILE or --cti HEX (8..32 bytes)');
        if (o.until !== undefined) until = parseTimeArg('--until', o.until, 'UTC');
        await connect(c, (t, rec) => c.phone.once(t, rec.lockId, 'revoke', { cti, until }));
        c.out(`revoked eKey ${hex(cti)}`);
      }),
    );

  phone
    .command('log')
    .description("the lock's audit log")
    .command('pull')
    .description("pull the audit log (verified: hash chain and the lock's signed checkpoint)")
    .option('--from <seq>', 'first entry', '1')
    .option('--csv', 'print CSV')
    .option('--jsonl', 'print JSON Lines')
    .option('--ack', 'acknowledge what was pulled (lets the lock evict it when full)')
    .action(async (o: { from: string; csv?: boolean; jsonl?: boolean; ack?: boolean }, cmd: Command) =>
      withPhone(cmd, async (c) => {
        if (o.csv && o.jsonl) throw new CliError('choose one of --csv and --jsonl');
        const from = positive('--from', o.from, Number.MAX_SAFE_INTEGER);
        const got = await connect(c, (t, rec) =>
          c.phone.withSession(t, rec.lockId, async (s) => {
            const r = await c.phone.pullAudit(s, rec.lockId, from);
            if (o.ack === true && r.entries.length > 0) await s.request('audit.ack', { upTo: r.next - 1 });
            return r;
          }),
        );
        if (o.jsonl === true) for (const e of got.entries) c.out(JSON.stringify(e));
        else if (o.csv === true) {
          c.out('seq,time,kind,action,source,userIndex,result,reason');
          for (const e of got.entries) {
            const r = e as unknown as Record<string, unknown>;
            c.out(
              [
                e.seq,
                ts(e.time),
                e.kind,
                e.action,
                ...['source', 'userIndex', 'result', 'reason'].map((k) => field(r[k])),
              ].join(','),
            );
          }
        } else {
          for (const e of got.entries) {
            const r = e as unknown as Record<string, unknown>;
            const result = field(r.result);
            const reason = field(r.reason);
            c.out(
              `${String(e.seq).padStart(5)}  ${ts(e.time)}  ${e.kind} ${e.action}${result ? ` ${result}` : ''}${reason ? ` (${reason})` : ''}`,
            );
          }
          process.stderr.write(
            `${got.entries.length} entries, verified${got.checkpoint ? ` (checkpoint ${got.checkpoint.seq})` : ''}; next: --from ${got.next}\n`,
          );
        }
      }),
    );

  phone
    .command('time')
    .description("the lock's clock")
    .command('sync')
    .description("set the lock's clock to this computer's (owner or admin)")
    .action(async (_o, cmd: Command) =>
      withPhone(cmd, async (c) => {
        const r = await connect(c, (t, rec) =>
          c.phone.once(t, rec.lockId, 'time.sync', { time: Date.now() }),
        );
        c.out(`lock time set to ${ts(r.time)}`);
      }),
    );
}
