// eKey and offline-PIN steps (docs/scenarios.md, "eKeys and offline PINs"). They act as phones do: keys are
// named Ed25519 pairs derived from the scenario's seed, eKeys and revocations are minted with the firmware's
// own minting code, and a presentation asks the lock for a challenge, signs the proof with the holder key and
// presents it (Lock.ekeyChallenge + signProof + Lock.presentEkey). Offline PINs are minted from the secret
// shared with the lock and typed on the keypad. Nothing here reaches into the lock's tables.
import {
  EKEY_COMMANDS,
  KeywayError,
  MAX_HOURS,
  OfflinePinKey,
  decodeClaims,
  decodeSign1,
  fingerprint,
  keyPairFromSeed,
  mintEkey,
  mintRevocation,
  parseWeekly,
  signProof,
  type AccessSchedule,
  type EkeyClaims,
  type EkeyCommand,
  type EkeyProof,
  type KeyPair,
  type LockTime,
  type Method,
  type MintedOfflinePin,
  type OfflinePinSpec,
  type Revocation,
  type Role,
} from '../../../firmware/index.ts';
import { SeededRandom } from '../../clock/index.ts';
import { suggest, type Field } from '../Field.ts';
import {
  registerSection,
  registerStep,
  type Operation,
  type ParseContext,
  type StepOutcome,
} from '../registry.ts';
import type { RunContext } from '../RunContext.ts';
import { formatLockTime, stripCode } from '../time.ts';
import { readSchedule } from '../users.ts';
import { METHOD_NAMES, ROLES } from '../vocabulary.ts';
import { readDuration } from './time.ts';

const DAY_MS = 86_400_000;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const REMOTE_OPS = ['unlock', 'lock', 'unlock_with_timeout'] as const;
type RemoteOp = (typeof REMOTE_OPS)[number];

// ------------------------------------------------------------------------------------ deterministic keys

/** The key pair a scenario calls `name`: from its seed, so every run (and every machine) gets the same key. */
export function scenarioKey(seed: string, name: string): KeyPair {
  return keyPairFromSeed(new SeededRandom(`${seed}\0key\0${name}`).bytes(32));
}

/** The offline-PIN secret `offline_secret: true` stands for. */
export function scenarioOfflineSecret(seed: string): Uint8Array {
  return new SeededRandom(`${seed}\0offline-pin-secret`).bytes(32);
}

// ------------------------------------------------------------------------------ what parsing has seen

interface NamedKey {
  name: string;
  pair: KeyPair;
}

/** Names declared so far in the file being parsed (keys, eKeys, offline PINs, the offline secret). */
interface ParseState {
  keys: Map<string, NamedKey>;
  /** eKey name -> its holder and issuer key names. */
  ekeys: Map<string, { holder: string; issuer: string }>;
  offlineSecret: Uint8Array | null;
  offlinePins: Set<string>;
}

const parseStates = new WeakMap<ParseContext, ParseState>();

function parsed(ctx: ParseContext): ParseState {
  let s = parseStates.get(ctx);
  if (s === undefined) {
    s = { keys: new Map(), ekeys: new Map(), offlineSecret: null, offlinePins: new Set() };
    parseStates.set(ctx, s);
  }
  return s;
}

const known = (names: Iterable<string>): string => {
  const list = [...names];
  return list.length === 0 ? 'none' : list.join(', ');
};

function declareKey(f: Field, ctx: ParseContext): NamedKey {
  const name = f.nonEmptyString('a key name such as owner-key');
  if (!KEY_NAME.test(name))
    f.fail(
      `key names are 1..32 letters, digits, "-", "_" or "." (starting with a letter or digit); got "${name}"`,
    );
  const s = parsed(ctx);
  if (s.keys.has(name)) f.fail(`key "${name}" is declared twice`);
  const key = { name, pair: scenarioKey(ctx.seed, name) };
  s.keys.set(name, key);
  return key;
}

function keyRef(f: Field, ctx: ParseContext): NamedKey {
  const name = f.nonEmptyString('a key name (declared in keys: or by new_key)');
  const s = parsed(ctx);
  const key = s.keys.get(name);
  if (key === undefined)
    f.fail(
      `unknown key "${name}"${suggest(name, [...s.keys.keys()])}; declared so far: ${known(s.keys.keys())}`,
    );
  return key;
}

