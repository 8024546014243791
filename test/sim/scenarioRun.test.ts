// The runner in-process: expectation diffs, power cycles, and registering a new kind of step.
import { describe, expect, it } from 'vitest';
import { parseScenario, registerStep, runScenario } from '../../sim/scenario/index.ts';

const HEAD = `name: run
lock: { timeZone: Europe/Berlin, autoRelockSeconds: 5 }
start: '2026-03-02T09:00'
users:
  - { name: Olivia, role: owner, pins: ['4071'] }
  - { name: Clara, role: guest, permanent: true, pins: ['9176'], schedules: [{ weekly: 'mon 09:00-10:00' }] }
steps:
`;

const run = (steps: string) => runScenario(parseScenario(HEAD + steps, 'run.yaml'), { keepGoing: true });

describe('scenario runner', () => {
  it('settles the bolt motor after a step and reports each unmet expectation with expected and actual', () => {
    const r = run(`  - pin: '9176'
    expect:
      result: denied
      bolt: locked
      audit: { last: { kind: LockOperationError } }
      users: { Clara: disabled }
`);
    expect(r.ok).toBe(false);
    expect(r.steps[0]!.time).toBe(Date.UTC(2026, 2, 2, 8, 0));
    expect(r.steps[0]!.failures.map((f) => [f.field, f.expected, f.actual.replace(/#\d+/, '#N')])).toEqual([
      ['result', 'denied', 'granted by Clara'],
      ['bolt', 'locked', 'unlocked'],
      ['users.Clara', 'disabled', 'enabled'],
      [
        'audit.last',
        '{ kind=LockOperationError }',
        '#N LockOperation unlock success user=Clara source=keypad credential=pin',
      ],
    ]);
  });

  it('power_cycle reopens the same store: users and audit survive, the RTC may be lost', () => {
    const r = run(`  - pin: '4071'
  - power_cycle: { lose_time: true }
    expect: { time: unknown, users: { Clara: enabled }, audit: { contains: [{ action: unlock, user: Olivia }] }, audit_verifies: true }
  - pin: '9176'
    expect: { result: denied, reason: time_unknown, user: Clara }
  - set_time: '2026-03-02T09:30'
  - pin: '9176'
    expect: { result: granted, user: Clara }
`);
    expect(r.steps.map((s) => [s.n, s.ok])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
    ]);
  });

  it('runs steps registered by other modules (how eKey and BLE steps plug in)', () => {
    registerStep<number>({
      name: 'test_wiggle',
      summary: 'test only: press the inside button N times',
      parse: (f) => f.number({ integer: true, min: 1, max: 5 }),
      describe: (n) => `wiggle x${n}`,
      run: (n, ctx) => {
        for (let i = 0; i < n; i++) ctx.board.pressButton();
        return { text: `${n} presses` };
      },
    });
    const r = run(`  - test_wiggle: 3\n    expect: { bolt: unlocked, audit: { step_count: 3 } }\n`);
    expect(r.ok).toBe(true);
    expect(r.steps[0]).toMatchObject({ kind: 'test_wiggle', description: 'wiggle x3', text: '3 presses' });
    expect(() => parseScenario(`${HEAD}  - test_wiggle: 9\n`, 'w.yaml')).toThrow(
      'w.yaml:8: step 1: field test_wiggle: must be at most 5, got 9',
    );
  });
});
