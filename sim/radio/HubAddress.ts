// Where a hub listens: a Unix socket path, or `tcp:127.0.0.1:PORT` where Unix sockets are not available
// (Windows). The default is per user, so two users on one machine get two separate airs.
import os from 'node:os';
import path from 'node:path';
import { KeywayError } from '../../firmware/errors.ts';

export type HubEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export const HUB_ENV = 'KEYWAY_RADIO_HUB';
const DEFAULT_TCP_PORT = 47291;

export function defaultHubAddress(): string {
  if (process.platform === 'win32') return `tcp:127.0.0.1:${DEFAULT_TCP_PORT}`;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = process.env.XDG_RUNTIME_DIR ?? os.tmpdir();
  return path.join(dir, `keyway-radio-${uid}.sock`);
}

export function parseHubAddress(address: string): HubEndpoint {
  const m = /^tcp:([^:]+):(\d{1,5})$/.exec(address);
  if (m) {
    const port = Number(m[2]);
    const host = m[1] ?? '';
    if (port > 65535)
      // 0: any free port (listening only)
      throw new KeywayError('invalid_argument', `hub address ${address}: bad port`);
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1')
      throw new KeywayError('invalid_argument', `hub address ${address}: the hub only listens on loopback`);
    return { kind: 'tcp', host, port };
  }
  if (address.startsWith('tcp:'))
    throw new KeywayError('invalid_argument', `hub address ${address}: expected tcp:HOST:PORT`);
  if (address.length === 0) throw new KeywayError('invalid_argument', 'hub address is empty');
  if (process.platform !== 'win32' && Buffer.byteLength(address) > 100)
    throw new KeywayError(
      'invalid_argument',
      `hub socket path is too long for a Unix socket (max 100 bytes): ${address}`,
    );
  return { kind: 'unix', path: path.resolve(address) };
}
