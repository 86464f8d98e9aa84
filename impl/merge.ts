// Per-system logs merged into one trace (docs/conformance.md "Multi-system logs").
//
// A sysplex has no global log: each member writes the lines it is the actor of, and the test
// harness writes the environment's (`env`: faults, message drops). `mergeLogs` orders them into
// one trace of docs/trace-format.md, a deterministic topological order of what the logs show
// must have happened first: each log's own order; a message's `send` before what becomes of it;
// a member's lines before it goes down (DESIGN.md "Failures": crash, partition, expel, and its own
// `fence`, which shuts it down) and its `restartCheck` after it comes back; a member told of another's leaving or joining after that.
// Among the lines that may come next, the smallest tick hint goes first; at equal hints, a down
// member's lines, then the env log's, then the members' by name. `splitTrace` is the inverse.

import {
  formatEvent,
  parseTrace,
  TRACE_VERSION,
  TraceFormatError,
  validateEvent,
  type TraceEvent,
  type TraceEventOf,
} from './trace.ts';

/** Logs that cannot be merged: the message names the file and line (or the lines that contradict each other). */
export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

const ENV = 'env';

interface Line {
  readonly at: string; // "FILE line N", for errors
  readonly event: TraceEvent;
  readonly hint: number; // its tick hint (without one: its log's previous hint, 0 at first)
}

interface Log {
  readonly file: string;
  readonly system: string;
  readonly lines: readonly Line[];
  /** mayFollowDown[i]: lines i.. up to the next restartCheck (or the end) may all come after the member goes down. */
  readonly mayFollowDown: readonly boolean[];
  /** checksLeft[i]: the restartChecks among lines i.. */
  readonly checksLeft: readonly number[];
  next: number;
}

/** What becomes of a message once sent: each comes after its `send`. */
type Fate = TraceEventOf<'deliver' | 'drop' | 'duplicate' | 'delay'>;
const isFate = (e: TraceEvent): e is Fate =>
  e.event === 'deliver' || e.event === 'drop' || e.event === 'duplicate' || e.event === 'delay';

/**
 * Lines the trace shows for a member that is down or fenced (docs/trace-format.md `update`,
 * `outcome`, `send`): its callers' updates that fail at once or whose outcome became unknown, the
 * fence requests of an initiator as it shuts down, and the outcome of a change it fenced or was
 * about to begin. They may follow its going down; its other lines come before.
 */
function writtenWhileDown(e: TraceEvent): boolean {
  if (e.event === 'outcome') return e.outcome === 'backedOut' || e.outcome === 'fenced';
  if (e.event === 'send') return e.msg === 'fence'; // a fencing initiator's, as it shuts down
  if (e.event !== 'update') return false;
  return (
    e.phase === 'unknown' ||
    (e.phase === 'request' && e.action === undefined) ||
    (e.phase === 'fail' && (e.reason === 'memberDown' || e.reason === 'fenced'))
  );
}

/** A member's own `fence` that shuts it down (a restart check that fences leaves no group it was in). */
const leavesByFence = (e: TraceEvent): boolean =>
  e.event === 'fence' && (e.action === 'FenceOnIoError' || e.action === 'FenceAtMember');

/** The member a line takes down or brings back, or tells another about. */
function subject(e: TraceEvent): string | null {
  switch (e.event) {
    case 'crash':
    case 'partition':
    case 'restart':
    case 'heal':
    case 'expel':
    case 'memberLost':
    case 'memberJoined':
      return e.member;
    default:
      return null;
  }
}

/** A member as the lines placed so far show it. */
interface Member {
  up: boolean;
  /** Back (restart, heal) and its restartCheck not placed yet. */
  awaitingCheck: boolean;
  downs: number;
  checks: number;
  /** Its restarts and heals in the env log not placed yet. */
  upsLeft: number;
}

/** The merge's state: the lines placed so far, and what each line still waits for. */
class Placed {
  readonly #members: Map<string, Member>;
  readonly #logs: Map<string, Log>;
  readonly #sends: Map<string, Line>;
  readonly #sent = new Set<string>();
  readonly #told = new Map<string, number>(); // "SYSA memberLost SYSB": how often SYSA was told

