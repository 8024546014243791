// The lock process's own pieces: log masking, the claim link, the terminal QR code, the presence window
// and keypad interception, the control socket.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LockInputs } from '../../sim/board/VirtualBoard.ts';
import { formatClaimLink, parseClaimLink } from '../../sim/product/ClaimLink.ts';
import { ControlServer, controlSocketPath, sendControl } from '../../sim/product/ControlSocket.ts';
import {
  createLogger,
  formatLogLine,
  MASK,
  maskFields,
  parseLogLevel,
  type LogLine,
} from '../../sim/product/Logger.ts';
import { PresenceWindow, presenceInputs } from '../../sim/product/Presence.ts';
import { loadOrCreateLabel, setupLabelPath } from '../../sim/product/SetupLabel.ts';
import { qrMatrix, readRenderedQr, renderQr } from '../../sim/product/TerminalQr.ts';
import { parseCommand } from '../../sim/terminal/commands.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';

describe('Logger', () => {
  it('filters by level and masks secrets by field name at any depth', () => {
    const lines: LogLine[] = [];
    const log = createLogger({ level: 'info', sink: (l) => lines.push(l), scope: 'lock', now: () => 0 });
    log.debug('hidden', { a: 1 });
    log.info('claim', {
      setupCode: '48213907',
      pin: '4071',
      nested: { ownerKey: new Uint8Array(32), pinSecret: 'x', user: 'Olivia' },
      token: 'abc',
      frame: new Uint8Array([1, 2, 3]),
      list: [{ proof: 'p' }],
    });
    log.child('ble').warn('link lost', { address: 'c0:00:00:00:00:02' });
    expect(lines.map(formatLogLine)).toEqual([
      `00:00:00.000 info  lock: claim setupCode=${MASK} pin=${MASK} nested={"ownerKey":"${MASK}","pinSecret":"${MASK}","user":"Olivia"} token=${MASK} frame="<3 bytes>" list=[{"proof":"${MASK}"}]`,
      '00:00:00.000 warn  lock.ble: link lost address=c0:00:00:00:00:02',
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/48213907|4071/);
    expect(log.enabled('debug')).toBe(false);
    expect(log.enabled('warn')).toBe(true);
  });

  it('keeps fields that only look alike and refuses unknown levels', () => {
    expect(maskFields({ keypad: 'accepted', user: 'x', codes: ['1'] })).toEqual({
      keypad: 'accepted',
      user: 'x',
      codes: MASK,
    });
    expect(parseLogLevel('debug')).toBe('debug');
    expect(() => parseLogLevel('verbose')).toThrow(
      'log level must be one of error, warn, info, debug, got "verbose"',
    );
  });
});

describe('claim link', () => {
  it('round-trips and holds nothing but the code, the lock id and the name', () => {
    const link = formatClaimLink({ code: '48213907', lockId: '9f3c2a1b7d4e5f60', name: 'front' });
    expect(link).toBe('keyway://claim?v=1&code=48213907&id=9f3c2a1b7d4e5f60&name=front');
    expect(parseClaimLink(link)).toEqual({ code: '48213907', lockId: '9f3c2a1b7d4e5f60', name: 'front' });
    expect(parseClaimLink('keyway://claim?v=1&code=00000001&later=x')).toEqual({ code: '00000001' });
  });

  it.each([
    ['https://claim?v=1&code=48213907', 'claim link: expected keyway://claim?...'],
    ['keyway://claim?v=2&code=48213907', 'claim link: unsupported version "2" (this keyway reads v=1)'],
    ['keyway://claim?v=1&code=4821390', 'claim link: "code" must be the 8-digit setup code'],
    ['keyway://claim?v=1&code=48213907&code=48213907', 'claim link: "code" appears more than once'],
    ['keyway://claim?v=1&code=48213907&name=..x', 'claim link: "name" is not a lock name'],
    ['not a url', 'claim link: not a URL'],
  ])('refuses %s', (text, message) => {
    expect(() => parseClaimLink(text)).toThrow(message);
  });
});

describe('terminal QR code', () => {
  it('draws exactly the modules of the encoded link, with a light quiet zone', () => {
    const link = 'keyway://claim?v=1&code=48213907&id=9f3c2a1b7d4e5f60&name=front';
    const matrix = qrMatrix(link);
    expect(matrix.length).toBe(37); // version 5 at level M for 65 bytes
    const text = renderQr(matrix);
    expect(readRenderedQr(text)).toEqual(matrix);
    const lines = text.split('\n');
    expect(lines[0]).toBe('█'.repeat(41)); // two rows of quiet zone
    expect(lines).toHaveLength(21);
    // Finder pattern corner: 7 dark modules in row 0 of the code.
    expect(matrix[0]?.slice(0, 7)).toEqual(Array(7).fill(true));
    expect(renderQr(matrix, { color: true }).split('\n')[0]).toBe(`\u001b[97;40m${'█'.repeat(41)}\u001b[0m`);
  });
});

/** A lock stand-in that records what reaches it. */
function recordingLock(setupMode: () => boolean): LockInputs & {
  status(): { setupMode: boolean };
  seen: string[];
} {
  const seen: string[] = [];
  return {
    seen,
    status: () => ({ setupMode: setupMode() }),
    pressKey: (k) => void seen.push(k),
    insideButton: () => seen.push('button'),
    doorChanged: (o) => void seen.push(`door ${o}`),
    tamperChanged: (a) => void seen.push(`tamper ${a}`),
    presentCard: (u) => seen.push(`card ${u}`),
    presentFingerprint: (t) => seen.push(`finger ${t}`),
  };
}

describe('presence', () => {
  it('opens a window for the setup code on the keypad, which never reaches the engine as a PIN', () => {
    let t = 0;
    const presence = new PresenceWindow({ windowMs: 60_000, now: () => t });
    let setup = true;
    const lock = recordingLock(() => setup);
    const inputs = presenceInputs(lock, presence, () => '48213907');
    for (const k of '48213907#') inputs.pressKey(k);
    expect(lock.seen.join('')).toBe('48213907*'); // cleared, not submitted
    expect(presence.active()).toBe(true);
    t = 59_999;
    expect(presence.remainingMs()).toBe(1);
    t = 60_000;
    expect(presence.active()).toBe(false);

    // A wrong code is submitted as a normal keypad entry (the engine counts it).
    lock.seen.length = 0;
    for (const k of '48213908#') inputs.pressKey(k);
    expect(lock.seen.join('')).toBe('48213908#');
    expect(presence.active()).toBe(false);
    // '*' starts over; a longer entry ending in the code does not match (no rolling match).
    lock.seen.length = 0;
    for (const k of '9948213907#') inputs.pressKey(k);
    expect(lock.seen.join('')).toBe('9948213907#');
    expect(presence.active()).toBe(false);
    for (const k of '99*48213907#') inputs.pressKey(k);
    expect(presence.active()).toBe(true);

    // Once claimed the keypad is the engine's alone, and the button no longer opens a window.
    presence.close();
    setup = false;
    lock.seen.length = 0;
    for (const k of '48213907#') inputs.pressKey(k);
    inputs.insideButton();
    expect(lock.seen.join(',')).toBe('4,8,2,1,3,9,0,7,#,button');
    expect(presence.active()).toBe(false);
  });

  it('opens on the inside button in setup mode and tells listeners why', () => {
    const presence = new PresenceWindow({ now: () => 0 });
    const why: string[] = [];
    presence.onOpen((r, ms) => why.push(`${r} ${ms}`));
    const lock = recordingLock(() => true);
    const inputs = presenceInputs(lock, presence, () => '48213907');
    inputs.insideButton();
    inputs.doorChanged(true);
    expect(lock.seen).toEqual(['button', 'door true']);
    expect(why).toEqual(['button 60000']);
  });
});

describe('setup label', () => {
  it('is made once (mode 0600), kept, and a different --setup-code is reported as ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-label-'));
    const random = new SeededRandom('label');
    const first = loadOrCreateLabel(dir, random);
    expect(first.created).toBe(true);
    expect(first.code).toMatch(/^[0-9]{8}$/);
    expect(statSync(setupLabelPath(dir)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateLabel(dir, random)).toEqual({ code: first.code, created: false });
    const other = first.code === '11112222' ? '33334444' : '11112222';
    expect(loadOrCreateLabel(dir, random, other)).toEqual({
      code: first.code,
      created: false,
      ignored: other,
    });
    const dir2 = mkdtempSync(join(tmpdir(), 'keyway-label-'));
    expect(loadOrCreateLabel(dir2, random, '4821-3907')).toEqual({ code: '48213907', created: true });
    expect(() => loadOrCreateLabel(dir2, random, '123')).toThrow('a setup code is 8 digits');
    writeFileSync(setupLabelPath(dir2), 'garbage');
    expect(() => loadOrCreateLabel(dir2, random)).toThrow('does not hold an 8-digit setup code');
  });
});