function ekeyRef(f: Field, ctx: ParseContext): string {
  const name = f.nonEmptyString('an eKey name (from an earlier mint_ekey)');
  const s = parsed(ctx);
  if (!s.ekeys.has(name))
    f.fail(
      `unknown eKey "${name}"${suggest(name, [...s.ekeys.keys()])}; minted before this step: ${known(s.ekeys.keys())}`,
    );
  return name;
}

/** Exactly one of `choices` is present in the mapping f; returns it. */
function exactlyOne<T extends string>(f: Field, choices: readonly T[], what: string): T {
  const given = choices.filter((c) => f.at(c).present);
  if (given.length !== 1)
    f.fail(
      `${what}: give exactly one of ${choices.join(', ')}${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`,
    );
  return given[0]!;
}

// ------------------------------------------------------------------------------- what a run holds

interface MintedEkey {
  name: string;
  token: Uint8Array;
  claims: EkeyClaims;
  holder: NamedKey;
  issuer: NamedKey;
}

interface RunState {
  /** Minted eKeys in minting order. */
  ekeys: Map<string, MintedEkey>;
  /** The last proof each eKey was presented with (proof: replay re-sends it). */
  lastProof: Map<string, EkeyProof>;
  offlinePins: Map<string, MintedOfflinePin>;
  revocations: number;
}

const runStates = new WeakMap<RunContext, RunState>();

function running(ctx: RunContext): RunState {
  let s = runStates.get(ctx);
  if (s === undefined) {
    s = { ekeys: new Map(), lastProof: new Map(), offlinePins: new Map(), revocations: 0 };
    runStates.set(ctx, s);
  }
  return s;
}

function mintedEkey(ctx: RunContext, name: string): MintedEkey {
  const m = running(ctx).ekeys.get(name);
  if (m === undefined)
    throw new KeywayError('not_found', `eKey "${name}" was not minted (did its mint_ekey step fail?)`);
  return m;
}

const sameKey = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** The newest eKey held by this key, if any (a phone uses the eKey it holds). */
function heldBy(ctx: RunContext, key: Uint8Array): MintedEkey | undefined {
  return [...running(ctx).ekeys.values()].reverse().find((m) => sameKey(m.claims.holder, key));
}

// ------------------------------------------------------------------------------------------ minting

interface MintPlan {
  name: string;
  seed: string;
  issuer: NamedKey;
  holder: NamedKey;
  role: Role;
  from: LockTime | null;
  until: LockTime | null;
  forMs: number | null;
  schedules: AccessSchedule[];
  methods: Method[];
  uses: number | null;
  delegateDepth: number;
  chain: string | null;
  aud: string[] | null;
}

const MINT_FIELDS = [
  'name',
  'issuer',
  'holder',
  'role',
  'from',
  'until',
  'for',
  'weekly',
  'schedules',
  'uses',
  'may_delegate',
  'chain',
  'methods',
  'lock',
];

