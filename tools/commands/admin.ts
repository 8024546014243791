// keyway admin: manage a terminal lock's users, PINs, schedules, settings and audit log directly in its data
// directory, while no lock process runs on it (the data directory's lock file enforces that). Until the
// Bluetooth issue lands this is how the owner and the first PINs are created.
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import {
  checkPin,
  isKeywayError,
  isValidTimeZone,
  localToEpoch,
  parseWeekly,
  type AccessSchedule,
  type Lock,
  type Method,
  type Role,
  type Settings,
  type User,
  type UserSpec,
  type UserType,
  decodeClaims,
  decodeSign1,
  fingerprint,
  type Revocation,
  type EkeyClaims,
} from '../../firmware/index.ts';
import { parseSecretFile } from '../../firmware/ekey/EkeyGate.ts';
import { formatLockTime } from '../../sim/scenario/time.ts';
import { LockHost } from '../../sim/terminal/LockHost.ts';
import { CliError } from '../CliError.ts';
import { readToken } from './ekey.ts';
import { publicKeyOf } from './keys.ts';
import { hostTimeZone, openHost, resolveDataDir } from './lock.ts';

interface Globals {
  data?: string;
  name: string;
  as?: string;
  tz?: string;
}

const ROLES: Role[] = ['owner', 'admin', 'member', 'guest'];
const METHODS: Method[] = ['pin', 'card', 'fingerprint', 'app'];

const strip = (m: string): string => m.replace(/^[a-z_]+: /, '');

/** Opens the lock for one administrative action, with the acting user resolved. */
function withLock<T>(globals: Globals, fn: (lock: Lock, actor: () => number) => T): T {
  const dataDir = resolveDataDir(globals);
  const timeZone = globals.tz ?? hostTimeZone();
  if (!isValidTimeZone(timeZone)) throw new CliError(`--tz: unknown time zone "${timeZone}"`);
  const host = openHost(dataDir, () =>
    LockHost.open({ dataDir, purpose: 'keyway admin', initialSettings: { timeZone } }),
  );
  try {
    const actor = (): number => {
      const users = host.lock.listUsers();
      if (globals.as !== undefined) {
        const u = host.lock.findUserByName(globals.as);
        if (u === null) throw new CliError(`--as: no user named "${globals.as}" on this lock`);
        return u.index;
      }
      const owner = users.find((u) => u.role === 'owner');
      if (owner === undefined) {
        throw new CliError(
          `the lock has no owner yet; create one first: keyway admin --data ${JSON.stringify(dataDir)} user add NAME --role owner --pin -`,
        );
      }
      return owner.index;
    };
    return fn(host.lock, actor);
  } catch (err) {
    if (isKeywayError(err)) throw new CliError(err.message);
    throw err;
  } finally {
    host.close();
  }
}

function findUser(lock: Lock, name: string): User {
  const byIndex = /^#(\d+)$/.exec(name);
  const user = byIndex !== null ? lock.getUser(Number(byIndex[1])) : lock.findUserByName(name);
  if (user === null) throw new CliError(`no user "${name}" on this lock (see keyway admin user list)`);
  return user;
}

const ISO_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseTime(flag: string, text: string, tz: string): number {
  if (ISO_ZONED.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  try {
    return localToEpoch(text, tz);
  } catch (err) {
    throw new CliError(
      `${flag}: ${isKeywayError(err) ? strip(err.message) : String(err)} (local time in ${tz}, or ISO with Z)`,
    );
  }
}

let stdinLines: AsyncIterator<string> | null = null;

/** A secret from stdin: one line per request (piped), or a prompt without echo on a TTY. */
async function readSecret(prompt: string): Promise<string> {
  if (process.stdin.isTTY === true) {
    let muted = false;
    const out = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (!muted) process.stderr.write(chunk);
        cb();
      },
    });
    const rl = createInterface({ input: process.stdin, output: out, terminal: true });
    const answer = new Promise<string>((resolve) => rl.question(prompt, resolve));
    muted = true;
    const value = await answer;
    rl.close();
    process.stderr.write('\n');
    return value.trim();
  }
  stdinLines ??= createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const next = await stdinLines.next();
  if (next.done === true) throw new CliError('expected a PIN on stdin (one per line) but input ended');
  return String(next.value).trim();
}

