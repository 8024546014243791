// `npm run bench` prints a table; `npm run bench -- --json` one JSON object. Each area's benchmark lives in
// bench/<area>.ts and exports `run(): Promise<Record<string, number | string>>`. Figures are ratios against
// a baseline measured in the same run, because these machines are shared and noisy.
type Bench = { name: string; load: () => Promise<{ run: () => Promise<Record<string, number | string>> }> };

const benches: Bench[] = [
  // one line per area
  { name: 'radio', load: () => import('./radio.ts') },
  { name: 'ekey', load: () => import('./ekey.ts') },
  { name: 'firmware', load: () => import('./firmware.ts') },
  { name: 'gatt', load: () => import('./gatt.ts') },
  { name: 'fleet', load: () => import('./fleet.ts') },
];

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const only = argv.filter((a) => !a.startsWith('--'));
  const result: Record<string, number | string> = {};
  for (const b of benches) {
    if (only.length > 0 && !only.includes(b.name)) continue;
    if (!json) process.stderr.write(`running ${b.name}...\n`);
    const figures = await (await b.load()).run();
    Object.assign(result, figures);
  }
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    const width = Math.max(...Object.keys(result).map((k) => k.length), 10);
    for (const [k, v] of Object.entries(result)) {
      const shown = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v;
      process.stdout.write(`${k.padEnd(width)}  ${shown}\n`);
    }
  }
  return 0;
}