  constructor(header: TraceEventOf<'header'>, logs: readonly Log[], sends: Map<string, Line>) {
    this.#logs = new Map(logs.map((l) => [l.system, l]));
    this.#sends = sends;
    this.#members = new Map(
      header.members.map((m) => [
        m.member,
        {
          up: m.state !== 'down',
          awaitingCheck: m.state === 'restartCheck',
          downs: 0,
          checks: 0,
          upsLeft: (this.#logs.get(ENV)?.lines ?? []).filter(
            (l) =>
              (l.event.event === 'restart' || l.event.event === 'heal') &&
              l.event.member === m.member,
          ).length,
        },
      ]),
    );
  }

  member(name: string): Member {
    return this.#members.get(name)!;
  }

  /** Why `line` cannot come next, or null if it can. */
  waits(line: Line): string | null {
    const e = line.event;
    if (isFate(e) && !this.#sent.has(e.id))
      return `the send of ${e.id} (${this.#sends.get(e.id)!.at})`;
    const who = subject(e);
    const m = who === null ? undefined : this.member(who);
    switch (e.event) {
      case 'crash':
      case 'partition':
        return m!.up ? this.#goingDown(who!) : `a restart of ${who}: it is down`;
      case 'expel': {
        const why = m!.up ? this.#goingDown(who!) : null;
        if (why !== null) return why;
        break;
      }
      case 'restart':
      case 'heal':
        if (m!.up) return `a crash, partition or expel of ${who}: it is up`;
        break;
      case 'memberLost':
      case 'memberJoined': {
        const seen = this.#told.get(`${e.actor} ${e.event} ${who}`) ?? 0;
        if (e.event === 'memberLost' && m!.downs <= seen)
          return `going down number ${seen + 1} of ${who}`;
        if (e.event === 'memberJoined' && m!.checks <= seen)
          return `restartCheck number ${seen + 1} of ${who}`;
        break;
      }
    }
    if (e.actor === ENV) return null;
    const self = this.member(e.actor);
    if (e.event === 'restartCheck')
      return self.up && self.awaitingCheck ? null : `a restart of ${e.actor}`;
    if (writtenWhileDown(e)) return null;
    if (!self.up) return `a restart of ${e.actor}: it is down`;
    return self.awaitingCheck ? `the restartCheck of ${e.actor}: it came back` : null;
  }

  /**
   * Why `name` cannot go down now, or null: a line of its own must come first (its lines up to
   * its next restartCheck, but for those written while down), or it came back and has not
   * checked yet, and its restartChecks to come need every restart the env log has left.
   */
  #goingDown(name: string): string | null {
    const log = this.#logs.get(name);
    if (!log || log.next === log.lines.length) return null;
    const next = log.lines[log.next]!.at;
    if (!log.mayFollowDown[log.next])
      return `${next} (a member's lines before its next restartCheck come before it goes down)`;
    const m = this.member(name);
    if (m.awaitingCheck && log.checksLeft[log.next]! > m.upsLeft)
      return `${next} (${name} has ${log.checksLeft[log.next]} restartChecks to come and the env log ${m.upsLeft} restarts)`;
    return null;
  }

  place(e: TraceEvent): void {
    const who = subject(e);
    const m = who === null ? undefined : this.member(who);
    // who goes down: one the env takes down or expels, or a member its own fence shuts down
    const down =
      e.event === 'crash' || e.event === 'partition' || (e.event === 'expel' && m!.up)
        ? m!
        : leavesByFence(e)
          ? this.member(e.actor)
          : null;
    if (e.event === 'send') this.#sent.add(e.id);
    else if (down) {
      down.up = false;
      down.downs++;
    } else if (e.event === 'restart' || e.event === 'heal') {
      m!.up = true;
      m!.awaitingCheck = true;
      m!.upsLeft--;
    } else if (e.event === 'restartCheck') {
      const self = this.member(e.actor);
      self.awaitingCheck = false;
      self.checks++;
    } else if (e.event === 'memberLost' || e.event === 'memberJoined') {
      const key = `${e.actor} ${e.event} ${who}`;
      this.#told.set(key, (this.#told.get(key) ?? 0) + 1);
    }
  }
}

