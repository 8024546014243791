// The eKey claims set: a CWT (RFC 8392) with proof-of-possession key (RFC 8747) and keyway's private claims
// (labels below -65536, the CWT private-use range). Every claim is checked for shape when decoding; an
// unknown claim is refused (it might be a restriction we would otherwise ignore). docs/ekeys.md has an
// annotated example.
import {
  decodeStrict,
  encodeCanonical,
  CborError,
  type CborKey,
  type CborValue,
} from '../codec/StrictCbor.ts';
import { KeywayError } from '../errors.ts';
import { validateSchedule } from '../schedule/index.ts';
import type { AccessSchedule, Method, Role, WeekDay } from '../types.ts';
import { METHODS, WEEK_DAYS } from '../types.ts';
import { coseKey, parseCoseKey } from './Keys.ts';

/** Standard claim keys (RFC 8392 §4, RFC 8747 §3.1). */
export const CLAIM = {
  iss: 1,
  sub: 2,
  aud: 3,
  exp: 4,
  nbf: 5,
  iat: 6,
  cti: 7,
  cnf: 8,
  // keyway private claims (private use: below -65536)
  role: -65537,
  schedules: -65538,
  methods: -65539,
  uses: -65540,
  delegate: -65541,
  chain: -65542,
} as const;
/** cnf confirmation method: COSE_Key (RFC 8747 §3.2). */
export const CNF_COSE_KEY = 1;

export const EKEY_ROLES: readonly Role[] = ['guest', 'member', 'admin', 'owner'];
/** Weekly schedule kind code in the token. */
const SCHED_WEEKLY = 0;
const SCHED_YEARDAY = 1;

export interface EkeyClaims {
  /** Issuer key id: keyId() of the signing key (16 hex digits). */
  iss: string;
  sub?: string;
  /** Lock ids (or site names) this eKey opens. */
  aud: string[];
  /** Validity, seconds since the epoch (CWT NumericDate). exp is the first second no longer valid. */
  nbf: number;
  exp: number;
  iat?: number;
  /** Unique id of this eKey (revocation by cti). */
  cti: Uint8Array;
  /** The holder's raw Ed25519 public key (cnf COSE_Key). */
  holder: Uint8Array;
  role: Role;
  /** Access schedules, same shapes and semantics as the engine's (evaluated in the lock's zone). */
  schedules: AccessSchedule[];
  /** Allowed methods (eKeys open with 'app'); default ['app']. */
  methods: Method[];
  /** Number of unlocks allowed (null: unlimited). */
  uses: number | null;
  /** May the holder delegate, and how many further links below it (0: may not delegate). */
  delegateDepth: number;
  /** The issuer's own eKey (token bytes) when the issuer is not a trust anchor. */
  chain: Uint8Array | null;
}

export class ClaimsError extends KeywayError {
  constructor(
    readonly failure: string,
    message: string,
  ) {
    super('malformed', `claims ${failure}: ${message}`);
    this.name = 'ClaimsError';
  }
}

const bad = (failure: string, message: string): never => {
  throw new ClaimsError(failure, message);
};

/** Largest claims set accepted (the chain inside holds the parent token). */
export const MAX_CLAIMS_BYTES = 7168;

