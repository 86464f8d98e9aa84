// The three conformance oracles of a trace (docs/conformance.md), each naming the first
// violation with its trace line, actor and rule:
//  - invariants: the design's invariants over the trace (impl/invariants.ts, checkTrace),
//  - statechart: replay through the statecharts (model/replay.ts),
//  - tla: TLC on tla/TraceCMK.tla (tla/trace.ts): is the trace a behaviour of CoordinatedCMK?
//    Many traces at once: one TLC run for them all (tla/trace-batch.ts), the same violations.
// `tkds-cmk conform` and the soak (specs/soak.ts) both ask them here.
import { checkTrace, type TraceEvent } from '../impl/index.ts';
import { ReplayError, replayTrace } from '../model/replay.ts';
import { validateBatch } from '../tla/trace-batch.ts';
import { convertNdjson, TraceConversionError } from '../tla/trace-to-tla.ts';
import { validateTrace, type TraceVerdict } from '../tla/trace.ts';

export const ORACLES = ['invariants', 'statechart', 'tla'] as const;
export type OracleName = (typeof ORACLES)[number];

export interface Violation {
  check: OracleName;
  rule: string;
  line: number | null;
  actor: string | null;
  detail: string;
}

export function invariantsOracle(events: readonly TraceEvent[]): Violation[] {
  return checkTrace([...events])
    .filter((r) => !r.ok)
    .map((r) => ({
      check: 'invariants',
      rule: r.name,
      line: r.line ?? null,
      actor: r.line ? (events[r.line - 1]?.actor ?? null) : null,
      detail: r.detail ?? '',
    }));
}

export function statechartOracle(events: readonly TraceEvent[]): Violation[] {
  try {
    replayTrace([...events]);
    return [];
  } catch (e) {
    if (!(e instanceof ReplayError)) throw e;
    return [{ check: 'statechart', rule: e.rule, line: e.line, actor: e.actor, detail: e.message }];
  }
}

/** TLC on the trace (the NDJSON text), with the jar found by tla/tlc-runner.ts. */
export function tlaOracle(jar: string, ndjson: string): Violation[] {
  try {
    return verdictViolations(validateTrace(jar, ndjson));
  } catch (e) {
    if (!(e instanceof TraceConversionError)) throw e;
    return [conversionViolation(e)];
  }
}

/**
 * tlaOracle on each of many traces, in one TLC run (tla/trace-batch.ts): the same violations, as a
 * trace the batch does not accept is checked again alone.
 */
export function tlaOracleBatch(jar: string, ndjsons: readonly string[]): Violation[][] {
  const found: Violation[][] = ndjsons.map(() => []);
  const convertible: number[] = [];
  ndjsons.forEach((nd, i) => {
    try {
      convertNdjson(nd);
      convertible.push(i);
    } catch (e) {
      if (!(e instanceof TraceConversionError)) throw e;
      found[i] = [conversionViolation(e)];
    }
  });
  validateBatch(
    jar,
    convertible.map((i) => ndjsons[i]!),
  ).forEach((v, k) => (found[convertible[k]!] = verdictViolations(v)));
  return found;
}

/** A line the spec has no observation for. */
function conversionViolation(e: TraceConversionError): Violation {
  return { check: 'tla', rule: 'CoordinatedCMK', line: e.line, actor: null, detail: e.message };
}

function verdictViolations(v: TraceVerdict): Violation[] {
  if (v.accepted) return [];
  if (v.violated) {
    const b = v.violated;
    return [
      {
        check: 'tla',
        rule: b.name,
        line: b.line,
        actor: b.observation.m,
        detail: `the spec's state after this ${b.observation.ev} breaks ${b.name}`,
      },
    ];
  }
  const s = v.stopped!;
  return [
    {
      check: 'tla',
      rule: 'CoordinatedCMK',
      line: s.line,
      actor: s.observation.m,
      detail: `no behaviour of CoordinatedCMK takes this ${s.observation.ev} after the ${v.taken} observations before it`,
    },
  ];
}

/** The first violation of all, by trace line (a violation of the trace as a whole last). */
export function firstViolation(violations: readonly Violation[]): Violation | undefined {
  return [...violations].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity))[0];
}
