// COSE_Sign1: the shared test vector, interop with an independent COSE library (cose-kit), tweetnacl as a
// second Ed25519 implementation, and the signature-format attacks of THREATS 8.
import { sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { Sign1, coseVerify } from 'cose-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCanonical, Tagged, type CborValue } from '../../firmware/codec/StrictCbor.ts';
import { decodeSign1, sigStructure, signSign1, verifySign1, CoseError } from '../../firmware/ekey/Cose.ts';
import { CLAIM, decodeClaims } from '../../firmware/ekey/Cwt.ts';
import { keyPairFromSeed, coseKey, keyId, privateSeed } from '../../firmware/ekey/Keys.ts';
import { guest, LOCK, makeEnv, mint, owner, T0, type Env } from './helpers.ts';

interface Vector {
  input: { plaintext: string; sign0: { key: { x_hex: string; d_hex: string } } };
  intermediates: { ToBeSign_hex: string };
  output: { cbor: string };
}
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const vectorFiles = [
  ['the copy in test/ekey/vectors', path.resolve('test/ekey/vectors/cose-eddsa-sign1-01.json')],
  ['../shared/vectors', path.resolve('../shared/vectors/cose-eddsa-sign1-01.json')],
] as const;

describe.each(vectorFiles)('COSE vector EdDSA-01 (%s)', (_where, file) => {
  const present = fs.existsSync(file);
  const v = present ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Vector) : null;

  it('is present', () => {
    expect(present, file).toBe(true);
  });

  it('decodes, builds the same ToBeSigned, and verifies', () => {
    const msg = decodeSign1(hex(v!.output.cbor));
    expect(msg.tagged).toBe(true);
    expect(msg.protectedHeader.get(1)).toBe(-8);
    expect(msg.protectedHeader.get(3)).toBe(0);
    expect(toHex(msg.unprotected.get(4) as Uint8Array)).toBe('3131');
    expect(Buffer.from(msg.payload).toString('utf8')).toBe(v!.input.plaintext);
    expect(toHex(sigStructure(msg.protectedBytes, msg.payload))).toBe(
      v!.intermediates.ToBeSign_hex.toLowerCase(),
    );
    const pair = keyPairFromSeed(hex(v!.input.sign0.key.d_hex));
    expect(toHex(pair.publicRaw)).toBe(v!.input.sign0.key.x_hex);
    expect(verifySign1(msg, pair.publicKey)).toBe(true);
  });

  it('our signer reproduces the vector byte for byte (Ed25519 is deterministic)', () => {
    const pair = keyPairFromSeed(hex(v!.input.sign0.key.d_hex));
    const out = signSign1(Buffer.from(v!.input.plaintext), pair.privateKey, {
      protectedExtra: new Map([[3, 0]]),
      unprotected: new Map<number, CborValue>([[4, Buffer.from('11')]]),
    });
    expect(toHex(out)).toBe(v!.output.cbor.toLowerCase());
  });

  it('a flipped bit in the signature fails', () => {
    const b = hex(v!.output.cbor);
    b[b.length - 1]! ^= 1;
    const pair = keyPairFromSeed(hex(v!.input.sign0.key.d_hex));
    expect(verifySign1(decodeSign1(b), pair.publicKey)).toBe(false);
  });
});

describe('interop with cose-kit (independent implementation)', () => {
  let env: Env;
  beforeEach(() => (env = makeEnv()));
  afterEach(() => env.close());

  it('an eKey minted by cose-kit verifies on the lock', async () => {
    const claims = new Map<number, CborValue>([
      [CLAIM.iss, keyId(owner.publicRaw)],
      [CLAIM.aud, LOCK],
      [CLAIM.exp, T0 / 1000 + 3600],
      [CLAIM.nbf, T0 / 1000 - 60],
      [CLAIM.cti, hex('00112233445566778899aabbccddeeff')],
      [CLAIM.cnf, new Map([[1, coseKey(guest.publicRaw)]])],
      [CLAIM.role, 'guest'],
      [CLAIM.methods, ['app']],
    ]);
    const signed = await Sign1.sign(
      { alg: 'EdDSA' } as never,
      undefined,
      encodeCanonical(claims),
      owner.privateKey,
    );
    const token = new Uint8Array(signed.encode());
    const d = env.verifier.verify(token, env.ctx());
    expect(d).toMatchObject({ granted: true });
    if (d.granted) expect(toHex(d.ekey.claims.holder)).toBe(toHex(guest.publicRaw));
  });

  it('an eKey minted here verifies with cose-kit, and cose-kit rejects it under another key', async () => {
    const token = mint(env, owner, guest);
    expect((await coseVerify(token, owner.publicKey as never)).isValid).toBe(true);
    expect((await coseVerify(token, guest.publicKey as never)).isValid).toBe(false);
  });
});

