// SPAKE2+ against RFC 9383 Appendix C (P256-SHA256-HKDF-SHA256-HMAC-SHA256), then protocol properties.
import { describe, expect, it } from 'vitest';
import { p256 } from '@noble/curves/nist.js';
import {
  SPAKE2PLUS_M_HEX,
  SPAKE2PLUS_N_HEX,
  Spake2PlusProver,
  Spake2PlusVerifier,
  claimIdentities,
  generateSetupCode,
  makeClaimVerifier,
  normalizeSetupCode,
  setupCodeSecret,
  verifierRecord,
  validatePbkdfParams,
} from '../../ble-gatt/pake/index.ts';
import { isBleError } from '../../ble-gatt/errors.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

// RFC 9383 Appendix C.
const RFC = {
  context: utf8('SPAKE2+-P256-SHA256-HKDF-SHA256-HMAC-SHA256 Test Vectors'),
  idProver: utf8('client'),
  idVerifier: utf8('server'),
  w0: 'bb8e1bbcf3c48f62c08db243652ae55d3e5586053fca77102994f23ad95491b3',
  w1: '7e945f34d78785b8a3ef44d0df5a1a97d6b3b460409a345ca7830387a74b1dba',
  L: '04eb7c9db3d9a9eb1f8adab81b5794c1f13ae3e225efbe91ea487425854c7fc00f00bfedcbd09b2400142d40a14f2064ef31dfaa903b91d1faea7093d835966efd',
  x: 'd1232c8e8693d02368976c174e2088851b8365d0d79a9eee709c6a05a2fad539',
  shareP:
    '04ef3bd051bf78a2234ec0df197f7828060fe9856503579bb1733009042c15c0c1de127727f418b5966afadfdd95a6e4591d171056b333dab97a79c7193e341727',
  y: '717a72348a182085109c8d3917d6c43d59b224dc6a7fc4f0483232fa6516d8b3',
  shareV:
    '04c0f65da0d11927bdf5d560c69e1d7d939a05b0e88291887d679fcadea75810fb5cc1ca7494db39e82ff2f50665255d76173e09986ab46742c798a9a68437b048',
  confirmP: '926cc713504b9b4d76c9162ded04b5493e89109f6d89462cd33adc46fda27527',
  confirmV: '9747bcc4f8fe9f63defee53ac9b07876d907d55047e6ff2def2e7529089d3e68',
  kShared: '0c5f8ccd1413423a54f6c1fb26ff01534a87f893779c6e68666d772bfd91f3e7',
};
const ids = { context: RFC.context, idProver: RFC.idProver, idVerifier: RFC.idVerifier };
// Cheap scrypt for tests; the default cost is exercised once below.
const fastParams = (salt: Uint8Array) => ({ salt, N: 1 << 10, r: 8, p: 1 });

describe('SPAKE2+ RFC 9383 test vector', () => {
  it('derives L from w1', () => {
    expect(toHex(verifierRecord({ w0: hex(RFC.w0), w1: hex(RFC.w1) }).L)).toBe(RFC.L);
  });

  it('reproduces shareP, shareV, both confirmations and K_shared byte for byte', () => {
    const prover = new Spake2PlusProver({ ...ids, w0: hex(RFC.w0), w1: hex(RFC.w1), x: hex(RFC.x) });
    const verifier = new Spake2PlusVerifier({ ...ids, w0: hex(RFC.w0), L: hex(RFC.L), y: hex(RFC.y) });
    const shareP = prover.share();
    expect(toHex(shareP)).toBe(RFC.shareP);
    const { shareV, confirmV } = verifier.respond(shareP);
    expect(toHex(shareV)).toBe(RFC.shareV);
    expect(toHex(confirmV)).toBe(RFC.confirmV);
    const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
    expect(toHex(confirmP)).toBe(RFC.confirmP);
    expect(toHex(sharedKey)).toBe(RFC.kShared);
    expect(toHex(verifier.finish(confirmP))).toBe(RFC.kShared);
  });
});

