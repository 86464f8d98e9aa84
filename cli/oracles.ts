// The three conformance oracles of a trace (docs/conformance.md), each naming the first
// violation with its trace line, actor and rule:
//  - invariants: the design's invariants over the trace (impl/invariants.ts, checkTrace),
//  - statechart: replay through the statecharts (model/replay.ts),
//  - tla: TLC on tla/TraceCMK.tla (tla/trace.ts): is the trace a behaviour of CoordinatedCMK?
//    Many traces at once: one TLC run for them all (tla/trace-batch.ts), the same violations.
// `tkds-cmk conform` and the soak (specs/soak.ts) both ask them here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTrace, TraceChecker, type InvariantResult, type TraceEvent } from '../impl/index.ts';
import { Replay, ReplayError, replayTrace } from '../model/replay.ts';
import { BATCH_SIZE, validateBatch } from '../tla/trace-batch.ts';
import { convertNdjson, TraceConversionError, TraceConverter } from '../tla/trace-to-tla.ts';
import { tlcVerdict, validateTrace, type TraceVerdict } from '../tla/trace.ts';
import { OutputStream } from './files.ts';

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
  return invariantViolations(checkTrace(events));
}

function invariantViolations(results: readonly InvariantResult[]): Violation[] {
  return results
    .filter((r) => !r.ok)
    .map((r) => ({
      check: 'invariants',
      rule: r.name,
      line: r.line ?? null,
      actor: r.actor ?? null,
      detail: r.detail ?? '',
    }));
}

export function statechartOracle(events: readonly TraceEvent[]): Violation[] {
  try {
    replayTrace([...events]);
    return [];
  } catch (e) {
    return [replayViolation(e)];
  }
}

function replayViolation(e: unknown): Violation {
  if (!(e instanceof ReplayError)) throw e;
  return { check: 'statechart', rule: e.rule, line: e.line, actor: e.actor, detail: e.message };
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

/** How many traces one TLC run checks (tla/trace-batch.ts): the soak's and `drive --tla`'s batches. */
export const TLA_BATCH = BATCH_SIZE;

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

/** The TLA+ oracle of StreamedOracles: the module TraceData written to `file` in `dir` as lines come. */
interface TlaStream {
  jar: string;
  dir: string;
  file: string;
  out: OutputStream;
  converter: TraceConverter;
  /** The line the spec has no observation for: the converter is fed no more. */
  failed: Violation | null;
}

/**
 * The oracles fed a trace a line at a time (`tkds-cmk conform` reads its file as a stream): the
 * TraceChecker and the statechart Replay fold each line as it comes, and with `tlaJar` the
 * TraceConverter writes the module TraceData to a temporary file as the lines come; no oracle
 * holds the lines. `finish` at the end of the trace gives each oracle's violations (TLC runs
 * then, on that file); `close` removes the temporary file.
 */
export class StreamedOracles {
  readonly #checker = new TraceChecker();
  readonly #replay = new Replay();
  #replayed: Violation | null = null;
  readonly #tla: TlaStream | null = null;

  constructor(tlaJar?: string) {
    if (tlaJar === undefined) return;
    const dir = mkdtempSync(join(tmpdir(), 'tkds-conform-'));
    const file = join(dir, 'TraceData.tla');
    const out = new OutputStream('--tla', file);
    const converter = new TraceConverter((text) => out.write(text));
    this.#tla = { jar: tlaJar, dir, file, out, converter, failed: null };
  }

  feed(e: TraceEvent): void {
    this.#checker.feed(e);
    if (this.#replayed === null) {
      try {
        this.#replay.feed(e);
      } catch (error) {
        this.#replayed = replayViolation(error);
      }
    }
    const tla = this.#tla;
    if (tla !== null && tla.failed === null) {
      try {
        tla.converter.feed(e);
      } catch (error) {
        if (!(error instanceof TraceConversionError)) throw error;
        tla.failed = conversionViolation(error);
      }
    }
  }

  finish(): { name: OracleName; violations: Violation[] }[] {
    const checks: { name: OracleName; violations: Violation[] }[] = [
      { name: 'invariants', violations: invariantViolations(this.#checker.results()) },
      { name: 'statechart', violations: this.#replayed ? [this.#replayed] : [] },
    ];
    const tla = this.#tla;
    if (tla !== null)
      checks.push({ name: 'tla', violations: tla.failed ? [tla.failed] : this.#tlc(tla) });
    return checks;
  }

  #tlc(tla: TlaStream): Violation[] {
    try {
      tla.converter.finish();
    } catch (e) {
      if (!(e instanceof TraceConversionError)) throw e;
      return [conversionViolation(e)];
    }
    tla.out.finish();
    const v = tlcVerdict(tla.jar, { copyOf: tla.file }, tla.converter.observations);
    return verdictViolations(v);
  }

  close(): void {
    if (this.#tla === null) return;
    this.#tla.out.abandon();
    rmSync(this.#tla.dir, { recursive: true, force: true });
  }
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
