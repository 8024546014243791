import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditLog, GENESIS_HASH, createAuditSchema } from '../../../firmware/audit/index.ts';
import type { AuditRecord } from '../../../firmware/types.ts';
import { T0, denied, newLog, openDb, reopen, unlock } from './helpers.ts';

describe('AuditLog append', () => {
  it('numbers, times and chains entries; hash = SHA-256(prevHash || canonical body)', () => {
    const { log } = newLog();
    const e1 = log.append(unlock(3), T0, 42);
    const body =
      '{"action":"unlock","boot":42,"credential":{"index":3,"type":"pin"},"kind":"LockOperation",' +
      '"result":"success","seq":1,"source":"keypad","time":1767225600000,"userIndex":3}';
    const expected = createHash('sha256').update(Buffer.from(GENESIS_HASH, 'hex')).update(body).digest('hex');
    expect(e1).toEqual({ ...unlock(3), seq: 1, time: T0, boot: 42, prevHash: GENESIS_HASH, hash: expected });
    const e2 = log.append(denied(), null, 43);
    expect(e2.seq).toBe(2);
    expect(e2.time).toBeNull();
    expect(e2.prevHash).toBe(e1.hash);
    expect(log.lastSeq).toBe(2);
    expect(log.entries()).toEqual([e1, e2]);
    expect(log.entries(2)).toEqual([e2]);
    expect(log.entries(1, 1)).toEqual([e1]);
    expect(log.verify()).toEqual({ ok: true, count: 2 });
  });

  it('leaves out undefined fields and keeps nulls', () => {
    const { log } = newLog();
    const e = log.append({ kind: 'System', action: 'boot', userIndex: null, reason: undefined }, T0, 0);
    expect(e).not.toHaveProperty('reason');
    expect(e.userIndex).toBeNull();
    expect(log.entries()[0]).toEqual(e);
  });

  it('joins the caller transaction: a rolled-back change leaves no entry behind', () => {
    const { db, log } = newLog();
    log.append(unlock(1), T0, 1);
    const change = db.transaction(() => {
      log.append(unlock(2), T0, 2);
      throw new Error('the change failed');
    });
    expect(() => change()).toThrow('the change failed');
    expect(log.lastSeq).toBe(1);
    expect(log.append(unlock(3), T0, 3).seq).toBe(2);
    expect(log.verify()).toEqual({ ok: true, count: 2 });
  });

  it('survives closing and reopening the database', () => {
    const { db, log, file } = newLog();
    log.append(unlock(1), T0, 1);
    log.append(unlock(2), T0, 2);
    db.close();
    const again = new AuditLog(reopen(file), { capacity: 1000 });
    expect(again.append(unlock(3), T0, 3).seq).toBe(3);
    expect(again.verify()).toEqual({ ok: true, count: 3 });
  });

  it('createAuditSchema is idempotent', () => {
    const { db, log } = newLog();
    log.append(unlock(1), T0, 1);
    createAuditSchema(db);
    expect(log.lastSeq).toBe(1);
  });

  it('refuses a database without the audit tables with a specific error', () => {
    const { db } = openDb();
    db.exec('DROP TABLE audit_state');
    expect(() => new AuditLog(db, { capacity: 10 })).toThrow(/store_corrupt: the audit tables are missing/);
  });

  it.each([
    [
      { kind: 'LockUserChange', action: 'add_user', data: { name: 'Alice' } },
      'record.data.name: names and secrets never go',
    ],
    [
      { kind: 'LockUserChange', action: 'add_credential', data: { pin: '2580' } },
      'record.data.pin: names and secrets',
    ],
    [{ kind: 'LockUserChange', action: 'add_user', userName: 'Bob' }, 'record.userName: names and secrets'],
    [{ kind: 'LockOperation', action: 'unlock', seq: 7 }, 'may not set "seq"'],
    [{ kind: 'Party', action: 'x' }, 'audit kind "Party" is unknown'],
    [{ kind: 'System', action: '' }, 'action must be a string of 1-64 characters'],
    [{ kind: 'System', action: 'x', data: { n: Number.NaN } }, 'record.data.n is not a finite number'],
    [{ kind: 'System', action: 'x', data: { d: new Date(0) } }, 'must be plain data (got a Date)'],
    [{ kind: 'System', action: 'x', data: { s: 'x'.repeat(5000) } }, 'audit record too large'],
  ])('refuses bad record %#', (record, message) => {
    const { log } = newLog();
    expect(() => log.append(record as AuditRecord, T0, 0)).toThrow(message);
    expect(log.lastSeq).toBe(0);
  });

  it('refuses bad times', () => {
    const { log } = newLog();
    expect(() => log.append(unlock(1), 1.5, 0)).toThrow(/audit time must be an integer ms value or null/);
    expect(() => log.append(unlock(1), T0, -1)).toThrow(/boot time must be a non-negative number/);
    expect(() => log.append(unlock(1), T0, Number.NaN)).toThrow(/boot time/);
  });

  it('refuses bad options', () => {
    const { db } = openDb();
    expect(() => new AuditLog(db, { capacity: 0 })).toThrow(/capacity must be a positive integer/);
    expect(() => new AuditLog(db, { capacity: 10, checkpointEvery: 0 })).toThrow(/checkpointEvery/);
  });
});