function readMint(f: Field, ctx: ParseContext): MintPlan {
  f.map().onlyKeys(MINT_FIELDS);
  const s = parsed(ctx);
  const nf = f.at('name').required();
  const name = nf.nonEmptyString('an eKey name such as guest-pass');
  if (!KEY_NAME.test(name)) nf.fail(`eKey names are 1..32 letters, digits, "-", "_" or "."; got "${name}"`);
  if (s.ekeys.has(name)) nf.fail(`eKey "${name}" is minted twice (give each eKey its own name)`);
  const issuer = keyRef(f.at('issuer').required(), ctx);
  const holder = keyRef(f.at('holder').required(), ctx);
  const from = f.at('from').present ? ctx.time(f.at('from')) : null;
  if (f.at('until').present && f.at('for').present) f.at('for').fail('give until or for, not both');
  const until = f.at('until').present ? ctx.time(f.at('until')) : null;
  const forMs = f.at('for').present ? readDuration(f.at('for')).ms : null;
  if (from !== null && until !== null && until <= from) f.at('until').fail('until must be after from');
  if (forMs !== null && forMs <= 0) f.at('for').fail('for must be a positive duration');
  const schedules: AccessSchedule[] = [];
  if (f.at('weekly').present) {
    for (const w of f.at('weekly').listOrOne()) {
      const text = w.string('a weekly window such as "mon,thu 09:00-12:00"');
      try {
        schedules.push(parseWeekly(text));
      } catch (err) {
        w.fail(stripCode(err instanceof Error ? err.message : String(err)));
      }
    }
  }
  // The same forms as a user's schedules (weekly or yearday windows in the lock's zone).
  if (f.at('schedules').present) for (const sf of f.at('schedules').list()) schedules.push(readSchedule(sf));
  const methods = f.at('methods').present
    ? f
        .at('methods')
        .listOrOne()
        .map((m) => m.oneOf(METHOD_NAMES))
    : (['app'] as Method[]);
  const uses = f.at('uses').present
    ? f.at('uses').number({ integer: true, min: 1, max: 1_000_000, what: 'a number of unlocks (1 or more)' })
    : null;
  let delegateDepth = 0;
  const d = f.at('may_delegate');
  if (d.present) {
    if (typeof d.value === 'boolean') delegateDepth = d.value ? 1 : 0;
    else delegateDepth = d.number({ integer: true, min: 0, max: 8, what: 'true, false or a depth 1..8' });
  }
  let chain: string | null = null;
  if (f.at('chain').present) {
    chain = ekeyRef(f.at('chain'), ctx);
    const parent = s.ekeys.get(chain)!;
    if (parent.holder !== issuer.name) {
      f.at('chain').fail(
        `eKey "${chain}" is held by ${parent.holder}, not by the issuer ${issuer.name} (an issuer chains the eKey it holds)`,
      );
    }
  }
  const aud = f.at('lock').present
    ? f
        .at('lock')
        .listOrOne()
        .map((l) => l.nonEmptyString('a lock id'))
    : null;
  s.ekeys.set(name, { holder: holder.name, issuer: issuer.name });
  return {
    name,
    seed: ctx.seed,
    issuer,
    holder,
    role: f.at('role').present ? f.at('role').oneOf(ROLES) : 'guest',
    from,
    until,
    forMs,
    schedules,
    methods,
    uses,
    delegateDepth,
    chain,
    aud,
  };
}

function runMint(p: MintPlan, ctx: RunContext): MintedEkey {
  const now = ctx.clock.now();
  const from = p.from ?? now;
  if (from === null) {
    throw new KeywayError('time_unknown', `mint_ekey ${p.name}: give from: (the lock clock is unknown)`);
  }
  const until = p.until ?? from + (p.forMs ?? DAY_MS);
  let chain: Uint8Array | null = null;
  if (p.chain !== null) chain = mintedEkey(ctx, p.chain).token;
  const token = mintEkey(
    p.issuer.pair,
    {
      holder: p.holder.pair.publicRaw,
      aud: p.aud ?? [ctx.lock.settings.lockId],
      from,
      until,
      role: p.role,
      schedules: p.schedules,
      methods: p.methods,
      uses: p.uses,
      delegateDepth: p.delegateDepth,
      chain,
      issuedAt: now ?? from,
    },
    new SeededRandom(`${p.seed}\0ekey\0${p.name}`),
  );
  const minted: MintedEkey = {
    name: p.name,
    token,
    claims: decodeClaims(decodeSign1(token).payload),
    holder: p.holder,
    issuer: p.issuer,
  };
  running(ctx).ekeys.set(p.name, minted);
  return minted;
}

function describeMint(p: MintPlan): string {
  const parts = [`${p.issuer.name} mints ${p.role} eKey ${p.name} for ${p.holder.name}`];
  if (p.chain !== null) parts.push(`(chained to ${p.chain})`);
  if (p.delegateDepth > 0) parts.push(`may delegate ${p.delegateDepth}`);
  return parts.join(' ');
}

function mintText(m: MintedEkey, timeZone: string): string {
  const c = m.claims;
  const links = (t: EkeyClaims): number =>
    t.chain === null ? 1 : 1 + links(decodeClaims(decodeSign1(t.chain).payload));
  return `${formatLockTime(c.nbf * 1000, timeZone)} .. ${formatLockTime(c.exp * 1000, timeZone)}, ${links(c)} link(s), ${m.token.length} bytes`;
}

// ------------------------------------------------------------------------------------- presenting

