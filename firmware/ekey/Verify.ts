// The lock's eKey verification, entirely offline. Two stages:
//  1. static (cacheable by SHA-256 of the token bytes): strict decoding, every link's EdDSA signature
//     (native node:crypto), the root issuer among the trust anchors, and every link within its parent's
//     rights (may-delegate depth, role, methods, audience, validity window, schedules, uses);
//  2. every time: the root still a trust anchor, revocations (cti, issuer key, holder key of every link),
//     audience, lock time with the asymmetric skew tolerance, method, schedules of every link, uses.
// The cache only ever saves stage 1. Rules and limits: docs/ekeys.md.
import { createHash, type KeyObject } from 'node:crypto';
import { CborError, decodeStrict, type CborValue } from '../codec/StrictCbor.ts';
import { KeywayError } from '../errors.ts';
import { isWithinSchedules } from '../schedule/index.ts';
import { absoluteWindow } from '../schedule/evaluate.ts';
import type { AccessSchedule, Decision, DenialReason, LockTime, Method, Role } from '../types.ts';
import { WEEK_DAYS } from '../types.ts';
import { CoseError, HEADER, decodeSign1, verifySign1, type CoseSign1 } from './Cose.ts';
import { CLAIM, ClaimsError, EKEY_ROLES, decodeClaims, type EkeyClaims } from './Cwt.ts';
import type { EkeyStore, Revocation, RevocationKind } from './EkeyStore.ts';
import { REVOCATION_KINDS } from './EkeyStore.ts';
import { keyId, publicKeyFromRaw } from './Keys.ts';
import { REVOCATION_CLAIM } from './Mint.ts';

/** At most this many signed links in a chain (a directly issued eKey is 1; owner -> admin -> member -> guest is 3). */
export const MAX_CHAIN_DEPTH = 3;
/** Verified chains kept in memory. */
export const CACHE_SIZE = 256;

export type EkeyCommand =
  | 'unlock'
  | 'lock'
  | 'unlock_with_timeout'
  | 'status'
  | 'add_user'
  | 'modify_user'
  | 'remove_user'
  | 'manage_credentials'
  | 'manage_schedules'
  | 'revoke'
  | 'set_time'
  | 'change_mode'
  | 'read_log'
  | 'settings'
  | 'firmware'
  | 'factory_reset';

const COMMAND_MIN_ROLE: Record<EkeyCommand, Role> = {
  unlock: 'guest',
  lock: 'guest',
  unlock_with_timeout: 'guest',
  status: 'guest',
  add_user: 'admin',
  modify_user: 'admin',
  remove_user: 'admin',
  manage_credentials: 'admin',
  manage_schedules: 'admin',
  revoke: 'admin',
  set_time: 'admin',
  change_mode: 'admin',
  read_log: 'admin',
  settings: 'owner',
  firmware: 'owner',
  factory_reset: 'owner',
};
export const EKEY_COMMANDS = Object.keys(COMMAND_MIN_ROLE) as EkeyCommand[];

export const roleRank = (r: Role): number => EKEY_ROLES.indexOf(r);

/** May an eKey with these (verified) claims invoke this command? A guest only locks, unlocks and reads status. */
export function ekeyAuthorizes(claims: Pick<EkeyClaims, 'role'>, command: EkeyCommand): boolean {
  const min = COMMAND_MIN_ROLE[command];
  if (min === undefined) return false;
  return roleRank(claims.role) >= roleRank(min);
}

/** One signed link of a chain. */
export interface EkeyLink {
  bytes: Uint8Array;
  claims: EkeyClaims;
  /** The key that signed this link (a trust anchor for the root, else the parent's holder key). */
  issuerKey: Uint8Array;
}

export interface VerifiedEkey {
  /** The presented eKey's claims. */
  claims: EkeyClaims;
  /** All links, root (issued by a trust anchor) first, the presented eKey last. */
  links: EkeyLink[];
  /** hex SHA-256 of the token bytes (the cache key). */
  tokenHash: string;
  /** Served from the cache (signatures not re-checked). */
  cached: boolean;
}

