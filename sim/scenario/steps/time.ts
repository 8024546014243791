// Steps on time and power: let time pass, set the clock, make it drift, cut the power.
import { parseDuration } from '../../../firmware/index.ts';
import type { Field } from '../Field.ts';
import { registerStep } from '../registry.ts';
import { formatLockTime, stripCode } from '../time.ts';

export function readDuration(field: Field): { ms: number; text: string } {
  if (typeof field.value === 'number')
    field.fail(`a duration needs a unit, e.g. "${field.value}s" or "${field.value}m"`);
  const text = field.string('a duration such as "30s", "15m" or "2d3h"');
  try {
    return { ms: parseDuration(text), text };
  } catch (err) {
    field.fail(stripCode(err instanceof Error ? err.message : String(err)));
  }
}

interface PowerCycle {
  loseTime: boolean;
  offFor: { ms: number; text: string } | null;
}

export function registerTimeSteps(): void {
  registerStep<{ ms: number; text: string }>({
    name: 'advance',
    summary: 'let simulated time pass, firing timers on the way ("30s", "15m", "2d3h", "1w")',
    parse: readDuration,
    describe: (d) => `advance ${d.text}`,
    run: (d, ctx) => {
      ctx.clock.advance(d.ms);
      return { text: `now ${formatLockTime(ctx.clock.now(), ctx.timeZone)}` };
    },
  });

  registerStep<{ t: number; shown: string }>({
    name: 'set_time',
    summary: "set the lock's clock; with as: NAME through the lock (admin+), without it directly on the RTC",
    actor: 'optional',
    parse: (f, ctx) => {
      const t = ctx.time(f);
      return { t, shown: formatLockTime(t, ctx.timeZone) };
    },
    describe: (p, as) => (as === undefined ? `RTC set to ${p.shown}` : `${as} sets the time to ${p.shown}`),
    run: (p, ctx) => {
      if (ctx.hasActor()) ctx.lock.setTime(ctx.actor(), p.t);
      else ctx.clock.set(p.t);
    },
  });

  registerStep<number>({
    name: 'clock_drift',
    summary: 'make the RTC run fast (+) or slow (-) by this many ppm from now on',
    parse: (f) => f.number({ min: -1_000_000, max: 1_000_000, what: 'a drift in ppm' }),
    describe: (ppm) => `RTC drift ${ppm} ppm`,
    run: (ppm, ctx) => ctx.clock.setDrift(ppm),
  });

  registerStep<PowerCycle>({
    name: 'power_cycle',
    summary: 'power off and on: the lock restarts from its data directory (lose_time: true, off_for: 2h)',
    bare: true,
    modifiers: ['lose_time', 'off_for'],
    parse: (f, ctx) => {
      const opts = f.isMap() ? f : null;
      if (opts !== null) opts.onlyKeys(['lose_time', 'off_for']);
      else if (f.value !== null && f.value !== true) {
        f.fail('power_cycle takes no value or { lose_time: true, off_for: "2h" }');
      }
      const lose = opts?.at('lose_time').present === true ? opts.at('lose_time') : ctx.modifier('lose_time');
      const off = opts?.at('off_for').present === true ? opts.at('off_for') : ctx.modifier('off_for');
      return {
        loseTime: lose.present ? lose.bool() : false,
        offFor: off.present ? readDuration(off) : null,
      };
    },
    describe: (p) =>
      `power cycle${p.offFor === null ? '' : ` (off for ${p.offFor.text})`}${p.loseTime ? ', RTC lost its time' : ''}`,
    run: (p, ctx) => {
      ctx.powerCycle(p.loseTime, p.offFor?.ms ?? 0);
      return { text: `clock ${formatLockTime(ctx.clock.now(), ctx.timeZone)}` };
    },
  });
}
