// The scenario runner's public surface (used by tools/commands/scenario.ts and by later issues' steps).
export {
  parseScenario,
  loadScenario,
  type Scenario,
  type ParsedStep,
  type ParsedSection,
  type BoardSetup,
} from './parse.ts';
export { runScenario, type ScenarioResult, type StepResult, type RunOptions } from './Runner.ts';
export {
  registerStep,
  registerSection,
  sectionKinds,
  type SectionKind,
  stepKind,
  stepKinds,
  type StepKind,
  type ParseContext,
  type StepOutcome,
  type Operation,
} from './registry.ts';
export type { RunContext } from './RunContext.ts';
export { registerBuiltinSteps } from './steps/index.ts';
export { ScenarioError, formatLocation, type Location } from './ScenarioError.ts';
export { Field, formatPath, type PathSegment } from './Field.ts';
export {
  formatResult,
  formatStep,
  formatHeader,
  formatSummary,
  formatFailure,
  resultJson,
  type ReportStyle,
} from './report.ts';
export {
  checkExpectation,
  EXPECT_FIELDS,
  type Expectation,
  type Failure,
  type Observation,
} from './expect.ts';
export { formatLockTime, parseTimePoint } from './time.ts';
