import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AuditLog,
  parseAuditJsonl,
  verifyAuditExport,
  type AuditExport,
} from '../../../firmware/audit/index.ts';
import { chainHash, entryBody } from '../../../firmware/audit/canonical.ts';
import { signCheckpoint } from '../../../firmware/audit/checkpoint.ts';
import type { AuditEntry } from '../../../firmware/types.ts';
import { T0, denied, newLog, openDb, unlock } from './helpers.ts';

const deviceKeys = () => generateKeyPairSync('ed25519');
const rawPublic = (k: ReturnType<typeof deviceKeys>): Uint8Array =>
  new Uint8Array(k.publicKey.export({ format: 'der', type: 'spki' }).subarray(12));

function signedLog(n: number, every = 3) {
  const keys = deviceKeys();
  const ctx = newLog({ capacity: 1000, deviceKey: keys.privateKey, checkpointEvery: every });
  for (let i = 1; i <= n; i++) ctx.log.append(i % 3 === 0 ? denied() : unlock(i), T0 + i * 1000, i);
  return { ...ctx, keys };
}

const verifyParsed = (x: AuditExport, extra: Parameters<typeof verifyAuditExport>[1] = {}) =>
  verifyAuditExport(x.entries, { evicted: x.evicted, checkpoints: x.checkpoints, ...extra });

/** Rewrites the chain from entry index i onwards with recomputed hashes (an attacker without the key). */
function rechain(entries: AuditEntry[], from: number): AuditEntry[] {
  const out = entries.map((e) => ({ ...e }));
  for (let i = from; i < out.length; i++) {
    const e = out[i]!;
    if (i > 0) e.prevHash = out[i - 1]!.hash;
    e.hash = chainHash(e.prevHash, entryBody(e));
  }
  return out;
}

