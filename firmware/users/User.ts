// A lock user as the engine stores and decides on it (Matter DoorLock user, plus keyway's role).
import type { CredentialRule, LockTime, Method, Role, UserType } from '../types.ts';

export interface UserSpec {
  /** Personal data, erasable; at most 32 characters. */
  name?: string;
  role: Role;
  /** Default 'Unrestricted' (a guest given schedules at creation: 'ScheduleRestricted'). */
  userType?: UserType;
  enabled?: boolean;
  validFrom?: LockTime | null;
  validUntil?: LockTime | null;
  /** Non-owners need validUntil or permanent: true (else time_bound_required). */
  permanent?: boolean;
  /** Allowed methods; default all. */
  methods?: Method[];
  /** Lock ids / site names this user may open; default: all of this lock's. */
  sites?: string[];
  credentialRule?: CredentialRule;
  /** Remaining uses, null for unlimited. Disposable users get 1. */
  usesRemaining?: number | null;
  /** A member may share limited guest access (only the owner may set this). */
  mayShare?: boolean;
}

export interface User extends Required<Omit<UserSpec, 'name'>> {
  index: number;
  name: string | null;
  createdBy: number | null;
  modifiedBy: number | null;
  /** Expiring user: set at first use to first use + expiringUserTimeoutMinutes. */
  expiresAt: LockTime | null;
}