export interface VerifyContext {
  /** This lock's id; the audience must contain it (or one of `sites`). */
  lockId: string;
  sites?: readonly string[];
  /** Lock time (ms), or null when unknown: then nothing time-bound is accepted. */
  now: LockTime | null;
  timeZone: string;
  /** Tolerance for the lock clock running slow: applied to nbf only (never extends exp). */
  skewMs: number;
  /** How the eKey is used (default 'app'). */
  method?: Method;
}

export type EkeyDecision = Decision<{ ekey: VerifiedEkey }>;

const deny = (
  reason: DenialReason,
  detail: string,
): { granted: false; reason: DenialReason; detail: string } => ({
  granted: false,
  reason,
  detail,
});

type StaticResult = { ok: true; links: EkeyLink[] } | { ok: false; reason: DenialReason; detail: string };

/** Where the verifier reads the lock's durable state (an EkeyStore satisfies it). */
export type EkeyState = Pick<
  EkeyStore,
  'trustAnchors' | 'isTrustAnchor' | 'isRevoked' | 'firstRevoked' | 'usesOf'
>;

export class EkeyVerifier {
  private readonly cache = new Map<string, EkeyLink[]>();
  private readonly keyObjects = new Map<string, KeyObject>();
  /** Signature verifications done (for tests and the benchmark). */
  signatureChecks = 0;

  constructor(
    private readonly state: EkeyState,
    private readonly options: { maxDepth?: number; cacheSize?: number } = {},
  ) {}

  /** The full verification of a presented eKey token. Expected refusals are results, never exceptions. */
  verify(token: Uint8Array, ctx: VerifyContext): EkeyDecision {
    const r = this.resolve(token);
    if (!r.granted) return r;
    const d = this.check(r.ekey, ctx);
    return d ?? r;
  }

  /** Stage 1 through the cache: signatures and chain rights, checked once per distinct token. */
  resolve(token: Uint8Array): EkeyDecision {
    if (!(token instanceof Uint8Array)) throw new KeywayError('invalid_argument', 'an eKey token is bytes');
    const tokenHash = createHash('sha256').update(token).digest('hex');
    let links = this.cache.get(tokenHash);
    const cached = links !== undefined;
    if (links === undefined) {
      const s = this.verifyStatic(token);
      if (!s.ok) return deny(s.reason, s.detail);
      links = s.links;
      this.remember(tokenHash, links);
    } else {
      // LRU: move to the end.
      this.cache.delete(tokenHash);
      this.cache.set(tokenHash, links);
    }
    return { granted: true, ekey: { claims: links[links.length - 1]!.claims, links, tokenHash, cached } };
  }

  /** Stage 2, on every use: trust, revocation, audience, time, method, schedules, uses. null = valid. */
  check(
    ekey: VerifiedEkey,
    ctx: VerifyContext,
  ): { granted: false; reason: DenialReason; detail: string } | null {
    return this.checkDynamic(ekey.links, ctx);
  }

