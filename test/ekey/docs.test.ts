// docs/ekeys.md shows a token made by this code: regenerate it and compare byte for byte.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSign1 } from '../../firmware/ekey/Cose.ts';
import { keyPairFromSeed, keyId } from '../../firmware/ekey/Keys.ts';
import { mintEkey } from '../../firmware/ekey/Mint.ts';
import { parseWeekly } from '../../firmware/schedule/index.ts';

describe('docs/ekeys.md example', () => {
  it('is exactly what mintEkey produces', () => {
    const owner = keyPairFromSeed(
      Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
    );
    const holder = keyPairFromSeed(
      Buffer.from('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 'hex'),
    );
    const token = mintEkey(
      owner,
      {
        holder: holder.publicRaw,
        aud: 'front-door',
        from: Date.UTC(2025, 0, 6, 9),
        until: Date.UTC(2025, 0, 7, 9),
        role: 'guest',
        schedules: [parseWeekly('mon,thu 09:00-12:00')],
        uses: 3,
        cti: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
      },
      { bytes: () => new Uint8Array(0) },
    );
    const doc = fs.readFileSync('docs/ekeys.md', 'utf8');
    const hex = Buffer.from(token).toString('hex');
    expect(token.length).toBe(237);
    expect(doc).toContain(`\n${hex}\n`);
    expect(doc).toContain(`"${keyId(owner.publicRaw)}"`);
    expect(decodeSign1(token).payload.length).toBe(0x98);
  });
});
