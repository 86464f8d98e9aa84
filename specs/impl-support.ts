// Helpers shared by the impl-*.test.ts files (not a test file itself).
import assert from 'node:assert/strict';
import type {
  InvariantResult,
  SimulationResult,
  TraceEvent,
  TraceEventName,
  TraceEventOf,
} from '../impl/index.ts';

/** Every invariant holds (the message names the failures). */
export function assertInvariants(results: readonly InvariantResult[], what = ''): void {
  const bad = results.filter((r) => !r.ok);
  assert.deepEqual(
    bad.map((r) => `${r.name}: ${r.detail}${r.line ? ` (line ${r.line})` : ''}`),
    [],
    `invariants ${what}`,
  );
}

/** The events of one kind. */
export function eventsOf<N extends TraceEventName>(
  trace: readonly TraceEvent[],
  name: N,
): TraceEventOf<N>[] {
  return trace.filter((e): e is TraceEventOf<N> => e.event === name);
}

/** The order of a step's start events. */
export function stepOrder(trace: readonly TraceEvent[], actor?: string): string[] {
  return eventsOf(trace, 'step')
    .filter((e) => e.phase === 'start' && (actor === undefined || e.actor === actor))
    .map((e) => e.step);
}

/** Secure keys whose KCVs before and after are equal, and how many there are. */
export function kcvSummary(r: SimulationResult): { checked: number; equal: number } {
  const handles = Object.keys(r.kcv.before);
  return {
    checked: handles.length,
    equal: handles.filter((h) => r.kcv.after[h] === r.kcv.before[h]).length,
  };
}

export const HAPPY_STEPS = [
  'validate',
  'beginRouting',
  'reencipher',
  'suspend',
  'applyDelta',
  'reload',
  'commit',
  'switch',
  'finish',
  'resume',
];
