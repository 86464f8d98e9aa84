// The harness (`tkds-cmk drive -- COMMAND...`, docs/mbt.md): it runs an implementation under test
// as a child process speaking the driver protocol (driver/protocol.ts) in JSON lines on its stdin
// and stdout, plays the paths of the cluster statechart on it through the one adapter
// (driver/adapter.ts), checks each path's trace with every oracle (cli/oracles.ts: invariants,
// statechart, and TLC with a jar), and counts the statechart transitions executed on it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Coverage } from '../model/coverage.ts';
import type { MachineName } from '../model/index.ts';
import { parseTrace, toNdjson, TraceFormatError, type TraceEvent } from '../impl/index.ts';
import {
  invariantsOracle,
  statechartOracle,
  TLA_BATCH,
  tlaOracleBatch,
  type Violation,
} from '../cli/oracles.ts';
import { executedCoverage, runPath } from './adapter.ts';
import type { PathsDocument } from './paths.ts';
import type { Answer, CommandName, Implementation, Params } from './protocol.ts';

/** The implementation under test broke the protocol, or could not be run: one line naming what. */
export class DriverError extends Error {
  override name = 'DriverError';
}

/** The field each answer must carry (docs/mbt.md), and what it is. */
const ANSWER_FIELD: Partial<Record<CommandName, [string, 'array' | 'string' | 'object']>> = {
  startChange: ['refusals', 'array'],
  pending: ['actions', 'array'],
  update: ['update', 'string'],
  observe: ['view', 'object'],
};

const kindOf = (v: unknown) =>
  Array.isArray(v) ? 'array' : v === null ? 'null' : (typeof v as string);

/** A child process under test: one request at a time, each answered within `timeoutMs`. */
export class ChildImplementation implements Implementation {
  trace: TraceEvent[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #name: string;
  readonly #timeoutMs: number;
  readonly #exited: Promise<void>;
  #stderr = '';
  #nextId = 1;
  #lines = 0;
  #failure: DriverError | null = null;
  #closing = false;
  #waiting: {
    id: number;
    type: CommandName;
    resolve: (answer: Record<string, unknown>) => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  } | null = null;

  constructor(command: readonly string[], { timeoutMs = 10_000 } = {}) {
    if (command.length === 0) throw new DriverError('no command to run the implementation');
    this.#name = command.join(' ');
    this.#timeoutMs = timeoutMs;
    this.#child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#exited = new Promise((resolve) => {
      this.#child.once('close', () => resolve());
      this.#child.once('error', () => resolve());
    });
    this.#child.once('error', (e: NodeJS.ErrnoException) =>
      this.#fail(`cannot run '${this.#name}': ${e.code ?? e.message}`),
    );
    // 'close': its stdout is read to the end, so an answer written just before it exits counts
    this.#child.once('close', (code, signal) => {
      if (!this.#closing)
        this.#fail(
          `the implementation exited (${signal ?? `code ${code}`})${this.#waiting ? ` before it answered ${this.#waiting.type}` : ''}${this.#lastWords()}`,
        );
    });
    this.#child.stdin.on('error', () => {}); // a closed pipe: the exit says why
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    createInterface({ input: this.#child.stdout, crlfDelay: Infinity }).on('line', (line) =>
      this.#onLine(line),
    );
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  #lastWords(): string {
    const last = this.#stderr.trim().split('\n').pop();
    return last ? `; its last line on stderr: ${last}` : '';
  }

  /** Ends the session on the first protocol failure: the request waiting fails, the child is killed. */
  #fail(message: string): void {
    if (this.#failure) return;
    this.#failure = new DriverError(message);
    const waiting = this.#waiting;
    this.#waiting = null;
    if (waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(this.#failure);
    }
    this.#child.kill('SIGKILL');
  }

  #onLine(line: string): void {
    this.#lines++;
    if (this.#failure || line.trim() === '') return;
    const where = `line ${this.#lines} of its stdout`;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return this.#fail(`${where} is not JSON: ${line.slice(0, 80)}`);
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message))
      return this.#fail(`${where} is not a JSON object: ${line.slice(0, 80)}`);
    const waiting = this.#waiting;
    if (!waiting || message['id'] !== waiting.id)
      return this.#fail(
        `${where} answers request ${JSON.stringify(message['id'])}, but ${waiting ? `request ${waiting.id} (${waiting.type})` : 'no request'} is waiting`,
      );
    if (message['ok'] === false)
      return this.#fail(`the implementation refused ${waiting.type}: ${String(message['error'])}`);
    if (message['ok'] !== true)
      return this.#fail(
        `${where}: "ok" must be true or false, not ${JSON.stringify(message['ok'])}`,
      );
    const trace = message['trace'] ?? [];
    if (!Array.isArray(trace) || trace.some((e) => kindOf(e) !== 'object'))
      return this.#fail(`${where}: "trace" must be an array of trace lines (objects)`);
    const field = ANSWER_FIELD[waiting.type];
    if (field && kindOf(message[field[0]]) !== field[1])
      return this.#fail(
        `${where}: the answer to ${waiting.type} needs "${field[0]}", ${field[1] === 'string' ? 'a' : 'an'} ${field[1]} (found ${kindOf(message[field[0]])})`,
      );
    this.trace.push(...(trace as TraceEvent[]));
    this.#waiting = null;
    clearTimeout(waiting.timer);
    waiting.resolve(message);
  }

  send<C extends CommandName>(type: C, params: Params<C>): Promise<Answer<C>> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#waiting)
      return Promise.reject(new Error(`${type} sent while ${this.#waiting.type} is waiting`));
    if (type === 'init') this.trace = [];
    const id = this.#nextId++;
    return new Promise<Answer<C>>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(`no answer to ${type} within ${this.#timeoutMs} ms`),
        this.#timeoutMs,
      );
      this.#waiting = {
        id,
        type,
        resolve: resolve as (a: Record<string, unknown>) => void,
        reject,
        timer,
      };
      this.#child.stdin.write(JSON.stringify({ id, type, ...params }) + '\n');
    });
  }

  /** Closes its stdin and waits for it to end (at most 2 s; then it is killed). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#child.stdin.end();
    const killer = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
    await this.#exited;
    clearTimeout(killer);
  }
}

export interface PathRun {
  readonly description: string;
  readonly steps: number;
  /** Where the implementation first differed from the path (null: it followed it to the end). */
  readonly failure: string | null;
  readonly traceLines: number;
  /** What the oracles found wrong with the path's trace (none: it conforms). */
  readonly violations: readonly (Violation | { check: 'format'; detail: string })[];
}

