// SQL access to the users and schedules tables.
import type { Database, Statement } from 'better-sqlite3';
import type { AccessSchedule, CredentialRule, Method, Role, UserType } from '../types.ts';
import type { User } from './User.ts';

export interface UserRaw {
  idx: number;
  name: string | null;
  role: Role;
  user_type: UserType;
  enabled: number;
  valid_from: number | null;
  valid_until: number | null;
  permanent: number;
  methods: string;
  sites: string;
  credential_rule: CredentialRule;
  uses_remaining: number | null;
  may_share: number;
  created_by: number | null;
  modified_by: number | null;
  expires_at: number | null;
}

export const toUser = (r: UserRaw): User => ({
  index: r.idx,
  name: r.name,
  role: r.role,
  userType: r.user_type,
  enabled: r.enabled === 1,
  validFrom: r.valid_from,
  validUntil: r.valid_until,
  permanent: r.permanent === 1,
  methods: JSON.parse(r.methods) as Method[],
  sites: JSON.parse(r.sites) as string[],
  credentialRule: r.credential_rule,
  usesRemaining: r.uses_remaining,
  mayShare: r.may_share === 1,
  createdBy: r.created_by,
  modifiedBy: r.modified_by,
  expiresAt: r.expires_at,
});

export const USER_COLUMNS =
  'name, role, user_type, enabled, valid_from, valid_until, permanent, methods, sites, credential_rule, ' +
  'uses_remaining, may_share, created_by, modified_by, expires_at';

function params(u: Omit<User, 'index'>): unknown[] {
  return [
    u.name,
    u.role,
    u.userType,
    u.enabled ? 1 : 0,
    u.validFrom,
    u.validUntil,
    u.permanent ? 1 : 0,
    JSON.stringify(u.methods),
    JSON.stringify(u.sites),
    u.credentialRule,
    u.usesRemaining,
    u.mayShare ? 1 : 0,
    u.createdBy,
    u.modifiedBy,
    u.expiresAt,
  ];
}

export class UserRepo {
  private readonly byIndex: Statement;
  private readonly byName: Statement;
  private readonly all: Statement;
  private readonly count: Statement;
  private readonly roleCount: Statement;
  private readonly insertStmt: Statement;
  private readonly updateStmt: Statement;
  private readonly deleteStmt: Statement;
  private readonly schedulesOf: Statement;
  private readonly scheduleCount: Statement;
  private readonly insertSchedule: Statement;
  private readonly deleteSchedule: Statement;
  private readonly usesStmt: Statement;
  private readonly expiresStmt: Statement;

  constructor(db: Database) {
    this.byIndex = db.prepare(`SELECT idx, ${USER_COLUMNS} FROM users WHERE idx = ?`);
    this.byName = db.prepare(`SELECT idx, ${USER_COLUMNS} FROM users WHERE name = ?`);
    this.all = db.prepare(`SELECT idx, ${USER_COLUMNS} FROM users ORDER BY idx`);
    this.count = db.prepare('SELECT count(*) FROM users').pluck();
    this.roleCount = db.prepare('SELECT count(*) FROM users WHERE role = ?').pluck();
    this.insertStmt = db.prepare(
      `INSERT INTO users (${USER_COLUMNS}) VALUES (${USER_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    );
    this.updateStmt = db.prepare(
      `UPDATE users SET (${USER_COLUMNS}) = (${USER_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')}) WHERE idx = ?`,
    );
    this.deleteStmt = db.prepare('DELETE FROM users WHERE idx = ?');
    this.schedulesOf = db.prepare('SELECT idx, body FROM schedules WHERE user_idx = ? ORDER BY idx');
    this.scheduleCount = db.prepare('SELECT count(*) FROM schedules WHERE user_idx = ?').pluck();
    this.insertSchedule = db.prepare('INSERT INTO schedules (user_idx, body) VALUES (?, ?)');
    this.deleteSchedule = db.prepare('DELETE FROM schedules WHERE idx = ? AND user_idx = ?');
    this.usesStmt = db.prepare(
      'UPDATE users SET uses_remaining = uses_remaining - 1 WHERE idx = ? AND uses_remaining > 0',
    );
    this.expiresStmt = db.prepare('UPDATE users SET expires_at = ? WHERE idx = ? AND expires_at IS NULL');
  }

  get(index: number): User | null {
    const r = this.byIndex.get(index) as UserRaw | undefined;
    return r ? toUser(r) : null;
  }

  findByName(name: string): User | null {
    const r = this.byName.get(name) as UserRaw | undefined;
    return r ? toUser(r) : null;
  }

  list(): User[] {
    return (this.all.all() as UserRaw[]).map(toUser);
  }

  countAll(): number {
    return this.count.get() as number;
  }

  countRole(role: Role): number {
    return this.roleCount.get(role) as number;
  }

  insert(u: Omit<User, 'index'>): number {
    return Number(this.insertStmt.run(...params(u)).lastInsertRowid);
  }

  update(u: User): void {
    this.updateStmt.run(...params(u), u.index);
  }

  delete(index: number): void {
    this.deleteStmt.run(index);
  }

  schedules(userIndex: number): Array<{ index: number; schedule: AccessSchedule }> {
    return (this.schedulesOf.all(userIndex) as Array<{ idx: number; body: string }>).map((r) => ({
      index: r.idx,
      schedule: JSON.parse(r.body) as AccessSchedule,
    }));
  }

  countSchedules(userIndex: number): number {
    return this.scheduleCount.get(userIndex) as number;
  }

  addSchedule(userIndex: number, s: AccessSchedule): number {
    return Number(this.insertSchedule.run(userIndex, JSON.stringify(s)).lastInsertRowid);
  }

  removeSchedule(userIndex: number, scheduleIndex: number): boolean {
    return this.deleteSchedule.run(scheduleIndex, userIndex).changes === 1;
  }

  consumeUse(userIndex: number): void {
    this.usesStmt.run(userIndex);
  }

  startExpiry(userIndex: number, at: number): void {
    this.expiresStmt.run(at, userIndex);
  }
}
