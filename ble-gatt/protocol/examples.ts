// One example of every command's args and result, and a deterministic session transcript: used by the
// tests (every command round-trips) and to produce the examples in docs/protocol.md.
import { createHash } from 'node:crypto';
import type { Random } from '../../firmware/index.ts';
import { HandshakeState } from '../noise/HandshakeState.ts';
import { keyPairFromPrivate } from '../noise/cryptoFunctions.ts';
import { SecureChannel } from '../SecureChannel.ts';
import { signSessionProof } from '../SessionProof.ts';
import { fragment } from '../Framing.ts';
import type { ArgsOf, CommandName, ResultOf } from './commands.ts';
import { encodeRequest, encodeResponse } from './envelope.ts';
import {
  decodeRespPayload,
  encodeClear,
  encodeInitPayload,
  encodeRespPayload,
  encodeSealed,
} from './handshake.ts';
import { encodeStatus, prologue, PROTOCOL_VERSION } from './status.ts';

const fill = (n: number, start: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

export const EXAMPLE_ARGS: { [C in CommandName]: ArgsOf<C> } = {
  unlock: {},
  lock: {},
  unlock_with_timeout: { seconds: 30 },
  status: {},
  'user.list': { from: 1, limit: 8 },
  'user.add': { role: 'guest', name: 'Cleaner', validUntil: 1767225600000, methods: ['pin', 'app'] },
  'user.modify': { user: 3, changes: { validUntil: null, permanent: true } },
  'user.disable': { user: 3 },
  'user.remove': { user: 3, erase: true },
  'cred.add': { type: 'pin', user: 3, pin: '470213' },
  'cred.remove': { credential: 7 },
  'schedule.add': {
    user: 3,
    schedule: { kind: 'weekly', days: ['mon', 'thu'], start: '09:00', end: '12:00' },
  },
  'schedule.remove': { user: 3, index: 1 },
  revoke: { cti: fill(16, 0xc0), until: 1767225600000 },
  'audit.pull': { from: 120 },
  'audit.ack': { upTo: 121 },
  'time.sync': { time: 1751362200000 },
  'settings.get': {},
  'settings.set': { changes: { autoRelockSeconds: 10, operatingMode: 'Normal' } },
  factory_reset: { confirm: 'factory_reset' },
  proof: { ekey: fill(24, 0xd0), sig: fill(64, 0x40) },
  'claim.start': { share: Uint8Array.of(4, ...fill(64, 0x10)) },
  'claim.finish': {
    confirm: fill(32, 0x20),
    ownerKey: fill(32, 0x30),
    ownerName: 'Ana',
    pinSecret: fill(32, 0x50),
  },
};

export const EXAMPLE_RESULTS: { [C in CommandName]: ResultOf<C> } = {
  unlock: {},
  lock: {},
  unlock_with_timeout: {},
  status: {
    lockId: 'front-door',
    bolt: 'locked',
    door: 'closed',
    battery: 87,
    mode: 'Normal',
    time: 1751362200000,
    lockedOutRemainingMs: 0,
    wrongAttempts: 0,
    alarms: [],
  },
  'user.list': {
    users: [
      {
        index: 1,
        name: 'Ana',
        role: 'owner',
        userType: 'Unrestricted',
        enabled: true,
        validFrom: null,
        validUntil: null,
        permanent: true,
        methods: ['pin', 'card', 'fingerprint', 'app'],
        sites: ['front-door'],
        credentialRule: 'single',
        usesRemaining: null,
        mayShare: false,
        expiresAt: null,
      },
    ],
    next: null,
  },
  'user.add': { user: 3 },
  'user.modify': { user: 3 },
  'user.disable': {},
  'user.remove': {},
  'cred.add': { credential: 7, user: 3, type: 'pin' },
  'cred.remove': {},
  'schedule.add': { index: 1 },
  'schedule.remove': {},
  revoke: {},
  'audit.pull': {
    entries: [
      '{"action":"unlock","boot":5012,"credential":{"type":"ekey"},"hash":"' +
        'ab'.repeat(32) +
        '","kind":"LockOperation","prevHash":"' +
        'cd'.repeat(32) +
        '","result":"success","seq":120,"source":"remote","time":1751362200000,"userIndex":3}',
    ],
    next: 121,
    checkpoint: { seq: 120, hash: 'ab'.repeat(32), signature: 'ef'.repeat(64) },
  },
  'audit.ack': {},
  'time.sync': { time: 1751362200000 },
  'settings.get': {
    settings: {
      lockId: 'front-door',
      timeZone: 'Europe/Lisbon',
      autoRelockSeconds: 10,
      operatingMode: 'Normal',
    },
  },
  'settings.set': { settings: { lockId: 'front-door', autoRelockSeconds: 10, operatingMode: 'Normal' } },
  factory_reset: {},
  proof: { user: 3, role: 'guest' },
  'claim.start': { share: Uint8Array.of(4, ...fill(64, 0x60)), confirm: fill(32, 0x70) },
  'claim.finish': { lockId: 'front-door', lockKey: fill(32, 0x80), deviceKey: fill(32, 0x90), user: 1 },
};

/** Deterministic bytes (SHA-256 counter mode over a label): examples only, never for real keys. */
export class ExampleRandom implements Random {
  #n = 0;
  constructor(private readonly label: string) {}
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 32) {
      const block = createHash('sha256').update(`${this.label}/${this.#n++}`).digest();
      out.set(block.subarray(0, Math.min(32, n - at)), at);
    }
    return out;
  }
}

