// The module-load hook. bleno and noble `require('@abandonware/bluetooth-hci-socket')`; with the hook in
// place that request is answered with the virtual socket class, whether or not the native module is
// installed (a require.cache entry would not do: it needs the real package to resolve). It must be
// installed before bleno or noble is first required.
//
// It also (1) wraps their `Hci.prototype.pollIsDevUp` so the one-second poll they never stop can be
// cleared (see Shutdown.ts), and (2) on macOS and Windows makes bleno and noble pick their hci-socket
// bindings instead of the platform's own, since the virtual radio sits under the HCI layer.
import { createRequire } from 'node:module';
import { VirtualHciSocket } from './HciSocket.ts';

export type RadioMode = 'virtual' | 'hci' | `hci:${number}`;

type LoadFn = (
  request: string,
  parent: { filename?: string | null } | null | undefined,
  isMain: boolean,
) => unknown;
interface ModuleInternals {
  _load: LoadFn;
}

const requireHere = createRequire(import.meta.url);
const Module = requireHere('node:module') as ModuleInternals;

export const SOCKET_MODULES: ReadonlySet<string> = new Set([
  '@abandonware/bluetooth-hci-socket',
  'bluetooth-hci-socket',
]);
const BLE_LIB = /[\\/]@abandonware[\\/](bleno|noble)[\\/]lib[\\/]/;

/** What shutdown needs from a bleno/noble Hci instance (all optional: it is their private state). */
export interface NativeLikeHciShape {
  _socket?: { stop?: () => void; write?: (b: Buffer) => void };
  _mainHandle?: number | null;
  _aclConnections?: Map<number, unknown>;
}

/** Hci instances (bleno's and noble's) with the timer of their current isDevUp poll. */
export const pollTimers = new Map<NativeLikeHciShape, NodeJS.Timeout>();
/** Hci instances whose poll must not run again. */
export const stoppedPolls = new WeakSet<NativeLikeHciShape>();

let originalLoad: LoadFn | null = null;
let mode: RadioMode = 'virtual';

export function hookInstalled(): boolean {
  return originalLoad !== null;
}

export function installHook(m: RadioMode): void {
  mode = m;
  if (originalLoad) return;
  const orig = Module._load;
  originalLoad = orig;
  Module._load = function (this: unknown, request, parent, isMain) {
    if (mode === 'virtual' && SOCKET_MODULES.has(request)) return VirtualHciSocket;
    const from = parent?.filename ?? '';
    if (
      mode === 'virtual' &&
      BLE_LIB.test(from) &&
      (request === './mac/bindings' || request === './win/bindings')
    ) {
      // bleno.js and noble's resolve-bindings.js pick the platform's own stack on macOS/Windows; the
      // virtual radio lives under HCI, so they get the hci-socket bindings instead.
      request = './hci-socket/bindings';
    }
    const exported = orig.call(this, request, parent, isMain);
    if (request === './hci' && BLE_LIB.test(from)) patchPoll(exported);
    return exported;
  };
}

export function uninstallHook(): void {
  if (!originalLoad) return;
  Module._load = originalLoad;
  originalLoad = null;
}

const PATCHED = Symbol.for('keyway.radio.pollPatched');

/** Wraps pollIsDevUp so each poll's timer is remembered (and can be cleared) and a stopped poll ends. */
function patchPoll(exported: unknown): void {
  const proto = (exported as { prototype?: Record<string | symbol, unknown> } | null)?.prototype;
  if (!proto || typeof proto.pollIsDevUp !== 'function' || proto[PATCHED]) return;
  const original = proto.pollIsDevUp as (this: NativeLikeHciShape, ...a: unknown[]) => unknown;
  proto[PATCHED] = true;
  proto.pollIsDevUp = function (this: NativeLikeHciShape, ...args: unknown[]): unknown {
    if (stoppedPolls.has(this)) return undefined;
    const realSetTimeout = globalThis.setTimeout;
    let captured: NodeJS.Timeout | null = null;
    // The poll re-arms itself with setTimeout(..., 1000) at its end; catch that one timer.
    const capture = ((fn: () => void, ms?: number) => {
      const t = realSetTimeout(fn, ms);
      if (ms === 1000) captured = t;
      return t;
    }) as typeof setTimeout;
    globalThis.setTimeout = capture;
    try {
      return original.apply(this, args);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      if (captured) pollTimers.set(this, captured);
    }
  };
}
