// The role hierarchy. An owner does everything; an admin manages members and guests (and itself) but never
// admins or owners, nor security settings; a member may add and manage its own guests only when the owner
// set mayShare; a guest only locks and unlocks. Nobody grants more than they hold: the validity window,
// methods and sites of anything issued lie within the issuer's, and only owners and permanent issuers may
// grant permanent access. Non-owner access is time-bound unless explicitly permanent.
import { KeywayError } from '../errors.ts';
import { validityCheck } from '../schedule/index.ts';
import type { LockTime, Role } from '../types.ts';
import type { User } from './User.ts';

const refuse = (why: string): never => {
  throw new KeywayError('not_authorized', why);
};

/** The actor must be an enabled user inside its own validity window (when the time is known). */
export function checkActor(actor: User | null, now: LockTime | null): User {
  if (actor === null) return refuse('the acting user does not exist');
  if (!actor.enabled) return refuse(`user ${actor.index} is disabled`);
  if (now !== null && validityCheck(now, actor.validFrom, actor.validUntil) !== null) {
    return refuse(`user ${actor.index} is outside its validity window`);
  }
  if (actor.userType === 'NonAccess' || actor.userType === 'Disposable') {
    return refuse(`user ${actor.index} (${actor.userType}) cannot manage users`);
  }
  return actor;
}

/** Roles this actor may give to a user it creates or changes. */
export function assignableRoles(actor: User): readonly Role[] {
  switch (actor.role) {
    case 'owner':
      return ['owner', 'admin', 'member', 'guest'];
    case 'admin':
      return ['member', 'guest'];
    case 'member':
      return actor.mayShare ? ['guest'] : [];
    case 'guest':
      return [];
  }
}

/** May the actor change, remove, or manage credentials and schedules of target? */
export function checkMayManage(actor: User, target: User): void {
  if (actor.role === 'owner') return;
  if (actor.role === 'admin') {
    if (target.index === actor.index) return;
    if (target.role === 'owner' || target.role === 'admin') {
      refuse(`an admin cannot manage ${target.role}s`);
    }
    return;
  }
  if (
    actor.role === 'member' &&
    actor.mayShare &&
    target.role === 'guest' &&
    target.createdBy === actor.index
  ) {
    return;
  }
  refuse(`a ${actor.role} cannot manage user ${target.index}`);
}

type Grant = Pick<User, 'role' | 'validFrom' | 'validUntil' | 'permanent' | 'methods' | 'sites' | 'mayShare'>;

/**
 * The rights of `target` (new or changed) must lie within the actor's. `before` is the target's previous
 * state for a change (a field that did not change is not re-checked, so an owner's later restriction of an
 * admin does not freeze the users that admin issued earlier).
 */
export function checkGrant(actor: User, target: Grant, before: Grant | null): void {
  const changed = <K extends keyof Grant>(k: K): boolean =>
    before === null || JSON.stringify(before[k]) !== JSON.stringify(target[k]);
  if (changed('role') && !assignableRoles(actor).includes(target.role)) {
    refuse(`a ${actor.role} cannot make a user ${target.role}`);
  }
  if (changed('mayShare') && target.mayShare && actor.role !== 'owner') {
    refuse('only an owner may let a member share access');
  }
  if (actor.role !== 'owner' || actor.validUntil !== null || actor.validFrom !== null) {
    if (changed('methods') && target.methods.some((m) => !actor.methods.includes(m))) {
      refuse('cannot grant a method the actor does not hold');
    }
    if (changed('sites') && target.sites.some((s) => !actor.sites.includes(s))) {
      refuse('cannot grant a site the actor does not hold');
    }
    if (
      changed('validFrom') &&
      actor.validFrom !== null &&
      (target.validFrom === null || target.validFrom < actor.validFrom)
    ) {
      refuse("the validity must start within the actor's");
    }
    if (
      (changed('validUntil') || changed('permanent')) &&
      actor.validUntil !== null &&
      (target.validUntil === null || target.validUntil > actor.validUntil || target.permanent)
    ) {
      refuse("the validity must end within the actor's");
    }
  }
  if (changed('permanent') && target.permanent && actor.role !== 'owner' && !actor.permanent) {
    refuse('only an owner or a permanent user may grant permanent access');
  }
  if (target.role !== 'owner' && target.validUntil === null && !target.permanent) {
    throw new KeywayError(
      'time_bound_required',
      'non-owner access must have validUntil or be marked permanent explicitly',
    );
  }
}
