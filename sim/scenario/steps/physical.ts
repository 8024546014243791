// Steps at the lock's hardware: keypad, card reader, fingerprint reader, inside button, door, battery, tamper
// switch and the bolt motor's jam fault.
import type { Field } from '../Field.ts';
import { registerStep, type StepOutcome } from '../registry.ts';
import type { RunContext } from '../RunContext.ts';
import { readCardUid, readPin, readTemplateId } from '../users.ts';

/** PINs never appear in reports: digits are shown as '*'. */
export function maskKeys(keys: string): string {
  return keys.replace(/\d/g, '*');
}

function readKeys(field: Field): string {
  if (typeof field.value === 'number') field.fail('keypad input must be a quoted string such as "1234#"');
  const keys = field.string('keypad keys such as "1234#"');
  if (!/^[0-9#*]+$/.test(keys)) field.fail(`the keypad has keys 0-9, # and * only; got "${keys}"`);
  return keys;
}

/** Types keys; the access attempt is the one the last '#' submitted. */
function typeKeys(keys: string, ctx: RunContext): StepOutcome {
  let seqAtSubmit: number | null = null;
  for (const key of keys) {
    if (key === '#') seqAtSubmit = ctx.auditSeq();
    ctx.board.pressKey(key);
  }
  return { operation: seqAtSubmit === null ? null : ctx.operationSince(seqAtSubmit) };
}

function attempt(ctx: RunContext, act: () => void): StepOutcome {
  const seq = ctx.auditSeq();
  act();
  return { operation: ctx.operationSince(seq) };
}

export function registerPhysicalSteps(): void {
  registerStep<string>({
    name: 'keypad',
    summary: 'press keys on the outside keypad: digits, # submits, * clears ("1234#", "12*1234#")',
    parse: readKeys,
    describe: (keys) => `keypad ${maskKeys(keys)}`,
    run: typeKeys,
  });

  registerStep<string>({
    name: 'pin',
    summary: 'type a PIN and # on the keypad (shorthand for keypad: "PIN#")',
    parse: readPin,
    describe: (pin) => `pin ${maskKeys(pin)}`,
    run: (pin, ctx) => typeKeys(`${pin}#`, ctx),
  });

  registerStep<string>({
    name: 'card',
    summary: 'hold a card (hex UID) to the reader',
    parse: readCardUid,
    describe: (uid) => `card ${uid}`,
    run: (uid, ctx) => attempt(ctx, () => ctx.board.presentCard(uid)),
  });

  registerStep<number>({
    name: 'fingerprint',
    summary: 'put a finger (template id) on the reader',
    parse: readTemplateId,
    describe: (id) => `fingerprint #${id}`,
    run: (id, ctx) => attempt(ctx, () => ctx.board.presentFingerprint(id)),
  });

  registerStep<null>({
    name: 'button',
    summary: 'press the inside button (toggles: unlocks a locked bolt, locks an unlocked one)',
    bare: true,
    parse: (f) => {
      if (f.value !== null && f.value !== true) f.fail('button takes no value (write "- button")');
      return null;
    },
    describe: () => 'inside button',
    run: (_p, ctx) => attempt(ctx, () => ctx.board.pressButton()),
  });

  registerStep<boolean>({
    name: 'door',
    summary: 'open or close the door (door sensor): open | close',
    parse: (f) => {
      const v = f.oneOf(['open', 'close', 'closed', 'opened'] as const);
      return v === 'open' || v === 'opened';
    },
    describe: (open) => (open ? 'door opened' : 'door closed'),
    run: (open, ctx) => ctx.board.setDoor(open),
  });

  registerStep<number>({
    name: 'battery',
    summary: 'set the battery level in percent (0-100)',
    parse: (f) => f.number({ min: 0, max: 100, what: 'a battery level in percent' }),
    describe: (p) => `battery ${p}%`,
    run: (p, ctx) => ctx.board.setBattery(p),
  });

  registerStep<boolean>({
    name: 'tamper',
    summary: 'tamper switch: on (escutcheon removed) | off',
    parse: (f) => f.onOff(),
    describe: (on) => `tamper ${on ? 'on' : 'off'}`,
    run: (on, ctx) => ctx.board.setTamper(on),
  });

  registerStep<'off' | 'next' | 'always'>({
    name: 'jam',
    summary: 'bolt motor fault: next (the next run jams), on/always (every run jams), off',
    parse: (f) => {
      if (f.value === 'next' || f.value === 'always') return f.value;
      return f.onOff() ? 'always' : 'off';
    },
    describe: (mode) => `jam ${mode}`,
    run: (mode, ctx) => ctx.board.setJam(mode),
  });

  registerStep<'locked' | 'unlocked'>({
    name: 'free_bolt',
    summary: 'a technician frees a jammed bolt by hand into locked | unlocked',
    parse: (f) => f.oneOf(['locked', 'unlocked'] as const),
    describe: (pos) => `bolt freed by hand (${pos})`,
    run: (pos, ctx) => ctx.board.freeBolt(pos),
  });
}
