// Small files replaced atomically: write a temporary file, fsync it, rename over the target, fsync the
// directory. A crash leaves either the old or the new content, never a mix.
import fs from 'node:fs';
import path from 'node:path';
import { KeywayError } from '../errors.ts';

export function writeFileAtomic(target: string, content: string, mode = 0o600): void {
  const tmp = `${target}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', mode);
    try {
      fs.writeSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    const dir = fs.openSync(path.dirname(target), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch (err) {
    throw new KeywayError('store_io', `cannot write ${target}`, { cause: err });
  }
}