/**
 * Merges per-system logs (file name -> NDJSON text) into one trace (NDJSON): the header first,
 * then every line in an order each log and every relation between them allows, `seq`
 * renumbered, a tick that would go back raised to the one before. Throws a MergeError naming
 * the file and line of what is wrong. The result does not depend on the order of `logs`.
 */
export function mergeLogs(logs: ReadonlyMap<string, string>): string {
  const { header, ordered } = readLogs(logs);
  const placed = new Placed(header, ordered, indexSends(ordered, header));
  const head = (log: Log): Line | undefined => log.lines[log.next];
  // At equal hints: a member that is down (its lines written while down), then env, then by name.
  const rank = (log: Log): [number, number] => [
    head(log)!.hint,
    log.system !== ENV && !placed.member(log.system).up ? 0 : 1,
  ];

  const out = [formatEvent({ ...header, seq: 1 })];
  let tick = header.tick;
  for (;;) {
    let best: Log | undefined;
    for (const log of ordered) {
      const line = head(log);
      if (line === undefined || placed.waits(line) !== null) continue;
      if (best === undefined) best = log;
      else {
        const [h, d] = rank(log);
        const [bh, bd] = rank(best);
        if (h < bh || (h === bh && d < bd)) best = log;
      }
    }
    if (best === undefined) break;
    const line = head(best)!;
    best.next++;
    placed.place(line.event);
    tick = Math.max(tick, line.hint);
    out.push(formatEvent({ ...line.event, seq: out.length + 1, tick }));
  }
  const stuck = ordered.map(head).filter((l) => l !== undefined);
  if (stuck.length > 0) {
    const why = stuck.map((l) => `${l.at} (${l.event.event}) waits for ${placed.waits(l)}`);
    throw new MergeError(
      `the logs contradict each other: no line can come next: ${why.join('; ')}`,
    );
  }
  return out.map((l) => l + '\n').join('');
}

