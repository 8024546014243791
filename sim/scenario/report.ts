// Human and machine forms of a scenario run: one line per step, an expected/actual diff for failures, and a
// JSON document for --json.
import type { Failure } from './expect.ts';
import type { ScenarioResult, StepResult } from './Runner.ts';
import { formatLockTime } from './time.ts';

export interface ReportStyle {
  color: boolean;
}

const paint = (on: boolean, code: string, s: string): string => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

function outcomeText(r: StepResult): string {
  const parts: string[] = [];
  if (r.error !== null) parts.push(`refused: ${r.error.message}`);
  if (r.operation !== null) {
    const op = r.operation;
    const who = op.user ?? (op.userIndex === null ? null : `user #${op.userIndex}`);
    const what = op.granted ? `${op.action ?? 'granted'}` : `denied (${op.reason ?? 'no reason'})`;
    parts.push(who === null ? what : `${what} ${who}`);
  }
  if (r.text !== null) parts.push(r.text);
  if (r.alarms.length > 0)
    parts.push(`alarm ${r.alarms.map((a) => (a.silent ? `${a.code} (silent)` : a.code)).join(', ')}`);
  parts.push(`bolt ${r.bolt}, door ${r.door}`);
  return parts.join(' · ');
}

/** "  3  Mon 2026-03-02 09:15:00 CET  pin ****  →  unlock Clara · bolt unlocked, door closed   ok" */
export function formatStep(r: StepResult, timeZone: string, style: ReportStyle): string {
  const mark = r.ok ? paint(style.color, '32', 'ok') : paint(style.color, '31;1', 'FAIL');
  const when = formatLockTime(r.time, timeZone).padEnd(30);
  const what = (r.note === null ? r.description : `${r.description} (${r.note})`).padEnd(34);
  const lines = [`${String(r.n).padStart(4)}  ${when} ${what} → ${outcomeText(r)}  ${mark}`];
  for (const f of r.failures) lines.push(...formatFailure(f, style));
  return lines.join('\n');
}

/** The diff for one unmet expectation. */
export function formatFailure(f: Failure, style: ReportStyle): string[] {
  const lines = [
    `        expect.${f.field}:`,
    `          ${paint(style.color, '32', `- expected: ${f.expected}`)}`,
    `          ${paint(style.color, '31', `+ actual:   ${f.actual}`)}`,
  ];
  if (f.context !== undefined && f.context.length > 0) {
    lines.push('          entries:', ...f.context.map((c) => `            ${c}`));
  }
  return lines;
}

export function formatHeader(result: Pick<ScenarioResult, 'name' | 'file'>): string {
  return `scenario: ${result.name}  (${result.file})`;
}

export function formatSummary(result: ScenarioResult, style: ReportStyle): string {
  const failed = result.steps.filter((s) => !s.ok);
  if (result.ok) return `${paint(style.color, '32;1', 'PASS')}  ${result.stepCount} steps  ${result.file}`;
  const first = failed[0]!;
  const where = first.line === null ? result.file : `${result.file}:${first.line}`;
  const notRun = result.stepCount - result.steps.length;
  return (
    `${paint(style.color, '31;1', 'FAIL')}  step ${first.n} of ${result.stepCount} (${where}): ` +
    `${first.failures.map((f) => `expect.${f.field}`).join(', ')}` +
    (notRun > 0 ? `; ${notRun} later step${notRun === 1 ? '' : 's'} not run` : '')
  );
}

/** The full text report of one scenario. */
export function formatResult(result: ScenarioResult, style: ReportStyle): string {
  return [
    formatHeader(result),
    ...result.steps.map((s) => formatStep(s, result.timeZone, style)),
    formatSummary(result, style),
  ].join('\n');
}

/** The --json form of one scenario (stable field names; times as ISO strings). */
export function resultJson(result: ScenarioResult): Record<string, unknown> {
  return {
    file: result.file,
    name: result.name,
    ok: result.ok,
    stepCount: result.stepCount,
    dataDir: result.dataDir,
    steps: result.steps.map((s) => ({
      n: s.n,
      line: s.line,
      kind: s.kind,
      as: s.as,
      note: s.note,
      description: s.description,
      time: s.time === null ? null : new Date(s.time).toISOString(),
      localTime: formatLockTime(s.time, result.timeZone),
      text: s.text,
      operation: s.operation,
      error: s.error,
      bolt: s.bolt,
      door: s.door,
      alarms: s.alarms,
      ok: s.ok,
      failures: s.failures,
    })),
  };
}
