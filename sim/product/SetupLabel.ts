// The label of a virtual lock: the 8-digit setup code a real lock has printed on a sticker inside its
// cover. It is made once, when the lock first starts (random, or --setup-code), and kept in
// <dataDir>/setup-code (mode 0600) so the same code is shown on every start until the lock is claimed
// and again after a factory reset. The lock's firmware keeps only the SPAKE2+ verifier made from it.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSetupCode, normalizeSetupCode } from '../../ble-gatt/pake/setupCode.ts';
import { KeywayError, type Random } from '../../firmware/index.ts';

export const SETUP_LABEL_FILE = 'setup-code';

export function setupLabelPath(dataDir: string): string {
  return join(dataDir, SETUP_LABEL_FILE);
}

/** Normalizes a --setup-code value ("1234-5678" -> "12345678") or throws a clear error. */
export function checkSetupCode(code: string): string {
  try {
    return normalizeSetupCode(code);
  } catch {
    throw new KeywayError('invalid_argument', 'a setup code is 8 digits (spaces and dashes are ignored)');
  }
}

export interface SetupLabel {
  code: string;
  /** True if this call made the label. */
  created: boolean;
  /** A --setup-code that differs from the existing label (it was ignored). */
  ignored?: string;
}

/** Reads the label, or makes it (from `requested` or at random) if the lock has none. */
export function loadOrCreateLabel(dataDir: string, random: Random, requested?: string): SetupLabel {
  const path = setupLabelPath(dataDir);
  const wanted = requested === undefined ? undefined : checkSetupCode(requested);
  if (existsSync(path)) {
    const code = readFileSync(path, 'utf8').trim();
    if (!/^[0-9]{8}$/.test(code)) {
      throw new KeywayError('store_corrupt', `${path} does not hold an 8-digit setup code`);
    }
    return wanted !== undefined && wanted !== code
      ? { code, created: false, ignored: wanted }
      : { code, created: false };
  }
  const code = wanted ?? generateSetupCode(random);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${code}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return { code, created: true };
}
