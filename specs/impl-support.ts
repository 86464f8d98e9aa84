// Helpers shared by the impl-*.test.ts files (not a test file itself).
import assert from 'node:assert/strict';
import {
  parseTrace,
  toNdjson,
  type InvariantResult,
  type PendingAction,
  type Simulation,
  type SimulationResult,
  type TraceEvent,
  type TraceEventName,
  type TraceEventOf,
} from '../impl/index.ts';
import { invariantsOracle, statechartOracle, tlaOracle } from '../cli/oracles.ts';
import { tlcJar } from '../tla/tlc-runner.ts';

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
  const handles = [...r.kcv.before.handles()];
  return {
    checked: handles.length,
    equal: handles.filter((h) => r.kcv.after.get(h) === r.kcv.before.get(h)).length,
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

/**
 * One action the way the seeded driver would take it, but deterministic and never one `held`:
 * the oldest due non-timer action, else the earliest due one. false when none is left to take.
 */
export function stepHolding(
  sim: Simulation,
  held: (a: PendingAction) => boolean = () => false,
): boolean {
  const free = sim.pending().filter((a) => !held(a));
  if (free.length === 0) return false;
  const tick = sim.observe().tick;
  const due = free.filter((a) => a.kind !== 'timer' && a.due <= tick + 1);
  const next = due[0] ?? [...free].sort((a, b) => a.due - b.due || a.id - b.id)[0]!;
  sim.fire(next.id);
  return true;
}

/**
 * The run is over: every invariant at the end (EventuallySettled included), and all three oracles
 * accept its trace as a reader gets it (cli/oracles.ts: invariants, statechart, and TLC on
 * tla/TraceCMK.tla).
 */
export function assertSettled(sim: Simulation): void {
  assertInvariants(sim.result().invariants, 'at the end (EventuallySettled included)');
  const ndjson = toNdjson(sim.trace);
  const lines = parseTrace(ndjson);
  assert.deepEqual(invariantsOracle(lines), [], 'the invariants oracle');
  assert.deepEqual(statechartOracle(lines), [], 'the statechart oracle');
  assert.deepEqual(tlaOracle(tlcJar(), ndjson), [], 'the TLA+ oracle (TLC)');
}
