// docs/protocol.md shows bytes produced by the code; this keeps the two from drifting apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  COMMAND_NAMES,
  diagnosticOf,
  encodeClear,
  encodeRequest,
  encodeResponse,
  encodeStatus,
  errResponse,
  okResponse,
} from '../../ble-gatt/index.ts';
import { EXAMPLE_ARGS, EXAMPLE_RESULTS, ikUnlockTranscript } from '../../ble-gatt/protocol/examples.ts';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function expectDocumented(b: Uint8Array): void {
  expect(doc).toContain(hex(b));
  expect(doc).toContain(diagnosticOf(b));
}

describe('docs/protocol.md examples', () => {
  it('shows the status, alert and error examples', () => {
    expectDocumented(encodeStatus({ v: 1, setup: true, ch: Uint8Array.from({ length: 16 }, (_, i) => i) }));
    expectDocumented(encodeClear({ t: 'alert', code: 'stale_challenge' }));
    expectDocumented(encodeResponse('unlock', errResponse(7, 'outside_schedule')));
  });

  it('shows every command request and response as the code encodes them', () => {
    COMMAND_NAMES.forEach((cmd, i) => {
      expect(doc).toContain(`#### \`${cmd}\``);
      expectDocumented(encodeRequest(i + 1, cmd, EXAMPLE_ARGS[cmd] as never));
      expectDocumented(encodeResponse(cmd, okResponse(i + 1, cmd, EXAMPLE_RESULTS[cmd] as never)));
    });
  });

  it('shows the worked IK transcript and its fragments', () => {
    const t = ikUnlockTranscript();
    for (const s of t.steps) {
      expectDocumented(s.bytes);
      if (s.inner !== undefined && s.inner.length > 0) expectDocumented(s.inner);
    }
    for (const f of t.fragmentsAtMtu23) expect(doc).toContain(hex(f));
    expect(doc).toContain(
      `The \`hs.init\` above (${t.steps[1]!.bytes.length} bytes) takes ${t.fragmentsAtMtu23.length} writes at MTU 23`,
    );
  });

  it('lists the UUIDs of ble-gatt/uuids.ts', async () => {
    const u = await import('../../ble-gatt/uuids.ts');
    for (const id of [u.SERVICE_UUID, u.STATUS_CHAR_UUID, u.RX_CHAR_UUID, u.TX_CHAR_UUID])
      expect(doc).toContain(id);
  });
});
