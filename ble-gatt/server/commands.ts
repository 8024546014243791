// What an established session may do, and doing it on the Lock (docs/protocol.md section 13).
//
// A session acts for a *principal*, established by an eKey proof (section 6) or, in the XX session
// that claimed the lock, by the claim itself. Every command re-checks the principal's eKey against the
// lock's current state (trust, revocation, validity, schedule, role: THREATS 9, 17), then the registered
// user's stored role through the Lock's own management checks. An eKey holder who is not a registered
// user of the lock (no `cred.add type ekey`) may only lock, unlock and read status.
import {
  ADMIN_SETTINGS,
  canonicalJson,
  decodeClaims,
  decodeSign1,
  isKeywayError,
  type EkeyCommand,
  type Lock,
  type OperationResult,
  type Role,
  type SessionPossession,
  type Settings,
  type User,
  type UserSpec,
} from '../../firmware/index.ts';
import { isBleError } from '../errors.ts';
import { claimIdentities } from '../pake/setupCode.ts';
import { Spake2PlusVerifier } from '../pake/Spake2Plus.ts';
import { verifySessionProof } from '../SessionProof.ts';
import type { ArgsOf, CommandName, ResultOf } from '../protocol/commands.ts';
import { errResponse, okResponse, type Request, type Response } from '../protocol/envelope.ts';
import { isResponseErrorCode, type ResponseErrorCode } from '../protocol/errorCodes.ts';
import type { LockService } from './LockService.ts';
import type { LockSession } from './LockSession.ts';

export interface Principal {
  /** The eKey's role (the claim session: owner). */
  role: Role;
  /** The stored user the holder key is registered to: the actor of management commands. */
  user: number | null;
  /** The presented eKey (null: the claim session, authenticated by SPAKE2+). */
  token: Uint8Array | null;
  possession: SessionPossession | null;
}

/** Commands that change who may do what: afterwards every other session is re-checked. */
const REVALIDATE = new Set<CommandName>([
  'revoke',
  'user.remove',
  'user.disable',
  'user.modify',
  'cred.remove',
  'settings.set',
]);

/** Largest plaintext of one audit.pull chunk (the secure channel takes 4072). */
const AUDIT_CHUNK_BYTES = 3600;
const AUDIT_CHUNK_ENTRIES = 32;

class Refusal extends Error {
  constructor(
    readonly code: ResponseErrorCode,
    message?: string,
  ) {
    super(message ?? code);
  }
}

function refuse(code: ResponseErrorCode, message?: string): never {
  throw new Refusal(code, message);
}

function denial(r: OperationResult): void {
  if (!r.granted) refuse(r.reason, r.detail);
}

export class CommandContext {
  principal: Principal | null = null;
  readonly #claimSession: boolean;
  #spake: Spake2PlusVerifier | null = null;
  #claimDone = false;
  #after: (() => void) | null = null;

  constructor(
    private readonly service: LockService,
    private readonly session: LockSession,
    opts: { claimSession?: boolean } = {},
  ) {
    this.#claimSession = opts.claimSession === true;
  }

  get lock(): Lock {
    return this.service.lock;
  }

  /**
   * An eKey proof (handshake payload or the `proof` command): the holder signed `hash` for this eKey.
   * Sets the principal on success; returns the refusal otherwise (the session stays unauthenticated).
   */
  establish(ekey: Uint8Array, sig: Uint8Array, hash: Uint8Array): void {
    const possession: SessionPossession = {
      holderProven: (holder) => verifySessionProof(holder, hash, ekey, sig),
    };
    this.#lastProof = { token: ekey, possession };
    const d = this.lock.checkEkey(ekey, possession, 'status');
    let role: Role;
    let holder: Uint8Array;
    if (d.granted) {
      role = d.claims.role;
      holder = d.claims.holder;
    } else if (d.reason === 'time_unknown') {
      // The lock lost its time: a registered owner or admin may still set it (time.sync only, below).
      const claims = decodeClaims(decodeSign1(ekey).payload);
      if (!verifySessionProof(claims.holder, hash, ekey, sig)) {
        this.#proofRefused('proof_of_possession_failed');
        return;
      }
      role = claims.role;
      holder = claims.holder;
    } else {
      this.#proofRefused(d.reason, d.detail);
      return;
    }
    const user = this.lock.userForEkeyHolder(holder);
    this.principal = { role, user: user?.index ?? null, token: ekey, possession };
    this.#lastProofRefusal = null;
    this.service.emit({ kind: 'proof', session: this.session.id, role, user: user?.index ?? null });
  }