type ProofMode = true | false | 'wrong_key' | 'replay';

interface PresentPlan {
  ekey: string;
  holder: NamedKey;
  stranger: KeyPair;
  proof: ProofMode;
  command: EkeyCommand;
  timeoutSeconds: number | null;
}

const PRESENT_FIELDS = ['proof', 'command', 'timeout'] as const;

function readPresent(f: Field, ctx: ParseContext): PresentPlan {
  // `ekey: NAME` with sibling proof/command/timeout, or `ekey: { name, proof, command, timeout }`.
  const opts = f.isMap() ? f.onlyKeys(['name', ...PRESENT_FIELDS]) : null;
  const nameField = opts === null ? f : opts.at('name').required();
  const ekey = ekeyRef(nameField, ctx);
  const opt = (k: (typeof PRESENT_FIELDS)[number]): Field =>
    opts !== null && opts.at(k).present ? opts.at(k) : ctx.modifier(k);
  let proof: ProofMode = true;
  const pf = opt('proof');
  if (pf.present) {
    if (typeof pf.value === 'boolean') proof = pf.value;
    else if (pf.value === 'wrong_key' || pf.value === 'replay') proof = pf.value;
    else pf.fail(`proof is true, false, wrong_key or replay; got ${JSON.stringify(pf.value)}`);
  }
  const command = opt('command').present ? opt('command').oneOf(EKEY_COMMANDS) : 'unlock';
  let timeoutSeconds: number | null = null;
  const tf = opt('timeout');
  if (command === 'unlock_with_timeout') {
    if (!tf.present) f.fail('command unlock_with_timeout needs timeout: (e.g. "30s")');
    const ms = readDuration(tf).ms;
    if (ms % 1000 !== 0 || ms < 1000 || ms > DAY_MS) tf.fail('timeout is whole seconds, 1s..24h');
    timeoutSeconds = ms / 1000;
  } else if (tf.present) {
    tf.fail('timeout goes with command: unlock_with_timeout only');
  }
  const s = parsed(ctx);
  const holder = s.keys.get(s.ekeys.get(ekey)!.holder)!;
  return {
    ekey,
    holder,
    stranger: scenarioKey(ctx.seed, '\0stranger'),
    proof,
    command,
    timeoutSeconds,
  };
}

function describePresent(p: PresentPlan): string {
  const proof =
    p.proof === true
      ? ''
      : p.proof === false
        ? ' without proof'
        : p.proof === 'wrong_key'
          ? ' with a proof by another key'
          : ' replaying its last proof';
  return `${p.holder.name} presents eKey ${p.ekey} (${p.command})${proof}`;
}

function runPresent(p: PresentPlan, ctx: RunContext): StepOutcome {
  const m = mintedEkey(ctx, p.ekey);
  const state = running(ctx);
  const session = `phone:${p.holder.name}`;
  let proof: EkeyProof | null = null;
  if (p.proof === 'replay') {
    const last = state.lastProof.get(p.ekey);
    if (last === undefined)
      throw new KeywayError('not_found', `eKey ${p.ekey} has not been presented with a proof yet`);
    proof = last;
  } else if (p.proof !== false) {
    // What a phone does: fetch the lock's fresh challenge, sign (challenge, lock id, command, cti).
    const challenge = ctx.lock.ekeyChallenge(session);
    const signer = p.proof === 'wrong_key' ? p.stranger : p.holder.pair;
    const signature = signProof(signer.privateKey, {
      challenge,
      lockId: ctx.lock.settings.lockId,
      command: p.command,
      cti: m.claims.cti,
    });
    proof = { challenge, signature, session };
    state.lastProof.set(p.ekey, proof);
  }
  if ((REMOTE_OPS as readonly string[]).includes(p.command)) {
    const seq = ctx.auditSeq();
    const r = ctx.lock.presentEkey(
      m.token,
      proof,
      p.command as RemoteOp,
      p.timeoutSeconds === null ? {} : { timeoutSeconds: p.timeoutSeconds },
    );
    const text = r.granted ? undefined : r.detail;
    return { operation: ctx.operationSince(seq), ...(text === undefined ? {} : { text }) };
  }
  // Management commands over a session: the lock checks the eKey, its proof and the role's right to it.
  const d = ctx.lock.checkEkey(m.token, proof, p.command);
  const operation: Operation = {
    granted: d.granted,
    reason: d.granted ? null : d.reason,
    userIndex: null,
    action: p.command,
  };
  return { operation, text: d.granted ? `${p.command} allowed` : (d.detail ?? d.reason) };
}

