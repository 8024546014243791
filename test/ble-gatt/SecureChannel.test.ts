// The transport phase: counted, authenticated messages; the first bad message kills the channel.
import { describe, expect, it } from 'vitest';
import { SecureChannel } from '../../ble-gatt/SecureChannel.ts';
import {
  ed25519PublicKey,
  sessionProofMessage,
  signSessionProof,
  verifySessionProof,
} from '../../ble-gatt/SessionProof.ts';
import { isBleError } from '../../ble-gatt/errors.ts';
import { HandshakeState, keyPairFromPrivate } from '../../ble-gatt/noise/index.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';

const random = new SeededRandom('channel');
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function session(challenge = 'challenge-1') {
  const lock = keyPairFromPrivate(random.bytes(32));
  const phoneKey = keyPairFromPrivate(random.bytes(32));
  const i = new HandshakeState({
    pattern: 'IK',
    initiator: true,
    prologue: utf8(challenge),
    s: phoneKey,
    rs: lock.publicKey,
    random,
  });
  const r = new HandshakeState({
    pattern: 'IK',
    initiator: false,
    prologue: utf8(challenge),
    s: lock,
    random,
  });
  r.readMessage(i.writeMessage());
  i.readMessage(r.writeMessage());
  return { phone: SecureChannel.fromHandshake(i), lock: SecureChannel.fromHandshake(r), phoneKey };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isBleError(err) ? err.reason : String(err);
  }
  return 'no error';
}

describe('SecureChannel', () => {
  it('carries messages both ways and counts them', () => {
    const { phone, lock } = session();
    for (let n = 0; n < 3; n++) expect(text(lock.open(phone.seal(utf8(`req ${n}`))))).toBe(`req ${n}`);
    expect(text(phone.open(lock.seal(utf8('res'))))).toBe('res');
    expect(phone.sentCount).toBe(3n);
    expect(lock.receivedCount).toBe(3n);
    expect(lock.sentCount).toBe(1n);
    expect(toHex(phone.handshakeHash)).toBe(toHex(lock.handshakeHash));
  });

  it('kills the session on a replayed message', () => {
    const { phone, lock } = session();
    const m = phone.seal(utf8('unlock'));
    lock.open(m);
    expect(reason(() => lock.open(m))).toBe('session.decrypt_failed');
    expect(lock.closeReason).toBe('decrypt_failed');
    // Even a genuine next message is refused now.
    expect(reason(() => lock.open(phone.seal(utf8('lock'))))).toBe('session.closed');
    expect(reason(() => lock.seal(utf8('x')))).toBe('session.closed');
  });

  it('kills the session on reordered and dropped messages', () => {
    const a = session();
    const m1 = a.phone.seal(utf8('one'));
    const m2 = a.phone.seal(utf8('two'));
    expect(reason(() => a.lock.open(m2))).toBe('session.decrypt_failed');
    expect(reason(() => a.lock.open(m1))).toBe('session.closed');
  });

  it('kills the session on a tampered message', () => {
    const { phone, lock } = session();
    const m = phone.seal(utf8('unlock'));
    m[0]! ^= 1;
    expect(reason(() => lock.open(m))).toBe('session.decrypt_failed');
    expect(lock.closed).toBe(true);
  });

  it('refuses a message from another session (same challenge, other keys)', () => {
    const a = session('same');
    const b = session('same');
    expect(reason(() => a.lock.open(b.phone.seal(utf8('unlock'))))).toBe('session.decrypt_failed');
  });

  it('bounds message size: too-large plaintext is the caller’s error, too-large ciphertext kills', () => {
    const { phone, lock } = session();
    expect(reason(() => phone.seal(new Uint8Array(phone.maxPlaintext + 1)))).toBe('session.too_large');
    expect(phone.closed).toBe(false);
    expect(reason(() => lock.open(new Uint8Array(lock.maxPlaintext + 17)))).toBe('session.too_large');
    expect(lock.closed).toBe(true);
  });
});

describe('session proof (eKey holder key bound to the session)', () => {
  const holder = random.bytes(32);
  const holderPub = ed25519PublicKey(holder);
  const ekey = utf8('cose-sign1-ekey-bytes');

  it('verifies for this session and this eKey only', () => {
    const a = session();
    const b = session();
    const sig = signSessionProof(holder, a.phone.handshakeHash, ekey);
    expect(sig).toHaveLength(64);
    expect(verifySessionProof(holderPub, a.lock.handshakeHash, ekey, sig)).toBe(true);
    // Replayed into another session (another challenge or lock): refused.
    expect(verifySessionProof(holderPub, b.lock.handshakeHash, ekey, sig)).toBe(false);
    // Moved to another eKey with the same holder key: refused.
    expect(verifySessionProof(holderPub, a.lock.handshakeHash, utf8('other ekey'), sig)).toBe(false);
    // Another holder key: refused.
    expect(verifySessionProof(ed25519PublicKey(random.bytes(32)), a.lock.handshakeHash, ekey, sig)).toBe(
      false,
    );
    // Malformed inputs are a plain "no".
    expect(verifySessionProof(holderPub.subarray(1), a.lock.handshakeHash, ekey, sig)).toBe(false);
    expect(verifySessionProof(holderPub, a.lock.handshakeHash, ekey, sig.subarray(1))).toBe(false);
  });

  it('signs a domain-separated message: context, 0x00, handshake hash, SHA-256(eKey)', () => {
    const hh = new Uint8Array(32).fill(0xaa);
    const msg = sessionProofMessage(hh, utf8('abc'));
    expect(toHex(msg)).toBe(
      toHex(utf8('keyway-session-proof/1')) +
        '00' +
        'aa'.repeat(32) +
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