  #proofRefused(reason: string, detail?: string): void {
    this.principal = null;
    this.#lastProofRefusal = {
      code: isResponseErrorCode(reason) ? reason : 'proof_of_possession_failed',
      detail,
    };
    this.service.emit({ kind: 'proof_refused', session: this.session.id, reason });
  }

  #lastProofRefusal: { code: ResponseErrorCode; detail: string | undefined } | null = null;
  /** The last eKey proof, accepted or not: a refused one is still presented (and audited) on unlock. */
  #lastProof: { token: Uint8Array; possession: SessionPossession } | null = null;

  /** Why the principal may no longer act (revoked, expired, user gone), or null if it still may. */
  stillValid(): string | null {
    const p = this.principal;
    if (p === null) return null;
    if (p.token !== null && p.possession !== null) {
      const d = this.lock.checkEkey(p.token, p.possession, 'status');
      if (!d.granted && d.reason !== 'time_unknown') return d.reason;
    }
    if (p.user !== null) {
      const u = this.lock.getUser(p.user);
      if (u === null) return 'user removed';
      if (!u.enabled) return 'user disabled';
    }
    return null;
  }

  /** Runs after the responses to a request were sent (e.g. end sessions after a revocation). */
  afterAnswer(): void {
    const f = this.#after;
    this.#after = null;
    f?.();
  }

  run(request: Request, opts: { early: boolean; pattern: 'IK' | 'XX' }): Response[] {
    const { id, cmd } = request;
    try {
      const out = this.#dispatch(request, opts);
      this.service.emit({ kind: 'command', session: this.session.id, cmd, ok: true });
      if (REVALIDATE.has(cmd)) this.#after = () => this.service.revalidate();
      return out;
    } catch (err) {
      let code: ResponseErrorCode;
      let message: string | undefined;
      if (err instanceof Refusal) {
        code = err.code;
        message = err.message === err.code ? undefined : err.message;
      } else if (isBleError(err)) {
        code = 'bad_request';
        message = err.message;
      } else if (isKeywayError(err)) {
        code = isResponseErrorCode(err.code) ? err.code : 'internal';
        message = code === 'internal' ? undefined : err.message.replace(/^[a-z_]+: /, '');
      } else {
        code = 'internal';
      }
      this.service.emit({ kind: 'command', session: this.session.id, cmd, ok: false, code });
      return [errResponse(id, code, message)];
    }
  }

  // ------------------------------------------------------------------ authorization

  /** The principal, after re-checking its eKey for `gate` against the lock's state now. */
  #authorize(gate: EkeyCommand, opts: { allowTimeUnknown?: boolean } = {}): Principal {
    const p = this.principal;
    if (p === null) {
      if (this.#lastProofRefusal !== null) refuse(this.#lastProofRefusal.code, this.#lastProofRefusal.detail);
      refuse('proof_required', 'present an eKey proof first');
    }
    if (p.token !== null && p.possession !== null) {
      const d = this.lock.checkEkey(p.token, p.possession, gate);
      if (!d.granted && !(d.reason === 'time_unknown' && opts.allowTimeUnknown === true))
        refuse(d.reason, d.detail);
      if (!d.granted && !ekeyRoleAllows(p.role, gate)) refuse('not_authorized');
    }
    return p;
  }

  /** A registered user of the lock acting (management commands). */
  #actor(gate: EkeyCommand, opts: { allowTimeUnknown?: boolean } = {}): number {
    const p = this.#authorize(gate, opts);
    if (p.user === null) refuse('not_authorized', 'this eKey is not registered to a user of the lock');
    return p.user;
  }

  #requireOwnerOrAdmin(actor: number): void {
    const u = this.lock.getUser(actor);
    if (u === null || (u.role !== 'owner' && u.role !== 'admin')) refuse('not_authorized');
  }

  // ------------------------------------------------------------------ commands

  #dispatch(request: Request, opts: { early: boolean; pattern: 'IK' | 'XX' }): Response[] {
    const { id } = request;
    const ok = <C extends CommandName>(cmd: C, result: ResultOf<C>): Response[] => [
      okResponse(id, cmd, result) as Response,
    ];
    if (request.cmd === 'claim.start' || request.cmd === 'claim.finish') {
      if (!this.#claimSession) refuse(this.lock.status().setupMode ? 'out_of_order' : 'already_claimed');
    }
    switch (request.cmd) {
      case 'claim.start':
        return ok('claim.start', this.#claimStart(request.args));
      case 'claim.finish':
        return ok('claim.finish', this.#claimFinish(request.args));
      case 'proof': {
        const h = this.session.handshakeHash;
        if (h === null) refuse('out_of_order');
        this.establish(request.args.ekey, request.args.sig, h);
        const p = this.#authorize('status');
        return ok('proof', p.user === null ? { role: p.role } : { role: p.role, user: p.user });
      }
      case 'unlock':
      case 'lock':
      case 'unlock_with_timeout':
        this.#operate(request.cmd, request.args);
        return ok(request.cmd, {});
      case 'status': {
        this.#authorize('status');
        const s = this.lock.status();
        return ok('status', {
          lockId: s.lockId,
          bolt: s.bolt,
          door: s.door,
          battery: Math.max(0, Math.min(100, Math.round(s.batteryPercent))),
          mode: s.mode,
          time: s.time,
          lockedOutRemainingMs: s.lockedOutRemainingMs,
          wrongAttempts: s.wrongAttempts,
          alarms: s.alarms,
        });
      }
      case 'user.list': {
        const actor = this.#actor('add_user');
        this.#requireOwnerOrAdmin(actor);
        const from = request.args.from ?? 1;
        const limit = request.args.limit ?? 16;
        const all = this.lock
          .listUsers()
          .filter((u) => u.index >= from)
          .sort((a, b) => a.index - b.index);
        const page = all.slice(0, limit);
        return ok('user.list', { users: page.map(userInfo), next: all[limit]?.index ?? null });
      }
      case 'user.add': {
        const actor = this.#actor('add_user');
        const u = this.lock.addUser(actor, userSpec(request.args) as UserSpec);
        return ok('user.add', { user: u.index });
      }
      case 'user.modify': {
        const actor = this.#actor('modify_user');
        const u = this.lock.modifyUser(actor, request.args.user, userSpec(request.args.changes));
        return ok('user.modify', { user: u.index });
      }
      case 'user.disable':
        this.lock.setUserEnabled(this.#actor('modify_user'), request.args.user, false);
        return ok('user.disable', {});
      case 'user.remove': {
        const actor = this.#actor('remove_user');
        if (request.args.erase === true) this.lock.eraseUser(actor, request.args.user);
        else this.lock.removeUser(actor, request.args.user);
        return ok('user.remove', {});
      }
      case 'cred.add': {
        const actor = this.#actor('manage_credentials');
        const a = request.args;
        const info =
          a.type === 'pin'
            ? this.lock.addCredential(actor, a.user, {
                type: 'pin',
                pin: a.pin,
                ...(a.force === undefined ? {} : { force: a.force }),
              })
            : a.type === 'card'
              ? this.lock.addCredential(actor, a.user, { type: 'card', uid: a.uid })
              : this.lock.addCredential(actor, a.user, { type: 'ekey', holder: ekeyHolder(a.ekey) });
        if (info.type === 'fingerprint') refuse('internal');
        return ok('cred.add', { credential: info.index, user: info.userIndex, type: info.type });
      }
      case 'cred.remove':
        this.lock.removeCredential(this.#actor('manage_credentials'), request.args.credential);
        return ok('cred.remove', {});
      case 'schedule.add': {
        const actor = this.#actor('manage_schedules');
        const { user, schedule } = request.args;
        const index =
          schedule.kind === 'holiday'
            ? this.lock.addHoliday(actor, schedule)
            : this.lock.addSchedule(actor, user!, schedule);
        return ok('schedule.add', { index });
      }
      case 'schedule.remove': {
        const actor = this.#actor('manage_schedules');
        const { user, index } = request.args;
        if (user === undefined) this.lock.removeHoliday(actor, index);
        else this.lock.removeSchedule(actor, user, index);
        return ok('schedule.remove', {});
      }
      case 'revoke': {
        const actor = this.#actor('revoke');
        this.lock.revokeEkey(actor, { kind: 'cti', id: request.args.cti, until: request.args.until });
        return ok('revoke', {});
      }
      case 'audit.pull': {
        if (opts.early) refuse('out_of_order', 'audit.pull streams: send it after the handshake');
        const actor = this.#actor('read_log');
        this.#requireOwnerOrAdmin(actor);
        return this.#auditPull(id, request.args);
      }
      case 'audit.ack':
        this.lock.audit.acknowledge(this.#actor('read_log'), request.args.upTo);
        return ok('audit.ack', {});
      case 'time.sync': {
        const actor = this.#actor('set_time', { allowTimeUnknown: true });
        try {
          this.lock.setTime(actor, request.args.time);
        } catch (err) {
          if (isKeywayError(err) && err.code === 'out_of_range')
            refuse('clock_rollback', err.message.replace(/^[a-z_]+: /, ''));
          throw err;
        }
        return ok('time.sync', { time: this.lock.status().time ?? request.args.time });
      }
      case 'settings.get': {
        const actor = this.#actor('change_mode');
        this.#requireOwnerOrAdmin(actor);
        return ok('settings.get', { settings: settingsView(this.lock.settings) });
      }
      case 'settings.set': {
        const changes = request.args.changes as Partial<Settings>;
        const security = Object.keys(changes).some((k) => !ADMIN_SETTINGS.includes(k as keyof Settings));
        const actor = this.#actor(security ? 'settings' : 'change_mode');
        return ok('settings.set', { settings: settingsView(this.lock.updateSettings(actor, changes)) });
      }
      case 'factory_reset': {
        const actor = this.#actor('factory_reset');
        this.lock.factoryReset(actor);
        this.#after = () => {
          this.service.closeAll('session_failed', 'factory reset');
          this.service.options.onFactoryReset?.();
        };
        return ok('factory_reset', {});
      }
    }
  }

  #operate(cmd: 'unlock' | 'lock' | 'unlock_with_timeout', args: { pin?: string; seconds?: number }): void {
    const last = this.#lastProof;
    if (this.principal === null && last !== null) {
      // The proof was refused (e.g. outside its schedule): the engine decides again and audits the attempt.
      const r = this.lock.presentEkey(
        last.token,
        last.possession,
        cmd,
        cmd === 'unlock_with_timeout' ? { timeoutSeconds: args.seconds! } : {},
      );
      denial(r);
      return;
    }
    const p = this.#authorize(cmd);
    const requirePin = this.lock.settings.requirePinForRemote;
    const timeout = cmd === 'unlock_with_timeout' ? { timeoutSeconds: args.seconds! } : {};
    let r: OperationResult;
    if (p.user !== null) {
      // A registered user: the stored user's rules too (enabled, validity, schedules, PIN for remote).
      r = this.lock.remoteOperation(p.user, cmd, {
        ...timeout,
        ...(args.pin === undefined ? {} : { pin: args.pin }),
      });
    } else {
      r = this.lock.presentEkey(p.token!, p.possession, cmd, timeout);
    }
    if (!r.granted && requirePin && args.pin === undefined && r.reason === 'invalid_credential') {
      refuse('pin_required', 'this lock requires your PIN with remote operations');
    }
    denial(r);
  }

  // ------------------------------------------------------------------ claiming

  #claimStart(args: ArgsOf<'claim.start'>): ResultOf<'claim.start'> {
    const claim = this.service.claimVerifier();
    if (claim === null) refuse('already_claimed');
    if (this.#spake !== null || this.#claimDone) refuse('out_of_order', 'one claim per session');
    if (this.service.claimBlocked()) refuse('rate_limited', 'too many failed claims; wait');
    if (!this.service.options.presence()) {
      refuse(
        'not_authorized',
        'show presence at the lock first: enter the setup code on the keypad or press the inside button',
      );
    }
    // Every claim.start is one online guess at the setup code (the phone can test confirmV itself), so it
    // counts as a failure until a claim.finish succeeds.
    this.service.claimFailed();
    const h = this.session.handshakeHash!;
    const v = new Spake2PlusVerifier({
      ...claimIdentities(h),
      ...claim.record,
      random: this.service.options.random,
    });
    try {
      const { shareV, confirmV } = v.respond(args.share);
      this.#spake = v;
      return { share: shareV, confirm: confirmV };
    } catch (err) {
      if (isBleError(err)) refuse('bad_request', err.message);
      throw err;
    }
  }

  #claimFinish(args: ArgsOf<'claim.finish'>): ResultOf<'claim.finish'> {
    const v = this.#spake;
    if (v === null || this.#claimDone) refuse('out_of_order', 'claim.start first');
    this.#claimDone = true;
    this.#spake = null;
    try {
      v.finish(args.confirm);
    } catch {
      this.service.emit({ kind: 'claim', session: this.session.id, ok: false, reason: 'confirm' });
      refuse('claim_failed', 'wrong setup code');
    }
    // Checked again: another phone may have claimed meanwhile; the window may have closed.
    if (!this.lock.status().setupMode) refuse('already_claimed');
    if (!this.service.options.presence()) refuse('not_authorized', 'the presence window closed');
    const lock = this.lock;
    const owner: User = lock.createOwner(
      args.ownerName === undefined ? { permanent: true } : { name: args.ownerName, permanent: true },
    );
    try {
      lock.installTrustAnchor(owner.index, args.ownerKey, 'owner');
      lock.addCredential(owner.index, owner.index, { type: 'ekey', holder: args.ownerKey });
      lock.setOfflinePinSecret(owner.index, args.pinSecret);
    } catch (err) {
      // Never leave a half-claimed lock: back to setup mode.
      lock.factoryReset('physical');
      throw err;
    }
    this.principal = { role: 'owner', user: owner.index, token: null, possession: null };
    this.service.claimSucceeded(owner.index);
    this.service.emit({ kind: 'claim', session: this.session.id, ok: true, owner: owner.index });
    return {
      lockId: lock.status().lockId,
      lockKey: this.service.options.staticKey.publicKey,
      deviceKey: lock.devicePublicKey,
      user: owner.index,
    };
  }

  // ------------------------------------------------------------------ audit

  #auditPull(id: number, args: ArgsOf<'audit.pull'>): Response[] {
    const limit = Math.min(args.limit ?? this.service.limits.maxAuditPull, this.service.limits.maxAuditPull);
    const entries = this.lock.audit.entries(args.from, limit);
    const checkpoint = this.lock.audit.log.checkpointNow();
    const chunks: Array<{ entries: string[]; next: number }> = [];
    let current: string[] = [];
    let size = 0;
    let next = args.from;
    for (const e of entries) {
      const text = canonicalJson(e);
      const bytes = Buffer.byteLength(text) + 3;
      if (current.length > 0 && (current.length >= AUDIT_CHUNK_ENTRIES || size + bytes > AUDIT_CHUNK_BYTES)) {
        chunks.push({ entries: current, next });
        current = [];
        size = 0;
      }
      current.push(text);
      size += bytes;
      next = e.seq + 1;
    }
    chunks.push({ entries: current, next });
    return chunks.map((c, i) => {
      const last = i === chunks.length - 1;
      const result: ResultOf<'audit.pull'> =
        last && checkpoint !== null ? { ...c, checkpoint } : { entries: c.entries, next: c.next };
      return okResponse(id, 'audit.pull', result, !last);
    });
  }
}

/** May an eKey of this role run this gate command? (Mirrors firmware ekeyAuthorizes, for time_unknown.) */
function ekeyRoleAllows(role: Role, gate: EkeyCommand): boolean {
  const rank = ['guest', 'member', 'admin', 'owner'];
  const min = gate === 'set_time' ? 'admin' : 'guest';
  return rank.indexOf(role) >= rank.indexOf(min);
}

function ekeyHolder(ekey: Uint8Array): Uint8Array {
  try {
    return decodeClaims(decodeSign1(ekey).payload).holder;
  } catch (err) {
    refuse('malformed', isKeywayError(err) ? err.message : 'not an eKey');
  }
}

function userSpec(a: Record<string, unknown>): Partial<UserSpec> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
  return out;
}

