// The pure pieces composed as the GATT service and the phone will compose them: a claim over XX with
// SPAKE2+, then an IK session with an eKey proof and an early unlock. Also the attacks the crypto alone
// must stop (THREATS 1, 2, 3, 10, 15): replay, stale/swapped challenges, cross-lock replay, MitM on XX.
import { describe, expect, it } from 'vitest';
import {
  HandshakeState,
  SecureChannel,
  Spake2PlusProver,
  Spake2PlusVerifier,
  Reassembler,
  claimIdentities,
  decodeIncoming,
  decodeInitPayload,
  decodeRequest,
  decodeRespPayload,
  decodeResponseTo,
  decodeStatus,
  ed25519PublicKey,
  encodeClear,
  encodeInitPayload,
  encodeRequest,
  encodeRespPayload,
  encodeResponse,
  encodeSealed,
  encodeStatus,
  fragment,
  isBleError,
  keyPairFromPrivate,
  makeClaimVerifier,
  okResponse,
  prologue,
  setupCodeSecret,
  signSessionProof,
  verifySessionProof,
  type ClearMessage,
  type KeyPair,
} from '../../ble-gatt/index.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';

const random = new SeededRandom('flows');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const cheap = { N: 1 << 10, r: 8, p: 1 };

/** Sends one message through fragmentation at MTU 23 and reassembly, as the characteristics do. */
function overAir(msg: Uint8Array): Uint8Array {
  const r = new Reassembler({ clock: { monotonic: () => 0 }, mtu: 23 });
  let out: Uint8Array | null = null;
  for (const f of fragment(msg, 23)) out = r.push(f);
  return out!;
}

function clear(b: Uint8Array): ClearMessage {
  const m = decodeIncoming(overAir(b));
  if (m.kind !== 'clear') throw new Error('expected clear');
  return m.message;
}

function sealed(b: Uint8Array): Uint8Array {
  const m = decodeIncoming(overAir(b));
  if (m.kind !== 'sealed') throw new Error('expected sealed');
  return m.ciphertext;
}

function lockFixture() {
  const staticKey = keyPairFromPrivate(random.bytes(32));
  const { record, params } = makeClaimVerifier('24681357', random, cheap);
  return { staticKey, record, params };
}

function ikHandshake(lockKey: KeyPair, phoneKey: KeyPair, statusBytes: Uint8Array, knownLockKey: Uint8Array) {
  const p = prologue(statusBytes);
  return {
    phone: new HandshakeState({
      pattern: 'IK',
      initiator: true,
      prologue: p,
      s: phoneKey,
      rs: knownLockKey,
      random,
    }),
    lock: new HandshakeState({ pattern: 'IK', initiator: false, prologue: p, s: lockKey, random }),
  };
}

