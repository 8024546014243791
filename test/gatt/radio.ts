// Helpers for the end-to-end tests over the virtual radio: a phone finds the lock by scanning with noble,
// connects with NobleTransport and runs one Phone action per connection, as the CLI does.
import type { Phone } from '../../ble-gatt/client/Phone.ts';
import {
  NobleTransport,
  pickLock,
  scanLocks,
  type FoundLock,
  type Noble,
} from '../../ble-gatt/client/NobleTransport.ts';

/** Scans until a keyway lock that fits is heard: in setup mode (to claim), or this phone's lock. */
export async function findLock(
  noble: Noble,
  want: { setup: true } | { lockKey: Uint8Array; now: number },
  ms = 5000,
): Promise<FoundLock> {
  const found = await scanLocks(noble, {
    ms,
    until: (f) => ('setup' in want ? f.setup : !f.setup && pickLock([f], want.lockKey, want.now) !== null),
  });
  const pick = 'setup' in want ? found.find((f) => f.setup) : pickLock(found, want.lockKey, want.now);
  if (pick === undefined || pick === null)
    throw new Error(`no matching keyway lock heard (${found.length} heard)`);
  return pick;
}

/** Connects to the lock `phone` knows as lockId and runs fn over a fresh transport; always disconnects. */
export async function overRadio<T>(
  noble: Noble,
  phone: Phone,
  lockId: string,
  now: number,
  fn: (t: NobleTransport) => Promise<T>,
): Promise<T> {
  const found = await findLock(noble, { lockKey: phone.lockRecord(lockId).lockKey, now });
  const t = await NobleTransport.connect(found.peripheral, { timeoutMs: 5000 });
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}