/** One log's lines, each checked as a trace line (docs/trace-format.md), `seq` and `tick` optional. */
function readLines(file: string, text: string): Line[] {
  const texts = text.split('\n');
  if (texts[texts.length - 1] === '') texts.pop();
  let hint = 0;
  return texts.map((t, i) => {
    const line = i + 1;
    const at = `${file} line ${line}`;
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new MergeError(`${at}: not JSON (${(e as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new MergeError(`${at}: not a JSON object`);
    const rec = v as Record<string, unknown>;
    let event: TraceEvent;
    try {
      event = validateEvent(
        {
          ...rec,
          seq: Object.hasOwn(rec, 'seq') ? rec.seq : line,
          tick: Object.hasOwn(rec, 'tick') ? rec.tick : hint,
        },
        line,
      );
    } catch (e) {
      if (!(e instanceof TraceFormatError)) throw e;
      throw new MergeError(`${at}: ${e.message.slice(`trace line ${line}: `.length)}`);
    }
    if (event.seq !== line)
      throw new MergeError(
        `${at}: seq ${event.seq}, but a log's seq (where given) is the line's number in its log, ${line}`,
      );
    if (event.tick < hint)
      throw new MergeError(
        `${at}: tick ${event.tick} goes back from ${hint} (a log's tick hints never go back)`,
      );
    hint = event.tick;
    return { at, event, hint };
  });
}

/** The header, and the logs (one per system) in the order that breaks ties: env, then members by name. */
function readLogs(logs: ReadonlyMap<string, string>): {
  header: TraceEventOf<'header'>;
  ordered: Log[];
} {
  let header: { at: string; event: TraceEventOf<'header'> } | undefined;
  const bySystem = new Map<string, Log>();
  for (const [file, text] of logs) {
    const lines = readLines(file, text);
    for (const [i, { at, event }] of lines.entries()) {
      if (event.event !== 'header') continue;
      if (i > 0)
        throw new MergeError(
          `${at}: a header may only be the first line of its log (the env log, or a file of its own)`,
        );
      if (header) throw new MergeError(`${at}: a second header (the first is ${header.at})`);
      if (event.version !== TRACE_VERSION)
        throw new MergeError(
          `${at}: trace format version ${event.version}; this merge takes version ${TRACE_VERSION}`,
        );
      header = { at, event };
    }
    const body = lines[0]?.event.event === 'header' ? lines.slice(1) : lines;
    if (body.length === 0) continue;
    const system = lines[0]!.event.actor;
    const stranger = body.find((l) => l.event.actor !== system);
    if (stranger)
      throw new MergeError(
        `${stranger.at}: a line of ${stranger.event.actor} in the log of ${system} (a log holds one system's lines: the actor of its first line)`,
      );
    const other = bySystem.get(system);
    if (other)
      throw new MergeError(`${file}: a second log of ${system} (the first is ${other.file})`);
    bySystem.set(system, { file, system, lines: body, ...lookahead(body), next: 0 });
  }
  if (!header)
    throw new MergeError(
      'no header: give it as the first line of the env log, or as a file of its own',
    );
  const names = header.event.members.map((m) => m.member);
  const known = (s: string) =>
    names.includes(s) ? '' : `, not a member the header names (${names.join(', ')})`;
  for (const log of bySystem.values()) {
    if (log.system !== ENV && known(log.system))
      throw new MergeError(`${log.lines[0]!.at}: a log of ${log.system}${known(log.system)}`);
    for (const l of log.lines) {
      const who = subject(l.event);
      if (who !== null && known(who))
        throw new MergeError(`${l.at}: ${l.event.event} of ${who}${known(who)}`);
    }
  }
  const order = (s: string) => (s === ENV ? '' : s);
  return {
    header: header.event,
    ordered: [...bySystem.values()].sort((a, b) => (order(a.system) < order(b.system) ? -1 : 1)),
  };
}

function lookahead(lines: readonly Line[]): Pick<Log, 'mayFollowDown' | 'checksLeft'> {
  const mayFollowDown: boolean[] = [];
  const checksLeft: number[] = [];
  let may = true;
  let checks = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const e = lines[i]!.event;
    may = e.event === 'restartCheck' || (may && writtenWhileDown(e));
    if (e.event === 'restartCheck') checks++;
    mayFollowDown[i] = may;
    checksLeft[i] = checks;
  }
  return { mayFollowDown, checksLeft };
}

/** Every message's send, by id. A second send of an id, or a fate of a message nobody sent, is an error. */
function indexSends(logs: readonly Log[], header: TraceEventOf<'header'>): Map<string, Line> {
  const sends = new Map<string, Line>();
  for (const l of logs.flatMap((log) => log.lines)) {
    if (l.event.event !== 'send') continue;
    const first = sends.get(l.event.id);
    if (first)
      throw new MergeError(
        `${l.at}: a second send of ${l.event.id} (the first is ${first.at}; a message id is sent once)`,
      );
    sends.set(l.event.id, l);
  }
  for (const l of logs.flatMap((log) => log.lines)) {
    const e = l.event;
    if (!isFate(e) || sends.has(e.id)) continue;
    const absent =
      !logs.some((log) => log.system === e.from) && header.members.some((m) => m.member === e.from);
    throw new MergeError(
      `${l.at}: ${e.event} of ${e.id} (${e.msg} from ${e.from} to ${e.to}) with no send of it in any log${absent ? ` (no log of ${e.from} was given)` : ''}`,
    );
  }
  return sends;
}

/**
 * The inverse, for tests: a trace split into per-system logs (system -> NDJSON): each member's
 * lines, and the env log with the header first; `seq` numbers each log's lines, ticks stay as hints.
 */
export function splitTrace(ndjson: string): Map<string, string> {
  const logs = new Map<string, TraceEvent[]>();
  for (const e of parseTrace(ndjson)) {
    const list = logs.get(e.actor) ?? [];
    logs.set(e.actor, list);
    list.push({ ...e, seq: list.length + 1 });
  }
  return new Map(
    [...logs].map(([system, events]) => [
      system,
      events.map((e) => formatEvent(e) + '\n').join(''),
    ]),
  );
}
