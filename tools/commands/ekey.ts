// keyway ekey: mint, inspect and verify eKeys (signed COSE_Sign1/CWT tokens, docs/ekeys.md). `verify` runs
// the lock's own verifier (firmware/ekey/Verify.ts) against a lock data directory or given owner keys.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { decodeSign1 } from '../../firmware/ekey/Cose.ts';
import { decodeClaims, type EkeyClaims } from '../../firmware/ekey/Cwt.ts';
import { EkeyStore } from '../../firmware/ekey/EkeyStore.ts';
import { fingerprint, loadKeyFile } from '../../firmware/ekey/Keys.ts';
import { mintEkey } from '../../firmware/ekey/Mint.ts';
import { EkeyVerifier, type VerifyContext } from '../../firmware/ekey/Verify.ts';
import { isKeywayError } from '../../firmware/errors.ts';
import { isValidTimeZone, localToEpoch, parseDuration, parseWeekly } from '../../firmware/schedule/index.ts';
import type { Method, Role, Settings } from '../../firmware/types.ts';
import { METHODS } from '../../firmware/types.ts';
import { randomBytes } from 'node:crypto';
import { CliError } from '../CliError.ts';
import { publicKeyOf } from './keys.ts';

const strip = (m: string): string => m.replace(/^[a-z_]+: /, '');
const ISO_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const ROLES: Role[] = ['owner', 'admin', 'member', 'guest'];

/**
 * A point in time for CLI flags: "now", "now+2h" / "+2h", ISO with Z or an offset, or a local
 * "YYYY-MM-DDTHH:MM" in zone tz.
 */
export function parseTimeArg(flag: string, text: string, tz: string, now = Date.now()): number {
  const rel = /^(?:now)?\+(.+)$/.exec(text);
  try {
    if (text === 'now') return now;
    if (rel !== null) return now + parseDuration(rel[1]!);
    if (ISO_ZONED.test(text)) {
      const t = Date.parse(text);
      if (!Number.isNaN(t)) return t;
    }
    return localToEpoch(text, tz);
  } catch (err) {
    const why = isKeywayError(err) ? strip(err.message) : String(err);
    throw new CliError(`${flag}: ${why} (now, +2h, ISO with Z, or local YYYY-MM-DDTHH:MM in ${tz})`);
  }
}

export function checkZone(tz: string): string {
  if (!isValidTimeZone(tz)) throw new CliError(`--tz: unknown time zone "${tz}"`);
  return tz;
}

/** An eKey file: the raw token bytes, or the same as hex text. */
export function readToken(file: string): Uint8Array {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch {
    throw new CliError(`cannot read ${file}`);
  }
  const text = b.toString('latin1').trim();
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  return new Uint8Array(b);
}

function holderKey(text: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (!fs.existsSync(text)) throw new CliError(`--holder: "${text}" is neither 64 hex digits nor a key file`);
  return publicKeyOf(text);
}

const iso = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** Every link of a token (root first), decoded without verification (for inspect). */
function chainOf(token: Uint8Array): Array<{ claims: EkeyClaims; bytes: number }> {
  const out: Array<{ claims: EkeyClaims; bytes: number }> = [];
  let t: Uint8Array | null = token;
  while (t !== null && out.length < 8) {
    const claims = decodeClaims(decodeSign1(t).payload);
    out.unshift({ claims, bytes: t.length });
    t = claims.chain;
  }
  return out;
}

function claimsJson(c: EkeyClaims): Record<string, unknown> {
  return {
    iss: c.iss,
    ...(c.sub === undefined ? {} : { sub: c.sub }),
    aud: c.aud,
    nbf: iso(c.nbf),
    exp: iso(c.exp),
    ...(c.iat === undefined ? {} : { iat: iso(c.iat) }),
    cti: Buffer.from(c.cti).toString('hex'),
    holder: Buffer.from(c.holder).toString('hex'),
    holderFingerprint: fingerprint(c.holder),
    role: c.role,
    schedules: c.schedules,
    methods: c.methods,
    uses: c.uses,
    delegateDepth: c.delegateDepth,
  };
}

function humanClaims(c: EkeyClaims, indent: string): string {
  const lines = [
    `role        ${c.role}${c.delegateDepth > 0 ? ` (may delegate ${c.delegateDepth} more level${c.delegateDepth > 1 ? 's' : ''})` : ''}`,
    `lock        ${c.aud.join(', ')}`,
    `valid       ${iso(c.nbf)} .. ${iso(c.exp)}`,
    `holder      ${fingerprint(c.holder)}`,
    `issuer      ${c.iss.match(/.{4}/g)?.join('-') ?? c.iss}`,
    `eKey id     ${Buffer.from(c.cti).toString('hex')}`,
    `methods     ${c.methods.join(', ')}`,
    `uses        ${c.uses === null ? 'unlimited' : c.uses}`,
  ];
  for (const s of c.schedules) {
    lines.push(
      `schedule    ${s.kind === 'weekly' ? `${s.days.join(',')} ${s.start}-${s.end} (lock time zone)` : `${s.from} .. ${s.until} (lock time zone)`}`,
    );
  }
  return lines.map((l) => indent + l).join('\n');
}