describe('AuditLog.verify on tampered rows', () => {
  function fiveEntries() {
    const ctx = newLog();
    for (let i = 1; i <= 5; i++) ctx.log.append(i % 2 === 0 ? denied() : unlock(i), T0 + i * 1000, i);
    return ctx;
  }

  it('detects an edited body', () => {
    const { db, log } = fiveEntries();
    db.prepare(`UPDATE audit SET body = replace(body, '"userIndex":3', '"userIndex":0') WHERE seq = 3`).run();
    expect(log.verify()).toMatchObject({ ok: false, seq: 3, problem: 'hash_mismatch' });
  });

  it('detects an edited body whose hash was recomputed (the next link breaks)', () => {
    const { db, log } = fiveEntries();
    const row = db.prepare('SELECT body, prev_hash FROM audit WHERE seq = 3').get() as {
      body: string;
      prev_hash: Buffer;
    };
    const body = row.body.replace('"userIndex":3', '"userIndex":0');
    const hash = createHash('sha256').update(row.prev_hash).update(body).digest();
    db.prepare('UPDATE audit SET body = ?, hash = ? WHERE seq = 3').run(body, hash);
    expect(log.verify()).toMatchObject({ ok: false, seq: 4, problem: 'chain_broken' });
  });

  it('detects a deleted row', () => {
    const { db, log } = fiveEntries();
    db.prepare('DELETE FROM audit WHERE seq = 2').run();
    expect(log.verify()).toMatchObject({ ok: false, seq: 2, problem: 'sequence_gap' });
  });

  it('detects deleted newest rows', () => {
    const { db, log } = fiveEntries();
    db.prepare('DELETE FROM audit WHERE seq >= 4').run();
    expect(log.verify()).toMatchObject({ ok: false, seq: 4, problem: 'truncated' });
  });

  it('detects two swapped rows', () => {
    const { db, log } = fiveEntries();
    db.exec(`
      UPDATE audit SET seq = -2 WHERE seq = 2;
      UPDATE audit SET seq = 2 WHERE seq = 3;
      UPDATE audit SET seq = 3 WHERE seq = -2;`);
    expect(log.verify()).toMatchObject({ ok: false, seq: 2, problem: 'reordered' });
  });

  it('detects a security flag cleared in its column (which would let it be evicted)', () => {
    const { db, log } = fiveEntries();
    db.prepare('UPDATE audit SET security = 0 WHERE seq = 2').run();
    expect(log.verify()).toMatchObject({ ok: false, seq: 2, problem: 'column_mismatch' });
  });
});