describe('JSON Lines export and verifyAuditExport', () => {
  it('round-trips and verifies, including checkpoints signed with the device key', () => {
    const { log, keys } = signedLog(7);
    const text = log.exportJsonl();
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(7 + 2); // entries + checkpoints at 3 and 6
    expect(JSON.parse(lines[3]!)).toEqual({ checkpoint: log.checkpoints()[0] });
    const parsed = parseAuditJsonl(text);
    expect(parsed.entries).toEqual(log.entries());
    expect(parsed.checkpoints.map((c) => c.seq)).toEqual([3, 6]);
    expect(verifyParsed(parsed, { devicePublicKey: rawPublic(keys), complete: true })).toEqual({
      ok: true,
      count: 7,
    });
    expect(verifyParsed(parsed, { devicePublicKey: keys.publicKey })).toEqual({ ok: true, count: 7 });
    expect(log.verify()).toEqual({ ok: true, count: 7 });
  });

  it('detects an edited line', () => {
    const { log } = signedLog(5);
    const text = log.exportJsonl().replace('"userIndex":4', '"userIndex":1');
    expect(verifyParsed(parseAuditJsonl(text))).toMatchObject({
      ok: false,
      seq: 4,
      problem: 'hash_mismatch',
    });
  });

  it('detects a deleted line', () => {
    const { log } = signedLog(5);
    const lines = log.exportJsonl().split('\n');
    const text = lines.filter((l) => !l.includes('"seq":2,')).join('\n');
    expect(verifyParsed(parseAuditJsonl(text))).toMatchObject({ ok: false, seq: 2, problem: 'sequence_gap' });
  });

  it('detects swapped lines', () => {
    const { log } = signedLog(5);
    const x = parseAuditJsonl(log.exportJsonl());
    [x.entries[1], x.entries[2]] = [x.entries[2]!, x.entries[1]!];
    expect(verifyParsed(x)).toMatchObject({ ok: false, seq: 2, problem: 'reordered' });
  });

  it('detects a duplicated line', () => {
    const { log } = signedLog(4);
    const x = parseAuditJsonl(log.exportJsonl());
    x.entries.splice(2, 0, x.entries[1]!);
    expect(verifyParsed(x)).toMatchObject({ ok: false, seq: 2, problem: 'reordered' });
  });

  it('detects lines cut from the start when the export claims to be complete', () => {
    const { log } = signedLog(5);
    const x = parseAuditJsonl(log.exportJsonl());
    x.entries.shift();
    expect(verifyParsed(x, { complete: true })).toMatchObject({ ok: false, seq: 2, problem: 'truncated' });
    expect(verifyParsed(x)).toEqual({ ok: true, count: 4 }); // a partial export is fine when not claimed complete
  });

  it('a partial export (fromSeq) verifies on its own', () => {
    const { log } = signedLog(6);
    const x = parseAuditJsonl(log.exportJsonl(4));
    expect(x.entries.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(verifyParsed(x)).toEqual({ ok: true, count: 3 });
  });

  it('a rewritten chain passes the hash checks but not the signed checkpoints', () => {
    const { log, keys } = signedLog(7);
    const x = parseAuditJsonl(log.exportJsonl());
    x.entries[1] = { ...x.entries[1]!, userIndex: 0 };
    const forged = rechain(x.entries, 1);
    expect(verifyAuditExport(forged)).toEqual({ ok: true, count: 7 }); // hashes alone cannot tell
    expect(
      verifyAuditExport(forged, { checkpoints: x.checkpoints, devicePublicKey: keys.publicKey }),
    ).toMatchObject({
      ok: false,
      seq: 3,
      problem: 'bad_checkpoint',
    });
  });

  it('a checkpoint signed with another key is a forgery', () => {
    const { log, keys } = signedLog(7);
    const x = parseAuditJsonl(log.exportJsonl());
    const mallory = deviceKeys();
    const fake = x.checkpoints.map((c) => signCheckpoint(mallory.privateKey, c.seq, c.hash));
    expect(
      verifyAuditExport(x.entries, { checkpoints: fake, devicePublicKey: keys.publicKey }),
    ).toMatchObject({
      ok: false,
      seq: 3,
      problem: 'bad_checkpoint',
    });
    const bent = [{ ...x.checkpoints[0]!, seq: 4 }];
    expect(
      verifyAuditExport(x.entries, { checkpoints: bent, devicePublicKey: keys.publicKey }),
    ).toMatchObject({
      ok: false,
      seq: 4,
      problem: 'bad_checkpoint',
    });
  });

  it('a checkpoint beyond the last line reveals a cut tail', () => {
    const { log, keys } = signedLog(6);
    const x = parseAuditJsonl(log.exportJsonl());
    const cut = x.entries.slice(0, 4);
    expect(
      verifyAuditExport(cut, { checkpoints: x.checkpoints, devicePublicKey: keys.publicKey }),
    ).toMatchObject({
      ok: false,
      seq: 6,
      problem: 'truncated',
    });
  });

  it('verify() on the database checks checkpoints too', () => {
    const { db, log } = signedLog(6);
    db.prepare('UPDATE audit_checkpoint SET signature = ? WHERE seq = 3').run(Buffer.alloc(64, 7));
    expect(log.verify()).toMatchObject({ ok: false, seq: 3, problem: 'bad_checkpoint' });
  });

  it('checkpointNow signs the head on demand', () => {
    const { log, keys } = signedLog(4, 100);
    expect(log.checkpoints()).toEqual([]);
    const c = log.checkpointNow();
    expect(c?.seq).toBe(4);
    const x = parseAuditJsonl(log.exportJsonl());
    expect(verifyParsed(x, { devicePublicKey: keys.publicKey })).toEqual({ ok: true, count: 4 });
    const unsigned = newLog();
    expect(unsigned.log.checkpointNow()).toBeNull();
  });

  it('exports after eviction carry the evicted ranges and still verify', () => {
    const keys = deviceKeys();
    const { log } = newLog({ capacity: 4, deviceKey: keys.privateKey, checkpointEvery: 2 });
    ['u', 's', 'u', 'u', 's', 'u', 'u', 'u'].forEach((k, i) =>
      log.append(k === 's' ? denied() : unlock(i), T0, i),
    );
    log.acknowledge(8);
    const text = log.exportJsonl();
    expect(text).toContain('{"evicted":{"from":1,"lastHash":');
    const x = parseAuditJsonl(text);
    expect(x.evicted.length).toBeGreaterThan(0);
    expect(verifyParsed(x, { complete: true, devicePublicKey: keys.publicKey })).toEqual({
      ok: true,
      count: 4,
    });
    // Without the evicted records the holes look like deletions.
    expect(verifyAuditExport(x.entries)).toMatchObject({ ok: false, problem: 'sequence_gap' });
  });

  it('a second lock cannot replay its log as this one (different device key)', () => {
    const a = signedLog(3);
    const b = signedLog(3);
    const x = parseAuditJsonl(a.log.exportJsonl());
    expect(verifyParsed(x, { devicePublicKey: b.keys.publicKey })).toMatchObject({
      problem: 'bad_checkpoint',
    });
  });
});

describe('parseAuditJsonl errors', () => {
  const good = (() => {
    const { db } = openDb();
    const log = new AuditLog(db, { capacity: 10 });
    log.append(unlock(1), T0, 1);
    return log.exportJsonl().trim();
  })();

  it.each([
    ['{not json', 'audit export line 1: not valid JSON'],
    ['[1,2]', 'audit export line 1: expected a JSON object'],
    [`${good}\n\n{"seq":0}`, 'audit export line 3: "seq" must be a positive integer'],
    [good.replace('"kind":"LockOperation"', '"kind":"Nope"'), 'line 1: "kind" "Nope" is unknown'],
    [good.replace(/"hash":"[0-9a-f]+"/, '"hash":"abc"'), 'line 1: "hash" must be 64 hex digits'],
    [good.replace('"time":1767225600000', '"time":"noon"'), 'line 1: "time" must be an integer or null'],
    ['{"evicted":{"from":5,"to":2,"lastHash":"00"}}', 'line 1: "evicted" needs from <= to'],
    [
      '{"checkpoint":{"seq":1,"hash":"' + '0'.repeat(64) + '","signature":"xyz"}}',
      '"checkpoint.signature" must be 128 hex',
    ],
  ])('refuses %#', (text, message) => {
    expect(() => parseAuditJsonl(text)).toThrow(message);
  });

  it('accepts CRLF line ends and blank lines', () => {
    expect(parseAuditJsonl(`\r\n${good}\r\n\r\n`).entries).toHaveLength(1);
  });
});

describe('CSV export', () => {
  it('has a header row and quotes per RFC 4180', () => {
    const { log } = newLog();
    log.append(unlock(2), T0, 5);
    log.append({ kind: 'System', action: 'note', data: { text: 'a "quoted", comma\nline' } }, null, 6);
    log.append({ kind: 'System', action: '=cmd()' }, null, 7);
    const csv = log.exportCsv();
    const rows = csv.split('\r\n');
    expect(rows[0]).toBe(
      'seq,time,time_utc,boot,kind,action,source,user_index,target_user_index,credential_type,credential_index,' +
        'result,reason,security,data,hash,prev_hash',
    );
    const e1 = log.entries()[0]!;
    expect(rows[1]).toBe(
      `1,1767225600000,2026-01-01T00:00:00.000Z,5,LockOperation,unlock,keypad,2,,pin,2,success,,false,,${e1.hash},${e1.prevHash}`,
    );
    expect(csv).toContain(',"{""text"":""a \\""quoted\\"", comma\\nline""}",');
    expect(csv).toContain(",'=cmd(),"); // a spreadsheet must not run it as a formula
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(log.exportCsv(3).split('\r\n')).toHaveLength(3); // header, one row, trailing empty
  });
});
