// Entry point of an auto-started hub process: `node --import tsx hubMain.ts ADDRESS IDLE_MS`.
// It exits quietly if another hub already answers at ADDRESS, and after IDLE_MS without clients.
import { KeywayError } from '../../firmware/errors.ts';
import { Hub } from './Hub.ts';

const [address, idle] = process.argv.slice(2);
if (!address) {
  process.stderr.write('usage: hubMain.ts ADDRESS [IDLE_MS]\n');
  process.exit(2);
}
try {
  const hub = await Hub.start({ address, idleMs: idle ? Number(idle) : 5000 });
  hub.on('idle', () => {
    void hub.close().then(() => process.exit(0));
  });
  process.on('SIGTERM', () => {
    void hub.close().then(() => process.exit(0));
  });
} catch (err) {
  if (err instanceof KeywayError && err.code === 'duplicate') process.exit(0); // lost the race: fine
  process.stderr.write(`keyway radio hub: ${(err as Error).message}\n`);
  process.exit(1);
}
