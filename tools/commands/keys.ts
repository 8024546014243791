// keyway keys: Ed25519 key pairs for eKey issuers and holders (docs/ekeys.md).
import fs from 'node:fs';
import type { Command } from 'commander';
import { encodeCanonical } from '../../firmware/codec/StrictCbor.ts';
import {
  coseKey,
  fingerprint,
  generateKeyPair,
  keyId,
  loadKeyFile,
  saveKeyFile,
  savePublicKeyFile,
} from '../../firmware/ekey/Keys.ts';
import { isKeywayError } from '../../firmware/errors.ts';
import { CliError } from '../CliError.ts';

const strip = (m: string): string => m.replace(/^[a-z_]+: /, '');

/** The raw public key of a key file (private or public). */
export function publicKeyOf(file: string): Uint8Array {
  try {
    const k = loadKeyFile(file);
    return k.kind === 'private' ? k.pair.publicRaw : k.publicRaw;
  } catch (err) {
    if (isKeywayError(err)) throw new CliError(strip(err.message));
    throw err;
  }
}

export function describeKey(raw: Uint8Array): Record<string, string> {
  return {
    public: Buffer.from(raw).toString('hex'),
    fingerprint: fingerprint(raw),
    keyId: keyId(raw),
    coseKey: Buffer.from(encodeCanonical(coseKey(raw))).toString('hex'),
  };
}

export function register(program: Command): void {
  const keys = program.command('keys').description('Ed25519 key pairs for eKey issuers and holders');

  keys
    .command('new')
    .description('make a key pair: FILE (private, mode 0600) and FILE.pub (public)')
    .requiredOption('--out <file>', 'private key file to write')
    .option('--force', 'overwrite existing files')
    .action((flags: { out: string; force?: boolean }) => {
      for (const f of [flags.out, `${flags.out}.pub`]) {
        if (fs.existsSync(f) && flags.force !== true)
          throw new CliError(`${f} exists (use --force to overwrite)`);
      }
      const pair = generateKeyPair();
      saveKeyFile(flags.out, pair);
      savePublicKeyFile(`${flags.out}.pub`, pair.publicRaw);
      process.stdout.write(`wrote ${flags.out} (private, 0600) and ${flags.out}.pub\n`);
      process.stdout.write(`fingerprint ${fingerprint(pair.publicRaw)}\n`);
    });

  keys
    .command('show')
    .description('print the public key, its fingerprint and its COSE_Key form (never the private key)')
    .argument('<file>', 'key file (private or .pub)')
    .option('--json', 'one JSON object')
    .action((file: string, flags: { json?: boolean }) => {
      const d = describeKey(publicKeyOf(file));
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `public key   ${d.public}\nfingerprint  ${d.fingerprint}\nkey id (iss) ${d.keyId}\nCOSE_Key     ${d.coseKey}\n`,
      );
    });
}
