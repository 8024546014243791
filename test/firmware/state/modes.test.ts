// Operating modes enforced on every path: keypad, card, fingerprint, remote, outside lock key, inside
// button, auto-relock; and holidays switching the mode.
import { afterEach, describe, expect, it } from 'vitest';
import type { OperatingMode } from '../../../firmware/types.ts';
import { cleanup, startLock, type Fixture } from '../../helpers/lockFixture.ts';

let f: Fixture | undefined;
afterEach(() => cleanup(f));

function world(mode: OperatingMode) {
  f = startLock();
  const lock = f.lock;
  const owner = lock.createOwner({ name: 'Owner' }).index;
  const admin = lock.addUser(owner, { role: 'admin', permanent: true }).index;
  const member = lock.addUser(owner, { role: 'member', permanent: true }).index;
  lock.addCredential(owner, owner, { type: 'pin', pin: '1357' });
  lock.addCredential(owner, admin, { type: 'pin', pin: '2468' });
  lock.addCredential(owner, member, { type: 'pin', pin: '7391' });
  lock.addCredential(owner, member, { type: 'card', uid: '04a1b2c3' });
  lock.addCredential(owner, member, { type: 'fingerprint', templateId: 9 });
  lock.updateSettings(owner, { operatingMode: mode });
  f.clock.advance(1_000);
  return { f, lock, owner, admin, member };
}

type Path =
  'pin' | 'ownerPin' | 'adminPin' | 'card' | 'finger' | 'remoteUnlock' | 'remoteLock' | 'lockKey' | 'button';

function attempt(w: ReturnType<typeof world>, path: Path): string {
  const r = (() => {
    switch (path) {
      case 'pin':
        return w.lock.enterPin('7391');
      case 'ownerPin':
        return w.lock.enterPin('1357');
      case 'adminPin':
        return w.lock.enterPin('2468');
      case 'card':
        return w.lock.presentCard('04a1b2c3');
      case 'finger':
        return w.lock.presentFingerprint(9);
      case 'remoteUnlock':
        return w.lock.remoteOperation(w.member, 'unlock');
      case 'remoteLock':
        return w.lock.remoteOperation(w.member, 'lock');
      case 'lockKey':
        return w.lock.lockNow('keypad');
      case 'button':
        return w.lock.insideButton();
    }
  })();
  w.f.clock.advance(600);
  return r.granted ? 'granted' : r.reason;
}

describe('modes on every path', () => {
  it('Normal: everything works', () => {
    const w = world('Normal');
    for (const p of [
      'pin',
      'ownerPin',
      'adminPin',
      'card',
      'finger',
      'remoteUnlock',
      'remoteLock',
      'lockKey',
    ] as const) {
      expect([p, attempt(w, p)]).toEqual([p, 'granted']);
    }
  });

  it('Privacy: no external credential at all (remote included); the inside button still works', () => {
    const w = world('Privacy');
    for (const p of ['pin', 'ownerPin', 'card', 'finger', 'remoteUnlock', 'remoteLock'] as const) {
      expect([p, attempt(w, p)]).toEqual([p, 'mode_restricted']);
    }
    expect(w.f.board.drives).toEqual([]);
    expect(attempt(w, 'button')).toBe('granted');
    expect(w.lock.status().bolt).toBe('unlocked');
  });

  it('Vacation: keypad PINs only for owner and admin; cards, fingers and remote work', () => {
    const w = world('Vacation');
    expect(attempt(w, 'pin')).toBe('mode_restricted');
    expect(attempt(w, 'ownerPin')).toBe('granted');
    expect(attempt(w, 'adminPin')).toBe('granted');
    expect(attempt(w, 'card')).toBe('granted');
    expect(attempt(w, 'finger')).toBe('granted');
    expect(attempt(w, 'remoteUnlock')).toBe('granted');
  });

  it('NoRemoteLockUnlock: remote refused both ways; local paths work', () => {
    const w = world('NoRemoteLockUnlock');
    expect(attempt(w, 'remoteUnlock')).toBe('mode_restricted');
    expect(attempt(w, 'remoteLock')).toBe('mode_restricted');
    expect(attempt(w, 'pin')).toBe('granted');
    expect(attempt(w, 'lockKey')).toBe('granted');
  });

  it('Passage: entering it unlocks; it stays unlocked (no auto-relock, outside locking refused)', () => {
    const w = world('Passage');
    expect(w.lock.status().bolt).toBe('unlocked');
    w.f.clock.advance(3_600_000);
    expect(w.lock.status().bolt).toBe('unlocked');
    expect(attempt(w, 'lockKey')).toBe('mode_restricted');
    expect(attempt(w, 'remoteLock')).toBe('mode_restricted');
    expect(attempt(w, 'pin')).toBe('granted');
    w.lock.updateSettings(w.owner, { operatingMode: 'Normal' });
    w.f.clock.advance(30_000);
    expect(w.lock.status().bolt).toBe('locking'); // leaving Passage re-arms the auto-relock
  });

  it('every mode refusal is audited with reason mode_restricted', () => {
    const w = world('Privacy');
    attempt(w, 'pin');
    attempt(w, 'remoteUnlock');
    const refusals = w.lock.audit.entries().filter((e) => e.reason === 'mode_restricted');
    expect(refusals.map((e) => [e.source, e.userIndex])).toEqual([
      ['keypad', w.member],
      ['remote', w.member],
    ]);
  });
});

describe('holidays', () => {
  it('a holiday window switches the effective mode while it lasts', () => {
    const w = world('Normal'); // T0 = 2025-01-06 12:00 UTC
    const h = w.lock.addHoliday(w.owner, {
      kind: 'holiday',
      from: '2025-01-06T13:00',
      until: '2025-01-06T14:00',
      mode: 'Vacation',
    });
    expect(w.lock.status().mode).toBe('Normal');
    expect(attempt(w, 'pin')).toBe('granted');
    w.f.clock.advance(3_600_000);
    expect(w.lock.status().mode).toBe('Vacation');
    expect(attempt(w, 'pin')).toBe('mode_restricted');
    expect(w.lock.listHolidays()).toEqual([
      {
        index: h,
        holiday: { kind: 'holiday', from: '2025-01-06T13:00', until: '2025-01-06T14:00', mode: 'Vacation' },
      },
    ]);
    w.f.reopen();
    expect(w.f.lock.status().mode).toBe('Vacation'); // persisted
    w.f.lock.removeHoliday(w.owner, h);
    expect(w.f.lock.status().mode).toBe('Normal');
  });

  it('a Passage holiday holds the auto-relock', () => {
    const w = world('Normal');
    w.lock.addHoliday(w.owner, {
      kind: 'holiday',
      from: '2025-01-06T00:00',
      until: '2025-01-07T00:00',
      mode: 'Passage',
    });
    expect(attempt(w, 'pin')).toBe('granted');
    w.f.clock.advance(120_000);
    expect(w.lock.status().bolt).toBe('unlocked');
  });

  it('invalid holidays are refused with invalid_schedule', () => {
    const w = world('Normal');
    expect(() =>
      w.lock.addHoliday(w.owner, {
        kind: 'holiday',
        from: '2025-01-07T00:00',
        until: '2025-01-06T00:00',
        mode: 'Vacation',
      }),
    ).toThrow(/invalid_schedule/);
    expect(() => w.lock.addHoliday(w.owner, { kind: 'weekly' } as never)).toThrow(/invalid_schedule/);
    expect(w.lock.listHolidays()).toEqual([]);
  });
});