  /** Stage 1 only (signatures, trust, chain rights). Not cached. */
  verifyStatic(token: Uint8Array): StaticResult {
    const maxDepth = this.options.maxDepth ?? MAX_CHAIN_DEPTH;
    // Decode leaf first, then walk up the embedded parents.
    const parsed: Array<{ bytes: Uint8Array; msg: CoseSign1; claims: EkeyClaims }> = [];
    let bytes: Uint8Array | null = token;
    while (bytes !== null) {
      if (parsed.length >= maxDepth) {
        return { ok: false, reason: 'chain_too_deep', detail: `more than ${maxDepth} links` };
      }
      let msg: CoseSign1;
      let claims: EkeyClaims;
      try {
        msg = decodeSign1(bytes);
        const ct = msg.protectedHeader.get(HEADER.contentType);
        if (ct !== undefined && ct !== 61 && ct !== 'application/cwt') {
          throw new CoseError('bad_header_value', 'content type is not a CWT');
        }
        claims = decodeClaims(msg.payload);
      } catch (err) {
        if (err instanceof CborError || err instanceof CoseError || err instanceof ClaimsError) {
          const where = parsed.length === 0 ? '' : ` (chain link ${parsed.length})`;
          return { ok: false, reason: 'malformed', detail: `${err.message}${where}` };
        }
        throw err;
      }
      parsed.push({ bytes, msg, claims });
      bytes = claims.chain;
    }
    parsed.reverse(); // root first
    const links: EkeyLink[] = [];
    for (let i = 0; i < parsed.length; i++) {
      const p = parsed[i]!;
      let issuerKey: Uint8Array;
      if (i === 0) {
        const anchor = this.state.trustAnchors().find((a) => this.keyIdOf(a.key) === p.claims.iss);
        if (anchor === undefined) {
          return {
            ok: false,
            reason: 'untrusted_issuer',
            detail: `issuer ${p.claims.iss} is not a trust anchor of this lock`,
          };
        }
        issuerKey = anchor.key;
      } else {
        issuerKey = parsed[i - 1]!.claims.holder;
        if (this.keyIdOf(issuerKey) !== p.claims.iss) {
          return {
            ok: false,
            reason: 'untrusted_issuer',
            detail: `link ${i}: iss is not the parent's holder key`,
          };
        }
      }
      this.signatureChecks++;
      if (!verifySign1(p.msg, this.keyObject(issuerKey))) {
        return {
          ok: false,
          reason: 'bad_signature',
          detail: i === parsed.length - 1 ? 'eKey signature' : `chain link ${i}`,
        };
      }
      links.push({ bytes: p.bytes, claims: p.claims, issuerKey });
    }
    for (let i = 1; i < links.length; i++) {
      const why = widens(links[i - 1]!.claims, links[i]!.claims);
      if (why !== null) return { ok: false, reason: 'chain_widens_rights', detail: `link ${i}: ${why}` };
    }
    return { ok: true, links };
  }

  private checkDynamic(
    links: EkeyLink[],
    ctx: VerifyContext,
  ): { granted: false; reason: DenialReason; detail: string } | null {
    const root = links[0]!;
    if (!this.state.isTrustAnchor(root.issuerKey))
      return deny('untrusted_issuer', 'the root issuer is no longer trusted');
    const n = links.length;
    const pairs: Array<readonly [RevocationKind, Uint8Array]> = [];
    for (let i = 0; i < n; i++) {
      const l = links[i]!;
      pairs.push(['cti', l.claims.cti], ['issuer', l.issuerKey], ['holder', l.claims.holder]);
    }
    if (this.state.firstRevoked(pairs) !== null) {
      // Rare path: say which link and why.
      for (let i = 0; i < n; i++) {
        const rev = this.revokedWhy(links[i]!);
        if (rev !== null) return deny('revoked', i === n - 1 ? rev : `chain link ${i}: ${rev}`);
      }
    }
    const leaf = links[n - 1]!.claims;
    const sites = ctx.sites ?? [];
    for (let i = 0; i < n; i++) {
      if (!servesAudience(links[i]!.claims.aud, ctx.lockId, sites))
        return deny('wrong_lock', `audience ${leaf.aud.join(',')}`);
    }
    if (ctx.now === null) return deny('time_unknown', 'the lock does not know the time');
    const now = ctx.now;
    const skew = Math.max(0, ctx.skewMs);
    for (let i = 0; i < n; i++) {
      const l = links[i]!;
      const which = i === links.length - 1 ? 'eKey' : `chain link ${i}`;
      // Asymmetric: a lock clock running slow may open up to `skew` early; never after exp.
      if (now + skew < l.claims.nbf * 1000)
        return deny('not_yet_valid', `${which} valid from ${iso(l.claims.nbf)}`);
      if (now >= l.claims.exp * 1000) return deny('expired', `${which} expired ${iso(l.claims.exp)}`);
    }
    const method = ctx.method ?? 'app';
    if (!leaf.methods.includes(method))
      return deny('method_not_allowed', `${method} not in ${leaf.methods.join(',')}`);
    for (let i = 0; i < n; i++) {
      const l = links[i]!;
      if (l.claims.schedules.length > 0 && !isWithinSchedules(l.claims.schedules, now, ctx.timeZone)) {
        return deny(
          'outside_schedule',
          i === links.length - 1 ? 'eKey schedule' : `chain link ${i} schedule`,
        );
      }
    }
    for (let i = 0; i < n; i++) {
      const l = links[i]!;
      if (l.claims.uses !== null && this.state.usesOf(l.claims.cti) >= l.claims.uses) {
        return deny(
          'uses_exhausted',
          `${i === links.length - 1 ? 'eKey' : `chain link ${i}`}: ${l.claims.uses} uses`,
        );
      }
    }
    return null;
  }