// ------------------------------------------------------------------------------------- revocations

type RevokeTarget =
  | { kind: 'cti'; ekey: string }
  | { kind: 'issuer' | 'holder'; key: NamedKey }
  | { kind: 'offline_pin'; pin: string };

interface RevokePlan {
  seed: string;
  by: NamedKey | null;
  target: RevokeTarget;
  with: string | null;
  evidence: string | null;
  until: LockTime | null;
}

function readRevoke(f: Field, ctx: ParseContext): RevokePlan {
  f.map().onlyKeys(['by', 'ekey', 'issuer', 'holder', 'offline_pin', 'with', 'evidence', 'until']);
  const viaActor = ctx.modifier('as').present;
  if (viaActor === f.at('by').present) {
    f.fail(
      viaActor
        ? 'give as: NAME (a lock user revokes) or by: KEY (a signed revocation from a phone), not both'
        : 'who revokes? give by: KEY (a signed revocation from that phone) or as: NAME (a lock user)',
    );
  }
  const which = exactlyOne(f, ['ekey', 'issuer', 'holder', 'offline_pin'] as const, 'what is revoked');
  let target: RevokeTarget;
  if (which === 'ekey') target = { kind: 'cti', ekey: ekeyRef(f.at('ekey'), ctx) };
  else if (which === 'offline_pin') {
    const pf = f.at('offline_pin');
    const name = pf.nonEmptyString('the name of an offline PIN');
    const pins = parsed(ctx).offlinePins;
    if (!pins.has(name))
      pf.fail(`unknown offline PIN "${name}"${suggest(name, [...pins])}; named so far: ${known(pins)}`);
    target = { kind: 'offline_pin', pin: name };
  } else target = { kind: which, key: keyRef(f.at(which), ctx) };
  const by = f.at('by').present ? keyRef(f.at('by'), ctx) : null;
  for (const k of ['with', 'evidence'] as const) {
    if (f.at(k).present && by === null) f.at(k).fail(`${k} goes with by: KEY (a signed revocation)`);
  }
  return {
    seed: ctx.seed,
    by,
    target,
    with: f.at('with').present ? ekeyRef(f.at('with'), ctx) : null,
    evidence: f.at('evidence').present ? ekeyRef(f.at('evidence'), ctx) : null,
    until: f.at('until').present ? ctx.time(f.at('until')) : null,
  };
}

function targetName(t: RevokeTarget): string {
  switch (t.kind) {
    case 'cti':
      return `eKey ${t.ekey}`;
    case 'issuer':
      return `everything issued by ${t.key.name}`;
    case 'holder':
      return `every eKey held by ${t.key.name}`;
    case 'offline_pin':
      return `offline PIN ${t.pin}`;
  }
}

/** The revocation entry: what is revoked and until when the lock must keep it. */
function revocationOf(p: RevokePlan, ctx: RunContext): Revocation {
  const t = p.target;
  switch (t.kind) {
    case 'cti': {
      const m = mintedEkey(ctx, t.ekey);
      return { kind: 'cti', id: m.claims.cti, until: p.until ?? m.claims.exp * 1000 };
    }
    case 'issuer':
    case 'holder':
      return { kind: t.kind, id: t.key.pair.publicRaw, until: p.until };
    case 'offline_pin': {
      const pin = running(ctx).offlinePins.get(t.pin);
      if (pin === undefined)
        throw new KeywayError('not_found', `offline PIN ${t.pin} was not minted (did its step fail?)`);
      return { kind: 'offline_pin', id: pin.id, until: p.until ?? pin.until };
    }
  }
}

