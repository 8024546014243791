import Database from 'better-sqlite3';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { EkeyStore } from './firmware/ekey/EkeyStore.ts';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekperf-'));
const db = new Database(path.join(dir, 'e.db')); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL');
const store = new EkeyStore(db);
for (let i = 0; i < 1000; i++) store.addRevocation({ kind: 'cti', id: new Uint8Array(16).fill(i % 251).map((b, j) => b ^ j ^ (i >> 8)), until: null }, 0);
const cti = Buffer.alloc(16, 9), iss = Buffer.alloc(32, 1), hold = Buffer.alloc(32, 4);
const u1 = new Uint8Array(cti), u2 = new Uint8Array(iss), u3 = new Uint8Array(hold);
const probe = 'SELECT kind, id FROM revocations WHERE kind = ? AND id = ?';
const union = db.prepare(`${[1,2,3].map(() => probe).join(' UNION ALL ')} LIMIT 1`);
const unionP = db.prepare(`${[1,2,3].map(() => 'SELECT 1 FROM revocations WHERE kind = ? AND id = ?').join(' UNION ALL ')} LIMIT 1`).pluck();
const exists = db.prepare(`SELECT EXISTS (SELECT 1 FROM revocations WHERE kind = ? AND id = ?) OR EXISTS (SELECT 1 FROM revocations WHERE kind = ? AND id = ?) OR EXISTS (SELECT 1 FROM revocations WHERE kind = ? AND id = ?)`).pluck();
const inv = db.prepare(`SELECT 1 FROM revocations WHERE (kind, id) IN (VALUES (?, ?), (?, ?), (?, ?)) LIMIT 1`).pluck();
const single = db.prepare('SELECT 1 FROM revocations WHERE kind = ? AND id = ?').pluck();
const uses = db.prepare('SELECT used FROM ekey_uses WHERE cti = ?');
const usesP = db.prepare('SELECT used FROM ekey_uses WHERE cti = ?').pluck();
const combo = db.prepare(`SELECT (SELECT 1 FROM revocations WHERE kind = ? AND id = ?) OR (SELECT 1 FROM revocations WHERE kind = ? AND id = ?) OR (SELECT 1 FROM revocations WHERE kind = ? AND id = ?) AS r, (SELECT used FROM ekey_uses WHERE cti = ?) AS u`).raw();
function t(name: string, fn: () => void, n = 30000) { for (let i = 0; i < 3000; i++) fn(); const s = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); console.log(name.padEnd(20), (Number(process.hrtime.bigint() - s) / 1000 / n).toFixed(2), 'us'); }
for (let k = 0; k < 2; k++) {
t('store.firstRevoked', () => store.firstRevoked([['cti', u1], ['issuer', u2], ['holder', u3]]));
t('union', () => union.get('cti', cti, 'issuer', iss, 'holder', hold));
t('unionPluck', () => unionP.get('cti', cti, 'issuer', iss, 'holder', hold));
t('exists-or', () => exists.get('cti', cti, 'issuer', iss, 'holder', hold));
t('in-values', () => inv.get('cti', cti, 'issuer', iss, 'holder', hold));
t('3x single', () => { single.get('cti', cti); single.get('issuer', iss); single.get('holder', hold); });
t('1x single', () => { single.get('cti', cti); });
t('uses', () => uses.get(cti));
t('usesPluck', () => usesP.get(cti));
t('combo', () => combo.get('cti', cti, 'issuer', iss, 'holder', hold, cti));
t('bufwrap', () => Buffer.from(u1.buffer, u1.byteOffset, u1.byteLength));
}
db.close(); fs.rmSync(dir, { recursive: true });
