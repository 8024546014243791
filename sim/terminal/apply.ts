// Carrying out a terminal command on a running lock (shared by the line mode and the live panel).
import type { LockEvent, LockStatus } from '../../firmware/index.ts';
import type { TerminalCommand } from './commands.ts';
import type { LockHost } from './LockHost.ts';

/** Runs a command against the lock's board; `wait`, `status`, `claim-press` and `quit` are the caller's. */
export function applyCommand(host: LockHost, cmd: TerminalCommand): void {
  const board = host.board;
  switch (cmd.kind) {
    case 'keys':
      board.typeKeys(cmd.keys);
      return;
    case 'button':
      board.pressButton();
      return;
    case 'door':
      board.setDoor(cmd.open);
      return;
    case 'battery':
      board.setBattery(cmd.percent);
      return;
    case 'tamper':
      board.setTamper(cmd.on);
      return;
    case 'card':
      board.presentCard(cmd.uid);
      return;
    case 'fingerprint':
      board.presentFingerprint(cmd.templateId);
      return;
    case 'jam':
      board.setJam(cmd.mode);
      return;
    case 'wait':
    case 'status':
    case 'claim-press':
    case 'factory-reset':
    case 'quit':
    case 'none':
      return;
  }
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** A lock event as one JSON-able object for the line mode: the event, the lock time and user names. */
export function eventJson(host: LockHost, event: LockEvent): Record<string, unknown> {
  const time = iso(host.clock.now());
  if (event.type === 'audit') {
    const e = event.entry;
    const name = (i: number | null | undefined): string | null =>
      i === null || i === undefined ? null : (host.lock.getUser(i)?.name ?? null);
    return { type: 'audit', time, entry: e, user: name(e.userIndex), target: name(e.targetUserIndex) };
  }
  return { ...event, time };
}

export function statusJson(status: LockStatus): Record<string, unknown> {
  return {
    type: 'status',
    ...status,
    time: iso(status.time),
    lockedOutUntil: iso(status.lockedOutUntil),
  };
}