export interface DriveResult {
  readonly runs: readonly PathRun[];
  readonly executed: ReadonlySet<string>;
  readonly coverage: Record<MachineName, Coverage['transitions']>;
}

/**
 * The oracles on each path's trace: its format, the invariants, the statecharts, and with a jar
 * TLC, on all the traces in one TLC run (cli/oracles.ts tlaOracleBatch). A trace whose format is
 * wrong gets that violation only.
 */
export function checkPathTraces(
  traces: readonly (readonly TraceEvent[])[],
  jar?: string,
): PathRun['violations'][] {
  const ndjsons = traces.map((t) => toNdjson(t));
  const found: PathRun['violations'][] = [];
  const wellFormed: number[] = [];
  ndjsons.forEach((ndjson, i) => {
    try {
      const events = parseTrace(ndjson);
      found.push([...invariantsOracle(events), ...statechartOracle(events)]);
      wellFormed.push(i);
    } catch (e) {
      if (!(e instanceof TraceFormatError)) throw e;
      found.push([{ check: 'format', detail: e.message }]);
    }
  });
  if (jar && wellFormed.length > 0) {
    const tla = tlaOracleBatch(
      jar,
      wellFormed.map((i) => ndjsons[i]!),
    );
    wellFormed.forEach((i, k) => (found[i] = [...found[i]!, ...tla[k]!]));
  }
  return found;
}

/**
 * Plays every path of a cluster paths document on the implementation `command` starts (one
 * process for all of them: `init` starts each afresh), and checks each path's trace; with a jar,
 * TLA_BATCH paths are played before their traces are checked in one TLC run (`onPath` hears of
 * each path once its trace is checked). Rejects with
 * a DriverError when the implementation breaks the protocol; the child never outlives the call.
 */
export async function drive(
  command: readonly string[],
  doc: PathsDocument,
  options: {
    jar?: string;
    timeoutMs?: number;
    onPath?: (run: PathRun, index: number) => void;
  } = {},
): Promise<DriveResult> {
  if (doc.machine !== 'cluster')
    throw new DriverError(
      `the harness plays paths of the cluster statechart, not of the ${doc.machine} statechart`,
    );
  const child = new ChildImplementation(command, { timeoutMs: options.timeoutMs ?? 10_000 });
  const executed = new Set<string>();
  const runs: PathRun[] = [];
  const batchSize = options.jar ? TLA_BATCH : 1;
  let played: { run: Omit<PathRun, 'violations'>; trace: readonly TraceEvent[] }[] = [];
  const check = () => {
    const violations = checkPathTraces(
      played.map((p) => p.trace),
      options.jar,
    );
    played.forEach(({ run }, k) => {
      runs.push({ ...run, violations: violations[k]! });
      options.onPath?.(runs.at(-1)!, runs.length - 1);
    });
    played = [];
  };
  try {
    for (const path of doc.paths) {
      let failure: string | null = null;
      await runPath(child, path, { executed }).catch((e: Error) => {
        if (e instanceof DriverError) throw e;
        failure = e.message.split('\n')[0]!;
      });
      const run = {
        description: path.description,
        steps: path.steps.length - 1,
        failure,
        traceLines: child.trace.length,
      };
      played.push({ run, trace: child.trace });
      if (played.length === batchSize) check();
    }
    check();
  } finally {
    await child.close();
  }
  return { runs, executed, coverage: executedCoverage(executed) };
}
