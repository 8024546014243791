// Management steps, performed as a named user (`as: NAME`): the engine refuses what that user's role may not
// do with KeywayError not_authorized, which `expect: { error: not_authorized }` matches.
import {
  KeywayError,
  type AccessSchedule,
  type HolidaySchedule,
  type Settings,
  type UserSpec,
} from '../../../firmware/index.ts';
import type { Field } from '../Field.ts';
import { registerStep, type ParseContext } from '../registry.ts';
import type { RunContext } from '../RunContext.ts';
import {
  readCardUid,
  readHoliday,
  readPinPlan,
  readSchedule,
  readSpecFields,
  readTemplateId,
  readUserName,
  readUserPlan,
  scheduleKey,
  USER_FIELDS,
  type PinPlan,
  type UserPlan,
} from '../users.ts';
import { CREDENTIAL_TYPES } from '../vocabulary.ts';

/** Adds a user's credentials and schedules as `actor`, remembering which index holds which secret. */
export function giveCredentials(ctx: RunContext, actor: number, index: number, plan: UserPlan): void {
  for (const p of plan.pins) addPin(ctx, actor, index, p);
  for (const uid of plan.cards) {
    const c = ctx.lock.addCredential(actor, index, { type: 'card', uid });
    ctx.rememberCredential(index, `card:${uid}`, c.index);
  }
  for (const templateId of plan.fingerprints) {
    const c = ctx.lock.addCredential(actor, index, { type: 'fingerprint', templateId });
    ctx.rememberCredential(index, `fingerprint:${templateId}`, c.index);
  }
  for (const s of plan.schedules) ctx.lock.addSchedule(actor, index, s);
}

function addPin(ctx: RunContext, actor: number, index: number, p: PinPlan): void {
  const spec = p.force
    ? { type: 'pin' as const, pin: p.pin, force: true }
    : { type: 'pin' as const, pin: p.pin };
  const c = ctx.lock.addCredential(actor, index, spec);
  ctx.rememberCredential(index, `pin:${p.pin}`, c.index);
}

const nameStep = (f: Field, ctx: ParseContext): string => ctx.userRef(f);

type Removal =
  { user: string; key: string; label: string } | { user: string; type: string; all: boolean; label: string };

function readRemoval(f: Field, ctx: ParseContext): Removal {
  f.map().onlyKeys(['user', 'pin', 'card', 'fingerprint', 'type', 'all']);
  const user = ctx.userRef(f.at('user').required());
  const given = ['pin', 'card', 'fingerprint', 'type'].filter((k) => f.at(k).present);
  if (given.length !== 1) f.fail('name exactly one of pin, card, fingerprint or type');
  if (f.at('pin').present)
    return { user, key: `pin:${readPinPlan(f.at('pin')).pin}`, label: `${user}'s PIN` };
  if (f.at('card').present) {
    const uid = readCardUid(f.at('card'));
    return { user, key: `card:${uid}`, label: `${user}'s card ${uid}` };
  }
  if (f.at('fingerprint').present) {
    const id = readTemplateId(f.at('fingerprint'));
    return { user, key: `fingerprint:${id}`, label: `${user}'s fingerprint #${id}` };
  }
  const type = f.at('type').oneOf(CREDENTIAL_TYPES);
  const all = f.at('all').optBool() ?? false;
  return { user, type, all, label: `${all ? 'all of ' : ''}${user}'s ${type} credential${all ? 's' : ''}` };
}

const SETTING_KEYS = Object.keys({
  lockId: true,
  sites: true,
  timeZone: true,
  autoRelockSeconds: true,
  wrongCodeLimit: true,
  lockoutSeconds: true,
  minPinLength: true,
  maxPinLength: true,
  maxKeypadEntry: true,
  antiPeeping: true,
  keypadIdleSeconds: true,
  operatingMode: true,
  requirePinForRemote: true,
  expiringUserTimeoutMinutes: true,
  doorAjarSeconds: true,
  batteryCriticalPercent: true,
  clockSkewSeconds: true,
  capacities: true,
} satisfies Record<keyof Settings, true>);

/** A settings patch: known keys only (values are checked by the engine, which names the setting). */
export function readSettingsPatch(f: Field): Partial<Settings> {
  f.map().onlyKeys(SETTING_KEYS);
  const patch: Record<string, unknown> = {};
  for (const k of f.keys()) patch[k] = f.at(k).value;
  return patch;
}

