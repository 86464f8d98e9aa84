// `tkds-cmk conform TRACE [--tla]`: is a trace (docs/trace-format.md), from this implementation or
// another, a behaviour of the protocol? Three independent checks, each naming the first violation
// with its trace line, actor and rule:
//  - the design's invariants over the trace (impl/invariants.ts, checkTrace),
//  - replay through the statecharts (model/replay.ts),
//  - with --tla, TLC on tla/TraceCMK.tla (tla/trace.ts).
import { checkTrace, parseTrace, TraceFormatError, type TraceEvent } from '../impl/index.ts';
import { ReplayError, replayTrace } from '../model/replay.ts';
import { readText } from './files.ts';
import { UsageError } from './options.ts';

export interface Violation { check: string; rule: string; line: number | null; actor: string | null; detail: string }

function invariants(events: TraceEvent[]): Violation[] {
  return checkTrace(events)
    .filter((r) => !r.ok)
    .map((r) => ({
      check: 'invariants', rule: r.name, line: r.line ?? null,
      actor: r.line ? events[r.line - 1]?.actor ?? null : null, detail: r.detail ?? '',
    }));
}

function statechart(events: TraceEvent[]): Violation[] {
  try {
    replayTrace(events);
    return [];
  } catch (e) {
    if (!(e instanceof ReplayError)) throw e;
    return [{ check: 'statechart', rule: e.rule, line: e.line, actor: e.actor, detail: e.message }];
  }
}

export async function conform(file: string, opts: { tla: boolean; json: boolean }): Promise<number> {
  let events: TraceEvent[];
  try {
    events = parseTrace(readText(file));
  } catch (e) {
    if (e instanceof TraceFormatError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  if (events.length === 0) throw new UsageError(`${file}: the trace is empty`);

  const checks: { name: string; violations: Violation[] }[] = [
    { name: 'invariants', violations: invariants(events) },
    { name: 'statechart', violations: statechart(events) },
  ];
  const first = checks.flatMap((c) => c.violations).sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity))[0];

  if (opts.json) {
    process.stdout.write(JSON.stringify({ file, events: events.length, conforms: !first, checks }, null, 2) + '\n');
  } else {
    for (const c of checks) process.stdout.write(`${c.violations.length ? 'FAIL' : 'ok  '} ${c.name}\n`);
    if (first) {
      const where = first.line ? `line ${first.line}${first.actor ? ` (${first.actor})` : ''}` : 'the trace as a whole';
      process.stdout.write(`${file} does not conform: ${first.rule} broken at ${where}: ${first.detail}\n`);
    } else {
      process.stdout.write(`${file} conforms (${events.length} events)\n`);
    }
  }
  return first ? 1 : 0;
}