describe('tweetnacl cross-check', () => {
  it('signatures made with node:crypto verify with tweetnacl, and the reverse', () => {
    const env = makeEnv();
    try {
      const token = mint(env, owner, guest);
      const msg = decodeSign1(token);
      const tbs = sigStructure(msg.protectedBytes, msg.payload);
      expect(nacl.sign.detached.verify(tbs, msg.signature, owner.publicRaw)).toBe(true);
      const naclKeys = nacl.sign.keyPair.fromSeed(privateSeed(owner.privateKey));
      expect(toHex(naclKeys.publicKey)).toBe(toHex(owner.publicRaw));
      const naclSig = nacl.sign.detached(tbs, naclKeys.secretKey);
      expect(toHex(naclSig)).toBe(toHex(msg.signature));
    } finally {
      env.close();
    }
  });
});

// Helpers to build hostile tokens that are otherwise correctly signed by the owner.
function signRaw(
  protectedBytes: Uint8Array,
  unprotected: Map<number, CborValue>,
  payload: Uint8Array,
  body?: (sig: Uint8Array) => CborValue[],
): Uint8Array {
  const sig = new Uint8Array(sign(null, sigStructure(protectedBytes, payload), owner.privateKey));
  return encodeCanonical(new Tagged(18, body ? body(sig) : [protectedBytes, unprotected, payload, sig]));
}
function claimsMap(over: Array<[number, CborValue]> = []): Map<number, CborValue> {
  const m = new Map<number, CborValue>([
    [CLAIM.iss, keyId(owner.publicRaw)],
    [CLAIM.aud, LOCK],
    [CLAIM.exp, T0 / 1000 + 3600],
    [CLAIM.nbf, T0 / 1000 - 60],
    [CLAIM.cti, hex('00112233445566778899aabbccddeeff')],
    [CLAIM.cnf, new Map([[1, coseKey(guest.publicRaw)]])],
    [CLAIM.role, 'guest'],
    [CLAIM.methods, ['app']],
  ]);
  for (const [k, v] of over) m.set(k, v);
  return m;
}
const ALG_EDDSA_HDR = encodeCanonical(new Map([[1, -8]]));