describe('claim then unlock', () => {
  it('claims over XX with SPAKE2+ and then unlocks over IK with an eKey proof', () => {
    const lockDev = lockFixture();
    const phoneKey = keyPairFromPrivate(random.bytes(32));
    const ownerSeed = random.bytes(32);

    // 1. Phone reads status (setup mode) and starts XX with the status bytes in the prologue.
    const status1 = encodeStatus({ v: 1, setup: true, ch: random.bytes(16) });
    const st = decodeStatus(status1);
    expect(st.setup).toBe(true);
    const phoneHs = new HandshakeState({
      pattern: 'XX',
      initiator: true,
      prologue: prologue(status1),
      s: phoneKey,
      random,
    });
    const lockHs = new HandshakeState({
      pattern: 'XX',
      initiator: false,
      prologue: prologue(status1),
      s: lockDev.staticKey,
      random,
    });
    const init = clear(encodeClear({ t: 'hs.init', v: 1, p: 'XX', ch: st.ch, m: phoneHs.writeMessage() }));
    if (init.t !== 'hs.init') throw new Error('hs.init');
    expect(toHex(init.ch)).toBe(toHex(st.ch));
    lockHs.readMessage(init.m);

    // 2. Lock answers with its scrypt parameters inside XX message 2.
    const resp = clear(
      encodeClear({ t: 'hs.resp', m: lockHs.writeMessage(encodeRespPayload({ claim: lockDev.params })) }),
    );
    if (resp.t !== 'hs.resp') throw new Error('hs.resp');
    const { claim } = decodeRespPayload(phoneHs.readMessage(resp.m));
    expect(claim).toEqual(lockDev.params);

    // 3. Phone finishes XX (hs.fin) and, without waiting, sends claim.start as the first sealed message.
    //    SPAKE2+ context = the final handshake hash, so a man in the middle of XX fails the claim.
    const fin = clear(encodeClear({ t: 'hs.fin', m: phoneHs.writeMessage() }));
    if (fin.t !== 'hs.fin') throw new Error('hs.fin');
    expect(decodeInitPayload(lockHs.readMessage(fin.m))).toEqual({});
    const phone = SecureChannel.fromHandshake(phoneHs);
    const lock = SecureChannel.fromHandshake(lockHs);
    expect(toHex(lock.remoteStatic!)).toBe(toHex(phoneKey.publicKey));
    const prover = new Spake2PlusProver({
      ...claimIdentities(phone.handshakeHash),
      ...setupCodeSecret('2468-1357', claim!),
      random,
    });
    const start = decodeRequest(
      lock.open(sealed(encodeSealed(phone.seal(encodeRequest(1, 'claim.start', { share: prover.share() }))))),
    );

    // 4. Lock runs the verifier and answers claim.start.
    if (start.cmd !== 'claim.start') throw new Error('claim.start');
    const verifier = new Spake2PlusVerifier({
      ...claimIdentities(lock.handshakeHash),
      ...lockDev.record,
      random,
    });
    const v = verifier.respond(start.args.share);
    const r1 = decodeResponseTo(
      phone.open(
        sealed(
          encodeSealed(
            lock.seal(
              encodeResponse(
                'claim.start',
                okResponse(1, 'claim.start', { share: v.shareV, confirm: v.confirmV }),
              ),
            ),
          ),
        ),
      ),
      { id: 1, cmd: 'claim.start' },
    );
    if (!('ok' in r1)) throw new Error('claim.start failed');
    const { confirmP } = prover.finish(r1.ok.share, r1.ok.confirm);

    // 5. claim.finish installs the owner key; the lock checks the confirmation first.
    const finish = decodeRequest(
      lock.open(
        sealed(
          encodeSealed(
            phone.seal(
              encodeRequest(2, 'claim.finish', {
                confirm: confirmP,
                ownerKey: ed25519PublicKey(ownerSeed),
                pinSecret: random.bytes(32),
              }),
            ),
          ),
        ),
      ),
    );
    if (finish.cmd !== 'claim.finish') throw new Error('claim.finish');
    expect(verifier.finish(finish.args.confirm)).toHaveLength(32);
    const lockKeyForPhone = lockDev.staticKey.publicKey;

    // 6. Later: IK with the lock key learned at claim, proof and unlock in message 1.
    const status2 = encodeStatus({ v: 1, setup: false, ch: random.bytes(16) });
    const ik = ikHandshake(lockDev.staticKey, phoneKey, status2, lockKeyForPhone);
    const ekey = random.bytes(200);
    const m1 = ik.phone.writeMessage((h) =>
      encodeInitPayload({
        proof: { ekey, sig: signSessionProof(ownerSeed, h, ekey) },
        req: { id: 1, cmd: 'unlock', args: {} },
      }),
    );
    const got = decodeInitPayload(ik.lock.readMessage(m1));
    expect(
      verifySessionProof(
        ed25519PublicKey(ownerSeed),
        ik.lock.payloadHash()!,
        got.proof!.ekey,
        got.proof!.sig,
      ),
    ).toBe(true);
    expect(got.req).toEqual({ id: 1, cmd: 'unlock', args: {} });
    const m2 = ik.lock.writeMessage(encodeRespPayload({ res: okResponse(1, 'unlock', {}) }, 'unlock'));
    expect(decodeRespPayload(ik.phone.readMessage(m2), { id: 1, cmd: 'unlock' }).res).toEqual({
      id: 1,
      ok: {},
    });
  });

  it('a man in the middle of XX cannot complete the claim even with the right setup code relayed', () => {
    // The MitM runs XX with the phone and with the lock separately; the handshake hashes differ, so
    // SPAKE2+ (context = hash) fails even though the phone uses the right code.
    const lockDev = lockFixture();
    const phoneKey = keyPairFromPrivate(random.bytes(32));
    const mitmKey = keyPairFromPrivate(random.bytes(32));
    const st = encodeStatus({ v: 1, setup: true, ch: random.bytes(16) });
    const phoneHs = new HandshakeState({
      pattern: 'XX',
      initiator: true,
      prologue: prologue(st),
      s: phoneKey,
      random,
    });
    const mitmR = new HandshakeState({
      pattern: 'XX',
      initiator: false,
      prologue: prologue(st),
      s: mitmKey,
      random,
    });
    const mitmI = new HandshakeState({
      pattern: 'XX',
      initiator: true,
      prologue: prologue(st),
      s: mitmKey,
      random,
    });
    const lockHs = new HandshakeState({
      pattern: 'XX',
      initiator: false,
      prologue: prologue(st),
      s: lockDev.staticKey,
      random,
    });
    mitmR.readMessage(phoneHs.writeMessage());
    lockHs.readMessage(mitmI.writeMessage());
    mitmI.readMessage(lockHs.writeMessage());
    phoneHs.readMessage(mitmR.writeMessage());
    mitmR.readMessage(phoneHs.writeMessage());
    lockHs.readMessage(mitmI.writeMessage());
    const phoneHash = phoneHs.result().handshakeHash;
    const lockHash = lockHs.result().handshakeHash;
    const prover = new Spake2PlusProver({
      ...claimIdentities(phoneHash),
      ...setupCodeSecret('24681357', lockDev.params),
      random,
    });
    const verifier = new Spake2PlusVerifier({ ...claimIdentities(lockHash), ...lockDev.record, random });
    const v = verifier.respond(prover.share());
    expect(() => prover.finish(v.shareV, v.confirmV)).toThrow(/pake.confirm_failed/);
  });
});