function runRevoke(p: RevokePlan, ctx: RunContext): StepOutcome {
  const r = revocationOf(p, ctx);
  if (p.by === null) {
    ctx.lock.revokeEkey(ctx.actor(), r);
    return { text: `revoked ${targetName(p.target)}` };
  }
  // A phone: an owner key signs alone; a delegate carries its own eKey and the revoked one as evidence.
  const state = running(ctx);
  const by = p.by.pair.publicRaw;
  const anchor = ctx.lock.trustAnchors().some((a) => sameKey(a.key, by));
  let chain: Uint8Array | null = null;
  let evidence: Uint8Array | null = null;
  if (p.with !== null || !anchor) {
    chain = p.with !== null ? mintedEkey(ctx, p.with).token : (heldBy(ctx, by)?.token ?? null);
    const t = p.target;
    if (p.evidence !== null) evidence = mintedEkey(ctx, p.evidence).token;
    else if (t.kind === 'cti') evidence = mintedEkey(ctx, t.ekey).token;
    else if (t.kind === 'issuer' || t.kind === 'holder')
      evidence = heldBy(ctx, t.key.pair.publicRaw)?.token ?? null;
  }
  const token = mintRevocation(
    p.by.pair,
    { ...r, chain, evidence, issuedAt: ctx.clock.now() ?? 0 },
    new SeededRandom(`${p.seed}\0revocation\0${state.revocations++}`),
  );
  const d = ctx.lock.presentRevocation(token);
  const operation: Operation = {
    granted: d.granted,
    reason: d.granted ? null : d.reason,
    userIndex: null,
    action: 'revoke',
  };
  return {
    operation,
    text: d.granted ? `revoked ${targetName(p.target)}` : `refused: ${d.detail ?? d.reason}`,
  };
}

// ------------------------------------------------------------------------------------ offline PINs

function readSecret(f: Field, ctx: ParseContext): Uint8Array {
  if (f.value === true) return scenarioOfflineSecret(ctx.seed);
  const hex = f.string('true (a secret derived from the seed) or 64 hex digits');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) f.fail('an offline-PIN secret is true or 64 hex digits (32 bytes)');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

type OfflinePinPlan =
  | { name: string | null; secret: Uint8Array; variant: 'hourly'; from: LockTime | null; hours: number }
  | { name: string | null; secret: Uint8Array; variant: 'once'; from: LockTime | null }
  | { name: string | null; secret: Uint8Array; variant: 'daily'; fromDate: string; untilDate: string }
  | { name: string; retype: true };

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function readOfflinePin(f: Field, ctx: ParseContext): OfflinePinPlan {
  const s = parsed(ctx);
  if (typeof f.value === 'string') {
    // offline_pin: NAME types a PIN minted by an earlier step again.
    const name = f.value;
    if (!s.offlinePins.has(name))
      f.fail(
        `unknown offline PIN "${name}"${suggest(name, [...s.offlinePins])}; named so far: ${known(s.offlinePins)}`,
      );
    return { name, retype: true };
  }
  f.map().onlyKeys(['variant', 'from', 'until', 'hours', 'name']);
  if (s.offlineSecret === null)
    f.fail('no offline-PIN secret yet: add offline_secret: true at the top (or an offline_secret step)');
  let name: string | null = null;
  if (f.at('name').present) {
    name = f.at('name').nonEmptyString('a name for this offline PIN');
    if (s.offlinePins.has(name)) f.at('name').fail(`offline PIN "${name}" is named twice`);
  }
  const variant = f
    .at('variant')
    .required()
    .oneOf(['hourly', 'daily', 'once'] as const);
  const secret = s.offlineSecret;
  const only = (allowed: string[]): void => {
    for (const k of ['from', 'until', 'hours'])
      if (f.at(k).present && !allowed.includes(k))
        f.at(k).fail(`${variant} offline PINs take ${allowed.join(', ')}`);
  };
  let plan: OfflinePinPlan;
  if (variant === 'daily') {
    only(['from', 'until']);
    const date = (k: string): string => {
      const v = f.at(k).required().string('a date YYYY-MM-DD (in the lock zone)');
      if (!DATE.test(v)) f.at(k).fail(`"${v}" is not a date YYYY-MM-DD`);
      return v;
    };
    plan = { name, secret, variant, fromDate: date('from'), untilDate: date('until') };
    try {
      new OfflinePinKey(secret, 'check').mint(plan, ctx.timeZone); // validates the dates and the length
    } catch (err) {
      f.fail(stripCode(err instanceof Error ? err.message : String(err)));
    }
  } else {
    const from = f.at('from').present ? ctx.time(f.at('from')) : null;
    if (variant === 'hourly') {
      only(['from', 'hours']);
      const hours = f
        .at('hours')
        .required()
        .number({ integer: true, min: 1, max: MAX_HOURS, what: `a number of hours 1..${MAX_HOURS}` });
      plan = { name, secret, variant, from, hours };
    } else {
      only(['from']);
      plan = { name, secret, variant, from };
    }
  }
  if (name !== null) s.offlinePins.add(name);
  return plan;
}

