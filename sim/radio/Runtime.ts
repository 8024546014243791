// Per-process state of the virtual radio: which medium new controllers join, with which faults and
// trace, and the "kernel" key store shared by the process's controllers. HCI sockets created by bleno
// or noble find it here.
import crypto from 'node:crypto';
import path from 'node:path';
import { Air } from './Air.ts';
import { BtsnoopWriter } from './Btsnoop.ts';
import { Controller } from './Controller.ts';
import type { RadioFaults } from './Faults.ts';
import { seededRandom } from './Faults.ts';
import type { Medium, Timers } from './Medium.ts';
import { realTimers } from './Medium.ts';
import { LtkStore } from './Mgmt.ts';

export interface RuntimeConfig {
  medium: Medium;
  name: string;
  faults: RadioFaults;
  /** btsnoop file for the first controller; later ones get `.hci1`, `.hci2`... before the extension. */
  trace: string | null;
  timers: Timers;
  random: () => number;
  /** Fixed addresses for the first controllers (tests); the rest are random static addresses. */
  addresses: string[];
}

export class RadioRuntime {
  readonly keys = new LtkStore();
  readonly controllers: Controller[] = [];
  readonly closers = new Set<() => void>();
  private faults: RadioFaults;

  constructor(readonly config: RuntimeConfig) {
    this.faults = config.faults;
  }

  newController(toHost: (packet: Uint8Array) => void): Controller {
    const index = this.controllers.length;
    const c = new Controller({
      address: this.config.addresses[index] ?? randomStaticAddress(this.config.random),
      name: index === 0 ? this.config.name : `${this.config.name}#${index}`,
      faults: this.faults,
      medium: this.config.medium,
      timers: this.config.timers,
      random: this.config.random,
      keys: this.keys,
      trace: this.config.trace ? new BtsnoopWriter(tracePath(this.config.trace, index)) : null,
      toHost,
    });
    this.controllers.push(c);
    return c;
  }

  setFaults(faults: RadioFaults): void {
    this.faults = faults;
    for (const c of this.controllers) c.setFaults(faults);
  }

  get currentFaults(): RadioFaults {
    return this.faults;
  }
}

export function tracePath(base: string, index: number): string {
  if (index === 0) return base;
  const ext = path.extname(base);
  return `${base.slice(0, base.length - ext.length)}.hci${index}${ext}`;
}

/** A random static address: 46 random bits, the two most significant bits set (Vol 6, Part B, 1.3.2.1). */
export function randomStaticAddress(random: () => number): string {
  const b: number[] = [];
  for (let i = 0; i < 6; i++) b.push(Math.floor(random() * 256) & 0xff);
  b[0] = ((b[0] ?? 0) | 0xc0) & 0xff;
  // All-ones and all-zeros in the random part are not allowed.
  if (!b.slice(1).some((x) => x !== 0)) b[5] = 1;
  if (!b.some((x) => x !== 0xff)) b[5] = 0xfe;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

let current: RadioRuntime | null = null;

export function setRuntime(r: RadioRuntime | null): void {
  current = r;
}

/** The installed runtime, or (for a socket created without installVirtualRadio) a private in-process air. */
export function currentRuntime(): RadioRuntime {
  current ??= new RadioRuntime({
    medium: new Air(),
    name: 'keyway',
    faults: {},
    trace: null,
    timers: realTimers,
    random: seededRandom(crypto.randomInt(2 ** 32)),
    addresses: [],
  });
  return current;
}

export function peekRuntime(): RadioRuntime | null {
  return current;
}
