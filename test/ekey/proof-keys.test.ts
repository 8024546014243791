// Proof-of-possession challenges and messages; key pairs, fingerprints, COSE_Key and key files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, type CborValue } from '../../firmware/codec/StrictCbor.ts';
import {
  COSE_KEY,
  coseKey,
  fingerprint,
  keyId,
  keyPairFromSeed,
  loadKeyFile,
  parseCoseKey,
  saveKeyFile,
  savePublicKeyFile,
} from '../../firmware/ekey/Keys.ts';
import { ChallengeIssuer, proofMessage, signProof, verifyProof } from '../../firmware/ekey/Proof.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';

const vectorSeed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const vectorPub = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

describe('ChallengeIssuer', () => {
  it('one live challenge per session, consumed on first use, expiring', () => {
    let mono = 0;
    const c = new ChallengeIssuer(new SeededRandom('c'), () => mono, 30_000);
    const a = c.issue('s1');
    expect(a).toHaveLength(32);
    const b = c.issue('s1');
    expect(c.consume('s1', a)).toBe('stale');
    expect(c.consume('s1', b)).toBe('ok');
    expect(c.consume('s1', b)).toBe('unknown');
    const x = c.issue('s1');
    const y = c.issue('s2');
    expect(c.consume('s2', x)).toBe('stale'); // swapped between sessions
    expect(c.consume('s1', y)).toBe('stale');
    mono = 30_001;
    expect(c.consume('s1', x)).toBe('expired');
    expect(c.consume('s1', x)).toBe('unknown');
    expect(c.issued).toBe(4);
  });
});

describe('proof messages', () => {
  const holder = keyPairFromSeed(vectorSeed);
  const f = {
    challenge: new Uint8Array(16).fill(1),
    lockId: 'lock-a',
    command: 'unlock',
    cti: new Uint8Array(16).fill(2),
  };

  it('is the deterministic CBOR array with the domain separator', () => {
    expect(Buffer.from(proofMessage(f)).toString('hex')).toBe(
      Buffer.from(encodeCanonical(['keyway-pop-v1', f.challenge, 'lock-a', 'unlock', f.cti])).toString('hex'),
    );
    expect(() => proofMessage({ ...f, challenge: new Uint8Array(8) })).toThrow(/16..32/);
  });

  it('verifies only for the same challenge, lock, command and eKey', () => {
    const sig = signProof(holder.privateKey, f);
    expect(verifyProof(holder.publicRaw, sig, f)).toBe(true);
    expect(verifyProof(holder.publicRaw, sig, { ...f, lockId: 'lock-b' })).toBe(false);
    expect(verifyProof(holder.publicRaw, sig, { ...f, command: 'lock' })).toBe(false);
    expect(verifyProof(holder.publicRaw, sig, { ...f, cti: new Uint8Array(16).fill(3) })).toBe(false);
    expect(verifyProof(holder.publicRaw, sig, { ...f, challenge: new Uint8Array(16).fill(9) })).toBe(false);
    expect(verifyProof(holder.publicRaw, sig.subarray(0, 63), f)).toBe(false);
  });
});

describe('keys', () => {
  it('seed -> raw public key matches RFC 8032 test 1; fingerprint and key id', () => {
    const k = keyPairFromSeed(vectorSeed);
    expect(Buffer.from(k.publicRaw).toString('hex')).toBe(vectorPub);
    expect(fingerprint(k.publicRaw)).toMatch(/^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    expect(keyId(k.publicRaw)).toBe(fingerprint(k.publicRaw).replace(/-/g, ''));
  });

  it('COSE_Key round trip; wrong kty/crv/length refused', () => {
    const raw = keyPairFromSeed(vectorSeed).publicRaw;
    const ck = coseKey(raw);
    expect(Buffer.from(encodeCanonical(ck)).toString('hex')).toBe(
      `a3010120062158 20${vectorPub}`.replace(/ /g, ''),
    );
    expect(parseCoseKey(ck)).toEqual({ ok: true, raw });
    expect(
      parseCoseKey(
        new Map<number, CborValue>([
          [COSE_KEY.kty, 2],
          [COSE_KEY.crv, 6],
          [COSE_KEY.x, raw],
        ]),
      ),
    ).toMatchObject({ ok: false });
    expect(
      parseCoseKey(
        new Map<number, CborValue>([
          [COSE_KEY.kty, 1],
          [COSE_KEY.crv, 6],
          [COSE_KEY.x, raw.subarray(1)],
        ]),
      ),
    ).toMatchObject({
      ok: false,
      why: 'COSE_Key x is not 32 bytes',
    });
  });

  it('key files: 0600 private, public-only files, mismatches refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyway-keys-'));
    try {
      const k = keyPairFromSeed(vectorSeed);
      const file = path.join(dir, 'k.json');
      saveKeyFile(file, k);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const loaded = loadKeyFile(file);
      expect(loaded.kind).toBe('private');
      if (loaded.kind === 'private')
        expect(Buffer.from(loaded.pair.publicRaw).toString('hex')).toBe(vectorPub);
      fs.chmodSync(file, 0o644);
      loadKeyFile(file);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const pub = path.join(dir, 'k.pub');
      savePublicKeyFile(pub, k.publicRaw);
      expect(loadKeyFile(pub)).toEqual({ kind: 'public', publicRaw: k.publicRaw });
      const bad = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
      bad.public = '00'.repeat(32);
      fs.writeFileSync(file, JSON.stringify(bad));
      expect(() => loadKeyFile(file)).toThrow(/does not match/);
      fs.writeFileSync(file, 'nope');
      expect(() => loadKeyFile(file)).toThrow(/not a keyway key file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