interface VerifyFlags {
  data?: string;
  trust?: string[];
  at?: string;
  lock?: string;
  tz?: string;
  method?: string;
  json?: boolean;
}

function lockStateFromDir(dir: string): { store: EkeyStore; settings: Settings; close: () => void } {
  const file = path.join(dir, 'keyway.db');
  if (!fs.existsSync(file)) throw new CliError(`--data: no lock database in ${dir}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    throw new CliError(`--data: cannot open ${file}`);
  }
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'settings'").get() as
      { value: string } | undefined;
    if (row === undefined) throw new CliError(`--data: ${file} has no settings`);
    const settings = JSON.parse(row.value) as Settings;
    const store = new EkeyStore(db);
    return { store, settings, close: () => db.close() };
  } catch (err) {
    db.close();
    if (err instanceof CliError) throw err;
    throw new CliError(`--data: ${file} is not a keyway lock store with eKey tables`);
  }
}

export function register(program: Command): void {
  const ekey = program.command('ekey').description('signed, time-bounded eKeys (COSE_Sign1 / CWT)');

  ekey
    .command('mint')
    .description('sign an eKey for a holder key with the issuer key')
    .requiredOption('--issuer <keyfile>', "issuer's private key file (the owner's, or a delegating holder's)")
    .requiredOption('--holder <pubkey>', "holder's public key: 64 hex digits or a key file")
    .requiredOption('--lock <ids>', 'lock id(s) it opens, comma-separated')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'guest')
    .option('--from <time>', 'valid from (now, +2h, ISO with Z, or local YYYY-MM-DDTHH:MM)', 'now')
    .option('--until <time>', 'valid until (same forms; default 24 hours after --from)')
    .option('--weekly <window>', "weekly window, e.g. 'mon,thu 09:00-12:00' (repeatable)", collect, [])
    .option('--uses <n>', 'number of unlocks allowed')
    .option('--methods <list>', `allowed methods (${METHODS.join(', ')})`, 'app')
    .option(
      '--may-delegate [depth]',
      'the holder may issue eKeys within its own rights (levels below, default 1)',
    )
    .option('--chain <file>', "the issuer's own eKey (when the issuer is not the lock owner)")
    .option('--tz <zone>', 'zone for local times in --from/--until', 'UTC')
    .requiredOption('--out <file>', 'eKey file to write')
    .action((flags: Record<string, string | string[] | boolean | undefined>) => {
      const tz = checkZone(flags.tz as string);
      const issuerFile = loadKeyFileCli(flags.issuer as string);
      if (issuerFile.kind !== 'private') throw new CliError('--issuer: needs a private key file');
      const from = parseTimeArg('--from', flags.from as string, tz);
      const until =
        flags.until === undefined ? from + 86_400_000 : parseTimeArg('--until', flags.until as string, tz);
      const role = flags.role as Role;
      if (!ROLES.includes(role)) throw new CliError(`--role: one of ${ROLES.join(', ')}`);
      const methods = (flags.methods as string).split(',') as Method[];
      for (const m of methods)
        if (!METHODS.includes(m)) throw new CliError(`--methods: unknown method "${m}"`);
      let uses: number | null = null;
      if (flags.uses !== undefined) {
        uses = Number(flags.uses);
        if (!Number.isInteger(uses) || uses < 1) throw new CliError('--uses: a positive whole number');
      }
      let delegateDepth = 0;
      if (flags.mayDelegate !== undefined) {
        delegateDepth = flags.mayDelegate === true ? 1 : Number(flags.mayDelegate);
        if (!Number.isInteger(delegateDepth) || delegateDepth < 1 || delegateDepth > 8) {
          throw new CliError('--may-delegate: depth 1..8');
        }
      }
      const chain = flags.chain === undefined ? null : readToken(flags.chain as string);
      try {
        const schedules = (flags.weekly as string[]).map((w) => parseWeekly(w));
        const token = mintEkey(
          issuerFile.pair,
          {
            holder: holderKey(flags.holder as string),
            aud: (flags.lock as string).split(','),
            from,
            until,
            role,
            schedules,
            methods,
            uses,
            delegateDepth,
            chain,
            issuedAt: Date.now(),
          },
          { bytes: (n) => new Uint8Array(randomBytes(n)) },
        );
        fs.writeFileSync(flags.out as string, token);
        const c = decodeClaims(decodeSign1(token).payload);
        process.stdout.write(
          `wrote ${flags.out as string} (${token.length} bytes)\n${humanClaims(c, '  ')}\n`,
        );
      } catch (err) {
        if (isKeywayError(err)) throw new CliError(strip(err.message));
        throw err;
      }
    });

  ekey
    .command('inspect')
    .description('show an eKey and its chain in human form (does not verify it)')
    .argument('<file>', 'eKey file')
    .option('--json', 'one JSON object')
    .action((file: string, flags: { json?: boolean }) => {
      const token = readToken(file);
      let links: Array<{ claims: EkeyClaims; bytes: number }>;
      try {
        links = chainOf(token);
      } catch (err) {
        if (isKeywayError(err)) throw new CliError(`${file}: ${strip(err.message)}`);
        throw err;
      }
      if (flags.json === true) {
        process.stdout.write(
          `${JSON.stringify({ bytes: token.length, claims: claimsJson(links.at(-1)!.claims), chain: links.slice(0, -1).map((l) => claimsJson(l.claims)) }, null, 2)}\n`,
        );
        return;
      }
      process.stdout.write(`eKey ${file} (${token.length} bytes, COSE_Sign1 EdDSA)\n`);
      process.stdout.write(`${humanClaims(links.at(-1)!.claims, '  ')}\n`);
      if (links.length > 1) {
        process.stdout.write(`chain (issued by, root first):\n`);
        for (const [i, l] of links.slice(0, -1).entries())
          process.stdout.write(`  link ${i}:\n${humanClaims(l.claims, '    ')}\n`);
      }
    });

  ekey
    .command('verify')
    .description("run the lock's verification (signature, chain, trust, revocation, time, schedule, uses)")
    .argument('<file>', 'eKey file')
    .option(
      '--data <dir>',
      "a lock's data directory: its trust anchors, revocations, use counts and settings",
    )
    .option(
      '--trust <pubkey>',
      'owner public key (hex or key file) instead of --data (repeatable)',
      collect,
      [],
    )
    .option('--at <time>', 'lock time to verify at (default now)')
    .option('--lock <id>', "this lock's id (default: the lock's in --data, else the token's first audience)")
    .option('--tz <zone>', "the lock's time zone (default: the lock's in --data, else UTC)")
    .option('--method <method>', 'how it is used', 'app')
    .option('--json', 'one JSON object')
    .action((file: string, flags: VerifyFlags) => {
      if ((flags.data === undefined) === (flags.trust === undefined || flags.trust.length === 0)) {
        throw new CliError('give either --data DIR or --trust OWNER_PUB');
      }
      const token = readToken(file);
      let store: EkeyStore;
      let close = (): void => {};
      let settings: Partial<Settings> = {};
      if (flags.data !== undefined) {
        const s = lockStateFromDir(flags.data);
        store = s.store;
        settings = s.settings;
        close = s.close;
      } else {
        const db = new Database(':memory:');
        store = new EkeyStore(db);
        for (const t of flags.trust!) store.addTrustAnchor(holderKeyForTrust(t), null, null);
        close = () => db.close();
      }
      try {
        const tz = checkZone(flags.tz ?? settings.timeZone ?? 'UTC');
        let lockId = flags.lock ?? settings.lockId;
        if (lockId === undefined) {
          try {
            lockId = decodeClaims(decodeSign1(token).payload).aud[0]!;
          } catch {
            lockId = '';
          }
        }
        const method = flags.method as Method;
        if (!METHODS.includes(method)) throw new CliError(`--method: one of ${METHODS.join(', ')}`);
        const now = flags.at === undefined ? Date.now() : parseTimeArg('--at', flags.at, tz);
        const ctx: VerifyContext = {
          lockId,
          sites: flags.lock === undefined ? (settings.sites ?? []) : [],
          now,
          timeZone: tz,
          skewMs: (settings.clockSkewSeconds ?? 60) * 1000,
          method,
        };
        const d = new EkeyVerifier(store).verify(token, ctx);
        if (flags.json === true) {
          process.stdout.write(
            `${JSON.stringify(d.granted ? { valid: true, lock: lockId, at: new Date(now).toISOString(), claims: claimsJson(d.ekey.claims), chain: d.ekey.links.length } : { valid: false, reason: d.reason, detail: d.detail, lock: lockId, at: new Date(now).toISOString() }, null, 2)}\n`,
          );
        } else if (d.granted) {
          const c = d.ekey.claims;
          process.stdout.write(
            `valid: ${c.role} eKey for ${lockId} at ${new Date(now).toISOString()} (${d.ekey.links.length} link${d.ekey.links.length > 1 ? 's' : ''}, expires ${iso(c.exp)})\n` +
              'note: the holder must still prove possession of its key at the lock\n',
          );
        } else {
          process.stdout.write(`invalid: ${d.reason}${d.detail === undefined ? '' : ` (${d.detail})`}\n`);
        }
        process.exitCode = d.granted ? 0 : 1;
      } finally {
        close();
      }
    });
}

function holderKeyForTrust(text: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (!fs.existsSync(text)) throw new CliError(`--trust: "${text}" is neither 64 hex digits nor a key file`);
  return publicKeyOf(text);
}

function loadKeyFileCli(file: string): ReturnType<typeof loadKeyFile> {
  try {
    return loadKeyFile(file);
  } catch (err) {
    if (isKeywayError(err)) throw new CliError(strip(err.message));
    throw err;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
