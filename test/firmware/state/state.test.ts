// The bolt and door state machine over the fake board: travel time, auto-relock, door, jam, battery, tamper.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, startLock, type Fixture } from '../../helpers/lockFixture.ts';

let f: Fixture | undefined;
afterEach(() => cleanup(f));

function world(settings = {}) {
  f = startLock({ settings });
  const owner = f.lock.createOwner({ name: 'Owner' }).index;
  f.lock.addCredential(owner, owner, { type: 'pin', pin: '7391' });
  return { f, lock: f.lock, owner };
}

const boltEvents = (f: Fixture) => f.events.flatMap((e) => (e.type === 'bolt' ? [e.state] : []));
const alarms = (f: Fixture) => f.events.flatMap((e) => (e.type === 'alarm' ? [e.code] : []));
const actions = (f: Fixture) =>
  f.lock.audit.entries().map((e) => `${e.kind}:${e.action}${e.source ? '@' + e.source : ''}`);

describe('bolt and auto-relock', () => {
  it('unlock takes travel time, then relocks after autoRelockSeconds (default 30)', () => {
    const w = world();
    expect(w.lock.enterPin('7391').granted).toBe(true);
    expect(w.lock.status().bolt).toBe('unlocking');
    w.f.clock.advance(500);
    expect(w.lock.status().bolt).toBe('unlocked');
    w.f.clock.advance(29_999);
    expect(w.lock.status().bolt).toBe('unlocked');
    w.f.clock.advance(1);
    expect(w.lock.status().bolt).toBe('locking');
    w.f.clock.advance(500);
    expect(w.lock.status().bolt).toBe('locked');
    expect(boltEvents(w.f)).toEqual(['unlocking', 'unlocked', 'locking', 'locked']);
    expect(actions(w.f).slice(-2)).toEqual(['LockOperation:unlock@keypad', 'LockOperation:lock@auto']);
  });

  it('the audit entry is committed before the motor starts', () => {
    const w = world();
    let lastAction: string | undefined;
    const drive = w.f.board.driveBolt.bind(w.f.board);
    w.f.board.driveBolt = (t, done) => {
      lastAction = w.lock.audit.entries().at(-1)?.action;
      drive(t, done);
    };
    w.lock.enterPin('7391');
    expect(lastAction).toBe('unlock');
  });

  it('does not relock while the door is open; relocks when it closes', () => {
    const w = world();
    w.lock.enterPin('7391');
    w.f.clock.advance(500);
    w.lock.doorChanged(true);
    w.f.clock.advance(45_000);
    expect(w.lock.status().bolt).toBe('unlocked');
    w.lock.doorChanged(false);
    expect(w.lock.status().bolt).toBe('locking');
    w.f.clock.advance(500);
    expect(w.lock.status().bolt).toBe('locked');
  });

  it('unlock_with_timeout overrides the auto-relock time (even when auto-relock is off)', () => {
    const w = world({ autoRelockSeconds: 0 });
    expect(w.lock.remoteOperation(w.owner, 'unlock_with_timeout', { timeoutSeconds: 5 }).granted).toBe(true);
    w.f.clock.advance(5_499);
    expect(w.lock.status().bolt).toBe('unlocked');
    w.f.clock.advance(1);
    expect(w.lock.status().bolt).toBe('locking');
    w.lock.remoteOperation(w.owner, 'unlock');
    w.f.clock.advance(600_000);
    expect(w.lock.status().bolt).toBe('unlocked'); // auto-relock off
    expect(w.lock.audit.entries().find((e) => e.data?.timeoutSeconds === 5)?.action).toBe('unlock');
  });

  it('a power glitch (restart) while unlocked still relocks', () => {
    const w = world();
    w.lock.enterPin('7391');
    w.f.clock.advance(1_000);
    w.f.reopen();
    expect(w.f.lock.status().bolt).toBe('unlocked');
    w.f.clock.advance(30_000);
    expect(w.f.lock.status().bolt).toBe('locking');
  });

  it('a jam raises LockJammed (audited, in status) until a later move succeeds', () => {
    const w = world();
    w.f.board.jam = true;
    w.lock.enterPin('7391');
    w.f.clock.advance(500);
    expect(w.lock.status().bolt).toBe('jammed');
    expect(w.lock.status().alarms).toContain('LockJammed');
    expect(alarms(w.f)).toEqual(['LockJammed']);
    expect(w.lock.audit.entries().at(-1)).toMatchObject({
      kind: 'DoorLockAlarm',
      action: 'LockJammed',
      security: true,
    });
    w.f.board.jam = false;
    w.lock.enterPin('7391');
    w.f.clock.advance(500);
    expect(w.lock.status()).toMatchObject({ bolt: 'unlocked', alarms: [] });
  });

  it('a lock command during travel runs after it', () => {
    const w = world();
    w.lock.enterPin('7391');
    w.f.clock.advance(200);
    w.lock.lockNow('keypad');
    w.f.clock.advance(300);
    expect(w.lock.status().bolt).toBe('locking');
    w.f.clock.advance(500);
    expect(w.lock.status().bolt).toBe('locked');
    expect(w.f.board.drives).toEqual(['unlocked', 'locked']);
  });

  it('inside button toggles without a credential, in every mode', () => {
    const w = world();
    w.lock.updateSettings(w.owner, { operatingMode: 'Privacy' });
    expect(w.lock.insideButton()).toEqual({ granted: true, userIndex: null });
    w.f.clock.advance(500);
    expect(w.lock.status().bolt).toBe('unlocked');
    expect(w.lock.insideButton()).toEqual({ granted: true, userIndex: null });
    w.f.clock.advance(500);
    expect(w.lock.status().bolt).toBe('locked');
    expect(actions(w.f).slice(-2)).toEqual(['LockOperation:unlock@button', 'LockOperation:lock@button']);
  });
});