describe('capacity and eviction', () => {
  it('evicts nothing that is not acknowledged: grows past capacity instead', () => {
    const { log } = newLog({ capacity: 5 });
    for (let i = 1; i <= 8; i++) log.append(unlock(i), T0, i);
    expect(log.stats()).toMatchObject({ count: 8, evicted: 0, dropped: 0 });
    expect(log.entries()[0]?.seq).toBe(1);
  });

  it('acknowledging lets the oldest acknowledged non-security entries go, down to capacity', () => {
    const { log } = newLog({ capacity: 5 });
    for (let i = 1; i <= 8; i++) log.append(unlock(i), T0, i);
    log.acknowledge(8);
    expect(log.stats()).toMatchObject({ count: 5, evicted: 3, ackedSeq: 8 });
    expect(log.entries().map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(log.evictedRanges()).toEqual([{ from: 1, to: 3, lastHash: log.entries(4)[0]?.prevHash }]);
    expect(log.verify()).toEqual({ ok: true, count: 5 });
    log.append(unlock(9), T0, 9); // at capacity: evicts entry 4 (acknowledged) for entry 9
    expect(log.entries().map((e) => e.seq)).toEqual([5, 6, 7, 8, 9]);
    log.append(unlock(10), T0, 10);
    expect(log.entries().map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
  });

  it('never evicts security entries, and the chain verifies across the holes around them', () => {
    const { log } = newLog({ capacity: 4 });
    const kinds = ['u', 's', 'u', 'u', 's', 'u']; // u = unlock, s = security (denied)
    kinds.forEach((k, i) => log.append(k === 's' ? denied() : unlock(i), T0, i));
    log.acknowledge(6);
    expect(log.entries().map((e) => e.seq)).toEqual([2, 4, 5, 6]);
    expect(log.evictedRanges().map((r) => [r.from, r.to])).toEqual([
      [1, 1],
      [3, 3],
    ]);
    expect(log.verify()).toEqual({ ok: true, count: 4 });
    log.append(unlock(7), T0, 7);
    log.append(unlock(8), T0, 8);
    expect(log.entries().map((e) => e.seq)).toEqual([2, 5, 7, 8]);
    expect(log.evictedRanges().map((r) => [r.from, r.to])).toEqual([
      [1, 1],
      [3, 4],
      [6, 6],
    ]);
    expect(log.verify()).toEqual({ ok: true, count: 4 });
  });

  it('a deleted evicted-range record is detected as a gap', () => {
    const { db, log } = newLog({ capacity: 2 });
    for (let i = 1; i <= 4; i++) log.append(unlock(i), T0, i);
    log.acknowledge(4);
    db.prepare('DELETE FROM audit_gap').run();
    expect(log.verify()).toMatchObject({ ok: false, seq: 1, problem: 'sequence_gap' });
  });

  it('at the hard limit (2 x capacity) drops the oldest non-security entries after logging audit_overflow', () => {
    const { log } = newLog({ capacity: 4 });
    log.append(denied(), T0, 0); // seq 1, security
    for (let i = 2; i <= 8; i++) log.append(unlock(i), T0, i); // nobody acknowledges
    expect(log.stats().count).toBe(8);
    const e = log.append(unlock(9), T0, 9);
    expect(e.seq).toBe(10);
    const overflow = log.entries(9, 1)[0];
    expect(overflow).toMatchObject({
      seq: 9,
      kind: 'System',
      action: 'audit_overflow',
      security: true,
      data: { dropped: 2, droppedSecurity: 0, droppedUnacknowledged: 2, firstSeq: 2, lastSeq: 3 },
    });
    expect(log.entries().map((x) => x.seq)).toEqual([1, 4, 5, 6, 7, 8, 9, 10]);
    expect(log.stats()).toMatchObject({ count: 8, evicted: 2, dropped: 2 });
    expect(log.verify()).toEqual({ ok: true, count: 8 });
  });

  it('drops in batches of a tenth of capacity so overflow entries stay rare', () => {
    const { log } = newLog({ capacity: 100 });
    for (let i = 0; i < 1000; i++) log.append(unlock(i % 50), T0, i);
    const overflows = log.entries().filter((e) => e.action === 'audit_overflow');
    expect(log.stats().count).toBeLessThanOrEqual(200);
    // Records 1-200 fill the log to the hard limit; record 201 triggers the first overflow (drop 10, write the
    // overflow entry and the record), and from then on every 9th record does: 1 + floor(799 / 9) = 89.
    expect(overflows.length).toBe(89);
    expect(log.lastSeq).toBe(1000 + 89);
    expect(overflows.every((o) => o.data?.dropped === 10)).toBe(true);
    const all = log.entries();
    const droppedTotal = overflows.reduce((n, o) => n + Number(o.data?.dropped), 0);
    expect(all.length).toBe(log.lastSeq - droppedTotal);
    expect(log.verify().ok).toBe(true);
  });

  it('when only security entries remain at the hard limit, drops the oldest, acknowledged first, and says so', () => {
    const { log } = newLog({ capacity: 2 });
    for (let i = 1; i <= 4; i++) log.append(denied(), T0, i);
    log.acknowledge(1);
    log.append(denied(), T0, 5);
    const overflow = log.entries().find((x) => x.action === 'audit_overflow');
    expect(overflow?.data).toEqual({
      dropped: 2,
      droppedSecurity: 2,
      droppedUnacknowledged: 1,
      firstSeq: 1,
      lastSeq: 2,
    });
    expect(log.verify().ok).toBe(true);
  });

  it('acknowledge refuses entries that do not exist and ignores going backwards', () => {
    const { log } = newLog({ capacity: 5 });
    log.append(unlock(1), T0, 1);
    log.append(unlock(2), T0, 2);
    expect(() => log.acknowledge(3)).toThrow(
      /out_of_range: acknowledge: entry 3 does not exist yet \(last is 2\)/,
    );
    expect(() => log.acknowledge(-1)).toThrow(/invalid_argument/);
    expect(() => log.acknowledge(1.5)).toThrow(/invalid_argument/);
    log.acknowledge(2);
    log.acknowledge(1);
    expect(log.stats().ackedSeq).toBe(2);
  });
});
