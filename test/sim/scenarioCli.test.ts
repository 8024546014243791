import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyway } from './cli.ts';

describe('keyway scenario run', () => {
  it('a wrong expectation fails with exit 1 and a readable expected/actual diff', () => {
    const r = keyway(['scenario', 'run', 'test/sim/fixtures/wrong-expectation.yaml']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      'scenario: A scenario with a wrong expectation  (test/sim/fixtures/wrong-expectation.yaml)',
    );
    expect(r.stdout).toMatch(
      /^ {3}1 {2}Mon 2026-03-02 13:00:00 CET +pin \*{6} +→ unlock Owner · bolt unlocked, door closed {2}ok$/m,
    );
    expect(r.stdout).toMatch(
      /^ {3}2 .*pin \*{4} +→ denied \(outside_schedule\) Cleaner · bolt unlocked, door closed {2}FAIL$/m,
    );
    expect(r.stdout).toContain(
      [
        '        expect.result:',
        '          - expected: granted',
        '          + actual:   denied (outside_schedule) by Cleaner',
      ].join('\n'),
    );
    expect(r.stdout).toContain(
      'FAIL  step 2 of 3 (test/sim/fixtures/wrong-expectation.yaml:20): expect.result; 1 later step not run',
    );
    expect(r.stdout).not.toContain('5317'); // PINs are masked in reports
  });

  it('--json reports the failure as data', () => {
    const r = keyway(['scenario', 'run', '--json', 'test/sim/fixtures/wrong-expectation.yaml']);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.scenarios[0].steps[1].failures).toEqual([
      { field: 'result', expected: 'granted', actual: 'denied (outside_schedule) by Cleaner' },
    ]);
    expect(out.scenarios[0].steps[1].operation).toMatchObject({
      granted: false,
      reason: 'outside_schedule',
      user: 'Cleaner',
    });
  });

  it('a malformed scenario exits 2 with one line naming file, line, step and field; other files still run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-test-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      "name: bad\nusers:\n  - { name: O, role: owner, pins: ['4071'] }\nsteps:\n  - pin: '4071'\n  - as: Nobody\n    disable_user: O\n",
    );
    const r = keyway(['scenario', 'run', bad, 'examples/scenarios/duress-code.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`keyway: ${bad}:6: step 2: field as: unknown user "Nobody"; known here: O\n`);
    expect(r.stdout).toContain('PASS  4 steps  examples/scenarios/duress-code.yaml');
  });

  it('a missing file is reported, not a crash', () => {
    const r = keyway(['scenario', 'run', 'no/such/file.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('keyway: no/such/file.yaml: no such file\n');
  });

  it('an engine refusal not covered by expect.error fails the step with the engine message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-test-'));
    const file = join(dir, 'refused.yaml');
    writeFileSync(
      file,
      "name: refused\nusers:\n  - { name: O, role: owner, pins: ['4071'] }\n  - { name: A, role: admin, permanent: true }\nsteps:\n  - as: A\n    add_user: { name: B, role: admin, permanent: true }\n",
    );
    const r = keyway(['scenario', 'run', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      '        expect.error:\n          - expected: no error\n          + actual:   not_authorized:',
    );
  });

  it('has --help on the command and its subcommands', () => {
    const r = keyway(['scenario', 'run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: keyway scenario run [options] <file...>');
    expect(keyway(['scenario', 'steps']).stdout).toMatch(/^power_cycle +power off and on/m);
  });
});
