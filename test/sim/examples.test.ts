// Every example scenario runs through the real CLI and passes (the README and docs point people at them).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { keyway, ROOT } from './cli.ts';

const dir = join(ROOT, 'examples', 'scenarios');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.json'));

describe('examples/scenarios', () => {
  it('has the examples the docs promise', () => {
    expect(files.sort()).toEqual([
      'airbnb-guest.yaml',
      'brute-force.yaml',
      'cleaner-weekly.yaml',
      'contractor-one-time-code.yaml',
      'dst-weekend.yaml',
      'duress-code.yaml',
      'ekey-guest-revoked.yaml',
      'ekey-manager-revoked.yaml',
      'family.yaml',
      'offline-pin.yaml',
      'power-cut-clock-lost.yaml',
      'tenant-move-out.yaml',
    ]);
  });

  for (const file of files) {
    it(`${file} passes every step`, () => {
      const path = join('examples', 'scenarios', file);
      const steps = (parse(readFileSync(join(ROOT, path), 'utf8')) as { steps: unknown[] }).steps.length;
      const r = keyway(['scenario', 'run', path, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as {
        ok: boolean;
        scenarios: Array<{ ok: boolean; stepCount: number; steps: Array<{ ok: boolean }> }>;
      };
      expect(out.ok).toBe(true);
      expect(out.scenarios).toHaveLength(1);
      expect(out.scenarios[0]!.stepCount).toBe(steps);
      expect(out.scenarios[0]!.steps).toHaveLength(steps);
      expect(out.scenarios[0]!.steps.every((s) => s.ok)).toBe(true);
    });
  }
});