function describeOfflinePin(p: OfflinePinPlan, timeZone: string): string {
  if ('retype' in p) return `offline PIN ${p.name} again`;
  const label = p.name === null ? '' : ` ${p.name}`;
  const at = (t: LockTime | null): string => (t === null ? 'now' : formatLockTime(t, timeZone));
  switch (p.variant) {
    case 'hourly':
      return `offline PIN${label} (hourly, ${p.hours} h from ${at(p.from)})`;
    case 'once':
      return `offline PIN${label} (one-time, from ${at(p.from)})`;
    case 'daily':
      return `offline PIN${label} (daily, ${p.fromDate}..${p.untilDate})`;
  }
}

function runOfflinePin(p: OfflinePinPlan, ctx: RunContext): StepOutcome {
  const state = running(ctx);
  let minted: MintedOfflinePin;
  if ('retype' in p) {
    const m = state.offlinePins.get(p.name);
    if (m === undefined)
      throw new KeywayError('not_found', `offline PIN ${p.name} was not minted (did its step fail?)`);
    minted = m;
  } else {
    let spec: OfflinePinSpec;
    if (p.variant === 'daily') spec = p;
    else {
      const from = p.from ?? ctx.clock.now();
      if (from === null)
        throw new KeywayError('time_unknown', 'offline_pin: give from: (the lock clock is unknown)');
      spec = p.variant === 'hourly' ? { variant: 'hourly', from, hours: p.hours } : { variant: 'once', from };
    }
    // The owner's phone: no contact with the lock, only the shared secret and the lock's id and zone.
    minted = new OfflinePinKey(p.secret, ctx.lock.settings.lockId).mint(spec, ctx.timeZone);
    if (p.name !== null) state.offlinePins.set(p.name, minted);
  }
  for (const k of minted.pin) ctx.board.pressKey(k);
  const seq = ctx.auditSeq();
  ctx.board.pressKey('#');
  return {
    operation: ctx.operationSince(seq),
    text: `${minted.variant}, ${formatLockTime(minted.from, ctx.timeZone)} .. ${formatLockTime(minted.until, ctx.timeZone)}`,
  };
}

// ------------------------------------------------------------------------------------------ sections

interface KeyDecl {
  key: NamedKey;
  /** Installed as a trust anchor at set-up by this user (null: the first owner), or not at all. */
  trust: { by: string | null } | null;
}

function readKeyDecl(f: Field, ctx: ParseContext): KeyDecl {
  if (!f.isMap()) return { key: declareKey(f, ctx), trust: null };
  f.onlyKeys(['name', 'trust']);
  const key = declareKey(f.at('name').required(), ctx);
  const t = f.at('trust');
  if (!t.present || t.value === false) return { key, trust: null };
  if (t.value === true) return { key, trust: { by: null } };
  return { key, trust: { by: ctx.userRef(t) } };
}

function installAnchor(ctx: RunContext, actor: number, key: NamedKey): void {
  ctx.lock.installTrustAnchor(actor, key.pair.publicRaw, key.name);
}

// ------------------------------------------------------------------------------------------ register