export interface TranscriptStep {
  title: string;
  direction: 'read' | 'phone->lock' | 'lock->phone';
  /** The reassembled message bytes. */
  bytes: Uint8Array;
  /** Plaintext inside (for sealed messages and handshake payloads). */
  inner?: Uint8Array;
}

/**
 * An IK unlock as a phone holding an eKey performs it in two GATT round trips: read status; send
 * hs.init whose payload carries the session proof and the unlock request; receive hs.resp whose
 * payload carries the answer. Then one more request in a sealed message.
 */
export function ikUnlockTranscript(): { steps: TranscriptStep[]; fragmentsAtMtu23: Uint8Array[] } {
  const random = new ExampleRandom('keyway-docs');
  const lockStatic = keyPairFromPrivate(random.bytes(32));
  const phoneStatic = keyPairFromPrivate(random.bytes(32));
  const holder = random.bytes(32);
  const ekey = fill(24, 0xd0);
  const status = encodeStatus({ v: PROTOCOL_VERSION, setup: false, ch: random.bytes(16) });
  const pro = prologue(status);
  const phone = new HandshakeState({
    pattern: 'IK',
    initiator: true,
    prologue: pro,
    s: phoneStatic,
    rs: lockStatic.publicKey,
    random,
  });
  const lock = new HandshakeState({ pattern: 'IK', initiator: false, prologue: pro, s: lockStatic, random });
  let payload1: Uint8Array = new Uint8Array(0);
  const m1 = phone.writeMessage((h) => {
    payload1 = encodeInitPayload({
      proof: { ekey, sig: signSessionProof(holder, h, ekey) },
      req: { id: 1, cmd: 'unlock', args: {} },
    });
    return payload1;
  });
  const init = encodeClear({
    t: 'hs.init',
    v: PROTOCOL_VERSION,
    p: 'IK',
    ch: status.subarray(status.length - 16),
    m: m1,
  });
  lock.readMessage(m1);
  const payload2 = encodeRespPayload({ res: { id: 1, ok: {} } }, 'unlock');
  const m2 = lock.writeMessage(payload2);
  const resp = encodeClear({ t: 'hs.resp', m: m2 });
  decodeRespPayload(phone.readMessage(m2), { id: 1, cmd: 'unlock' });
  const pc = SecureChannel.fromHandshake(phone);
  const lc = SecureChannel.fromHandshake(lock);
  const req2 = encodeRequest(2, 'status', {});
  const ct = pc.seal(req2);
  lc.open(ct);
  const res2 = encodeResponse('status', { id: 2, ok: EXAMPLE_RESULTS.status });
  const ct2 = lc.seal(res2);
  pc.open(ct2);
  return {
    steps: [
      { title: 'status (read)', direction: 'read', bytes: status },
      {
        title: 'hs.init (IK, with proof and unlock)',
        direction: 'phone->lock',
        bytes: init,
        inner: payload1,
      },
      { title: 'hs.resp (unlock ok)', direction: 'lock->phone', bytes: resp, inner: payload2 },
      { title: 'sealed request: status', direction: 'phone->lock', bytes: encodeSealed(ct), inner: req2 },
      { title: 'sealed response: status', direction: 'lock->phone', bytes: encodeSealed(ct2), inner: res2 },
    ],
    fragmentsAtMtu23: fragment(init, 23),
  };
}
