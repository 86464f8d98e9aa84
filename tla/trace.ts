// Trace validation with TLC: is a trace (docs/trace-format.md) a behaviour of CoordinatedCMK?
// The trace becomes the module TraceData (tla/trace-to-tla.ts); TLC explores TraceCMK, whose
// every step takes one observation, so its search depth minus one is how many observations
// some behaviour of the spec takes. All of them: the trace is accepted.
import { convertNdjson, type Observation } from './trace-to-tla.ts';
import { parseTlcOutput, runTlc, type TlcFile } from './tlc-runner.ts';

export const TRACE_MODULE = 'TraceCMK';
export const TRACE_CONFIG = 'models/trace.cfg';

export interface TraceVerdict {
  accepted: boolean;
  /** Observations (trace lines a spec action accounts for), and how many the spec takes in order. */
  observations: number;
  taken: number;
  /** The first observation no behaviour takes: its trace line (and its text, if the trace was held whole) and what it is. */
  stopped?: { line: number; text?: string; observation: Observation };
  /** An invariant or property of the spec (tla/models/trace.cfg) that a state or step the trace leads to breaks, with the observation that leads there. */
  violated?: { name: string; line: number; text?: string; observation: Observation };
  seconds: number;
}

/** The text of a trace line by its number (seq), where the trace is held whole. */
export type LineText = (seq: number) => string;

/** Checks one NDJSON trace; throws (with TLC's own message) if TLC itself fails. */
export function validateTrace(jar: string, ndjson: string): TraceVerdict {
  const conversion = convertNdjson(ndjson);
  return tlcVerdict(jar, conversion.module, conversion.observations, linesOf(ndjson));
}

/** The lines of a trace held whole. */
export function linesOf(ndjson: string): LineText {
  return (seq) => ndjson.split('\n')[seq - 1] ?? '';
}

/**
 * TLC on a converted trace: its module TraceData (the text, or the file it was written to as the
 * trace was read, tla/trace-to-tla.ts TraceConverter) and its observations. `lineText` gives
 * the verdict the text of the line it names, when the trace is held whole.
 */
export function tlcVerdict(
  jar: string,
  traceData: TlcFile,
  all: readonly Observation[],
  lineText?: LineText,
): TraceVerdict {
  const run = runTlc(jar, TRACE_MODULE, TRACE_CONFIG, { 'TraceData.tla': traceData }, [
    '-deadlock',
  ]);
  const out = parseTlcOutput(run.output, run.status, run.properties, run.actionProperties);
  if (out.result.kind === 'invariant' || out.result.kind === 'property') {
    return {
      accepted: false,
      observations: all.length,
      ...violationOf(out.result.name, run.output, all, lineText),
      seconds: run.seconds,
    };
  }
  if (out.result.kind !== 'ok' || out.depth === undefined) {
    throw new Error(`TLC could not check the trace:\n${out.message || run.output}`);
  }
  const taken = out.depth - 1;
  const verdict: TraceVerdict = {
    accepted: taken === all.length,
    observations: all.length,
    taken,
    seconds: run.seconds,
  };
  const next = all[taken];
  if (next) verdict.stopped = { line: next.seq, ...textOf(next.seq, lineText), observation: next };
  return verdict;
}

function textOf(seq: number, lineText: LineText | undefined): { text?: string } {
  return lineText ? { text: lineText(seq) } : {};
}

/**
 * TLC's counterexample for a broken invariant or property ends in the state that breaks it (an
 * action property: the step into it); the steps to it took that many observations, the last the
 * one that leads there.
 */
export function violationOf(
  name: string,
  output: string,
  all: readonly Observation[],
  lineText?: LineText,
): Pick<TraceVerdict, 'taken' | 'violated'> {
  const states = [...output.matchAll(/^State (\d+):/gm)].length;
  const observation = all[Math.min(all.length, Math.max(1, states - 1)) - 1]!;
  return {
    taken: Math.max(0, states - 1),
    violated: { name, line: observation.seq, ...textOf(observation.seq, lineText), observation },
  };
}

/** One line for a verdict: accepted, or where the trace left the spec. */
export function describeVerdict(name: string, v: TraceVerdict): string {
  if (v.accepted)
    return `${name}  accepted  (${v.taken} of ${v.observations} observations, ${v.seconds.toFixed(1)}s)`;
  if (v.violated) {
    const b = v.violated;
    return `${name}  rejected at trace line ${b.line} (${b.observation.ev} by ${b.observation.m}): it breaks ${b.name}${b.text ? `\n  ${b.text}` : ''}`;
  }
  const s = v.stopped!;
  return (
    `${name}  rejected at trace line ${s.line} (${s.observation.ev} by ${s.observation.m}): ` +
    `no behaviour of CoordinatedCMK takes it after the ${v.taken} before it${s.text ? `\n  ${s.text}` : ''}`
  );
}
