// The line commands a terminal lock understands on stdin (without a TTY) — one per line:
//   1234#  (keys: digits, # submits, * clears)   button   door open|close   battery 0-100   tamper on|off
//   card HEXUID   fingerprint N   jam on|off|next   wait 5s   status   quit
// and, for scripts and the control socket: keypad 1234#   claim-press (the claim gesture)   factory-reset
import { parseDuration } from '../../firmware/index.ts';

export type TerminalCommand =
  | { kind: 'keys'; keys: string }
  | { kind: 'button' }
  /** The physical-presence gesture for claiming (the inside button held for the claim window). */
  | { kind: 'claim-press' }
  /** The reset button inside the lock (physical factory reset: wipes users, keys and secrets). */
  | { kind: 'factory-reset' }
  | { kind: 'door'; open: boolean }
  | { kind: 'battery'; percent: number }
  | { kind: 'tamper'; on: boolean }
  | { kind: 'card'; uid: string }
  | { kind: 'fingerprint'; templateId: number }
  | { kind: 'jam'; mode: 'off' | 'next' | 'always' }
  | { kind: 'wait'; ms: number }
  | { kind: 'status' }
  | { kind: 'quit' }
  | { kind: 'none' };

export const COMMAND_HELP =
  'commands: 1234# (keypad) | button | door open|close | battery N | tamper on|off | card UID | fingerprint N | ' +
  'jam on|off|next | wait 5s | status | claim-press | factory-reset | quit';

const onOff = (word: string | undefined): boolean | null =>
  word === 'on' ? true : word === 'off' ? false : null;

/** Parses one line; returns an error message for anything it does not understand. */
export function parseCommand(line: string): TerminalCommand | { error: string } {
  const text = line.trim();
  if (text === '') return { kind: 'none' };
  if (/^[0-9#*]+$/.test(text)) return { kind: 'keys', keys: text };
  const [word, arg, extra] = text.split(/\s+/);
  const bad = (why: string): { error: string } => ({ error: `${why} (${COMMAND_HELP})` });
  if (extra !== undefined) return bad(`too many words in "${text}"`);
  switch (word) {
    case 'keypad':
      return arg !== undefined && /^[0-9#*]+$/.test(arg)
        ? { kind: 'keys', keys: arg }
        : bad('keypad needs keys: digits, # (enter) and * (clear), e.g. keypad 4071#');
    case 'claim-press':
      return arg === undefined ? { kind: 'claim-press' } : bad('claim-press takes no argument');
    case 'factory-reset':
      return arg === undefined ? { kind: 'factory-reset' } : bad('factory-reset takes no argument');
    case 'button':
    case 'b':
      return arg === undefined ? { kind: 'button' } : bad('button takes no argument');
    case 'door':
      if (arg === 'open' || arg === 'close' || arg === 'closed')
        return { kind: 'door', open: arg === 'open' };
      return bad('door needs open or close');
    case 'battery': {
      const n = Number(arg);
      if (arg === undefined || !Number.isFinite(n) || n < 0 || n > 100)
        return bad('battery needs a level from 0 to 100');
      return { kind: 'battery', percent: n };
    }
    case 'tamper': {
      const on = onOff(arg);
      return on === null ? bad('tamper needs on or off') : { kind: 'tamper', on };
    }
    case 'card':
      return arg !== undefined && /^[0-9A-Fa-f]+$/.test(arg)
        ? { kind: 'card', uid: arg }
        : bad('card needs a hex UID');
    case 'fingerprint': {
      const n = Number(arg);
      return arg !== undefined && Number.isInteger(n) && n >= 0
        ? { kind: 'fingerprint', templateId: n }
        : bad('fingerprint needs a template id');
    }
    case 'jam':
      if (arg === 'next') return { kind: 'jam', mode: 'next' };
      if (arg === 'on' || arg === 'off') return { kind: 'jam', mode: arg === 'on' ? 'always' : 'off' };
      return bad('jam needs on, off or next');
    case 'wait':
      try {
        return { kind: 'wait', ms: parseDuration(arg ?? '') };
      } catch (err) {
        return bad((err as Error).message.replace(/^[a-z_]+: /, ''));
      }
    case 'status':
      return arg === undefined ? { kind: 'status' } : bad('status takes no argument');
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    case undefined:
    default:
      return bad(`unknown command "${word ?? ''}"`);
  }
}