function userInfo(u: User): ResultOf<'user.list'>['users'][number] {
  return {
    index: u.index,
    name: u.name,
    role: u.role,
    userType: u.userType,
    enabled: u.enabled,
    validFrom: u.validFrom,
    validUntil: u.validUntil,
    permanent: u.permanent,
    methods: u.methods,
    sites: u.sites,
    credentialRule: u.credentialRule,
    usesRemaining: u.usesRemaining,
    mayShare: u.mayShare,
    expiresAt: u.expiresAt,
  };
}

const SETTINGS_VIEW_KEYS = [
  'lockId',
  'sites',
  'timeZone',
  'autoRelockSeconds',
  'wrongCodeLimit',
  'lockoutSeconds',
  'minPinLength',
  'maxPinLength',
  'maxKeypadEntry',
  'antiPeeping',
  'keypadIdleSeconds',
  'operatingMode',
  'requirePinForRemote',
  'expiringUserTimeoutMinutes',
  'doorAjarSeconds',
  'batteryCriticalPercent',
  'clockSkewSeconds',
] as const;

function settingsView(s: Settings): ResultOf<'settings.get'>['settings'] {
  const out: Record<string, unknown> = {};
  const rec = s as unknown as Record<string, unknown>;
  for (const k of SETTINGS_VIEW_KEYS) if (rec[k] !== undefined) out[k] = rec[k];
  return out;
}
