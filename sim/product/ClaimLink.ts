// The claim link a factory-new lock shows (as text and as a QR code), like the QR sticker on a real lock:
//
//   keyway://claim?v=1&code=48213907&id=9f3c2a1b7d4e5f60&name=front
//
// It holds the setup code (which the lock prints next to it anyway: it is the label), the lock id (so the
// phone can check after claiming that it claimed the lock it meant to) and the lock's local name. Nothing
// else: no keys, no address (the advertised identifier rotates), no secret beyond the setup code. The code
// alone is not enough to claim: the phone must also be in radio range while the lock is in setup mode,
// and every guess is an online SPAKE2+ attempt the lock counts (docs/protocol.md, section 7).
import { KeywayError } from '../../firmware/index.ts';

export const CLAIM_LINK_VERSION = 1;
const CODE = /^[0-9]{8}$/;
const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ClaimLink {
  /** The 8-digit setup code. */
  code: string;
  /** Settings.lockId of the lock. */
  lockId?: string;
  /** The lock's local name (keyway lock --name). */
  name?: string;
}

function bad(why: string): KeywayError {
  return new KeywayError('invalid_argument', `claim link: ${why}`);
}

export function formatClaimLink(link: ClaimLink): string {
  if (!CODE.test(link.code)) throw bad('the setup code must be 8 digits');
  if (link.lockId !== undefined && !ID.test(link.lockId)) throw bad('bad lock id');
  if (link.name !== undefined && !NAME.test(link.name)) throw bad('bad lock name');
  const q = new URLSearchParams({ v: String(CLAIM_LINK_VERSION), code: link.code });
  if (link.lockId !== undefined) q.set('id', link.lockId);
  if (link.name !== undefined) q.set('name', link.name);
  return `keyway://claim?${q.toString()}`;
}

/** Parses and checks a link; unknown parameters are ignored (later versions may add some). */
export function parseClaimLink(text: string): ClaimLink {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'keyway:' || url.hostname !== 'claim' || (url.pathname !== '' && url.pathname !== '/'))
    throw bad('expected keyway://claim?...');
  const one = (k: string): string | undefined => {
    const all = url.searchParams.getAll(k);
    if (all.length > 1) throw bad(`"${k}" appears more than once`);
    return all[0];
  };
  const v = one('v');
  if (v !== String(CLAIM_LINK_VERSION)) throw bad(`unsupported version "${v ?? ''}" (this keyway reads v=1)`);
  const code = one('code');
  if (code === undefined || !CODE.test(code)) throw bad('"code" must be the 8-digit setup code');
  const lockId = one('id');
  if (lockId !== undefined && !ID.test(lockId)) throw bad('"id" is not a lock id');
  const name = one('name');
  if (name !== undefined && !NAME.test(name)) throw bad('"name" is not a lock name');
  return { code, ...(lockId === undefined ? {} : { lockId }), ...(name === undefined ? {} : { name }) };
}
