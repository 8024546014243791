// Ending bleno and noble. Neither has a stop(): each Hci re-arms a one-second isDevUp poll forever and
// (on real hardware) keeps a native socket open, so a process using them never exits by itself.
// shutdownBle() does what their exit handlers do (disconnect, stop advertising and scanning), then clears
// the polls and closes the sockets so the process can end on its own.
import { createRequire } from 'node:module';
import path from 'node:path';
import { liveSockets } from './HciSocket.ts';
import type { NativeLikeHciShape as NativeLikeHci } from './install.ts';
import { pollTimers, stoppedPolls } from './install.ts';

export interface ShutdownOptions {
  /**
   * Also drop bleno and noble from the require cache (and their process exit/SIGINT handlers), so the
   * next require gives fresh instances on fresh virtual controllers. Default false.
   */
  forget?: boolean;
}

const requireHere = createRequire(import.meta.url);

export async function shutdownBle(opts: ShutdownOptions = {}): Promise<void> {
  // Virtual controllers: end links and radio activity the way the hosts' exit handlers would.
  for (const s of liveSockets()) s.controller?.hostGone();
  // Real sockets (radio 'hci'): send the hosts' own Disconnect commands, then stop reading.
  for (const hci of pollTimers.keys()) disconnectNative(hci);
  await new Promise((r) => setImmediate(r));
  for (const [hci, timer] of pollTimers) {
    clearTimeout(timer);
    stoppedPolls.add(hci);
    hci._socket?.stop?.();
  }
  pollTimers.clear();
  for (const s of [...liveSockets()]) s.close();
  await new Promise((r) => setImmediate(r));
  if (opts.forget) forgetBle();
}

function disconnectNative(hci: NativeLikeHci): void {
  const sock = hci._socket;
  if (!sock || typeof sock.write !== 'function' || liveSocketsHas(sock)) return;
  const handles = new Set<number>();
  if (typeof hci._mainHandle === 'number') handles.add(hci._mainHandle);
  for (const h of hci._aclConnections?.keys() ?? []) handles.add(h);
  for (const h of handles) {
    const cmd = Buffer.from([0x01, 0x06, 0x04, 0x03, h & 0xff, h >> 8, 0x13]);
    try {
      sock.write(cmd);
    } catch {
      // the adapter is already gone: nothing to disconnect
    }
  }
}

function liveSocketsHas(sock: unknown): boolean {
  for (const s of liveSockets()) if (s === sock) return true;
  return false;
}

/** Removes every module of bleno and noble from the require cache, and their process handlers. */
export function forgetBle(): void {
  const dirs: string[] = [];
  for (const pkg of ['@abandonware/bleno', '@abandonware/noble']) {
    try {
      dirs.push(path.dirname(requireHere.resolve(`${pkg}/package.json`)) + path.sep);
    } catch {
      // not installed: nothing cached
    }
  }
  const cache = requireHere.cache;
  for (const key of Object.keys(cache)) if (dirs.some((d) => key.startsWith(d))) delete cache[key];
  for (const l of process.listeners('exit')) if (l.name === 'bound onExit') process.removeListener('exit', l);
  for (const l of process.listeners('SIGINT'))
    if (l.name === 'bound onSigInt') process.removeListener('SIGINT', l);
}