  private revokedWhy(l: EkeyLink): string | null {
    if (this.state.isRevoked('cti', l.claims.cti)) return 'eKey id revoked';
    if (this.state.isRevoked('issuer', l.issuerKey)) return 'issuer revoked';
    if (this.state.isRevoked('holder', l.claims.holder)) return 'holder key revoked';
    return null;
  }

  private readonly keyIds = new Map<string, string>();

  /** keyId() memoized (trust anchors are looked up by it on every cold verification). */
  private keyIdOf(raw: Uint8Array): string {
    const k = mapKey(raw);
    let id = this.keyIds.get(k);
    if (id === undefined) {
      id = keyId(raw);
      if (this.keyIds.size >= 1024) this.keyIds.clear();
      this.keyIds.set(k, id);
    }
    return id;
  }

  private keyObject(raw: Uint8Array): KeyObject {
    const k = mapKey(raw);
    let o = this.keyObjects.get(k);
    if (o === undefined) {
      o = publicKeyFromRaw(raw);
      if (this.keyObjects.size >= 1024) this.keyObjects.clear();
      this.keyObjects.set(k, o);
    }
    return o;
  }

  private remember(hash: string, links: EkeyLink[]): void {
    const max = this.options.cacheSize ?? CACHE_SIZE;
    if (max <= 0) return;
    if (this.cache.size >= max) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, links);
  }

  /** Drops cached chains (e.g. after trust anchors change; not needed for correctness). */
  clearCache(): void {
    this.cache.clear();
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * A signed revocation (Mint.mintRevocation). Accepted when signed by a trust anchor, or by the holder of a
   * valid delegating eKey (carried as `chain`) that issued — directly or further up — the revoked eKey
   * (carried as `evidence`); such a revoker may revoke that eKey's id, its holder key, or everything its
   * holder issued. Offline-PIN revocations need an owner key or an admin/owner-role eKey.
   */
  verifyRevocation(token: Uint8Array, ctx: VerifyContext): Decision<{ revocation: Revocation; by: string }> {
    let msg: CoseSign1;
    let m: Map<number, CborValue>;
    try {
      msg = decodeSign1(token);
      if (msg.protectedHeader.get(HEADER.contentType) !== 'application/keyway-revocation') {
        throw new CoseError('bad_header_value', 'not a keyway revocation');
      }
      const v = decodeStrict(msg.payload, { maxBytes: 16384, maxDepth: 4, maxItems: 64, keyTypes: 'int' });
      if (!(v instanceof Map)) throw new ClaimsError('not_a_map', 'revocation is not a map');
      m = v as Map<number, CborValue>;
    } catch (err) {
      if (err instanceof CborError || err instanceof CoseError || err instanceof ClaimsError) {
        return deny('malformed', err.message);
      }
      throw err;
    }
    const allowed = new Set<number>([
      CLAIM.iss,
      CLAIM.iat,
      CLAIM.cti,
      CLAIM.chain,
      ...Object.values(REVOCATION_CLAIM),
    ]);
    for (const k of m.keys())
      if (!allowed.has(k)) return deny('malformed', `revocation claim ${k} is not understood`);
    const iss = m.get(CLAIM.iss);
    const kind = m.get(REVOCATION_CLAIM.kind);
    const id = m.get(REVOCATION_CLAIM.id);
    const untilS = m.get(REVOCATION_CLAIM.until);
    const chain = m.get(CLAIM.chain);
    const evidence = m.get(REVOCATION_CLAIM.evidence);
    if (typeof iss !== 'string') return deny('malformed', 'revocation iss missing');
    if (typeof kind !== 'string' || !REVOCATION_KINDS.includes(kind as RevocationKind)) {
      return deny('malformed', 'revocation kind must be cti, issuer, holder or offline_pin');
    }
    if (!(id instanceof Uint8Array)) return deny('malformed', 'revocation id must be bytes');
    if (untilS !== undefined && (typeof untilS !== 'number' || untilS < 0))
      return deny('malformed', 'bad until');
    if (chain !== undefined && !(chain instanceof Uint8Array))
      return deny('malformed', 'chain must be bytes');
    if (evidence !== undefined && !(evidence instanceof Uint8Array))
      return deny('malformed', 'evidence must be bytes');
    const revocation: Revocation = {
      kind: kind as RevocationKind,
      id,
      until: untilS === undefined ? null : untilS * 1000,
    };
    const lengthOk =
      kind === 'cti'
        ? id.length >= 8 && id.length <= 32
        : kind === 'offline_pin'
          ? id.length === 8
          : id.length === 32;
    if (!lengthOk) return deny('malformed', `revocation id has the wrong length for ${kind}`);

    if (chain === undefined) {
      const anchor = this.state.trustAnchors().find((a) => keyId(a.key) === iss);
      if (anchor === undefined) return deny('untrusted_issuer', `revoker ${iss} is not a trust anchor`);
      this.signatureChecks++;
      if (!verifySign1(msg, this.keyObject(anchor.key))) return deny('bad_signature', 'revocation signature');
      return { granted: true, revocation, by: iss };
    }
    // A delegated revoker: its own eKey must be valid now on this lock.
    const own = this.verify(chain, { ...ctx, method: undefined });
    if (!own.granted) return deny(own.reason, `revoker's eKey: ${own.detail ?? own.reason}`);
    const revoker = own.ekey.claims;
    if (keyId(revoker.holder) !== iss)
      return deny('untrusted_issuer', "iss is not the revoker's eKey holder");
    this.signatureChecks++;
    if (!verifySign1(msg, this.keyObject(revoker.holder)))
      return deny('bad_signature', 'revocation signature');
    if (revocation.kind === 'offline_pin') {
      if (roleRank(revoker.role) < roleRank('admin'))
        return deny('not_authorized', 'only admins revoke offline PINs');
      return { granted: true, revocation, by: iss };
    }
    if (evidence === undefined)
      return deny('not_authorized', 'a delegated revocation must carry the revoked eKey');
    const ev = this.verifyStatic(evidence);
    if (!ev.ok) return deny(ev.reason, `evidence: ${ev.detail}`);
    const from = ev.links.findIndex((l) => sameBytes(l.issuerKey, revoker.holder));
    if (from < 0) return deny('not_authorized', 'the revoker did not issue the revoked eKey');
    const below = ev.links.slice(from);
    const target = below.find((l) =>
      revocation.kind === 'cti' ? sameBytes(l.claims.cti, id) : sameBytes(l.claims.holder, id),
    );
    const self = revocation.kind !== 'cti' && sameBytes(id, revoker.holder);
    if (target === undefined && !self) return deny('not_authorized', 'the target is not below the revoker');
    if (revocation.until === null && target !== undefined && revocation.kind === 'cti') {
      revocation.until = target.claims.exp * 1000;
    }
    return { granted: true, revocation, by: iss };
  }
}

