import { decodeSign1 } from './firmware/ekey/Cose.ts';
import { decodeClaims } from './firmware/ekey/Cwt.ts';
import { keyPairFromSeed } from './firmware/ekey/Keys.ts';
import { mintEkey } from './firmware/ekey/Mint.ts';
import { parseWeekly } from './firmware/schedule/index.ts';
const T0 = Date.UTC(2025, 0, 6, 12, 0); const DAY = 86_400_000;
const owner = keyPairFromSeed(new Uint8Array(32).fill(1)), guest = keyPairFromSeed(new Uint8Array(32).fill(4));
let c = 0; const random = { bytes: (n: number) => new Uint8Array(n).fill(++c & 0xff) };
const direct = mintEkey(owner, { aud: 'front-door', from: T0 - DAY, until: T0 + 7 * DAY, holder: guest.publicRaw, schedules: [parseWeekly('mon-fri 08:00-18:00')], uses: 10 }, random);
const msg = decodeSign1(direct);
for (let i = 0; i < 400000; i++) { decodeSign1(direct); decodeClaims(msg.payload); }