export function registerEkeySteps(): void {
  registerSection<KeyDecl[]>({
    name: 'keys',
    summary:
      'named Ed25519 key pairs (phones), derived from the seed; { name, trust: true } installs an owner key',
    parse: (f, ctx) => f.listOrOne().map((k) => readKeyDecl(k, ctx)),
    setup: (decls, ctx, owner) => {
      for (const d of decls) {
        if (d.trust === null) continue;
        const actor = d.trust.by === null ? owner : ctx.userIndex(d.trust.by);
        if (actor === null)
          throw new KeywayError('invalid_argument', `trusting ${d.key.name} needs an owner in users:`);
        installAnchor(ctx, actor, d.key);
      }
    },
  });

  registerSection<Uint8Array>({
    name: 'offline_secret',
    summary:
      'the offline-PIN secret the owner shares with the lock: true (derived from the seed) or 64 hex digits',
    parse: (f, ctx) => {
      const secret = readSecret(f, ctx);
      parsed(ctx).offlineSecret = secret;
      return secret;
    },
    setup: (secret, ctx, owner) => {
      if (owner === null)
        throw new KeywayError(
          'invalid_argument',
          'the offline-PIN secret is set by the owner: declare one in users:',
        );
      ctx.lock.setOfflinePinSecret(owner, secret);
    },
  });

  registerSection<MintPlan[]>({
    name: 'ekeys',
    summary: 'eKeys minted before the first step (same fields as mint_ekey)',
    parse: (f, ctx) => f.list().map((m) => readMint(m, ctx)),
    setup: (plans, ctx) => {
      for (const p of plans) runMint(p, ctx);
    },
  });

  registerStep<NamedKey>({
    name: 'new_key',
    summary: 'declare a named key pair (a phone) from here on: new_key: guest-phone',
    parse: (f, ctx) => declareKey(f, ctx),
    describe: (k) => `new key ${k.name}`,
    run: (k) => ({ text: `fingerprint ${fingerprint(k.pair.publicRaw)}` }),
  });

  registerStep<NamedKey>({
    name: 'trust_key',
    summary: 'an owner installs a key as a trust anchor (eKeys it signs are trusted)',
    actor: 'required',
    parse: keyRef,
    describe: (k, as) => `${as} trusts key ${k.name}`,
    run: (k, ctx) => installAnchor(ctx, ctx.actor(), k),
  });

  registerStep<NamedKey>({
    name: 'untrust_key',
    summary: 'an owner removes a trust anchor (everything it signed stops working)',
    actor: 'required',
    parse: keyRef,
    describe: (k, as) => `${as} stops trusting key ${k.name}`,
    run: (k, ctx) => ctx.lock.removeTrustAnchor(ctx.actor(), k.pair.publicRaw),
  });

  registerStep<MintPlan>({
    name: 'mint_ekey',
    summary:
      'a phone mints an eKey: { name, issuer: KEY, holder: KEY, role, from, until|for, weekly, uses, may_delegate, chain: EKEY }',
    parse: readMint,
    describe: describeMint,
    run: (p, ctx) => ({ text: mintText(runMint(p, ctx), ctx.timeZone) }),
  });

  registerStep<PresentPlan>({
    name: 'ekey',
    summary:
      "the holder's phone presents an eKey: challenge, proof, present (proof: true|false|wrong_key|replay, command: unlock|lock|...)",
    modifiers: PRESENT_FIELDS,
    parse: readPresent,
    describe: describePresent,
    run: runPresent,
  });

  registerStep<RevokePlan>({
    name: 'revoke',
    summary:
      'revoke { ekey: EKEY | issuer: KEY | holder: KEY | offline_pin: NAME }, signed by: KEY (a phone) or as: NAME (a lock user)',
    actor: 'optional',
    parse: readRevoke,
    describe: (p, as) => `${as ?? p.by?.name ?? '?'} revokes ${targetName(p.target)}`,
    run: runRevoke,
  });

  registerStep<Uint8Array>({
    name: 'offline_secret',
    summary: 'an owner sets the offline-PIN secret: true (derived from the seed) or 64 hex digits',
    actor: 'required',
    parse: (f, ctx) => {
      const secret = readSecret(f, ctx);
      parsed(ctx).offlineSecret = secret;
      return secret;
    },
    describe: (_s, as) => `${as} sets the offline-PIN secret`,
    run: (secret, ctx) => ctx.lock.setOfflinePinSecret(ctx.actor(), secret),
  });

  registerStep<OfflinePinPlan & { timeZone?: string }>({
    name: 'offline_pin',
    summary:
      'mint an offline PIN from the shared secret and type it: { variant: hourly|daily|once, from, hours | until, name }, or NAME again',
    parse: (f, ctx) => ({ ...readOfflinePin(f, ctx), timeZone: ctx.timeZone }),
    describe: (p) => describeOfflinePin(p, p.timeZone ?? 'UTC'),
    run: runOfflinePin,
  });
}
