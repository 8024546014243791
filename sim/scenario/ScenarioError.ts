/** Where in a scenario file something is: for error messages that name file, line, step and field. */
export interface Location {
  file: string;
  line?: number;
  /** 1-based step number, when the problem is inside a step. */
  step?: number;
  /** Field path relative to the step (or to the document when outside the steps), e.g. "expect.result". */
  field?: string;
}

export function formatLocation(at: Location): string {
  const parts = [at.line === undefined ? at.file : `${at.file}:${at.line}`];
  if (at.step !== undefined) parts.push(`step ${at.step}`);
  if (at.field !== undefined && at.field !== '') parts.push(`field ${at.field}`);
  return parts.join(': ');
}

/** A scenario file that cannot be run: malformed, an unknown user, a value out of range. */
export class ScenarioError extends Error {
  readonly code = 'malformed';
  constructor(
    readonly at: Location,
    readonly detail: string,
  ) {
    super(`${formatLocation(at)}: ${detail}`);
    this.name = 'ScenarioError';
  }
}
