import { verify } from 'node:crypto';
import { decodeSign1, sigStructure } from './firmware/ekey/Cose.ts';
import { keyPairFromSeed, publicKeyFromRaw } from './firmware/ekey/Keys.ts';
import { mintEkey } from './firmware/ekey/Mint.ts';
const T0 = Date.UTC(2025, 0, 6, 12, 0); const DAY = 86_400_000;
const owner = keyPairFromSeed(new Uint8Array(32).fill(1)), guest = keyPairFromSeed(new Uint8Array(32).fill(4));
let c = 0; const random = { bytes: (n: number) => new Uint8Array(n).fill(++c & 0xff) };
const direct = mintEkey(owner, { aud: 'front-door', from: T0 - DAY, until: T0 + 7 * DAY, holder: guest.publicRaw, uses: 10 }, random);
const msg = decodeSign1(direct); const tbs = sigStructure(msg.protectedBytes, msg.payload);
const pk2 = publicKeyFromRaw(owner.publicRaw);
const b = (fn: () => void, n = 300) => { const s = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); return Number(process.hrtime.bigint() - s) / 1000 / n; };
const a1: number[] = [], a2: number[] = [];
for (let r = 0; r < 15; r++) { a1.push(b(() => verify(null, tbs, owner.publicKey, msg.signature))); a2.push(b(() => verify(null, tbs, pk2, msg.signature))); }
const med = (x: number[]) => [...x].sort((p, q) => p - q)[7]!;
console.log('derived-from-private', med(a1).toFixed(1), 'from raw spki', med(a2).toFixed(1));
