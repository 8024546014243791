// The closed command list: for each command, the codec of its args and of its result. Shapes follow the
// engine's API (UserSpec, CredentialSpec, AccessSchedule, Settings) so the lock side maps them 1:1.
// All times are lock times in ms since the Unix epoch.
import {
  METHODS,
  ROLES,
  USER_TYPES,
  WEEK_DAYS as DAYS,
  type CredentialRule,
  type OperatingMode,
} from '../../firmware/index.ts';
import { claimFinishArgs, claimFinishResult, claimStartArgs, claimStartResult } from './claim.ts';
import {
  arrayOf,
  bool,
  bytes,
  empty,
  map,
  nullable,
  oneOf,
  opt,
  refine,
  req,
  secret,
  tagged,
  text,
  uint,
  type Codec,
} from './schema.ts';
import { BleError } from '../errors.ts';

const RULES = ['single', 'dual', 'tri'] as const satisfies readonly CredentialRule[];
const MODES = [
  'Normal',
  'Vacation',
  'Privacy',
  'NoRemoteLockUnlock',
  'Passage',
] as const satisfies readonly OperatingMode[];

export const userIndex = uint(1, 0xffff);
export const lockTime = uint(0);
const role = oneOf(ROLES);
const hhmm = text(5, 5, /^([01][0-9]|2[0-3]):[0-5][0-9]$/);
const localDateTime = text(19, 16, /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$/);
const site = text(64, 1, /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/);
const pin = secret(text(12, 4, /^[0-9]+$/));

export const scheduleCodec = tagged('kind', {
  weekly: map({
    kind: req(oneOf(['weekly'])),
    days: req(arrayOf(oneOf(DAYS), 7, 1)),
    start: req(hhmm),
    end: req(hhmm),
  }),
  yearday: map({ kind: req(oneOf(['yearday'])), from: req(localDateTime), until: req(localDateTime) }),
  holiday: map({
    kind: req(oneOf(['holiday'])),
    from: req(localDateTime),
    until: req(localDateTime),
    mode: req(oneOf(MODES)),
  }),
});

const userSpecFields = {
  name: opt(text(32)),
  userType: opt(oneOf(USER_TYPES)),
  enabled: opt(bool()),
  validFrom: opt(nullable(lockTime)),
  validUntil: opt(nullable(lockTime)),
  permanent: opt(bool()),
  methods: opt(arrayOf(oneOf(METHODS), 4, 1)),
  sites: opt(arrayOf(site, 16, 1)),
  credentialRule: opt(oneOf(RULES)),
  usesRemaining: opt(nullable(uint(0, 1_000_000))),
  mayShare: opt(bool()),
};

const userInfo = map({
  index: req(userIndex),
  name: req(nullable(text(32))),
  role: req(role),
  userType: req(oneOf(USER_TYPES)),
  enabled: req(bool()),
  validFrom: req(nullable(lockTime)),
  validUntil: req(nullable(lockTime)),
  permanent: req(bool()),
  methods: req(arrayOf(oneOf(METHODS), 4)),
  sites: req(arrayOf(site, 16)),
  credentialRule: req(oneOf(RULES)),
  usesRemaining: req(nullable(uint(0, 1_000_000))),
  mayShare: req(bool()),
  expiresAt: req(nullable(lockTime)),
});

const settingsFields = {
  sites: opt(arrayOf(site, 16, 1)),
  timeZone: opt(text(64, 1, /^[A-Za-z0-9_+\-/]+$/)),
  autoRelockSeconds: opt(uint(0, 86_400)),
  wrongCodeLimit: opt(uint(1, 100)),
  lockoutSeconds: opt(arrayOf(uint(1, 86_400), 8, 1)),
  minPinLength: opt(uint(4, 12)),
  maxPinLength: opt(uint(4, 12)),
  maxKeypadEntry: opt(uint(4, 32)),
  antiPeeping: opt(bool()),
  keypadIdleSeconds: opt(uint(1, 600)),
  operatingMode: opt(oneOf(MODES)),
  requirePinForRemote: opt(bool()),
  expiringUserTimeoutMinutes: opt(uint(1, 525_600)),
  doorAjarSeconds: opt(uint(1, 3600)),
  batteryCriticalPercent: opt(uint(0, 100)),
  clockSkewSeconds: opt(uint(0, 3600)),
};
const settingsChanges = map(settingsFields);
const settingsView = map({ lockId: opt(text(64)), ...settingsFields });

const remoteOpArgs = map({
  /** Needed when the lock's requirePinForRemote setting is on. */
  pin: opt(pin),
});

const statusResult = map({
  lockId: req(text(64)),
  bolt: req(oneOf(['locked', 'unlocked', 'locking', 'unlocking', 'jammed'])),
  door: req(oneOf(['closed', 'open', 'ajar', 'forced_open', 'unknown'])),
  battery: req(uint(0, 100)),
  mode: req(oneOf(MODES)),
  time: req(nullable(lockTime)),
  lockedOutRemainingMs: req(uint(0)),
  wrongAttempts: req(uint(0)),
  alarms: req(arrayOf(text(32), 16)),
});

