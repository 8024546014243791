// A phone profile: the directory that holds one simulated phone's keys, the locks it knows and its eKeys.
// Default location: $XDG_DATA_HOME/keyway/phones/<name>, or ~/.local/share/keyway/phones/<name>.
//
//   profile.json            {"format":"keyway-phone-profile","version":1,"name":...}
//   noise.key        0600   the phone's Noise static key (X25519)
//   holder.key       0600   the phone's Ed25519 holder key (keyway key file format); its public half is what
//                           an owner issues eKeys to (`keyway phone pubkey`), and the owner key after a claim
//   locks/<lockId>.json 0600  lock id, lock static key, device key, last address; offline-PIN secret (owner)
//   ekeys/<cti>.ekey    0600  eKeys (COSE_Sign1 bytes) held by this phone
//
// Directories are 0700; every file is written atomically (temporary file + rename).
import fs from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import {
  KeywayError,
  decodeClaims,
  decodeSign1,
  keyPairFromSeed,
  loadKeyFile,
  saveKeyFile,
  privateSeed,
  type KeyPair as EdKeyPair,
  type Random,
} from '../../firmware/index.ts';
import { keyPairFromPrivate, type KeyPair } from '../noise/cryptoFunctions.ts';
import type { LockRecord, PhoneStore } from './Phone.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function defaultPhonesDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== ''
      ? env.XDG_DATA_HOME
      : path.join(homedir(), '.local', 'share');
  return path.join(base, 'keyway', 'phones');
}

function writePrivate(file: string, text: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function readJson(file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KeywayError('invalid_argument', `${file} is not readable JSON`, { cause: err });
  }
  if (typeof v !== 'object' || v === null)
    throw new KeywayError('invalid_argument', `${file} is not a JSON object`);
  return v as Record<string, unknown>;
}

function bytes(v: unknown, n: number, what: string): Uint8Array {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${n * 2}}$`).test(v)) {
    throw new KeywayError('invalid_argument', `${what} must be ${n} bytes of hex`);
  }
  return new Uint8Array(Buffer.from(v, 'hex'));
}

export class Profile implements PhoneStore {
  readonly #noise: KeyPair;
  readonly #holder: EdKeyPair;

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    const n = readJson(path.join(dir, 'noise.key'));
    if (n.format !== 'keyway-noise-key' || n.version !== 1) {
      throw new KeywayError('invalid_argument', `${dir}/noise.key is not a keyway Noise key`);
    }
    this.#noise = keyPairFromPrivate(bytes(n.private, 32, 'noise.key private'));
    const h = loadKeyFile(path.join(dir, 'holder.key'));
    if (h.kind !== 'private')
      throw new KeywayError('invalid_argument', `${dir}/holder.key holds no private key`);
    this.#holder = h.pair;
  }

  /** Opens the profile, creating it (with fresh keys) when `create` is set and it does not exist. */
  static open(name: string, opts: { root?: string; create?: boolean; random: Random }): Profile {
    if (!NAME.test(name)) {
      throw new KeywayError(
        'invalid_argument',
        `a profile name is 1-64 letters, digits, ".", "_" or "-" (got "${name}")`,
      );
    }
    const dir = path.join(opts.root ?? defaultPhonesDir(), name);
    if (!fs.existsSync(path.join(dir, 'profile.json'))) {
      if (opts.create !== true) {
        throw new KeywayError(
          'not_found',
          `no phone profile "${name}" in ${path.dirname(dir)} (create one with \`keyway phone --profile ${name} pubkey\`)`,
        );
      }
      fs.mkdirSync(path.join(dir, 'locks'), { recursive: true, mode: 0o700 });
      fs.mkdirSync(path.join(dir, 'ekeys'), { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      writePrivate(
        path.join(dir, 'noise.key'),
        JSON.stringify({ format: 'keyway-noise-key', version: 1, private: hex(opts.random.bytes(32)) }) +
          '\n',
      );
      saveKeyFile(path.join(dir, 'holder.key'), keyPairFromSeed(opts.random.bytes(32)));
      writePrivate(
        path.join(dir, 'profile.json'),
        JSON.stringify({ format: 'keyway-phone-profile', version: 1, name }) + '\n',
      );
    }
    const p = readJson(path.join(dir, 'profile.json'));
    if (p.format !== 'keyway-phone-profile' || p.version !== 1) {
      throw new KeywayError('invalid_argument', `${dir} is not a keyway phone profile`);
    }
    return new Profile(dir, name);
  }

  noiseKey(): KeyPair {
    return this.#noise;
  }

  holderKey(): EdKeyPair {
    return this.#holder;
  }

  holderSeed(): Uint8Array {
    return privateSeed(this.#holder.privateKey);
  }

  locks(): LockRecord[] {
    const dir = path.join(this.dir, 'locks');
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const o = readJson(path.join(dir, f));
        const r: LockRecord = {
          lockId: String(o.lockId),
          lockKey: bytes(o.lockKey, 32, `${f} lockKey`),
          deviceKey: bytes(o.deviceKey, 32, `${f} deviceKey`),
        };
        if (o.pinSecret !== undefined) r.pinSecret = bytes(o.pinSecret, 32, `${f} pinSecret`);
        if (typeof o.address === 'string') r.address = o.address;
        return r;
      });
  }

  saveLock(r: LockRecord): void {
    if (!NAME.test(r.lockId.replace(/:/g, '_')))
      throw new KeywayError('invalid_argument', `bad lock id "${r.lockId}"`);
    const body = {
      lockId: r.lockId,
      lockKey: hex(r.lockKey),
      deviceKey: hex(r.deviceKey),
      ...(r.pinSecret === undefined ? {} : { pinSecret: hex(r.pinSecret) }),
      ...(r.address === undefined ? {} : { address: r.address }),
    };
    writePrivate(
      path.join(this.dir, 'locks', `${r.lockId.replace(/:/g, '_')}.json`),
      JSON.stringify(body, null, 2) + '\n',
    );
  }

  ekeys(): Uint8Array[] {
    const dir = path.join(this.dir, 'ekeys');
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ekey'))
      .sort()
      .map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
  }

  saveEkey(ekey: Uint8Array): void {
    const cti = decodeClaims(decodeSign1(ekey).payload).cti;
    writePrivate(path.join(this.dir, 'ekeys', `${hex(cti)}.ekey`), ekey);
  }
}
