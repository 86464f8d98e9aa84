// `tkds-cmk conform TRACE [--tla]`: is a trace (docs/trace-format.md), from this implementation or
// another, a behaviour of the protocol? Three independent checks, each naming the first violation
// with its trace line, actor and rule:
//  - the design's invariants over the trace (impl/invariants.ts, checkTrace),
//  - replay through the statecharts (model/replay.ts),
//  - with --tla, TLC on tla/TraceCMK.tla (tla/trace.ts).
import { checkTrace, parseTrace, TraceFormatError, type TraceEvent } from '../impl/index.ts';
import { ReplayError, replayTrace } from '../model/replay.ts';
import { readFileSync, statSync } from 'node:fs';
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

/** A jar TLA2TOOLS_JAR names holds TLC: a zip (it begins PK\x03\x04) with tlc2/TLC.class in it. */
function checkJar(jar: string): void {
  const bad = (why: string) => new UsageError(`--tla: TLA2TOOLS_JAR names ${jar}, which ${why}`);
  let bytes: Buffer;
  try {
    if (!statSync(jar).isFile()) throw bad('is not a jar (not a regular file)');
    bytes = readFileSync(jar);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw bad(`cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!bytes.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) throw bad('is not a jar (a jar begins with the bytes PK\\x03\\x04)');
  if (!bytes.includes('tlc2/TLC.class')) throw bad('has no tlc2/TLC.class: it is not a tla2tools jar');
}

/** TLC on tla/TraceCMK.tla: does some behaviour of CoordinatedCMK take every observation in order? */
async function tla(text: string): Promise<Violation[]> {
  const { locateJar, requireJava, TlcSetupError } = await import('../tla/tlc-runner.ts');
  const { validateTrace } = await import('../tla/trace.ts');
  const { TraceConversionError } = await import('../tla/trace-to-tla.ts');
  let jar: string;
  try {
    const own = process.env['TLA2TOOLS_JAR'];
    if (own) checkJar(own); // before Java: Java's complaint about a jar is pages long
    requireJava();
    jar = locateJar();
  } catch (e) {
    if (e instanceof TlcSetupError) throw new UsageError(`--tla: ${e.message.split('\n')[0]}`);
    throw e;
  }
  let v;
  try {
    v = validateTrace(jar, text);
  } catch (e) {
    // a line the spec has no observation for (a member's part of a step nobody asked for, ...)
    if (!(e instanceof TraceConversionError)) throw e;
    return [{ check: 'tla', rule: 'CoordinatedCMK', line: e.line, actor: null, detail: e.message }];
  }
  if (v.accepted) return [];
  const s = v.stopped!;
  return [{
    check: 'tla', rule: 'CoordinatedCMK', line: s.line, actor: s.observation.m,
    detail: `no behaviour of CoordinatedCMK takes this ${s.observation.ev} after the ${v.taken} observations before it`,
  }];
}

export async function conform(file: string, opts: { tla: boolean; json: boolean }): Promise<number> {
  const text = readText(file);
  let events: TraceEvent[];
  try {
    events = parseTrace(text);
  } catch (e) {
    if (e instanceof TraceFormatError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  if (events.length === 0) throw new UsageError(`${file}: the trace is empty`);

  const checks: { name: string; violations: Violation[] }[] = [
    { name: 'invariants', violations: invariants(events) },
    { name: 'statechart', violations: statechart(events) },
  ];
  if (opts.tla) checks.push({ name: 'tla', violations: await tla(text) });
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