async function pinsFrom(values: string[], who: string): Promise<string[]> {
  const out: string[] = [];
  for (const v of values) out.push(v === '-' ? await readSecret(`PIN for ${who}: `) : v);
  for (const p of out) if (!/^\d+$/.test(p)) throw new CliError('a PIN is made of the digits 0-9 only');
  return out;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function schedulesFrom(weekly: string[], yearday: string[]): AccessSchedule[] {
  const out: AccessSchedule[] = [];
  for (const w of weekly) {
    try {
      out.push(parseWeekly(w));
    } catch (err) {
      throw new CliError(`--weekly: ${isKeywayError(err) ? strip(err.message) : String(err)}`);
    }
  }
  for (const y of yearday) {
    const [from, until, extra] = y.split('..');
    if (from === undefined || until === undefined || extra !== undefined) {
      throw new CliError(
        `--yearday: expected FROM..UNTIL in local time, e.g. 2026-06-05T15:00..2026-06-07T11:00; got "${y}"`,
      );
    }
    out.push({ kind: 'yearday', from, until });
  }
  return out;
}

interface UserRow {
  index: number;
  name: string | null;
  role: Role;
  userType: UserType;
  enabled: boolean;
  validFrom: string | null;
  validUntil: string | null;
  permanent: boolean;
  methods: Method[];
  credentials: Array<{ index: number; type: string }>;
  schedules: Array<{ index: number } & AccessSchedule>;
}

function userRow(lock: Lock, u: User): UserRow {
  const tz = lock.settings.timeZone;
  return {
    index: u.index,
    name: u.name,
    role: u.role,
    userType: u.userType,
    enabled: u.enabled,
    validFrom: u.validFrom === null ? null : formatLockTime(u.validFrom, tz),
    validUntil: u.validUntil === null ? null : formatLockTime(u.validUntil, tz),
    permanent: u.permanent,
    methods: u.methods,
    credentials: lock.listCredentials(u.index).map((c) => ({ index: c.index, type: c.type })),
    schedules: lock.listSchedules(u.index).map((s) => ({ index: s.index, ...s.schedule })),
  };
}

function print(json: boolean, data: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}

function parseSettingValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw; // a bare word such as Europe/Berlin or Privacy
  }
}

interface UserAddFlags {
  role: string;
  type?: string;
  from?: string;
  until?: string;
  permanent?: boolean;
  methods?: string;
  pin?: string[];
  card?: string[];
  weekly?: string[];
  yearday?: string[];
  forcePin?: boolean;
}

