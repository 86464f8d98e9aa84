// The public API of the reference implementation (the contract the CLI, the model-based tests and
// the trace checkers use). See impl/simulation.ts for the stepwise Simulation and simulateChange,
// impl/trace.ts for the trace format (docs/trace-format.md) and impl/invariants.ts for the checks.

export {
  Simulation,
  simulateChange,
  MAX_STEPS,
  NEW_KEY_STATES,
  TARGET_STATES,
} from './simulation.ts';
export { OptionsError } from './options-error.ts';
export type { KeyCheckValues } from './key-check-values.ts';
export { SCHEDULES, type ScheduleName } from './pct.ts';
export type {
  ChangePlan,
  Fault,
  MemberSpec,
  SimulateOptions,
  SimulationResult,
} from './simulation.ts';
export type { ClusterView, MemberView } from './view.ts';
export type { PendingAction } from './sysplex.ts';
export type { InitiatorStep, Refusal } from './initiator.ts';
export type { UpdateOp } from './updates.ts';
export { checkTrace, checkState, TraceChecker, INVARIANT_NAMES } from './invariants.ts';
export type { InvariantName, InvariantResult } from './invariants.ts';
export {
  parseTrace,
  TraceParser,
  toNdjson,
  formatEvent,
  validateEvent,
  traceJsonSchema,
  TraceFormatError,
  TRACE_VERSION,
} from './trace.ts';
export type {
  TraceEvent,
  TraceEventName,
  TraceEventOf,
  MemberAtStart,
  DataSetAtStart,
} from './trace.ts';
export * from './vocabulary.ts';
export type { Mkvp, RegisterView } from './coprocessor.ts';