export function registerManagementSteps(): void {
  registerStep<UserPlan>({
    name: 'add_user',
    summary: 'add a user (same fields as in users:), with its PINs, cards and schedules',
    actor: 'required',
    parse: (f, ctx) => {
      const plan = readUserPlan(f, ctx, { allowCreatedBy: false });
      ctx.users.add(plan.name);
      return plan;
    },
    describe: (p, as) => `${as} adds ${p.spec.role} ${p.name}`,
    run: (p, ctx) => {
      const actor = ctx.actor();
      const user = ctx.lock.addUser(actor, p.spec);
      ctx.nameUser(p.name, user.index);
      giveCredentials(ctx, actor, user.index, p);
      return { text: `user #${user.index} (${user.userType})` };
    },
  });

  registerStep<{ user: string; patch: Partial<UserSpec>; rename?: string }>({
    name: 'modify_user',
    summary: 'change a user: { user: NAME, role?, userType?, validUntil?, methods?, name? (rename), ... }',
    actor: 'required',
    parse: (f, ctx) => {
      f.map().onlyKeys([
        'user',
        ...USER_FIELDS.filter(
          (k) =>
            ![
              'pin',
              'pins',
              'card',
              'cards',
              'fingerprint',
              'fingerprints',
              'schedules',
              'createdBy',
            ].includes(k),
        ),
      ]);
      const user = ctx.userRef(f.at('user').required());
      const patch = readSpecFields(f, ctx);
      if (f.at('name').present) {
        const rename = readUserName(f.at('name'));
        ctx.users.add(rename);
        return { user, patch: { ...patch, name: rename }, rename };
      }
      if (Object.keys(patch).length === 0) f.fail('modify_user needs at least one field to change');
      return { user, patch };
    },
    describe: (p, as) => `${as} modifies ${p.user} (${Object.keys(p.patch).join(', ')})`,
    run: (p, ctx) => {
      const index = ctx.userIndex(p.user);
      ctx.lock.modifyUser(ctx.actor(), index, p.patch);
      if (p.rename !== undefined) ctx.nameUser(p.rename, index);
    },
  });

  for (const [name, verb, act] of [
    [
      'disable_user',
      'disables',
      (ctx: RunContext, i: number) => ctx.lock.setUserEnabled(ctx.actor(), i, false),
    ],
    ['enable_user', 'enables', (ctx: RunContext, i: number) => ctx.lock.setUserEnabled(ctx.actor(), i, true)],
    ['remove_user', 'removes', (ctx: RunContext, i: number) => ctx.lock.removeUser(ctx.actor(), i)],
    ['erase_user', 'erases (GDPR)', (ctx: RunContext, i: number) => ctx.lock.eraseUser(ctx.actor(), i)],
  ] as const) {
    registerStep<string>({
      name,
      summary: `${name.replace('_user', '')} a user: ${name}: NAME`,
      actor: 'required',
      parse: nameStep,
      describe: (user, as) => `${as} ${verb} ${user}`,
      run: (user, ctx) => {
        act(ctx, ctx.userIndex(user));
      },
    });
  }

  registerStep<{ user: string; pin: PinPlan }>({
    name: 'add_pin',
    summary: 'give a user a PIN: { user: NAME, pin: "2580", force?: true }',
    actor: 'required',
    parse: (f, ctx) => {
      f.map().onlyKeys(['user', 'pin', 'force']);
      const user = ctx.userRef(f.at('user').required());
      const pin = readPinPlan(f.at('pin').required());
      return { user, pin: { pin: pin.pin, force: f.at('force').optBool() ?? false } };
    },
    describe: (p, as) => `${as} gives ${p.user} a PIN`,
    run: (p, ctx) => addPin(ctx, ctx.actor(), ctx.userIndex(p.user), p.pin),
  });

  registerStep<{ user: string; uid: string }>({
    name: 'add_card',
    summary: 'give a user a card: { user: NAME, uid: "04A2B3C4" }',
    actor: 'required',
    parse: (f, ctx) => {
      f.map().onlyKeys(['user', 'uid']);
      return { user: ctx.userRef(f.at('user').required()), uid: readCardUid(f.at('uid').required()) };
    },
    describe: (p, as) => `${as} gives ${p.user} card ${p.uid}`,
    run: (p, ctx) => {
      const index = ctx.userIndex(p.user);
      const c = ctx.lock.addCredential(ctx.actor(), index, { type: 'card', uid: p.uid });
      ctx.rememberCredential(index, `card:${p.uid}`, c.index);
    },
  });

  registerStep<{ user: string; templateId: number }>({
    name: 'add_fingerprint',
    summary: 'enrol a fingerprint: { user: NAME, template: 3 }',
    actor: 'required',
    parse: (f, ctx) => {
      f.map().onlyKeys(['user', 'template']);
      return {
        user: ctx.userRef(f.at('user').required()),
        templateId: readTemplateId(f.at('template').required()),
      };
    },
    describe: (p, as) => `${as} enrols fingerprint #${p.templateId} for ${p.user}`,
    run: (p, ctx) => {
      const index = ctx.userIndex(p.user);
      const c = ctx.lock.addCredential(ctx.actor(), index, { type: 'fingerprint', templateId: p.templateId });
      ctx.rememberCredential(index, `fingerprint:${p.templateId}`, c.index);
    },
  });

  registerStep<Removal>({
    name: 'remove_credential',
    summary:
      'remove a credential: { user: NAME, pin: "2580" | card: UID | fingerprint: N | type: pin, all?: true }',
    actor: 'required',
    parse: readRemoval,
    describe: (r, as) => `${as} removes ${r.label}`,
    run: (r, ctx) => {
      const index = ctx.userIndex(r.user);
      let targets: number[];
      if ('key' in r) {
        const c = ctx.credentialIndex(index, r.key);
        if (c === undefined) throw new KeywayError('not_found', `the scenario never gave ${r.label}`);
        targets = [c];
      } else {
        targets = ctx.lock
          .listCredentials(index)
          .filter((c) => c.type === r.type)
          .map((c) => c.index);
        if (targets.length === 0) throw new KeywayError('not_found', `${r.user} has no ${r.type} credential`);
        if (targets.length > 1 && !r.all) {
          throw new KeywayError(
            'invalid_argument',
            `${r.user} has ${targets.length} ${r.type} credentials; name one or say all: true`,
          );
        }
      }
      for (const c of targets) {
        ctx.lock.removeCredential(ctx.actor(), c);
        ctx.forgetCredential(c);
      }
    },
  });

  registerStep<{ user: string; schedule: AccessSchedule }>({
    name: 'add_schedule',
    summary:
      'add a schedule: { user: NAME, weekly: "mon,thu 09:00-12:00" } or { user, yearday: { from, until } }',
    actor: 'required',
    parse: (f, ctx) => ({
      user: ctx.userRef(f.map().at('user').required()),
      schedule: readSchedule(f, ['user']),
    }),
    describe: (p, as) => `${as} adds schedule ${scheduleKey(p.schedule)} to ${p.user}`,
    run: (p, ctx) => {
      ctx.lock.addSchedule(ctx.actor(), ctx.userIndex(p.user), p.schedule);
    },
  });

  registerStep<{ user: string; schedule: AccessSchedule }>({
    name: 'remove_schedule',
    summary: 'remove the schedule given exactly as it was added: { user: NAME, weekly: "..." }',
    actor: 'required',
    parse: (f, ctx) => ({
      user: ctx.userRef(f.map().at('user').required()),
      schedule: readSchedule(f, ['user']),
    }),
    describe: (p, as) => `${as} removes schedule ${scheduleKey(p.schedule)} from ${p.user}`,
    run: (p, ctx) => {
      const index = ctx.userIndex(p.user);
      const key = scheduleKey(p.schedule);
      const found = ctx.lock.listSchedules(index).find((s) => scheduleKey(s.schedule) === key);
      if (found === undefined) throw new KeywayError('not_found', `${p.user} has no schedule ${key}`);
      ctx.lock.removeSchedule(ctx.actor(), index, found.index);
    },
  });

  registerStep<HolidaySchedule>({
    name: 'add_holiday',
    summary: 'add a holiday window switching the operating mode: { from, until, mode: Vacation }',
    actor: 'required',
    parse: (f) => readHoliday(f),
    describe: (h, as) => `${as} adds holiday ${h.from}..${h.until} (${h.mode})`,
    run: (h, ctx) => {
      ctx.lock.addHoliday(ctx.actor(), h);
    },
  });

  registerStep<HolidaySchedule>({
    name: 'remove_holiday',
    summary: 'remove the holiday given exactly as it was added',
    actor: 'required',
    parse: (f) => readHoliday(f),
    describe: (h, as) => `${as} removes holiday ${h.from}..${h.until}`,
    run: (h, ctx) => {
      const found = ctx.lock
        .listHolidays()
        .find((x) => x.holiday.from === h.from && x.holiday.until === h.until && x.holiday.mode === h.mode);
      if (found === undefined)
        throw new KeywayError('not_found', `no holiday ${h.from}..${h.until} (${h.mode})`);
      ctx.lock.removeHoliday(ctx.actor(), found.index);
    },
  });

  registerStep<Partial<Settings>>({
    name: 'set_settings',
    summary:
      'change settings: { autoRelockSeconds: 10, operatingMode: Privacy, ... } (security settings: owner only)',
    actor: 'required',
    parse: readSettingsPatch,
    describe: (p, as) =>
      `${as} sets ${Object.entries(p)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ')}`,
    run: (p, ctx) => {
      ctx.lock.updateSettings(ctx.actor(), p);
    },
  });
}