export function register(program: Command): void {
  const admin = program
    .command('admin')
    .description(
      "manage a terminal lock's data directory while no lock runs on it: users, PINs, schedules, settings, audit, eKey trust and revocations, offline-PIN secret",
    )
    .option('--data <dir>', 'data directory (default: the one keyway lock uses for --name)')
    .option('--name <name>', 'lock name, for the default data directory', 'default')
    .option('--as <user>', 'act as this user (default: the first owner)')
    .option('--tz <zone>', "time zone if this creates the lock (default: this computer's)")
    .addHelpText(
      'after',
      '\nExample (first run):\n  keyway admin --data ./mylock user add Olivia --role owner --pin -   (PIN read from stdin)\n' +
        '  keyway admin --data ./mylock user add Clara --role guest --permanent --pin - --weekly "mon,thu 09:00-12:00"',
    );
  const globals = (cmd: Command): Globals => cmd.optsWithGlobals<Globals>();

  const user = admin.command('user').description('add, list, remove, disable, enable or erase users');
  user
    .command('add')
    .description('add a user (the first owner while the lock has none)')
    .argument('<name>', 'display name (at most 32 characters)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--type <userType>', 'Matter user type (Unrestricted, WeekDaySchedule, Disposable, Forced, ...)')
    .option('--from <time>', 'valid from (local time YYYY-MM-DDTHH:MM in the lock zone, or ISO with Z)')
    .option('--until <time>', 'valid until (same forms)')
    .option('--permanent', 'no end date (non-owners need --until or --permanent)')
    .option('--methods <list>', `allowed methods, comma-separated (${METHODS.join(', ')})`)
    .option('--pin <pin>', 'a PIN, or - to read it from stdin (repeatable)', collect)
    .option('--card <uid>', 'a card UID in hex (repeatable)', collect)
    .option('--weekly <spec>', 'a weekly window such as "mon,thu 09:00-12:00" (repeatable)', collect)
    .option('--yearday <range>', 'an absolute window FROM..UNTIL in local time (repeatable)', collect)
    .option('--force-pin', 'accept a weak PIN deliberately')
    .action(async (name: string, flags: UserAddFlags, cmd: Command) => {
      if (!(ROLES as string[]).includes(flags.role))
        throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
      const methods = flags.methods?.split(',').map((m) => m.trim());
      for (const m of methods ?? [])
        if (!(METHODS as string[]).includes(m)) throw new CliError(`--methods: unknown method "${m}"`);
      const pins = await pinsFrom(flags.pin ?? [], name);
      const schedules = schedulesFrom(flags.weekly ?? [], flags.yearday ?? []);
      withLock(globals(cmd), (lock, actor) => {
        const tz = lock.settings.timeZone;
        const spec: UserSpec = { name, role: flags.role as Role };
        if (flags.type !== undefined) spec.userType = flags.type as UserType;
        if (flags.from !== undefined) spec.validFrom = parseTime('--from', flags.from, tz);
        if (flags.until !== undefined) spec.validUntil = parseTime('--until', flags.until, tz);
        if (flags.permanent === true) spec.permanent = true;
        if (methods !== undefined) spec.methods = methods as Method[];
        // Check the PINs first, so a refused PIN does not leave a user without it.
        for (const p of pins) {
          const check = checkPin(p, {
            minLength: lock.settings.minPinLength,
            maxLength: lock.settings.maxPinLength,
            force: flags.forcePin === true,
          });
          if (!check.ok) throw new CliError(`--pin: ${check.message}; nothing was added`);
        }
        let created: User;
        let by: number;
        if (lock.status().setupMode) {
          if (spec.role !== 'owner')
            throw new CliError('the lock has no owner yet: the first user must be --role owner');
          const { role: _role, ...ownerSpec } = spec;
          created = lock.createOwner(ownerSpec);
          by = created.index;
        } else {
          by = actor();
          created = lock.addUser(by, spec);
        }
        try {
          for (const pin of pins) {
            lock.addCredential(by, created.index, {
              type: 'pin',
              pin,
              ...(flags.forcePin === true ? { force: true } : {}),
            });
          }
          for (const uid of flags.card ?? []) lock.addCredential(by, created.index, { type: 'card', uid });
          for (const s of schedules) lock.addSchedule(by, created.index, s);
        } catch (err) {
          // All or nothing: take the half-made user away again (the audit log shows both changes).
          if (created.role !== 'owner') lock.removeUser(by, created.index);
          const why = isKeywayError(err) ? err.message : String(err);
          throw new CliError(
            `${why}; ${created.role === 'owner' ? 'the owner was created without it' : 'the user was not added'}`,
          );
        }
        const extras = [
          pins.length > 0 ? `${pins.length} PIN${pins.length > 1 ? 's' : ''}` : null,
          (flags.card?.length ?? 0) > 0 ? `${flags.card!.length} card(s)` : null,
          schedules.length > 0 ? `${schedules.length} schedule(s)` : null,
        ].filter((x) => x !== null);
        process.stdout.write(
          `added ${created.role} ${name} (#${created.index}, ${created.userType})${extras.length > 0 ? ` with ${extras.join(', ')}` : ''}\n`,
        );
      });
    });
  user
    .command('list')
    .description('list users with their credentials (never secrets) and schedules')
    .option('--json', 'print as JSON')
    .action((flags: { json?: boolean }, cmd: Command) =>
      withLock(globals(cmd), (lock) => {
        const rows = lock.listUsers().map((u) => userRow(lock, u));
        print(flags.json === true, rows, () =>
          rows.length === 0
            ? 'no users (the lock is in setup mode)'
            : rows
                .map((r) => {
                  const creds =
                    r.credentials.map((c) => `${c.type}#${c.index}`).join(' ') || 'no credentials';
                  const valid =
                    r.validUntil === null ? (r.permanent ? 'permanent' : 'no end') : `until ${r.validUntil}`;
                  const state = r.enabled ? '' : ' DISABLED';
                  return `#${r.index} ${r.name ?? '(erased)'}  ${r.role} ${r.userType}${state}  ${valid}  ${creds}  ${r.schedules.length} schedule(s)`;
                })
                .join('\n'),
        );
      }),
    );
  for (const [verb, what, act] of [
    [
      'remove',
      'remove a user and its credentials and schedules',
      (l: Lock, a: number, u: User) => l.removeUser(a, u.index),
    ],
    [
      'disable',
      'disable a user (its credentials stop working)',
      (l: Lock, a: number, u: User) => void l.setUserEnabled(a, u.index, false),
    ],
    [
      'enable',
      'enable a disabled user',
      (l: Lock, a: number, u: User) => void l.setUserEnabled(a, u.index, true),
    ],
    [
      'erase',
      'erase a user and its personal data (the audit log still verifies)',
      (l: Lock, a: number, u: User) => l.eraseUser(a, u.index),
    ],
  ] as const) {
    user
      .command(verb)
      .description(what)
      .argument('<user>', 'user name, or #INDEX')
      .action((name: string, _flags: unknown, cmd: Command) =>
        withLock(globals(cmd), (lock, actor) => {
          const u = findUser(lock, name);
          act(lock, actor(), u);
          process.stdout.write(`${verb}d ${name} (#${u.index})\n`);
        }),
      );
  }

  const pin = admin.command('pin').description('add or remove PINs');
  pin
    .command('add')
    .description('give a user a PIN')
    .argument('<user>', 'user name, or #INDEX')
    .argument('[pin]', 'the PIN, or - (default) to read it from stdin', '-')
    .option('--force', 'accept a weak PIN deliberately')
    .action(async (name: string, value: string, flags: { force?: boolean }, cmd: Command) => {
      const [p] = await pinsFrom([value], name);
      withLock(globals(cmd), (lock, actor) => {
        const u = findUser(lock, name);
        const c = lock.addCredential(actor(), u.index, {
          type: 'pin',
          pin: p!,
          ...(flags.force === true ? { force: true } : {}),
        });
        process.stdout.write(`added PIN #${c.index} for ${name}\n`);
      });
    });
  pin
    .command('remove')
    .description("remove a user's PIN (the only one, or the one given by --index)")
    .argument('<user>', 'user name, or #INDEX')
    .option('--index <n>', 'credential index (see user list)')
    .action((name: string, flags: { index?: string }, cmd: Command) =>
      withLock(globals(cmd), (lock, actor) => {
        const u = findUser(lock, name);
        const pins = lock.listCredentials(u.index).filter((c) => c.type === 'pin');
        const target = flags.index === undefined ? pins : pins.filter((c) => String(c.index) === flags.index);
        if (target.length === 0)
          throw new CliError(`${name} has no PIN${flags.index === undefined ? '' : ` #${flags.index}`}`);
        if (target.length > 1)
          throw new CliError(
            `${name} has ${target.length} PINs; choose one with --index (${target.map((c) => c.index).join(', ')})`,
          );
        lock.removeCredential(actor(), target[0]!.index);
        process.stdout.write(`removed PIN #${target[0]!.index} of ${name}\n`);
      }),
    );

  admin
    .command('schedule')
    .description('manage schedules')
    .command('add')
    .description('add a weekly or year-day schedule to a user')
    .argument('<user>', 'user name, or #INDEX')
    .option('--weekly <spec>', 'e.g. "mon,thu 09:00-12:00" (repeatable)', collect)
    .option('--yearday <range>', 'FROM..UNTIL in local time (repeatable)', collect)
    .action((name: string, flags: { weekly?: string[]; yearday?: string[] }, cmd: Command) => {
      const schedules = schedulesFrom(flags.weekly ?? [], flags.yearday ?? []);
      if (schedules.length === 0) throw new CliError('give --weekly or --yearday');
      withLock(globals(cmd), (lock, actor) => {
        const u = findUser(lock, name);
        for (const s of schedules) lock.addSchedule(actor(), u.index, s);
        process.stdout.write(`added ${schedules.length} schedule(s) to ${name}\n`);
      });
    });

  admin
    .command('settings')
    .description('show settings, or change them with --set key=value (security settings: owner only)')
    .option('--set <key=value>', 'a setting to change; value as JSON or a bare word (repeatable)', collect)
    .option('--json', 'print as JSON')
    .action((flags: { set?: string[]; json?: boolean }, cmd: Command) =>
      withLock(globals(cmd), (lock, actor) => {
        let settings: Settings = lock.settings;
        if (flags.set !== undefined) {
          const patch: Record<string, unknown> = {};
          for (const kv of flags.set) {
            const eq = kv.indexOf('=');
            if (eq <= 0) throw new CliError(`--set needs key=value, got "${kv}"`);
            patch[kv.slice(0, eq)] = parseSettingValue(kv.slice(eq + 1));
          }
          settings = lock.updateSettings(actor(), patch);
        }
        print(flags.json === true, settings, () =>
          Object.entries(settings)
            .map(([k, v]) => `${k.padEnd(28)} ${JSON.stringify(v)}`)
            .join('\n'),
        );
      }),
    );

  admin
    .command('audit')
    .description('print the audit log (a table, --csv or --jsonl), or check its hash chain with --verify')
    .option('--csv', 'RFC 4180 CSV with a header row')
    .option('--jsonl', 'JSON Lines (verifiable elsewhere)')
    .option('--verify', 'verify the hash chain; exit 1 if it does not verify')
    .option('--json', 'with --verify: print the verdict as JSON')
    .action((flags: { csv?: boolean; jsonl?: boolean; verify?: boolean; json?: boolean }, cmd: Command) =>
      withLock(globals(cmd), (lock) => {
        if (flags.csv === true && flags.jsonl === true) throw new CliError('choose one of --csv and --jsonl');
        if (flags.verify === true) {
          const v = lock.audit.verify();
          print(flags.json === true, v, () =>
            v.ok
              ? `audit log verifies (${v.count} entries)`
              : `audit log does NOT verify at entry #${v.seq}: ${v.problem}`,
          );
          if (!v.ok) process.exitCode = 1;
          return;
        }
        if (flags.csv === true) return void process.stdout.write(lock.audit.exportCsv());
        if (flags.jsonl === true) return void process.stdout.write(lock.audit.exportJsonl());
        const tz = lock.settings.timeZone;
        const name = (i: number | null | undefined): string =>
          i === null || i === undefined ? '' : (lock.getUser(i)?.name ?? `#${i}`);
        for (const e of lock.audit.entries()) {
          const parts = [
            String(e.seq).padStart(5),
            formatLockTime(e.time, tz).padEnd(30),
            e.kind.padEnd(18),
            e.action,
          ];
          if (e.result !== undefined) parts.push(e.result);
          if (e.reason !== undefined && e.reason !== null) parts.push(e.reason);
          if (e.userIndex !== undefined && e.userIndex !== null) parts.push(`by ${name(e.userIndex)}`);
          if (e.targetUserIndex !== undefined && e.targetUserIndex !== null)
            parts.push(`on ${name(e.targetUserIndex)}`);
          if (e.source !== undefined) parts.push(`(${e.source})`);
          process.stdout.write(`${parts.join(' ')}\n`);
        }
      }),
    );

  registerEkeyAdmin(admin, globals);
}

// ------------------------------------------------------------------ eKey trust, revocations, offline PINs

/** A public key argument: 64 hex digits or a key file (private or public; only the public part is used). */
function publicKeyArg(what: string, text: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (!fs.existsSync(text)) throw new CliError(`${what}: "${text}" is neither 64 hex digits nor a key file`);
  return publicKeyOf(text);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function registerEkeyAdmin(admin: Command, globals: (cmd: Command) => Globals): void {
  const trust = admin
    .command('trust')
    .description('trust anchors: owner keys whose eKeys this lock accepts (owner only)');
  trust
    .command('add')
    .description('trust eKeys signed by this key')
    .argument('<pubkey>', 'the public key: 64 hex digits or a key file')
    .option('--label <text>', 'a note shown by trust list (e.g. "Olivia phone")')
    .action((key: string, flags: { label?: string }, cmd: Command) => {
      const raw = publicKeyArg('<pubkey>', key);
      withLock(globals(cmd), (lock, actor) => {
        lock.installTrustAnchor(actor(), raw, flags.label ?? null);
        process.stdout.write(
          `trusted ${fingerprint(raw)}${flags.label === undefined ? '' : ` (${flags.label})`}\n`,
        );
      });
    });
  trust
    .command('list')
    .description('list the trust anchors')
    .option('--json', 'print as JSON')
    .action((flags: { json?: boolean }, cmd: Command) =>
      withLock(globals(cmd), (lock) => {
        const tz = lock.settings.timeZone;
        const rows = lock.trustAnchors().map((a) => ({
          public: hex(a.key),
          fingerprint: fingerprint(a.key),
          label: a.label,
          addedAt: a.addedAt === null ? null : new Date(a.addedAt).toISOString(),
        }));
        print(flags.json === true, rows, () =>
          rows.length === 0
            ? 'no trust anchors (eKeys are refused until an owner key is trusted)'
            : lock
                .trustAnchors()
                .map(
                  (a) =>
                    `${fingerprint(a.key)}  ${hex(a.key)}  ${a.label ?? ''}${a.addedAt === null ? '' : `  added ${formatLockTime(a.addedAt, tz)}`}`,
                )
                .join('\n'),
        );
      }),
    );
  trust
    .command('remove')
    .description('stop trusting a key (every eKey it signed stops working)')
    .argument('<pubkey>', 'the public key: 64 hex digits or a key file')
    .action((key: string, _flags: unknown, cmd: Command) => {
      const raw = publicKeyArg('<pubkey>', key);
      withLock(globals(cmd), (lock, actor) => {
        lock.removeTrustAnchor(actor(), raw);
        process.stdout.write(`no longer trusted: ${fingerprint(raw)}\n`);
      });
    });

  admin
    .command('revoke')
    .description(
      'revoke an eKey (--ekey), everything a key issued (--issuer, cascading), every eKey a key holds (--holder) or an offline PIN',
    )
    .option('--ekey <file>', 'the eKey file (its id; kept until the eKey would have expired)')
    .option('--issuer <pubkey>', 'an issuer key: 64 hex digits or a key file')
    .option('--holder <pubkey>', 'a holder key: 64 hex digits or a key file')
    .option('--offline-pin <id>', 'an offline PIN id (16 hex digits, printed by keyway pin offline)')
    .option(
      '--until <time>',
      'keep the revocation until then (default: for --ekey its expiry, else for good)',
    )
    .action(
      (
        flags: { ekey?: string; issuer?: string; holder?: string; offlinePin?: string; until?: string },
        cmd: Command,
      ) => {
        const given = (['ekey', 'issuer', 'holder', 'offlinePin'] as const).filter(
          (k) => flags[k] !== undefined,
        );
        if (given.length !== 1)
          throw new CliError(
            'give exactly one of --ekey FILE, --issuer PUBKEY, --holder PUBKEY, --offline-pin ID',
          );
        let r: Revocation;
        let what: string;
        if (flags.ekey !== undefined) {
          let claims: EkeyClaims;
          try {
            claims = decodeClaims(decodeSign1(readToken(flags.ekey)).payload);
          } catch (err) {
            if (isKeywayError(err)) throw new CliError(`--ekey: ${flags.ekey}: ${strip(err.message)}`);
            throw err;
          }
          r = { kind: 'cti', id: claims.cti, until: claims.exp * 1000 };
          what = `eKey ${hex(claims.cti)}`;
        } else if (flags.offlinePin !== undefined) {
          if (!/^[0-9a-fA-F]{16}$/.test(flags.offlinePin))
            throw new CliError('--offline-pin: an offline PIN id is 16 hex digits');
          r = { kind: 'offline_pin', id: new Uint8Array(Buffer.from(flags.offlinePin, 'hex')), until: null };
          what = `offline PIN ${flags.offlinePin.toLowerCase()}`;
        } else {
          const kind = flags.issuer !== undefined ? 'issuer' : 'holder';
          const raw = publicKeyArg(`--${kind}`, (flags.issuer ?? flags.holder)!);
          r = { kind, id: raw, until: null };
          what =
            kind === 'issuer'
              ? `everything issued by ${fingerprint(raw)}`
              : `every eKey held by ${fingerprint(raw)}`;
        }
        withLock(globals(cmd), (lock, actor) => {
          if (flags.until !== undefined) r.until = parseTime('--until', flags.until, lock.settings.timeZone);
          lock.revokeEkey(actor(), r);
          const kept =
            r.until === null
              ? 'kept until removed'
              : `kept until ${formatLockTime(r.until, lock.settings.timeZone)}`;
          process.stdout.write(`revoked ${what} (${kept})\n`);
        });
      },
    );

  admin
    .command('offline-secret')
    .description('the secret shared with the owner for offline PINs (owner only)')
    .command('set')
    .description('install the offline-PIN secret from a file made by keyway pin secret')
    .argument('<file>', 'the secret file (keep it private: whoever has it can mint PINs)')
    .action((file: string, _flags: unknown, cmd: Command) => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        throw new CliError(`cannot read ${file}`);
      }
      let secret: Uint8Array;
      try {
        secret = parseSecretFile(text, file);
      } catch (err) {
        if (isKeywayError(err)) throw new CliError(strip(err.message));
        throw err;
      }
      withLock(globals(cmd), (lock, actor) => {
        lock.setOfflinePinSecret(actor(), secret);
        process.stdout.write(
          `offline PINs enabled for lock ${lock.settings.lockId} (mint them with keyway pin offline --secret ${file} --lock ${lock.settings.lockId})\n`,
        );
      });
    });
}