describe('battery', () => {
  it('critically low battery refuses the motor with insufficient_battery, logged with an alarm', () => {
    const w = world();
    w.f.board.battery = 4;
    expect(w.lock.enterPin('7391')).toEqual({ granted: false, reason: 'insufficient_battery' });
    expect(w.lock.insideButton()).toEqual({ granted: false, reason: 'insufficient_battery' });
    expect(w.f.board.drives).toEqual([]);
    expect(alarms(w.f)).toEqual(['BatteryCritical']); // raised once
    expect(w.lock.status().alarms).toContain('BatteryCritical');
    const denials = w.lock.audit.entries().filter((e) => e.reason === 'insufficient_battery');
    expect(denials.map((e) => [e.source, e.userIndex])).toEqual([
      ['keypad', w.owner],
      ['button', null],
    ]);
    w.f.board.battery = 50;
    expect(w.lock.enterPin('7391').granted).toBe(true);
    expect(w.lock.status().alarms).toEqual([]);
  });

  it('a failed auto-relock for battery is logged', () => {
    const w = world();
    w.lock.enterPin('7391');
    w.f.clock.advance(500);
    w.f.board.battery = 1;
    w.f.clock.advance(30_000);
    expect(w.lock.status().bolt).toBe('unlocked');
    expect(
      w.lock.audit.entries().some((e) => e.reason === 'insufficient_battery' && e.source === 'auto'),
    ).toBe(true);
  });
});

describe('door sensor and tamper', () => {
  it('opening while bolted is DoorForcedOpen; open too long is DoorAjar', () => {
    const w = world({ doorAjarSeconds: 60 });
    w.lock.doorChanged(true);
    expect(w.lock.status().door).toBe('forced_open');
    expect(alarms(w.f)).toEqual(['DoorForcedOpen']);
    w.f.clock.advance(60_000);
    expect(w.lock.status().door).toBe('ajar');
    expect(alarms(w.f)).toEqual(['DoorForcedOpen', 'DoorAjar']);
    expect(w.lock.status().alarms).toEqual(['DoorAjar', 'DoorForcedOpen']);
    w.lock.doorChanged(false);
    expect(w.lock.status()).toMatchObject({ door: 'closed', alarms: [] });
    expect(actions(w.f).slice(-4)).toEqual([
      'DoorStateChange:open',
      'DoorLockAlarm:DoorForcedOpen',
      'DoorLockAlarm:DoorAjar',
      'DoorStateChange:closed',
    ]);
  });

  it('an unlocked door opening is a normal open; closing before the ajar time raises nothing', () => {
    const w = world();
    w.lock.enterPin('7391');
    w.f.clock.advance(500);
    w.lock.doorChanged(true);
    w.f.clock.advance(59_000);
    w.lock.doorChanged(false);
    w.f.clock.advance(120_000);
    expect(alarms(w.f)).toEqual([]);
  });

  it('locking into an open door is refused with door_open', () => {
    const w = world();
    w.lock.enterPin('7391');
    w.f.clock.advance(500);
    w.lock.doorChanged(true);
    expect(w.lock.lockNow('keypad')).toEqual({ granted: false, reason: 'door_open' });
    expect(w.lock.remoteOperation(w.owner, 'lock')).toMatchObject({ granted: false, reason: 'door_open' });
  });

  it('tamper raises an alarm and clears', () => {
    const w = world();
    w.lock.tamperChanged(true);
    w.lock.tamperChanged(true);
    expect(w.lock.status().alarms).toEqual(['Tamper']);
    expect(alarms(w.f)).toEqual(['Tamper']);
    w.lock.tamperChanged(false);
    expect(w.lock.status().alarms).toEqual([]);
    expect(actions(w.f).slice(-2)).toEqual(['DoorLockAlarm:Tamper', 'System:tamper_cleared']);
  });
});
