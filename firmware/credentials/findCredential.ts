// Finding the credential behind a presented secret, together with everything the decision needs about its
// user: one statement = one keyed-hash index probe (never a scan), the user row by primary key and the
// user's schedules by index. The hash is then confirmed with a constant-time compare. Used by the Lock for
// every credential and by the benchmark.
import type { Database, Statement } from 'better-sqlite3';
import { constantTimeEqual } from '../crypto/constantTime.ts';
import { pinCandidates } from '../keypad/KeypadEntry.ts';
import type { AccessSchedule, CredentialType, Settings } from '../types.ts';
import type { User } from '../users/User.ts';
import { USER_COLUMNS, toUser, type UserRaw } from '../users/UserRepo.ts';
import { credentialLookup } from './CredentialHash.ts';

export interface CredentialMatch {
  credential: { index: number; type: CredentialType };
  user: User;
  schedules: AccessSchedule[];
}

type Row = UserRaw & { c_idx: number; c_type: CredentialType; c_lookup: Buffer; sched: string | null };

export class CredentialFinder {
  private readonly stmt: Statement;

  constructor(
    db: Database,
    private readonly pinKey: Uint8Array,
  ) {
    const userCols = USER_COLUMNS.split(',')
      .map((c) => `u.${c.trim()}`)
      .join(', ');
    this.stmt = db.prepare(
      `SELECT c.idx AS c_idx, c.type AS c_type, c.lookup AS c_lookup, u.idx, ${userCols},
         (SELECT json_group_array(json(s.body)) FROM schedules s WHERE s.user_idx = u.idx) AS sched
       FROM credentials c JOIN users u ON u.idx = c.user_idx
       WHERE c.lookup = ?`,
    );
  }

  find(type: CredentialType, value: string): CredentialMatch | null {
    const lookup = credentialLookup(this.pinKey, type, value);
    const row = this.stmt.get(lookup) as Row | undefined;
    if (row === undefined || row.c_type !== type || !constantTimeEqual(row.c_lookup, lookup)) return null;
    return {
      credential: { index: row.c_idx, type: row.c_type },
      user: toUser(row),
      schedules: row.sched === null ? [] : (JSON.parse(row.sched) as AccessSchedule[]),
    };
  }

  /**
   * The PIN credential a keypad entry stands for: the entry itself, or with anti-peeping the first of its
   * candidate substrings that is a stored PIN (see pinCandidates for the order).
   */
  findPin(
    entry: string,
    settings: Pick<Settings, 'minPinLength' | 'maxPinLength' | 'antiPeeping'>,
  ): CredentialMatch | null {
    for (const candidate of pinCandidates(
      entry,
      settings.minPinLength,
      settings.maxPinLength,
      settings.antiPeeping,
    )) {
      const m = this.find('pin', candidate);
      if (m !== null) return m;
    }
    return null;
  }
}
