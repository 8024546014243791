import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../sim/scenario/index.ts';

const HEAD = `name: t
lock: { timeZone: Europe/Berlin }
start: '2026-03-02T09:00'
users:
  - { name: Olivia, role: owner, pins: ['4071'] }
  - { name: Clara, role: guest, permanent: true, pins: ['9176'] }
steps:
`;

function errorOf(text: string, file = 'bad.yaml'): ScenarioError {
  try {
    parseScenario(text, file);
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

describe('scenario parser errors name the file, line, step and field', () => {
  it('a bad value in an expectation', () => {
    const e = errorOf(`${HEAD}  - pin: '4071'\n  - pin: '9176'\n    expect: { result: grant }\n`);
    expect(e.message).toBe(
      'bad.yaml:10: step 2: field expect.result: expected one of granted, denied; got "grant" (did you mean granted?)',
    );
    expect(e.at).toEqual({ file: 'bad.yaml', line: 10, step: 2, field: 'expect.result' });
  });

  it('an unknown user in as: and in expect.user', () => {
    expect(errorOf(`${HEAD}  - as: Bob\n    disable_user: Clara\n`).message).toBe(
      'bad.yaml:8: step 1: field as: unknown user "Bob"; known here: Olivia, Clara',
    );
    expect(errorOf(`${HEAD}  - pin: '4071'\n    expect: { user: Olivai }\n`).message).toBe(
      'bad.yaml:9: step 1: field expect.user: unknown user "Olivai" (did you mean Olivia?); known here: Olivia, Clara',
    );
  });

  it('a user added by a step is known from that step on, not before', () => {
    const add = `  - as: Olivia\n    add_user: { name: Dave, role: member, permanent: true }\n`;
    expect(() =>
      parseScenario(`${HEAD}${add}  - as: Olivia\n    disable_user: Dave\n`, 'ok.yaml'),
    ).not.toThrow();
    expect(errorOf(`${HEAD}  - as: Olivia\n    disable_user: Dave\n${add}`).message).toMatch(
      /^bad\.yaml:9: step 1: field disable_user: unknown user "Dave"/,
    );
  });

  it('an unknown step, an unknown field, two actions in one step, a missing as', () => {
    expect(errorOf(`${HEAD}  - advnce: 1m\n`).message).toBe(
      'bad.yaml:8: step 1: field advnce: unknown step field "advnce" (did you mean advance?)',
    );
    expect(errorOf(`${HEAD}  - pin: '4071'\n    advance: 1m\n`).message).toBe(
      'bad.yaml:8: step 1: a step does one thing; found pin and advance (split them into separate steps)',
    );
    expect(errorOf(`${HEAD}  - disable_user: Clara\n`).message).toBe(
      'bad.yaml:8: step 1: step "disable_user" is a management action and needs as: NAME (the user performing it)',
    );
    expect(errorOf(`${HEAD}  - as: Olivia\n    pin: '4071'\n`).message).toMatch(
      /step 1: field as: step "pin" is not performed as a user/,
    );
  });

  it('values out of range and malformed durations, PINs and times', () => {
    expect(errorOf(`${HEAD}  - battery: 120\n`).message).toBe(
      'bad.yaml:8: step 1: field battery: must be at most 100, got 120',
    );
    expect(errorOf(`${HEAD}  - advance: 90\n`).message).toMatch(
      /step 1: field advance: a duration needs a unit, e\.g\. "90s"/,
    );
    expect(errorOf(`${HEAD}  - advance: 2h3d\n`).message).toMatch(
      /step 1: field advance: duration "2h3d": unit "d" repeated or out of order/,
    );
    expect(errorOf(`${HEAD}  - pin: 4071\n`).message).toMatch(
      /step 1: field pin: PINs must be quoted strings/,
    );
    expect(errorOf(`${HEAD}  - set_time: '2026-02-30T10:00'\n`).message).toMatch(
      /step 1: field set_time: .*has no day 30/,
    );
    expect(errorOf(`${HEAD}  - keypad: '12a#'\n`).message).toMatch(
      /step 1: field keypad: the keypad has keys 0-9, # and \* only/,
    );
  });

  it('problems outside the steps name the field path', () => {
    const users = `name: t\nusers:\n  - { name: O, role: owner }\n  - { name: C, role: guest, schedules: [{ weekly: 'mon,xyz 09:00-12:00' }] }\nsteps: [button]\n`;
    expect(errorOf(users).message).toMatch(
      /^bad\.yaml:4: field users\[1\]\.schedules\[0\]\.weekly: days: "xyz" is not one of/,
    );
    expect(errorOf(`name: t\nlock: { timeZone: Mars/Olympus }\nsteps: [button]\n`).message).toBe(
      'bad.yaml:2: field lock.timeZone: unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/Berlin)',
    );
    expect(errorOf(`name: t\nlock: { autoRelock: 3 }\nsteps: [button]\n`).message).toMatch(
      /^bad\.yaml:2: field lock\.autoRelock: unknown field "autoRelock" \(did you mean autoRelockSeconds\?\)/,
    );
    expect(errorOf(`name: t\nusers:\n  - { name: C, role: guest }\nsteps: [button]\n`).message).toMatch(
      /field users: declared users need an owner/,
    );
    expect(errorOf(`steps: [button]\n`).message).toBe('bad.yaml:1: field name: is required');
  });

  it('YAML syntax errors carry the line', () => {
    expect(errorOf(`name: t\nsteps:\n  - note: a: b: c\n`).message).toMatch(
      /^bad\.yaml:3: not valid YAML or JSON: /,
    );
  });

  it('accepts JSON as well as YAML', () => {
    const s = parseScenario(
      JSON.stringify({
        name: 'j',
        users: [{ name: 'O', role: 'owner', pins: ['4071'] }],
        steps: [{ pin: '4071' }, 'button'],
      }),
      'x.json',
    );
    expect(s.steps.map((st) => st.kind?.name)).toEqual(['pin', 'button']);
  });
});
