// A monotonic generation counter kept OUTSIDE the database (it stands in for a hardware monotonic counter).
// Every committed change bumps the generation inside the database first, then here. So the database may be
// one step ahead after a crash, but never behind: a database behind this file is a restored older copy.
import fs from 'node:fs';
import { KeywayError } from '../errors.ts';
import { writeFileAtomic } from './atomicFile.ts';

export function readCounter(path: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeywayError('store_io', `cannot read ${path}`, { cause: err });
  }
  const m = /^keyway-counter (\d{1,15})\n$/.exec(text);
  if (!m?.[1]) throw new KeywayError('store_corrupt', `counter file ${path} is not valid`);
  return Number(m[1]);
}

export function writeCounter(path: string, generation: number): void {
  writeFileAtomic(path, `keyway-counter ${generation}\n`, 0o600);
}