/** A Map key for raw key bytes: latin1 over a view of them (no copy, no hex). */
const mapKey = (raw: Uint8Array): string =>
  Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');

/** Does an audience name this lock or one of its sites? */
function servesAudience(aud: readonly string[], lockId: string, sites: readonly string[]): boolean {
  for (const a of aud) if (a === lockId || sites.includes(a)) return true;
  return false;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

const iso = (s: number): string => new Date(s * 1000).toISOString();

/** Why child's rights are not within parent's, or null. */
export function widens(parent: EkeyClaims, child: EkeyClaims): string | null {
  if (parent.delegateDepth < 1) return 'the parent eKey may not delegate';
  if (child.delegateDepth > parent.delegateDepth - 1) return 'delegation depth beyond the parent allowance';
  if (roleRank(child.role) > roleRank(parent.role)) return `role ${child.role} above ${parent.role}`;
  if (!child.methods.every((m) => parent.methods.includes(m))) return 'methods beyond the parent';
  if (!child.aud.every((a) => parent.aud.includes(a))) return 'audience beyond the parent';
  if (child.nbf < parent.nbf) return 'starts before the parent';
  if (child.exp > parent.exp) return 'ends after the parent';
  if (parent.uses !== null && (child.uses === null || child.uses > parent.uses))
    return 'more uses than the parent';
  if (!schedulesWithin(parent.schedules, child.schedules)) return 'schedule beyond the parent';
  return null;
}

// ------------------------------------------------------------------------------ schedule containment

const WEEK_MIN = 7 * 1440;
type Interval = [number, number];

/** A weekly window as minute intervals of the week (Monday 00:00 = 0); end 23:59 = end of day. */
function weekIntervals(s: Extract<AccessSchedule, { kind: 'weekly' }>): Interval[] {
  const min = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  const start = min(s.start);
  const endRaw = min(s.end);
  const end = endRaw === 23 * 60 + 59 ? 1440 : endRaw;
  const out: Interval[] = [];
  for (const d of s.days) {
    const base = WEEK_DAYS.indexOf(d) * 1440;
    if (end > start) out.push([base + start, base + end]);
    else {
      // Crosses midnight: evening on day d, morning on the next day (wrapping Sunday -> Monday).
      out.push([base + start, base + 1440]);
      const next = (base + 1440) % WEEK_MIN;
      out.push([next, next + end]);
    }
  }
  return out;
}

function covered(inner: Interval[], outer: Interval[]): boolean {
  const merged = [...outer]
    .sort((a, b) => a[0] - b[0])
    .reduce<Interval[]>((acc, iv) => {
      const last = acc[acc.length - 1];
      if (last !== undefined && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
      else acc.push([iv[0], iv[1]]);
      return acc;
    }, []);
  return inner.every(([a, b]) => merged.some(([c, d]) => c <= a && b <= d));
}

/**
 * Conservative static check that the child's schedules allow nothing the parent's do not (weekly windows
 * inside the union of the parent's weekly windows, year-day windows inside the union of the parent's).
 * A group the parent lacks does not restrict. Both are evaluated again at every use anyway.
 */
export function schedulesWithin(
  parent: readonly AccessSchedule[],
  child: readonly AccessSchedule[],
): boolean {
  const pw = parent.filter((s) => s.kind === 'weekly');
  const py = parent.filter((s) => s.kind === 'yearday');
  const cw = child.filter((s) => s.kind === 'weekly');
  const cy = child.filter((s) => s.kind === 'yearday');
  if (pw.length > 0) {
    if (cw.length === 0) return false;
    if (!covered(cw.flatMap(weekIntervals), pw.flatMap(weekIntervals))) return false;
  }
  if (py.length > 0) {
    if (cy.length === 0) return false;
    // Compare in local wall-clock terms (UTC as the zone keeps the order of local date-times).
    const iv = (s: Extract<AccessSchedule, { kind: 'yearday' }>): Interval => {
      const w = absoluteWindow(s, 'UTC');
      return [w.from, w.until];
    };
    if (!covered(cy.map(iv), py.map(iv))) return false;
  }
  return true;
}
