// Wire messages: exact bytes, strict decoding with precise errors, log forms without secrets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCanonical } from '../../firmware/codec/StrictCbor.ts';
import { isBleError, type BleErrorReason } from '../../ble-gatt/errors.ts';
import {
  COMMAND_NAMES,
  ERROR_CODES,
  claimParamsCodec,
  decodeIncoming,
  decodeInitPayload,
  decodeRequest,
  decodeRespPayload,
  decodeResponse,
  decodeStatus,
  diagnosticOf,
  encodeClear,
  encodeInitPayload,
  encodeRequest,
  encodeRespPayload,
  encodeResponse,
  encodeSealed,
  encodeStatus,
  errResponse,
  okResponse,
  prologue,
  requestIdOf,
  requestLog,
  responseLog,
  type CommandName,
  type Request,
} from '../../ble-gatt/protocol/index.ts';
import { EXAMPLE_ARGS, EXAMPLE_RESULTS, ikUnlockTranscript } from '../../ble-gatt/protocol/examples.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s|#.*$/gm, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const cbor = (v: unknown): Uint8Array => encodeCanonical(v);

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isBleError(err)) return `${err.reason} ${err.message}`;
    throw err;
  }
  return 'no error';
}
function expectReason(fn: () => unknown, reason: BleErrorReason, detail?: string): void {
  const got = reasonOf(fn);
  expect(got.split(' ')[0]).toBe(reason);
  if (detail !== undefined) expect(got).toContain(detail);
}

describe('status characteristic', () => {
  const ch = Uint8Array.from({ length: 16 }, (_, i) => i);
  it('encodes byte for byte with deterministic key order', () => {
    expect(toHex(encodeStatus({ v: 1, setup: true, ch }))).toBe(
      toHex(
        hex(`
          a3                                    # map(3)
          61 76  01                             # "v": 1
          62 6368  50 000102030405060708090a0b0c0d0e0f  # "ch": h'00..0f'
          65 7365747570  f5                     # "setup": true
        `),
      ),
    );
  });

  it('refuses other versions, extra fields, wrong challenge length, non-canonical order', () => {
    expectReason(() => decodeStatus(cbor({ v: 2, setup: true, ch })), 'wire.unsupported_version');
    expectReason(
      () => decodeStatus(cbor({ v: 1, setup: true, ch, lockId: 'x' })),
      'wire.unknown_field',
      'lockId',
    );
    expectReason(
      () => decodeStatus(cbor({ v: 1, setup: true, ch: ch.subarray(1) })),
      'wire.out_of_range',
      'status.ch',
    );
    expectReason(
      () => decodeStatus(cbor({ v: 1, setup: 1, ch })),
      'wire.bad_type',
      'status.setup: expected bool',
    );
    // Same map with "setup" before "ch": not the deterministic encoding.
    expectReason(
      () => decodeStatus(hex('a3 6176 01 657365747570 f5 626368 50 000102030405060708090a0b0c0d0e0f')),
      'wire.bad_cbor',
      'unsorted_keys',
    );
    expectReason(
      () => decodeStatus(hex('a3 6176 01 6176 01 657365747570 f5')),
      'wire.bad_cbor',
      'duplicate_key',
    );
  });

  it('puts the exact status bytes in the prologue after a label', () => {
    const s = encodeStatus({ v: 1, setup: false, ch });
    expect(toHex(prologue(s))).toBe(toHex(new TextEncoder().encode('keyway-ble/1')) + toHex(s));
  });
});

