// A lock running on the virtual board in this process, over a persistent data directory: what `keyway lock`
// drives from the terminal and `keyway admin` opens briefly to manage users.
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { Lock, type LockEvent, type Settings } from '../../firmware/index.ts';
import { VirtualBoard } from '../board/index.ts';
import { CryptoRandom, RealClock } from '../clock/index.ts';
import { checkDataDir, DataDirLock } from './dataDir.ts';

export interface LockHostOptions {
  dataDir: string;
  /** Who holds the data directory (shown to a second process that is refused). */
  purpose: string;
  /** Lock time runs this many times faster than real time. */
  speed?: number;
  /** Settings for a new store (ignored when the store exists). */
  initialSettings?: Partial<Settings>;
  /** Bolt travel time in lock milliseconds (default 800). */
  travelMs?: number;
  onEvent?: (event: LockEvent) => void;
}

export class LockHost {
  /** True if this open created the store. */
  readonly created: boolean;

  private constructor(
    readonly lock: Lock,
    readonly board: VirtualBoard,
    readonly clock: RealClock,
    readonly dataDir: string,
    private readonly dirLock: DataDirLock,
    created: boolean,
  ) {
    this.created = created;
  }

  /**
   * Opens (creating on first use) the lock in dataDir. Refuses, leaving the directory as it was: a directory
   * that is not keyway's, one in use by another process, and (from the engine) corrupt, foreign, newer or
   * rolled-back stores.
   */
  static open(options: LockHostOptions): LockHost {
    const { dataDir } = options;
    const existed = existsSync(dataDir);
    const state = checkDataDir(dataDir);
    if (!existed) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const dirLock = DataDirLock.acquire(dataDir, options.purpose);
    const clock = new RealClock({ speed: options.speed ?? 1 });
    const board = new VirtualBoard({ clock, travelMs: options.travelMs ?? 800 });
    try {
      const lock = Lock.open({
        dataDir,
        clock,
        random: new CryptoRandom(),
        board,
        events: { emit: (e) => options.onEvent?.(e) },
        ...(options.initialSettings === undefined ? {} : { initialSettings: options.initialSettings }),
      });
      board.attach(lock);
      return new LockHost(lock, board, clock, dataDir, dirLock, state === 'new');
    } catch (err) {
      clock.close();
      dirLock.release();
      if (!existed && readdirSync(dataDir).length === 0) rmdirSync(dataDir);
      throw err;
    }
  }

  /** Stops timers, closes the store and releases the data directory. Safe to call twice. */
  close(): void {
    try {
      this.lock.close();
    } finally {
      this.clock.close();
      this.dirLock.release();
    }
  }
}