describe('line commands for scripts', () => {
  it('parses keypad and claim-press', () => {
    expect(parseCommand('keypad 4071#')).toEqual({ kind: 'keys', keys: '4071#' });
    expect(parseCommand('claim-press')).toEqual({ kind: 'claim-press' });
    expect(parseCommand('keypad 40a#')).toMatchObject({ error: expect.stringMatching(/^keypad needs keys/) });
    expect(parseCommand('claim-press now')).toMatchObject({
      error: expect.stringMatching(/^claim-press takes no argument/),
    });
  });
});

describe('control socket', () => {
  it('answers each request line in order, refuses malformed requests, and cleans up its socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-ctl-'));
    writeFileSync(controlSocketPath(dir), 'stale'); // left behind by a killed process
    const seen: string[] = [];
    const ctl = await ControlServer.listen(dir, (line) => {
      seen.push(line);
      if (line === 'boom') throw new Error('handler failed');
      return { ok: line !== 'bad', ...(line === 'bad' ? { error: 'unknown command' } : { echo: line }) };
    });
    expect(statSync(ctl.path).mode & 0o777).toBe(0o600);
    expect(await sendControl(dir, 'keypad 1#')).toEqual({ id: 1, ok: true, echo: 'keypad 1#' });
    expect(await sendControl(dir, 'bad')).toEqual({ id: 1, ok: false, error: 'unknown command' });
    expect(await sendControl(dir, 'boom')).toEqual({ id: 1, ok: false, error: 'handler failed' });

    const raw = await new Promise<string[]>((resolve) => {
      const s = net.createConnection(ctl.path);
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        const lines = buf.split('\n').filter(Boolean);
        if (lines.length === 4) {
          s.end();
          resolve(lines);
        }
      });
      s.write('not json\n{"id":7}\n{"id":8,"line":"a"}\n{"id":9,"line":"b"}\n');
    });
    expect(raw.map((l) => JSON.parse(l) as unknown)).toEqual([
      { id: null, ok: false, error: 'request is not JSON' },
      { id: null, ok: false, error: 'request must be {"id": ..., "line": "<command>"}' },
      { id: 8, ok: true, echo: 'a' },
      { id: 9, ok: true, echo: 'b' },
    ]);
    expect(seen).toEqual(['keypad 1#', 'bad', 'boom', 'a', 'b']);
    await ctl.close();
    await expect(sendControl(dir, 'status')).rejects.toThrow(
      `not_found: no lock is running with data directory ${dir} (no ctl.sock)`,
    );
  });

  it('refuses a socket path too long for a Unix socket', async () => {
    const dir = join(tmpdir(), 'x'.repeat(120));
    await expect(ControlServer.listen(dir, () => ({ ok: true }))).rejects.toThrow(
      'is too long for a Unix socket; use a shorter --data directory',
    );
  });
});
