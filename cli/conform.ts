// `tkds-cmk conform TRACE [--tla]`: is a trace (docs/trace-format.md), from this implementation or
// another, a behaviour of the protocol? The oracles of cli/oracles.ts (the design's invariants,
// the statecharts, and with --tla TLC on the TLA+ spec), each naming the first violation with its
// trace line, actor and rule. The trace (a file, or standard input for `-`) is read as a stream:
// each line is parsed and fed to every oracle as it arrives, and none is kept.
import { TraceFormatError, TraceParser } from '../impl/index.ts';
import { locateJar, requireJava, TlcSetupError } from '../tla/tlc-runner.ts';
import { firstViolation, StreamedOracles } from './oracles.ts';
import { readFileSync, statSync } from 'node:fs';
import { readLines } from './files.ts';
import { UsageError } from './options.ts';

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
  if (!bytes.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')))
    throw bad('is not a jar (a jar begins with the bytes PK\\x03\\x04)');
  if (!bytes.includes('tlc2/TLC.class'))
    throw bad('has no tlc2/TLC.class: it is not a tla2tools jar');
}

/** The TLC jar for --tla: TLA2TOOLS_JAR (checked before Java starts), else the pinned one. */
export function tlaJar(): string {
  try {
    const own = process.env['TLA2TOOLS_JAR'];
    if (own) checkJar(own); // before Java: Java's complaint about a jar is pages long
    requireJava();
    return locateJar();
  } catch (e) {
    if (e instanceof TlcSetupError) throw new UsageError(`--tla: ${e.message.split('\n')[0]}`);
    throw e;
  }
}

export async function conform(
  path: string,
  opts: { tla: boolean; json: boolean },
): Promise<number> {
  const file = path === '-' ? 'standard input' : path;
  const oracles = new StreamedOracles(opts.tla ? tlaJar() : undefined);
  const parser = new TraceParser();
  let checks;
  try {
    for await (const text of readLines(path)) {
      try {
        oracles.feed(parser.line(text));
      } catch (e) {
        if (e instanceof TraceFormatError) throw new UsageError(`${file}: ${e.message}`);
        throw e;
      }
    }
    if (parser.lines === 0) throw new UsageError(`${file}: the trace is empty`);
    checks = oracles.finish();
  } finally {
    oracles.close();
  }
  const events = parser.lines;
  const first = firstViolation(checks.flatMap((c) => c.violations));

  if (opts.json) {
    process.stdout.write(
      JSON.stringify({ file, events, conforms: !first, checks }, null, 2) + '\n',
    );
  } else {
    for (const c of checks)
      process.stdout.write(`${c.violations.length ? 'FAIL' : 'ok  '} ${c.name}\n`);
    if (first) {
      const where = first.line
        ? `line ${first.line}${first.actor ? ` (${first.actor})` : ''}`
        : 'the trace as a whole';
      process.stdout.write(
        `${file} does not conform: ${first.rule} broken at ${where}: ${first.detail}\n`,
      );
    } else {
      process.stdout.write(`${file} conforms (${events} events)\n`);
    }
  }
  return first ? 1 : 0;
}
