// Trace validation with TLC: is a trace (docs/trace-format.md) a behaviour of CoordinatedCMK?
// The trace becomes the module TraceData (tla/trace-to-tla.ts); TLC explores TraceCMK, whose
// every step takes one observation, so its search depth minus one is how many observations
// some behaviour of the spec takes. All of them: the trace is accepted.
import { convertNdjson, type Observation } from './trace-to-tla.ts';
import { parseTlcOutput, runTlc } from './tlc-runner.ts';

export const TRACE_MODULE = 'TraceCMK';
export const TRACE_CONFIG = 'models/trace.cfg';

export interface TraceVerdict {
  accepted: boolean;
  /** Observations (trace lines a spec action accounts for), and how many the spec takes in order. */
  observations: number;
  taken: number;
  /** The first observation no behaviour takes: its trace line and what it is. */
  stopped?: { line: number; text: string; observation: Observation };
  seconds: number;
}

/** Checks one NDJSON trace; throws (with TLC's own message) if TLC itself fails. */
export function validateTrace(jar: string, ndjson: string): TraceVerdict {
  const conversion = convertNdjson(ndjson);
  const run = runTlc(jar, TRACE_MODULE, TRACE_CONFIG, { 'TraceData.tla': conversion.module }, ['-deadlock']);
  const out = parseTlcOutput(run.output, run.status, run.properties);
  if (out.result.kind !== 'ok' || out.depth === undefined) {
    throw new Error(`TLC could not check the trace:\n${out.message || run.output}`);
  }
  const all = conversion.observations;
  const taken = out.depth - 1;
  const verdict: TraceVerdict = { accepted: taken === all.length, observations: all.length, taken, seconds: run.seconds };
  const next = all[taken];
  if (next) {
    const text = ndjson.split('\n')[next.seq - 1] ?? '';
    verdict.stopped = { line: next.seq, text, observation: next };
  }
  return verdict;
}

/** One line for a verdict: accepted, or where the trace left the spec. */
export function describeVerdict(name: string, v: TraceVerdict): string {
  if (v.accepted) return `${name}  accepted  (${v.taken} of ${v.observations} observations, ${v.seconds.toFixed(1)}s)`;
  const s = v.stopped!;
  return `${name}  rejected at trace line ${s.line} (${s.observation.ev} by ${s.observation.m}): ` +
    `no behaviour of CoordinatedCMK takes it after the ${v.taken} before it\n  ${s.text}`;
}