describe('replay and challenge attacks on IK', () => {
  const lockA = keyPairFromPrivate(random.bytes(32));
  const lockB = keyPairFromPrivate(random.bytes(32));
  const phoneKey = keyPairFromPrivate(random.bytes(32));
  const status = (ch = random.bytes(16)) => encodeStatus({ v: 1, setup: false, ch });

  function reason(fn: () => unknown): string {
    try {
      fn();
    } catch (err) {
      return isBleError(err) ? err.reason : String(err);
    }
    return 'accepted';
  }

  it('a recorded hs.init replayed after the challenge rotated fails (THREATS 1, 2)', () => {
    const s1 = status();
    const rec = ikHandshake(lockA, phoneKey, s1, lockA.publicKey);
    const m1 = rec.phone.writeMessage(encodeInitPayload({ req: { id: 1, cmd: 'unlock', args: {} } }));
    expect(reason(() => rec.lock.readMessage(m1))).toBe('accepted');
    const fresh = new HandshakeState({
      pattern: 'IK',
      initiator: false,
      prologue: prologue(status()),
      s: lockA,
      random,
    });
    expect(reason(() => fresh.readMessage(m1))).toBe('noise.decrypt_failed');
  });

  it('a response for one session does not fit another opened with the same lock (swapped challenges)', () => {
    const a = ikHandshake(lockA, phoneKey, status(), lockA.publicKey);
    const b = ikHandshake(lockA, phoneKey, status(), lockA.publicKey);
    a.lock.readMessage(a.phone.writeMessage());
    b.lock.readMessage(b.phone.writeMessage());
    expect(reason(() => a.phone.readMessage(b.lock.writeMessage()))).toBe('noise.decrypt_failed');
  });

  it('a message for lock A is useless at lock B even with the same challenge (THREATS 3)', () => {
    const s = status();
    const toA = ikHandshake(lockA, phoneKey, s, lockA.publicKey);
    const lockBHs = new HandshakeState({
      pattern: 'IK',
      initiator: false,
      prologue: prologue(s),
      s: lockB,
      random,
    });
    expect(reason(() => lockBHs.readMessage(toA.phone.writeMessage()))).toBe('noise.decrypt_failed');
  });

  it('a proof signed in one session does not verify in another (THREATS 1, 3)', () => {
    const holder = random.bytes(32);
    const ekey = random.bytes(100);
    const a = ikHandshake(lockA, phoneKey, status(), lockA.publicKey);
    let sig: Uint8Array = new Uint8Array(0);
    a.lock.readMessage(
      a.phone.writeMessage((h) => ((sig = signSessionProof(holder, h, ekey)), new Uint8Array(0))),
    );
    expect(verifySessionProof(ed25519PublicKey(holder), a.lock.payloadHash()!, ekey, sig)).toBe(true);
    const b = ikHandshake(lockA, phoneKey, status(), lockA.publicKey);
    b.lock.readMessage(b.phone.writeMessage());
    expect(verifySessionProof(ed25519PublicKey(holder), b.lock.payloadHash()!, ekey, sig)).toBe(false);
  });

  it('a downgraded status (setup flag flipped by a MitM) breaks the handshake (THREATS 10)', () => {
    const ch = random.bytes(16);
    const real = encodeStatus({ v: 1, setup: false, ch });
    const forged = encodeStatus({ v: 1, setup: true, ch });
    const phone = new HandshakeState({
      pattern: 'IK',
      initiator: true,
      prologue: prologue(forged),
      s: phoneKey,
      rs: lockA.publicKey,
      random,
    });
    const lock = new HandshakeState({
      pattern: 'IK',
      initiator: false,
      prologue: prologue(real),
      s: lockA,
      random,
    });
    expect(reason(() => lock.readMessage(phone.writeMessage()))).toBe('noise.decrypt_failed');
  });
});
