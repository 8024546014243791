import {
  KeywayError,
  type BoardPort,
  type BoltState,
  type Clock,
  type TimerHandle,
} from '../../firmware/index.ts';

/** The Lock methods the board pushes its inputs into (a subset of firmware/Lock.ts). */
export interface LockInputs {
  pressKey(key: string): void;
  insideButton(): unknown;
  doorChanged(open: boolean): void;
  tamperChanged(active: boolean): void;
  presentCard(uid: string): unknown;
  presentFingerprint(templateId: number): unknown;
}

/** off: the motor works; next: the next run jams, then it works again; always: every run jams. */
export type JamMode = 'off' | 'next' | 'always';

export interface VirtualBoardOptions {
  clock: Clock;
  /** Time the motor takes to move the bolt end to end. Default 800 ms. */
  travelMs?: number;
  /** Battery level in percent. Default 100. */
  batteryPercent?: number;
  /** Percent drained per motor run. Default 0.01. */
  drainPerRun?: number;
  /** Door sensor reading at power-on; null = no sensor / unknown. Default closed (false). */
  doorOpen?: boolean | null;
  /** Where the bolt physically is at power-on. Default locked. */
  bolt?: 'locked' | 'unlocked';
}

/** A snapshot of the hardware, for panels and scenario expectations. */
export interface BoardState {
  bolt: BoltState;
  doorOpen: boolean | null;
  batteryPercent: number;
  tamper: boolean;
  jam: JamMode;
  motorRuns: number;
  motorRunning: boolean;
}

interface MotorCommand {
  target: 'locked' | 'unlocked';
  done: (result: 'ok' | 'jammed') => void;
}

const KEYS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '#', '*']);

function checkPercent(what: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    throw new KeywayError('out_of_range', `${what} must be a percentage from 0 to 100, got ${value}`);
  }
  return value;
}

/**
 * The lock's board in software: a bolt motor that takes time and can jam, a door sensor, a keypad, an inside
 * button, a battery that drains per motor run, and a tamper switch. It implements the firmware's BoardPort
 * (the actuators the engine drives) and forwards physical inputs into the attached Lock.
 */
export class VirtualBoard implements BoardPort {
  private readonly clock: Clock;
  private travel: number;
  private battery: number;
  private drain: number;
  private door: boolean | null;
  private boltState: BoltState;
  private tamperActive = false;
  private jamMode: JamMode = 'off';
  private runs = 0;
  private motorTimer: TimerHandle | null = null;
  private readonly queue: MotorCommand[] = [];
  private lock: LockInputs | null = null;
  private readonly listeners = new Set<(state: BoardState) => void>();

  constructor(options: VirtualBoardOptions) {
    this.clock = options.clock;
    this.travel = VirtualBoard.checkTravel(options.travelMs ?? 800);
    this.battery = checkPercent('battery level', options.batteryPercent ?? 100);
    this.drain = checkPercent('battery drain per motor run', options.drainPerRun ?? 0.01);
    this.door = options.doorOpen === undefined ? false : options.doorOpen;
    this.boltState = options.bolt ?? 'locked';
  }

  private static checkTravel(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0 || ms > 60_000) {
      throw new KeywayError('out_of_range', `bolt travel time must be 0 to 60000 ms, got ${ms}`);
    }
    return ms;
  }

  /** Connect the Lock that receives keypad, button, door and tamper inputs. */
  attach(lock: LockInputs): void {
    this.lock = lock;
  }

  detach(): void {
    this.lock = null;
  }

  /** Called whenever the hardware state changes (bolt, door, battery, tamper, jam). Returns an unsubscribe. */
  onChange(listener: (state: BoardState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  state(): BoardState {
    return {
      bolt: this.boltState,
      doorOpen: this.door,
      batteryPercent: this.battery,
      tamper: this.tamperActive,
      jam: this.jamMode,
      motorRuns: this.runs,
      motorRunning: this.motorTimer !== null,
    };
  }

  // ---- BoardPort (driven by the engine) ----

  /**
   * Run the motor towards target; done is called (from a clock timer, never synchronously) when the bolt gets
   * there or jams. A command given while the motor runs waits for the current run to finish. With a flat
   * battery the motor does not turn and the run reports jammed.
   */
  driveBolt(target: 'locked' | 'unlocked', done: (result: 'ok' | 'jammed') => void): void {
    this.queue.push({ target, done });
    if (this.motorTimer === null) this.startNext();
  }

  batteryPercent(): number {
    return this.battery;
  }

  doorOpen(): boolean | null {
    return this.door;
  }

  private startNext(): void {
    const command = this.queue.shift();
    if (command === undefined) return;
    const { target, done } = command;
    const dead = this.battery <= 0;
    const jams = dead || this.jamMode !== 'off';
    if (this.jamMode === 'next') this.jamMode = 'off';
    if (!dead) {
      this.runs++;
      this.battery = Math.max(0, Math.round((this.battery - this.drain) * 1e6) / 1e6);
      this.boltState = target === 'locked' ? 'locking' : 'unlocking';
    }
    this.motorTimer = this.clock.setTimer(dead ? 0 : this.travel, () => {
      this.motorTimer = null;
      this.boltState = jams ? 'jammed' : target;
      this.changed();
      done(jams ? 'jammed' : 'ok');
      if (this.motorTimer === null) this.startNext();
    });
    this.changed();
  }

  // ---- bench controls (the test operator's hands) ----

  setTravelMs(ms: number): void {
    this.travel = VirtualBoard.checkTravel(ms);
  }

  setBattery(percent: number): void {
    this.battery = checkPercent('battery level', percent);
    this.changed();
  }

  setDrainPerRun(percent: number): void {
    this.drain = checkPercent('battery drain per motor run', percent);
  }

  setJam(mode: JamMode): void {
    this.jamMode = mode;
    this.changed();
  }

  /** Free a jammed bolt by hand into a position (a technician's fix). */
  freeBolt(position: 'locked' | 'unlocked'): void {
    this.boltState = position;
    this.changed();
  }

  // ---- physical inputs, forwarded into the Lock ----

  pressKey(key: string): void {
    if (!KEYS.has(key))
      throw new KeywayError('invalid_argument', `the keypad has keys 0-9, # and *; got "${key}"`);
    this.lock?.pressKey(key);
  }

  /** Press each key of a string such as "1234#" in turn. Validates all keys before pressing any. */
  typeKeys(keys: string): void {
    for (const key of keys) {
      if (!KEYS.has(key))
        throw new KeywayError('invalid_argument', `the keypad has keys 0-9, # and *; got "${key}"`);
    }
    for (const key of keys) this.lock?.pressKey(key);
  }

  pressButton(): void {
    this.lock?.insideButton();
  }

  /** Hold a card (hex UID) to the reader. */
  presentCard(uid: string): void {
    if (!/^[0-9A-Fa-f]+$/.test(uid))
      throw new KeywayError('invalid_argument', `a card UID is hex, got "${uid}"`);
    this.lock?.presentCard(uid);
  }

  /** Put a finger on the reader (the sensor matched it to this template id). */
  presentFingerprint(templateId: number): void {
    this.lock?.presentFingerprint(templateId);
  }

  setDoor(open: boolean): void {
    if (this.door === open) return;
    this.door = open;
    this.changed();
    this.lock?.doorChanged(open);
  }

  setTamper(active: boolean): void {
    if (this.tamperActive === active) return;
    this.tamperActive = active;
    this.changed();
    this.lock?.tamperChanged(active);
  }

  private changed(): void {
    const state = this.state();
    for (const listener of this.listeners) listener(state);
  }
}