const credAddArgs = tagged('type', {
  pin: map({ type: req(oneOf(['pin'])), user: req(userIndex), pin: req(pin), force: opt(bool()) }),
  card: map({ type: req(oneOf(['card'])), user: req(userIndex), uid: req(text(32, 2, /^[0-9A-Fa-f]+$/)) }),
  ekey: map({ type: req(oneOf(['ekey'])), user: req(userIndex), ekey: req(bytes(1, 3072)) }),
});

const scheduleAddArgs = refine(map({ user: opt(userIndex), schedule: req(scheduleCodec) }), (v, path) => {
  // User schedules (weekly, yearday) name a user; a holiday is lock-wide and names none.
  const holiday = v.schedule.kind === 'holiday';
  if (holiday !== (v.user === undefined)) {
    throw new BleError(
      'wire.out_of_range',
      `${path}.user: ${holiday ? 'not allowed for a holiday' : 'required'}`,
    );
  }
});

export const checkpointCodec = map({
  seq: req(uint(1)),
  hash: req(text(64, 64, /^[0-9a-f]{64}$/)),
  signature: req(text(128, 128, /^[0-9a-f]{128}$/)),
});

/** A command: args codec, result codec, and whether the result is streamed in several responses. */
interface CommandSpec<A, R> {
  readonly args: Codec<A>;
  readonly result: Codec<R>;
  readonly stream?: boolean;
}
const command = <A, R>(args: Codec<A>, result: Codec<R>, stream = false): CommandSpec<A, R> => ({
  args,
  result,
  stream,
});

export const COMMANDS = {
  unlock: command(remoteOpArgs, empty),
  lock: command(remoteOpArgs, empty),
  unlock_with_timeout: command(map({ seconds: req(uint(1, 86_400)), pin: opt(pin) }), empty),
  status: command(empty, statusResult),
  'user.list': command(
    map({ from: opt(uint(1, 0xffff)), limit: opt(uint(1, 16)) }),
    map({ users: req(arrayOf(userInfo, 16)), next: req(nullable(userIndex)) }),
  ),
  'user.add': command(map({ role: req(role), ...userSpecFields }), map({ user: req(userIndex) })),
  'user.modify': command(
    map({ user: req(userIndex), changes: req(map({ role: opt(role), ...userSpecFields })) }),
    map({ user: req(userIndex) }),
  ),
  'user.disable': command(map({ user: req(userIndex) }), empty),
  'user.remove': command(map({ user: req(userIndex), erase: opt(bool()) }), empty),
  'cred.add': command(
    credAddArgs,
    map({
      credential: req(uint(1, 0xffff)),
      user: req(userIndex),
      type: req(oneOf(['pin', 'card', 'ekey'])),
    }),
  ),
  'cred.remove': command(map({ credential: req(uint(1, 0xffff)) }), empty),
  'schedule.add': command(scheduleAddArgs, map({ index: req(uint(1, 0xffff)) })),
  'schedule.remove': command(map({ user: opt(userIndex), index: req(uint(1, 0xffff)) }), empty),
  revoke: command(map({ cti: req(bytes(1, 64)), until: req(lockTime) }), empty),
  'audit.pull': command(
    map({ from: req(uint(1)), limit: opt(uint(1, 100_000)) }),
    map({
      /** Each entry as its canonical JSON (exactly what the hash chain covers). */
      entries: req(arrayOf(text(2048), 32)),
      /** The seq to pull from next time. */
      next: req(uint(1)),
      /** In the last chunk: the newest signed checkpoint, for verifying with the device key. */
      checkpoint: opt(checkpointCodec),
    }),
    true,
  ),
  'audit.ack': command(map({ upTo: req(uint(1)) }), empty),
  'time.sync': command(map({ time: req(lockTime) }), map({ time: req(lockTime) })),
  'settings.get': command(empty, map({ settings: req(settingsView) })),
  'settings.set': command(map({ changes: req(settingsChanges) }), map({ settings: req(settingsView) })),
  factory_reset: command(map({ confirm: req(oneOf(['factory_reset'])) }), empty),
  proof: command(
    map({ ekey: req(bytes(1, 3072)), sig: req(bytes(64)) }),
    // user: the stored user the eKey's holder key is registered to (cred.add type ekey); absent for an
    // eKey holder who is not a user of the lock (a guest with only an eKey).
    map({ user: opt(userIndex), role: req(role) }),
  ),
  'claim.start': command(claimStartArgs, claimStartResult),
  'claim.finish': command(claimFinishArgs, claimFinishResult),
} as const;

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];
export type ArgsOf<C extends CommandName> =
  (typeof COMMANDS)[C] extends CommandSpec<infer A, unknown> ? A : never;
export type ResultOf<C extends CommandName> =
  (typeof COMMANDS)[C] extends CommandSpec<unknown, infer R> ? R : never;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}
