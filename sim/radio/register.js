// Preload for any bleno/noble program: `node --import /path/to/keyway/sim/radio/register.js app.js`.
// It installs the virtual radio before the program requires bleno or noble, configured by environment:
//   KEYWAY_RADIO_HUB     hub address to join (default: the per-user default hub, started if needed)
//   KEYWAY_RADIO         virtual (default) | hci | hci:N
//   KEYWAY_RADIO_NAME    name shown by `keyway radio status`
//   KEYWAY_RADIO_TRACE   btsnoop file to write
//   KEYWAY_RADIO_FAULTS  JSON faults, e.g. {"packetDelayMs": 5}
// keyway's TypeScript is loaded through tsx in its own namespace, so the program itself is untouched.
import { register } from 'tsx/esm/api';

const api = register({ namespace: 'keyway-radio' });
const { installVirtualRadioFromEnv } = await api.import('./index.ts', import.meta.url);
installVirtualRadioFromEnv();
