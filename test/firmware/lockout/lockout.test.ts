// Wrong-code lockout: one counter for every channel, persisted, escalating, audited.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, startLock, type Fixture } from '../../helpers/lockFixture.ts';

let f: Fixture | undefined;
afterEach(() => cleanup(f));

function world(settings = {}) {
  f = startLock({ settings: { wrongCodeLimit: 3, lockoutSeconds: [15, 60, 300], ...settings } });
  const owner = f.lock.createOwner({ name: 'Owner' }).index;
  const member = f.lock.addUser(owner, { role: 'member', permanent: true }).index;
  f.lock.addCredential(owner, member, { type: 'pin', pin: '7391' });
  f.lock.addCredential(owner, member, { type: 'card', uid: '04a1b2c3' });
  return { f, lock: f.lock, owner, member };
}

const wrong = (f: Fixture, n: number) => {
  for (let i = 0; i < n; i++) f.lock.enterPin(String(1000 + i * 7));
};

describe('lockout', () => {
  it('reaching the limit starts a lockout, raises WrongCodeEntryLimit, and refuses a valid PIN with locked_out', () => {
    const w = world();
    wrong(w.f, 3);
    const s = w.lock.status();
    expect(s).toMatchObject({ lockedOutRemainingMs: 15_000, wrongAttempts: 0 });
    expect(s.lockedOutUntil).toBe(w.f.clock.now()! + 15_000);
    expect(s.alarms).toContain('WrongCodeEntryLimit');
    expect(w.f.events).toContainEqual({ type: 'alarm', code: 'WrongCodeEntryLimit', silent: false });
    expect(w.lock.enterPin('7391')).toEqual({ granted: false, reason: 'locked_out' });
    expect(w.f.board.drives).toEqual([]);
    const entries = w.lock.audit.entries();
    const alarm = entries.find((e) => e.action === 'WrongCodeEntryLimit');
    expect(alarm).toMatchObject({
      kind: 'DoorLockAlarm',
      security: true,
      data: { lockoutSeconds: 15, level: 1 },
    });
    expect(entries.at(-1)).toMatchObject({
      kind: 'LockOperationError',
      reason: 'locked_out',
      userIndex: w.member,
      data: { validCredential: true },
      security: true,
    });
    w.f.clock.advance(15_000);
    expect(w.lock.enterPin('7391').granted).toBe(true);
  });

  it('tiers escalate while the attacker keeps guessing, and reset after a success', () => {
    const w = world();
    wrong(w.f, 3);
    expect(w.lock.status().lockedOutRemainingMs).toBe(15_000);
    w.f.clock.advance(15_000);
    wrong(w.f, 3);
    expect(w.lock.status().lockedOutRemainingMs).toBe(60_000);
    w.f.clock.advance(60_000);
    wrong(w.f, 3);
    expect(w.lock.status().lockedOutRemainingMs).toBe(300_000);
    w.f.clock.advance(300_000);
    wrong(w.f, 3);
    expect(w.lock.status().lockedOutRemainingMs).toBe(300_000); // the last tier repeats
    w.f.clock.advance(300_000);
    expect(w.lock.enterPin('7391').granted).toBe(true);
    wrong(w.f, 3);
    expect(w.lock.status().lockedOutRemainingMs).toBe(15_000);
  });

  it('guesses during a lockout are refused without checking and do not extend it', () => {
    const w = world();
    wrong(w.f, 3);
    wrong(w.f, 10);
    expect(w.lock.status().lockedOutRemainingMs).toBe(15_000);
    w.f.clock.advance(15_000);
    expect(w.lock.status()).toMatchObject({ lockedOutRemainingMs: 0, wrongAttempts: 0 });
  });

  it('one counter for every channel: keypad, card, remote PIN', () => {
    const w = world({ requirePinForRemote: true });
    w.lock.enterPin('1111');
    w.lock.presentCard('deadbeef');
    w.lock.remoteOperation(w.member, 'unlock', { pin: '0000' });
    expect(w.lock.status().lockedOutRemainingMs).toBe(15_000);
    expect(w.lock.presentCard('04a1b2c3')).toEqual({ granted: false, reason: 'locked_out' });
    expect(w.lock.remoteOperation(w.member, 'unlock', { pin: '7391' })).toEqual({
      granted: false,
      reason: 'locked_out',
    });
  });

  it('survives a restart: the counter and the running lockout persist', () => {
    const w = world();
    wrong(w.f, 2);
    w.f.reopen();
    expect(w.f.lock.status().wrongAttempts).toBe(2);
    wrong(w.f, 1);
    w.f.clock.advance(5_000);
    w.f.reopen();
    expect(w.f.lock.status().lockedOutRemainingMs).toBe(10_000);
    expect(w.f.lock.enterPin('7391')).toEqual({ granted: false, reason: 'locked_out' });
    w.f.clock.advance(10_000);
    expect(w.f.lock.enterPin('7391').granted).toBe(true);
  });

  it('a restart while the time is unknown restarts the lockout in full (fail safe)', () => {
    const w = world();
    wrong(w.f, 3);
    w.f.clock.advance(10_000);
    w.f.clock.forgetTime();
    w.f.reopen();
    expect(w.f.lock.status().lockedOutRemainingMs).toBe(15_000);
  });

  it('the escalation level survives a restart too', () => {
    const w = world();
    wrong(w.f, 3);
    w.f.clock.advance(15_000);
    w.f.reopen();
    wrong(w.f, 3);
    expect(w.f.lock.status().lockedOutRemainingMs).toBe(60_000);
  });

  it('a valid credential denied for another reason does not count and does not reset', () => {
    const w = world();
    const g = w.lock.addUser(w.owner, { role: 'guest', permanent: true, enabled: false }).index;
    w.lock.addCredential(w.owner, g, { type: 'pin', pin: '5820' });
    wrong(w.f, 2);
    expect(w.lock.enterPin('5820')).toMatchObject({ reason: 'disabled_user' });
    expect(w.lock.status().wrongAttempts).toBe(2);
  });
});
