// Child process for the crash test: opens the lock in argv[2] and writes as fast as it can (users, PINs,
// PIN entries, removals) until the parent SIGKILLs it. Prints "ready" once the lock is open.
import { Lock } from '../../firmware/Lock.ts';
import { FakeBoard } from '../helpers/FakeBoard.ts';
import { FakeClock } from '../helpers/FakeClock.ts';
import { SeededRandom } from '../helpers/SeededRandom.ts';

const dir = process.argv[2];
const seed = Number(process.argv[3] ?? '1');
if (!dir) throw new Error('usage: crash-worker DIR [SEED]');
const clock = new FakeClock({ time: Date.now() });
const lock = Lock.open({
  dataDir: dir,
  clock,
  board: new FakeBoard(clock, { travelMs: 1 }),
  random: new SeededRandom('crash'),
});
const owner = lock.findUserByName('Owner') ?? lock.createOwner({ name: 'Owner' });
process.stdout.write('ready\n');

let n = seed * 1_000_000;
for (;;) {
  n++;
  const u = lock.addUser(owner.index, {
    name: `u${n}`,
    role: 'guest',
    userType: 'Disposable',
    validUntil: Date.now() + 86_400_000,
  });
  const pin = String(10_000_000 + (n % 89_999_999)).slice(0, 8);
  lock.addCredential(owner.index, u.index, { type: 'pin', pin, force: true });
  lock.enterPin(pin); // consumes the single use
  lock.enterPin(pin); // uses_exhausted
  lock.enterPin('99999999'); // wrong
  lock.enterPin(String(owner.index).padStart(4, '5')); // usually wrong too
  if (n % 3 === 0) lock.removeUser(owner.index, u.index);
  clock.advance(1_000); // lets the lockout tiers run out and the bolt move
}