describe('clear messages', () => {
  const ch = new Uint8Array(16).fill(0xcc);
  const m = new Uint8Array(96).fill(0xee);

  it('encode and classify hs.init, hs.resp, hs.fin, alert and sealed messages', () => {
    const init = encodeClear({ t: 'hs.init', v: 1, p: 'IK', ch, m });
    expect(toHex(init.subarray(0, 3))).toBe('a5616d'); // map(5), "m" first (shortest key)
    expect(decodeIncoming(init)).toEqual({ kind: 'clear', message: { t: 'hs.init', v: 1, p: 'IK', ch, m } });
    expect(decodeIncoming(encodeClear({ t: 'hs.resp', m: m.subarray(0, 48) }))).toMatchObject({
      kind: 'clear',
      message: { t: 'hs.resp' },
    });
    expect(decodeIncoming(encodeClear({ t: 'hs.fin', m: m.subarray(0, 64) }))).toMatchObject({
      kind: 'clear',
      message: { t: 'hs.fin' },
    });
    expect(toHex(encodeClear({ t: 'alert', code: 'stale_challenge' }))).toBe(
      toHex(cbor({ t: 'alert', code: 'stale_challenge' })),
    );
    const sealed = encodeSealed(new Uint8Array(20).fill(1));
    expect(toHex(sealed.subarray(0, 1))).toBe('54'); // bytes(20)
    expect(decodeIncoming(sealed)).toEqual({ kind: 'sealed', ciphertext: new Uint8Array(20).fill(1) });
  });

  it('refuses unknown kinds, downgrades, plaintext requests and malformed messages', () => {
    expectReason(
      () => decodeIncoming(cbor({ t: 'hs.init', v: 0, p: 'IK', ch, m })),
      'wire.out_of_range',
      'v: 0',
    );
    expectReason(
      () => decodeIncoming(cbor({ t: 'hs.init', v: 2, p: 'IK', ch, m })),
      'wire.unsupported_version',
    );
    expectReason(
      () => decodeIncoming(cbor({ t: 'hs.init', v: 1, p: 'NN', ch, m })),
      'wire.out_of_range',
      'p:',
    );
    expectReason(
      () => decodeIncoming(cbor({ t: 'hs.init', v: 1, p: 'IK', ch, m, enc: false })),
      'wire.unknown_field',
      'enc',
    );
    expectReason(
      () => decodeIncoming(cbor({ t: 'req', id: 1, cmd: 'unlock' })),
      'wire.out_of_range',
      'unknown kind "req"',
    );
    // A plaintext request (no "t") is not a clear message.
    expectReason(() => decodeIncoming(encodeRequest(1, 'unlock', {})), 'wire.bad_type', 't: expected text');
    expectReason(() => decodeIncoming(cbor([1, 2])), 'wire.unknown_message');
    expectReason(() => decodeIncoming(encodeSealed(new Uint8Array(15))), 'wire.out_of_range');
    expectReason(() => decodeIncoming(hex('a1')), 'wire.bad_cbor', 'truncated');
    expectReason(() => decodeIncoming(new Uint8Array(4097)), 'wire.too_large');
    expectReason(() => decodeIncoming(cbor({ t: 'alert', code: 'whatever' })), 'wire.out_of_range', 'code');
  });

  it('never throws anything but a coded wire error on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const fn of [
          () => decodeIncoming(b),
          () => decodeRequest(b),
          () => decodeStatus(b),
          () => decodeInitPayload(b),
        ]) {
          try {
            fn();
          } catch (err) {
            expect(isBleError(err)).toBe(true);
            expect(
              (err as { reason: string }).reason.startsWith('wire.') ||
                (err as { reason: string }).reason.startsWith('pake.'),
            ).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects mutated valid messages with coded errors only (property)', () => {
    const base = encodeRequest(9, 'user.add', EXAMPLE_ARGS['user.add']);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: base.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (at, byte) => {
          const b = Uint8Array.from(base);
          b[at] = byte;
          try {
            decodeRequest(b);
          } catch (err) {
            expect(isBleError(err)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('requests', () => {
  it('encode unlock byte for byte', () => {
    expect(toHex(encodeRequest(1, 'unlock', {}))).toBe(
      toHex(
        hex(`
          a3                    # map(3)
          62 6964  01           # "id": 1
          63 636d64  66 756e6c6f636b  # "cmd": "unlock"
          64 61726773  a0       # "args": {}
        `),
      ),
    );
  });

  it('covers every command with an example that round-trips, and nothing else', () => {
    expect(Object.keys(EXAMPLE_ARGS).sort()).toEqual([...COMMAND_NAMES].sort());
    expect(COMMAND_NAMES).toHaveLength(23);
    COMMAND_NAMES.forEach((cmd, i) => {
      const bytes = encodeRequest(i, cmd, EXAMPLE_ARGS[cmd] as never);
      expect(decodeRequest(bytes)).toEqual({ id: i, cmd, args: EXAMPLE_ARGS[cmd] });
    });
  });

  it('lets argument-less commands omit args, but not the others', () => {
    expect(decodeRequest(cbor({ id: 5, cmd: 'status' }))).toEqual({ id: 5, cmd: 'status', args: {} });
    expectReason(
      () => decodeRequest(cbor({ id: 5, cmd: 'unlock_with_timeout' })),
      'wire.missing_field',
      'args.seconds',
    );
  });

  const bad: [string, unknown, BleErrorReason, string][] = [
    ['an unknown command', { id: 1, cmd: 'open_sesame', args: {} }, 'wire.unknown_command', 'open_sesame'],
    ['a non-text command', { id: 1, cmd: 7, args: {} }, 'wire.bad_type', 'cmd'],
    ['no id', { cmd: 'unlock', args: {} }, 'wire.missing_field', 'id'],
    ['a negative id', { id: -1, cmd: 'unlock', args: {} }, 'wire.out_of_range', 'id: -1'],
    ['an id over 2^32-1', { id: 2 ** 32, cmd: 'unlock', args: {} }, 'wire.out_of_range', 'id'],
    [
      'an extra envelope field',
      { id: 1, cmd: 'unlock', args: {}, sig: new Uint8Array(2) },
      'wire.unknown_field',
      'sig',
    ],
    ['an extra args field', { id: 1, cmd: 'unlock', args: { force: true } }, 'wire.unknown_field', 'args'],
    ['args of the wrong type', { id: 1, cmd: 'unlock', args: [] }, 'wire.bad_type', 'args: expected map'],
    [
      'a string where a number goes',
      { id: 1, cmd: 'unlock_with_timeout', args: { seconds: '30' } },
      'wire.bad_type',
      'args.seconds',
    ],
    [
      'a timeout over a day',
      { id: 1, cmd: 'unlock_with_timeout', args: { seconds: 86401 } },
      'wire.out_of_range',
      'args.seconds',
    ],
    ['a PIN with letters', { id: 1, cmd: 'unlock', args: { pin: '12a4' } }, 'wire.out_of_range', 'args.pin'],
    [
      'a name over 32 characters',
      { id: 1, cmd: 'user.add', args: { role: 'guest', name: 'x'.repeat(33) } },
      'wire.out_of_range',
      'args.name',
    ],
    [
      'a name with control characters',
      { id: 1, cmd: 'user.add', args: { role: 'guest', name: 'a\u0000b' } },
      'wire.out_of_range',
      'args.name',
    ],
    [
      'a name with a bidi override',
      { id: 1, cmd: 'user.add', args: { role: 'guest', name: 'a\u202eb' } },
      'wire.out_of_range',
      'args.name',
    ],
    ['an unknown role', { id: 1, cmd: 'user.add', args: { role: 'root' } }, 'wire.out_of_range', 'args.role'],
    ['user index 0', { id: 1, cmd: 'user.remove', args: { user: 0 } }, 'wire.out_of_range', 'args.user'],
    [
      'a bad schedule time',
      {
        id: 1,
        cmd: 'schedule.add',
        args: { user: 1, schedule: { kind: 'weekly', days: ['mon'], start: '24:00', end: '12:00' } },
      },
      'wire.out_of_range',
      'args.schedule.start',
    ],
    [
      'an unknown schedule kind',
      { id: 1, cmd: 'schedule.add', args: { user: 1, schedule: { kind: 'monthly' } } },
      'wire.out_of_range',
      'args.schedule.kind',
    ],
    [
      'a user schedule without user',
      {
        id: 1,
        cmd: 'schedule.add',
        args: { schedule: { kind: 'yearday', from: '2025-01-01T00:00', until: '2025-02-01T00:00' } },
      },
      'wire.out_of_range',
      'args.user: required',
    ],
    [
      'a holiday with a user',
      {
        id: 1,
        cmd: 'schedule.add',
        args: {
          user: 1,
          schedule: {
            kind: 'holiday',
            from: '2025-01-01T00:00',
            until: '2025-02-01T00:00',
            mode: 'Vacation',
          },
        },
      },
      'wire.out_of_range',
      'not allowed for a holiday',
    ],
    [
      'a short proof signature',
      { id: 1, cmd: 'proof', args: { ekey: new Uint8Array(10), sig: new Uint8Array(63) } },
      'wire.out_of_range',
      'args.sig',
    ],
    [
      'an oversize eKey',
      { id: 1, cmd: 'proof', args: { ekey: new Uint8Array(3073), sig: new Uint8Array(64) } },
      'wire.out_of_range',
      'args.ekey',
    ],
    [
      'a wrong factory-reset confirmation',
      { id: 1, cmd: 'factory_reset', args: { confirm: 'yes' } },
      'wire.out_of_range',
      'args.confirm',
    ],
    [
      'an unknown setting',
      { id: 1, cmd: 'settings.set', args: { changes: { lockId: 'other' } } },
      'wire.unknown_field',
      'lockId',
    ],
    ['a float', { id: 1.5, cmd: 'unlock', args: {} }, 'wire.bad_cbor', 'forbidden_float'],
  ];
  for (const [name, value, reason, detail] of bad) {
    it(`refuses ${name} with ${reason}`, () => {
      const bytes =
        name === 'a float' ? hex('a3 6269 64 f93e00 63636d64 66756e6c6f636b 6461726773 a0') : cbor(value);
      expectReason(() => decodeRequest(bytes), reason, detail);
    });
  }

  it('refuses oversize messages before decoding', () => {
    expectReason(() => decodeRequest(new Uint8Array(5000)), 'wire.too_large');
  });

  it('recovers the id of a request it cannot decode (to answer bad_request)', () => {
    expect(requestIdOf(cbor({ id: 42, cmd: 'open_sesame' }))).toBe(42);
    expect(requestIdOf(hex('ff'))).toBeNull();
  });

  it('masks PINs and the offline-PIN secret in logs', () => {
    const r = decodeRequest(encodeRequest(3, 'cred.add', { type: 'pin', user: 3, pin: '470213' }));
    const log = JSON.stringify(requestLog(r));
    expect(log).not.toContain('470213');
    expect(log).toContain('«secret»');
    const claim = decodeRequest(encodeRequest(4, 'claim.finish', EXAMPLE_ARGS['claim.finish']));
    const claimLog = JSON.stringify(requestLog(claim));
    expect(claimLog).not.toContain(toHex(EXAMPLE_ARGS['claim.finish'].pinSecret));
    expect(claimLog).toContain('"pinSecret":"«secret»"');
    const unlock = JSON.stringify(requestLog({ id: 1, cmd: 'unlock', args: { pin: '9876' } }));
    expect(unlock).not.toContain('9876');
  });
});

describe('responses', () => {
  const pending = (cmd: CommandName) => (id: number) => (id === 7 ? cmd : undefined);

  it('round-trip every command result', () => {
    for (const cmd of COMMAND_NAMES) {
      const bytes = encodeResponse(cmd, okResponse(7, cmd, EXAMPLE_RESULTS[cmd] as never));
      expect(decodeResponse(bytes, pending(cmd))).toEqual({ id: 7, ok: EXAMPLE_RESULTS[cmd] });
    }
  });

  it('encode an error byte for byte', () => {
    expect(toHex(encodeResponse('unlock', errResponse(7, 'outside_schedule')))).toBe(
      toHex(
        hex(`
          a2                     # map(2)
          62 6964 07             # "id": 7
          63 657272              # "err":
            a1 64 636f6465       #   {"code":
            70 6f7574736964655f7363686564756c65  # "outside_schedule"}
        `),
      ),
    );
  });

  it('streams audit.pull chunks with more: true and refuses more on other commands', () => {
    const chunk = okResponse(7, 'audit.pull', EXAMPLE_RESULTS['audit.pull'], true);
    expect(decodeResponse(encodeResponse('audit.pull', chunk), pending('audit.pull'))).toMatchObject({
      more: true,
    });
    expectReason(
      () => decodeResponse(cbor({ id: 7, ok: {}, more: true }), pending('unlock')),
      'wire.out_of_range',
      'not streamed',
    );
    expectReason(
      () => decodeResponse(cbor({ id: 7, err: { code: 'busy' }, more: true }), pending('unlock')),
      'wire.out_of_range',
    );
    expectReason(
      () => decodeResponse(cbor({ id: 7, ok: {}, more: false }), pending('unlock')),
      'wire.out_of_range',
    );
  });

  it('refuses both/neither of ok and err, unknown codes, unknown ids and bad results', () => {
    expectReason(
      () => decodeResponse(cbor({ id: 7, ok: {}, err: { code: 'busy' } }), pending('unlock')),
      'wire.missing_field',
    );
    expectReason(() => decodeResponse(cbor({ id: 7 }), pending('unlock')), 'wire.missing_field');
    expectReason(
      () => decodeResponse(cbor({ id: 7, err: { code: 'nope' } }), pending('unlock')),
      'wire.out_of_range',
      'err.code',
    );
    expectReason(
      () => decodeResponse(cbor({ id: 8, ok: {} }), pending('unlock')),
      'wire.out_of_range',
      'no pending request 8',
    );
    expectReason(
      () => decodeResponse(cbor({ id: 7, ok: { user: 0 } }), pending('user.add')),
      'wire.out_of_range',
      'ok.user',
    );
    expectReason(
      () => decodeResponse(cbor({ id: 7, ok: {}, x: 1 }), pending('unlock')),
      'wire.unknown_field',
    );
  });

  it('has a closed error-code list that includes every denial reason', () => {
    for (const c of [
      'invalid_credential',
      'outside_schedule',
      'revoked',
      'not_authorized',
      'proof_required',
      'claim_failed',
      'bad_request',
      'pin_required',
      'clock_rollback',
    ])
      expect(ERROR_CODES).toContain(c);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('masks the claim result of nothing and keeps error messages short', () => {
    const r = errResponse(1, 'bad_request', 'x'.repeat(500));
    expect('err' in r && r.err.message).toHaveLength(200);
    expect(JSON.stringify(responseLog('unlock', r))).toContain('bad_request');
  });
});

describe('handshake payloads', () => {
  const early: Request = { id: 1, cmd: 'unlock', args: {} };

  it('encodes an empty payload as zero bytes', () => {
    expect(encodeInitPayload({})).toHaveLength(0);
    expect(decodeInitPayload(new Uint8Array(0))).toEqual({});
    expect(encodeRespPayload({})).toHaveLength(0);
  });

  it('carries a proof and an early request one way, the early response and claim params the other', () => {
    const proof = { ekey: new Uint8Array(30).fill(1), sig: new Uint8Array(64).fill(2) };
    expect(decodeInitPayload(encodeInitPayload({ proof, req: early }))).toEqual({ proof, req: early });
    const params = { salt: new Uint8Array(16).fill(3), N: 1 << 15, r: 8, p: 1 };
    const res = okResponse(1, 'unlock', {});
    const b = encodeRespPayload({ res, claim: params }, 'unlock');
    expect(decodeRespPayload(b, { id: 1, cmd: 'unlock' })).toEqual({ res, claim: params });
    expectReason(
      () => decodeRespPayload(b, { id: 2, cmd: 'unlock' }),
      'wire.out_of_range',
      'no pending request 1',
    );
    expectReason(() => decodeRespPayload(b), 'wire.out_of_range');
  });

  it('refuses unknown payload fields and bad scrypt parameters', () => {
    expectReason(() => decodeInitPayload(cbor({ plain: true })), 'wire.unknown_field', 'plain');
    expectReason(
      () => decodeRespPayload(cbor({ claim: { salt: new Uint8Array(16), N: 3000, r: 8, p: 1 } })),
      'pake.bad_params',
    );
    expectReason(
      () => claimParamsCodec.decode(new Map([['salt', new Uint8Array(8)]]), 'claim'),
      'wire.out_of_range',
      'claim.salt',
    );
  });
});

describe('documented transcript', () => {
  it('is deterministic and decodes step by step', () => {
    const a = ikUnlockTranscript();
    const b = ikUnlockTranscript();
    expect(a.steps.map((s) => toHex(s.bytes))).toEqual(b.steps.map((s) => toHex(s.bytes)));
    expect(diagnosticOf(a.steps[0]!.bytes)).toMatch(/^\{"v": 1, "ch": h'[0-9a-f]{32}', "setup": false\}$/);
    expect(decodeIncoming(a.steps[1]!.bytes)).toMatchObject({
      kind: 'clear',
      message: { t: 'hs.init', p: 'IK' },
    });
    expect(decodeIncoming(a.steps[3]!.bytes).kind).toBe('sealed');
    expect(a.fragmentsAtMtu23.length).toBeGreaterThan(1);
  });
});

describe('UUIDs', () => {
  it('are four distinct fixed 128-bit UUIDs in one family, and convert for bleno/noble', async () => {
    const u = await import('../../ble-gatt/uuids.ts');
    const all = [u.SERVICE_UUID, u.STATUS_CHAR_UUID, u.RX_CHAR_UUID, u.TX_CHAR_UUID];
    for (const id of all) expect(id).toMatch(/^8e2a000[1-4]-4f7c-4b8e-9d3a-6b1c52e0a7f4$/);
    expect(new Set(all).size).toBe(4);
    expect(u.uuidNoDashes(u.SERVICE_UUID)).toBe('8e2a00014f7c4b8e9d3a6b1c52e0a7f4');
  });
});