describe('SPAKE2+ claim runs', () => {
  const random = new SeededRandom('spake');
  const params = fastParams(random.bytes(16));
  const hh = random.bytes(32);

  function run(lockCode: string, phoneCode: string, phoneHash = hh) {
    const record = verifierRecord(setupCodeSecret(lockCode, params));
    const prover = new Spake2PlusProver({
      ...claimIdentities(phoneHash),
      ...setupCodeSecret(phoneCode, params),
      random,
    });
    const verifier = new Spake2PlusVerifier({ ...claimIdentities(hh), ...record, random });
    const shareP = prover.share();
    const { shareV, confirmV } = verifier.respond(shareP);
    return { prover, verifier, shareP, shareV, confirmV };
  }

  it('agrees on a shared key with the right setup code', () => {
    const { prover, verifier, shareV, confirmV } = run('12345678', '1234-5678');
    const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
    expect(toHex(verifier.finish(confirmP))).toBe(toHex(sharedKey));
  });

  it('fails confirmation on both sides with a wrong setup code', () => {
    const { prover, verifier, shareV, confirmV } = run('12345678', '12345679');
    expect(() => prover.finish(shareV, confirmV)).toThrow(/pake.confirm_failed/);
    // A phone that ignores its own failure and sends some confirmation is refused by the lock too.
    expect(() => verifier.finish(new Uint8Array(32))).toThrow(/pake.confirm_failed/);
  });

  it('fails when the two sides are in different Noise sessions (man in the middle)', () => {
    const { prover, shareV, confirmV } = run('12345678', '12345678', random.bytes(32));
    expect(() => prover.finish(shareV, confirmV)).toThrow(/pake.confirm_failed/);
  });

  it('gives an eavesdropper nothing to test guesses against offline', () => {
    // A recorded run (shareP, shareV, confirmV) with the real code 12345678. For a guessed code the
    // attacker can compute w0/w1 but not the lock's y nor the phone's x, so it cannot recompute confirmV.
    // Check the observable property: runs differ every time and a guessing prover fails.
    const a = run('12345678', '12345678');
    const b = run('12345678', '12345678');
    expect(toHex(a.shareP)).not.toBe(toHex(b.shareP));
    expect(toHex(a.confirmV)).not.toBe(toHex(b.confirmV));
    // Replaying the recorded lock messages to a prover using a guess fails, also for the right code,
    // because the recorded confirmV was made for a different shareP.
    const guesser = new Spake2PlusProver({
      ...claimIdentities(hh),
      ...setupCodeSecret('12345678', params),
      random,
    });
    guesser.share();
    expect(() => guesser.finish(a.shareV, a.confirmV)).toThrow(/pake.confirm_failed/);
  });

  it('refuses invalid points and out-of-order calls', () => {
    const { verifier } = run('12345678', '12345678');
    expect(() => verifier.respond(new Uint8Array(65))).toThrow(/pake.bad_state/);
    const v2 = new Spake2PlusVerifier({
      ...claimIdentities(hh),
      ...verifierRecord(setupCodeSecret('12345678', params)),
      random,
    });
    const notOnCurve = hex(RFC.shareP);
    notOnCurve[64]! ^= 1;
    try {
      v2.respond(notOnCurve);
      expect.unreachable();
    } catch (err) {
      expect(isBleError(err, 'pake.bad_share')).toBe(true);
    }
    const v3 = new Spake2PlusVerifier({
      ...claimIdentities(hh),
      ...verifierRecord(setupCodeSecret('12345678', params)),
      random,
    });
    expect(() => v3.respond(hex('02' + RFC.shareP.slice(2, 66)))).toThrow(/pake.bad_share/);
    expect(() => v3.finish(new Uint8Array(32))).toThrow(/pake.bad_state/);
    const p = new Spake2PlusProver({ ...ids, w0: hex(RFC.w0), w1: hex(RFC.w1), random });
    expect(() => p.finish(hex(RFC.shareV), hex(RFC.confirmV))).toThrow(/pake.bad_state/);
  });

  it('refuses a verifier share equal to w0*N (Z would be the identity) as a bad share', () => {
    const w0 = BigInt('0x' + RFC.w0);
    const evil = p256.Point.fromHex(SPAKE2PLUS_N_HEX).multiply(w0).toBytes(false);
    const prover = new Spake2PlusProver({ ...ids, w0: hex(RFC.w0), w1: hex(RFC.w1), x: hex(RFC.x) });
    prover.share();
    expect(() => prover.finish(evil, new Uint8Array(32))).toThrow(/pake.bad_share: Z is the identity/);
    const x = BigInt('0x' + RFC.w0);
    const evilP = p256.Point.fromHex(SPAKE2PLUS_M_HEX).multiply(x).toBytes(false);
    const verifier = new Spake2PlusVerifier({ ...ids, w0: hex(RFC.w0), L: hex(RFC.L), y: hex(RFC.y) });
    expect(() => verifier.respond(evilP)).toThrow(/pake.bad_share: Z is the identity/);
  });
});

describe('setup codes and scrypt parameters', () => {
  it('normalises separators and refuses anything but 8 digits', () => {
    expect(normalizeSetupCode('1234 5678')).toBe('12345678');
    expect(normalizeSetupCode('1234-5678')).toBe('12345678');
    for (const bad of ['1234567', '123456789', '1234567a', '', '１２３４５６７８']) {
      expect(() => normalizeSetupCode(bad)).toThrow(/pake.bad_params/);
    }
  });

  it('generates uniform 8-digit codes from the injected random source', () => {
    const r = new SeededRandom('codes');
    const codes = Array.from({ length: 200 }, () => generateSetupCode(r));
    for (const c of codes) expect(c).toMatch(/^[0-9]{8}$/);
    expect(new Set(codes).size).toBe(200);
    expect(generateSetupCode(new SeededRandom('x'))).toBe(generateSetupCode(new SeededRandom('x')));
  });

  it('bounds the scrypt cost a lock may ask for', () => {
    const salt = new Uint8Array(16);
    expect(() => validatePbkdfParams({ salt, N: 1 << 21, r: 8, p: 1 })).toThrow(/pake.bad_params/);
    expect(() => validatePbkdfParams({ salt, N: 1000, r: 8, p: 1 })).toThrow(/pake.bad_params/);
    expect(() => validatePbkdfParams({ salt, N: 1 << 10, r: 17, p: 1 })).toThrow(/pake.bad_params/);
    expect(() => validatePbkdfParams({ salt, N: 1 << 10, r: 8, p: 5 })).toThrow(/pake.bad_params/);
    expect(() => validatePbkdfParams({ salt: new Uint8Array(15), N: 1 << 10, r: 8, p: 1 })).toThrow(
      /pake.bad_params/,
    );
    expect(() => validatePbkdfParams({ salt, N: 1 << 15, r: 8, p: 1 })).not.toThrow();
  });

  it('makes a verifier at the default cost that a phone with the code matches', () => {
    const r = new SeededRandom('manufacture');
    const { record, params } = makeClaimVerifier('87654321', r);
    expect(params).toMatchObject({ N: 1 << 15, r: 8, p: 1 });
    expect(params.salt).toHaveLength(16);
    expect(record.L).toHaveLength(65);
    const secret = setupCodeSecret('8765-4321', params);
    expect(toHex(verifierRecord(secret).L)).toBe(toHex(record.L));
    expect(toHex(secret.w0)).toBe(toHex(record.w0));
  });
});