function minutesOf(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (m === null) throw new KeywayError('invalid_schedule', `time "${hhmm}" is not HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}
const hhmm = (min: number): string =>
  `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

function encodeSchedule(s: AccessSchedule): CborValue {
  validateSchedule(s);
  if (s.kind === 'weekly') {
    let mask = 0;
    for (const d of s.days) mask |= 1 << WEEK_DAYS.indexOf(d);
    return [SCHED_WEEKLY, mask, minutesOf(s.start), minutesOf(s.end)];
  }
  return [SCHED_YEARDAY, s.from, s.until];
}

function decodeSchedule(v: CborValue): AccessSchedule {
  if (!Array.isArray(v)) return bad('bad_schedule', 'a schedule is an array');
  let s: AccessSchedule;
  if (v[0] === SCHED_WEEKLY && v.length === 4) {
    const [, mask, start, end] = v;
    if (typeof mask !== 'number' || mask < 1 || mask > 127)
      return bad('bad_schedule', 'day mask must be 1..127');
    for (const t of [start, end]) {
      if (typeof t !== 'number' || t < 0 || t > 1439) return bad('bad_schedule', 'times are minutes 0..1439');
    }
    const days: WeekDay[] = WEEK_DAYS.filter((_, i) => (mask & (1 << i)) !== 0);
    s = { kind: 'weekly', days, start: hhmm(start as number), end: hhmm(end as number) };
  } else if (v[0] === SCHED_YEARDAY && v.length === 3) {
    const [, from, until] = v;
    if (typeof from !== 'string' || typeof until !== 'string')
      return bad('bad_schedule', 'year-day bounds are text');
    s = { kind: 'yearday', from, until };
  } else {
    return bad('bad_schedule', 'unknown schedule kind or length');
  }
  try {
    validateSchedule(s);
  } catch (err) {
    return bad('bad_schedule', err instanceof Error ? err.message : 'invalid');
  }
  return s;
}

/** Checks the claims a minter supplies (same rules the decoder enforces). */
export function checkClaims(c: EkeyClaims): void {
  const fail = (m: string): never => {
    throw new KeywayError('invalid_argument', m);
  };
  if (typeof c.iss !== 'string' || c.iss.length === 0 || c.iss.length > 64)
    fail('iss must be 1..64 characters');
  if (!Array.isArray(c.aud) || c.aud.length < 1 || c.aud.length > 32) fail('aud must name 1..32 locks');
  for (const a of c.aud)
    if (typeof a !== 'string' || a.length < 1 || a.length > 64) fail('aud entries are 1..64 chars');
  if (new Set(c.aud).size !== c.aud.length) fail('aud has duplicates');
  for (const [n, v] of [
    ['nbf', c.nbf],
    ['exp', c.exp],
    ['iat', c.iat],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
      fail(`${n} must be whole seconds since the epoch`);
  }
  if (!(c.exp > c.nbf)) fail('exp must be after nbf');
  if (!(c.cti instanceof Uint8Array) || c.cti.length < 8 || c.cti.length > 32)
    fail('cti must be 8..32 bytes');
  if (!(c.holder instanceof Uint8Array) || c.holder.length !== 32) fail('holder key must be 32 bytes');
  if (!EKEY_ROLES.includes(c.role)) fail(`role must be one of ${EKEY_ROLES.join(', ')}`);
  if (!Array.isArray(c.methods) || c.methods.length === 0) fail('methods must list at least one method');
  for (const m of c.methods) if (!METHODS.includes(m)) fail(`unknown method ${String(m)}`);
  if (new Set(c.methods).size !== c.methods.length) fail('methods has duplicates');
  if (c.uses !== null && (!Number.isSafeInteger(c.uses) || c.uses < 1 || c.uses > 1_000_000)) {
    fail('uses must be 1..1000000 or null');
  }
  if (!Number.isSafeInteger(c.delegateDepth) || c.delegateDepth < 0 || c.delegateDepth > 8) {
    fail('delegateDepth must be 0..8');
  }
  if (c.schedules.length > 16) fail('at most 16 schedules');
  for (const s of c.schedules) validateSchedule(s);
}

/** The claims set as deterministic CBOR (the COSE_Sign1 payload). */
export function encodeClaims(c: EkeyClaims): Uint8Array {
  checkClaims(c);
  const m = new Map<number, CborValue>();
  m.set(CLAIM.iss, c.iss);
  if (c.sub !== undefined) m.set(CLAIM.sub, c.sub);
  m.set(CLAIM.aud, c.aud.length === 1 ? c.aud[0]! : [...c.aud]);
  m.set(CLAIM.exp, c.exp);
  m.set(CLAIM.nbf, c.nbf);
  if (c.iat !== undefined) m.set(CLAIM.iat, c.iat);
  m.set(CLAIM.cti, c.cti);
  m.set(CLAIM.cnf, new Map<number, CborValue>([[CNF_COSE_KEY, coseKey(c.holder)]]));
  m.set(CLAIM.role, c.role);
  if (c.schedules.length > 0) m.set(CLAIM.schedules, c.schedules.map(encodeSchedule));
  m.set(CLAIM.methods, [...c.methods]);
  if (c.uses !== null) m.set(CLAIM.uses, c.uses);
  if (c.delegateDepth > 0) m.set(CLAIM.delegate, c.delegateDepth);
  if (c.chain !== null) m.set(CLAIM.chain, c.chain);
  const out = encodeCanonical(m);
  if (out.length > MAX_CLAIMS_BYTES)
    throw new KeywayError('invalid_argument', `claims set too large (${out.length} bytes)`);
  return out;
}

const KNOWN = new Set<number>(Object.values(CLAIM));

// Frozen: StrictCbor merges a frozen options object with its defaults only once.
const CLAIMS_OPTIONS = Object.freeze({
  maxBytes: MAX_CLAIMS_BYTES,
  maxDepth: 6,
  maxItems: 512,
  keyTypes: 'int-or-text',
} as const);

// Claim readers at module level (not closures made per call: eKey decoding is on the lock's hot path).
function textClaim(
  v: Map<CborKey, CborValue>,
  k: number,
  name: string,
  required: boolean,
): string | undefined {
  const x = v.get(k);
  if (x === undefined) return required ? bad('missing_claim', `${name} is required`) : undefined;
  if (typeof x !== 'string' || x.length === 0 || x.length > 64)
    return bad('bad_claim', `${name} must be text of 1..64 chars`);
  return x;
}

function timeClaim(
  v: Map<CborKey, CborValue>,
  k: number,
  name: string,
  required: boolean,
): number | undefined {
  const x = v.get(k);
  if (x === undefined) return required ? bad('missing_claim', `${name} is required`) : undefined;
  if (typeof x !== 'number' || x < 0)
    return bad('bad_claim', `${name} must be a non-negative integer NumericDate`);
  return x;
}

/** No value twice (short lists: a pairwise scan beats building a Set). */
function distinct(xs: readonly unknown[]): boolean {
  for (let i = 1; i < xs.length; i++) for (let j = 0; j < i; j++) if (xs[i] === xs[j]) return false;
  return true;
}

/** Decodes and checks a claims set. Throws CborError or ClaimsError (both 'malformed'). */
export function decodeClaims(payload: Uint8Array): EkeyClaims {
  const v = decodeStrict(payload, CLAIMS_OPTIONS);
  if (!(v instanceof Map)) return bad('not_a_map', 'the claims set is not a map');
  for (const k of v.keys()) {
    if (typeof k !== 'number' || !KNOWN.has(k))
      return bad('unknown_claim', `claim ${JSON.stringify(k)} is not understood`);
  }
  const iss = textClaim(v, CLAIM.iss, 'iss', true)!;
  const sub = textClaim(v, CLAIM.sub, 'sub', false);
  const audRaw = v.get(CLAIM.aud);
  let aud: string[];
  if (typeof audRaw === 'string') aud = [audRaw];
  else if (
    Array.isArray(audRaw) &&
    audRaw.length >= 1 &&
    audRaw.length <= 32 &&
    audRaw.every((a) => typeof a === 'string')
  ) {
    aud = audRaw;
  } else
    return bad(
      audRaw === undefined ? 'missing_claim' : 'bad_claim',
      'aud must be a lock id or a list of 1..32',
    );
  if (aud.some((a) => a.length === 0 || a.length > 64) || !distinct(aud)) {
    return bad('bad_claim', 'aud entries must be distinct, 1..64 chars');
  }
  const exp = timeClaim(v, CLAIM.exp, 'exp', true)!;
  const nbf = timeClaim(v, CLAIM.nbf, 'nbf', true)!;
  const iat = timeClaim(v, CLAIM.iat, 'iat', false);
  if (exp <= nbf) return bad('bad_claim', 'exp must be after nbf');
  const cti = v.get(CLAIM.cti);
  if (!(cti instanceof Uint8Array) || cti.length < 8 || cti.length > 32)
    return bad('bad_claim', 'cti must be 8..32 bytes');
  const cnf = v.get(CLAIM.cnf);
  if (!(cnf instanceof Map) || cnf.size !== 1 || !cnf.has(CNF_COSE_KEY)) {
    return bad('bad_cnf', 'cnf must be {1: COSE_Key}');
  }
  const key = parseCoseKey(cnf.get(CNF_COSE_KEY));
  if (!key.ok) return bad('bad_cnf', key.why);
  const role = v.get(CLAIM.role);
  if (typeof role !== 'string' || !EKEY_ROLES.includes(role as Role))
    return bad('bad_claim', 'role must be guest, member, admin or owner');
  const schedRaw = v.get(CLAIM.schedules);
  let schedules: AccessSchedule[] = [];
  if (schedRaw !== undefined) {
    if (!Array.isArray(schedRaw) || schedRaw.length === 0 || schedRaw.length > 16) {
      return bad('bad_schedule', 'schedules must be a list of 1..16');
    }
    schedules = schedRaw.map(decodeSchedule);
  }
  const methodsRaw = v.get(CLAIM.methods);
  if (
    !Array.isArray(methodsRaw) ||
    methodsRaw.length === 0 ||
    !methodsRaw.every((m) => METHODS.includes(m as Method))
  ) {
    return bad('bad_claim', `methods must be a non-empty list of ${METHODS.join(', ')}`);
  }
  if (!distinct(methodsRaw)) return bad('bad_claim', 'methods has duplicates');
  const usesRaw = v.get(CLAIM.uses);
  if (usesRaw !== undefined && (typeof usesRaw !== 'number' || usesRaw < 1 || usesRaw > 1_000_000)) {
    return bad('bad_claim', 'uses must be 1..1000000');
  }
  const depthRaw = v.get(CLAIM.delegate);
  if (depthRaw !== undefined && (typeof depthRaw !== 'number' || depthRaw < 1 || depthRaw > 8)) {
    return bad('bad_claim', 'delegate must be 1..8');
  }
  const chain = v.get(CLAIM.chain);
  if (chain !== undefined && !(chain instanceof Uint8Array))
    return bad('bad_claim', 'chain must be a byte string');
  return {
    iss,
    ...(sub === undefined ? {} : { sub }),
    aud,
    nbf,
    exp,
    ...(iat === undefined ? {} : { iat }),
    cti,
    holder: key.raw,
    role: role as Role,
    schedules,
    methods: methodsRaw as Method[],
    uses: usesRaw ?? null,
    delegateDepth: depthRaw ?? 0,
    chain: chain ?? null,
  };
}

export { CborError };