describe('THREATS 8: signature-format attacks are refused as malformed with a precise reason', () => {
  let env: Env;
  beforeEach(() => (env = makeEnv()));
  afterEach(() => env.close());

  const expectMalformed = (token: Uint8Array, pattern: RegExp): void => {
    const d = env.verifier.verify(token, env.ctx());
    expect(d.granted).toBe(false);
    if (!d.granted) {
      expect(d.reason).toBe('malformed');
      expect(d.detail).toMatch(pattern);
    }
  };

  it('the well-formed baseline is accepted', () => {
    expect(
      env.verifier.verify(signRaw(ALG_EDDSA_HDR, new Map(), encodeCanonical(claimsMap())), env.ctx()).granted,
    ).toBe(true);
  });

  it('wrong algorithm (ES256 -7), alg only unprotected, alg missing', () => {
    const payload = encodeCanonical(claimsMap());
    expectMalformed(
      signRaw(encodeCanonical(new Map([[1, -7]])), new Map(), payload),
      /unsupported_alg: alg -7/,
    );
    expectMalformed(
      signRaw(encodeCanonical(new Map([[4, hex('01')]])), new Map([[1, -8]]), payload),
      /unsupported_alg: alg must be protected/,
    );
    expectMalformed(signRaw(new Uint8Array(), new Map(), payload), /missing_alg/);
    expectMalformed(signRaw(encodeCanonical(new Map([[3, 0]])), new Map(), payload), /missing_alg/);
  });

  it('wrong key type or curve in cnf, and a private key in cnf', () => {
    const okp = (kty: number, crv: number): Map<number, CborValue> =>
      new Map<number, CborValue>([
        [1, kty],
        [-1, crv],
        [-2, guest.publicRaw],
      ]);
    expectMalformed(
      signRaw(ALG_EDDSA_HDR, new Map(), encodeCanonical(claimsMap([[CLAIM.cnf, new Map([[1, okp(2, 6)]])]]))),
      /kty is not OKP/,
    );
    expectMalformed(
      signRaw(ALG_EDDSA_HDR, new Map(), encodeCanonical(claimsMap([[CLAIM.cnf, new Map([[1, okp(1, 4)]])]]))),
      /crv is not Ed25519/,
    );
    const withD = okp(1, 6);
    withD.set(-4, hex('00'.repeat(32)));
    expectMalformed(
      signRaw(ALG_EDDSA_HDR, new Map(), encodeCanonical(claimsMap([[CLAIM.cnf, new Map([[1, withD]])]]))),
      /private key/,
    );
  });

  it('truncated and zero-length signatures', () => {
    const payload = encodeCanonical(claimsMap());
    expectMalformed(
      signRaw(ALG_EDDSA_HDR, new Map(), payload, (s) => [
        ALG_EDDSA_HDR,
        new Map(),
        payload,
        s.subarray(0, 63),
      ]),
      /bad_signature_length: .* got 63/,
    );
    expectMalformed(
      signRaw(ALG_EDDSA_HDR, new Map(), payload, () => [ALG_EDDSA_HDR, new Map(), payload, new Uint8Array()]),
      /got 0/,
    );
  });

  it('an all-zero signature of the right length is a bad signature', () => {
    const payload = encodeCanonical(claimsMap());
    const d = env.verifier.verify(
      signRaw(ALG_EDDSA_HDR, new Map(), payload, () => [
        ALG_EDDSA_HDR,
        new Map(),
        payload,
        new Uint8Array(64),
      ]),
      env.ctx(),
    );
    expect(d).toMatchObject({ granted: false, reason: 'bad_signature' });
  });

  it('trailing bytes after the token', () => {
    const token = mint(env, owner, guest);
    expectMalformed(Uint8Array.from([...token, 0x00]), /trailing_bytes/);
  });

  it('duplicate map keys and non-canonical integers inside the signed payload', () => {
    const canonical = encodeCanonical(claimsMap());
    // Duplicate iss: insert a second "1: ..." entry right after the first and bump the map count.
    const iss = encodeCanonical(keyId(owner.publicRaw));
    const dup = Uint8Array.from([0xa9, 0x01, ...iss, ...canonical.subarray(1)]);
    expectMalformed(signRaw(ALG_EDDSA_HDR, new Map(), dup), /duplicate_key/);
    // exp written with an 8-byte head although it fits in 4.
    const exp = T0 / 1000 + 3600;
    const expBytes = encodeCanonical(exp);
    const at = Buffer.from(canonical).indexOf(Buffer.from([0x04, ...expBytes]));
    expect(at).toBeGreaterThan(0);
    const long = Buffer.alloc(9);
    long[0] = 0x1b;
    long.writeBigUInt64BE(BigInt(exp), 1);
    const nonCanon = Buffer.concat([
      canonical.subarray(0, at + 1),
      long,
      canonical.subarray(at + 1 + expBytes.length),
    ]);
    expectMalformed(signRaw(ALG_EDDSA_HDR, new Map(), nonCanon), /non_shortest/);
  });

  it('unknown critical header; a known critical header is fine', () => {
    const payload = encodeCanonical(claimsMap());
    const crit = (labels: CborValue[], extra: Array<[number, CborValue]>): Uint8Array =>
      encodeCanonical(new Map<number, CborValue>([[1, -8], [2, labels], ...extra]));
    expectMalformed(
      signRaw(crit([99], [[99, 1]]), new Map(), payload),
      /unknown_critical_header: critical header 99/,
    );
    expectMalformed(signRaw(crit(['x'], []), new Map(), payload), /unknown_critical_header/);
    expect(
      env.verifier.verify(signRaw(crit([4], [[4, hex('01')]]), new Map(), payload), env.ctx()).granted,
    ).toBe(true);
  });

  it('a label in both header buckets', () => {
    const payload = encodeCanonical(claimsMap());
    const ph = encodeCanonical(
      new Map<number, CborValue>([
        [1, -8],
        [4, hex('01')],
      ]),
    );
    expectMalformed(signRaw(ph, new Map([[4, hex('02')]]), payload), /header_in_both_buckets/);
  });

  it('oversize token, and an unknown claim', () => {
    expectMalformed(new Uint8Array(9000).fill(0x40), /too_large/);
    expectMalformed(
      signRaw(ALG_EDDSA_HDR, new Map(), encodeCanonical(claimsMap([[-70000, 1]]))),
      /unknown_claim/,
    );
  });

  it('decodeSign1 errors carry the failure code', () => {
    try {
      decodeSign1(encodeCanonical(new Tagged(18, [new Uint8Array(), new Map(), null, new Uint8Array(64)])));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CoseError);
      expect((err as CoseError).failure).toBe('detached_payload');
    }
  });

  it('decodeClaims returns the holder key and defaults', () => {
    const c = decodeClaims(encodeCanonical(claimsMap()));
    expect(c).toMatchObject({
      aud: [LOCK],
      role: 'guest',
      uses: null,
      delegateDepth: 0,
      chain: null,
      schedules: [],
    });
  });
});
