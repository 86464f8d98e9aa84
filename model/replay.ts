// Trace replay: the statecharts as an oracle for a trace of the coordinated change
// (docs/trace-format.md), whoever wrote it. It folds over the trace's action stream
// (impl/actions.ts): each spec action moves the member's or the initiator's statechart as
// ACTION_TRANSITIONS says (at most one transition), and the observations that are no spec action
// move them as OBSERVATION_TRANSITIONS says (the initiator's step lines, the group changes it
// learns, the initiator's own part of a step, ...). A line the statecharts do not allow is
// rejected with its line number, the actor, the state it was in and the rule it breaks. Lines
// that are not protocol moves (writes, sends, progress) are read only to follow the data sets
// and the record.
import {
  initialTransition,
  transition,
  type AnyMachineSnapshot,
  type AnyStateMachine,
} from 'xstate';
import { leafOf } from './cluster.ts';
import {
  initiatorMachine,
  type InitiatorContext,
  type InitiatorEvent,
  type RefusalReason,
} from './initiator.ts';
import { memberMachine, type MemberContext, type MemberEvent } from './member.ts';
import type { RecordView } from './record.ts';
import type { SpecAction } from '../impl/vocabulary.ts';
import { ActionStream, type StreamItem } from '../impl/actions.ts';
import type { TraceEvent, TraceEventName } from '../impl/trace.ts';

/** One trace line, as docs/trace-format.md writes it (only the fields replay reads are typed). */
export interface TraceLine {
  readonly seq: number;
  readonly event: string;
  readonly actor: string;
  readonly [field: string]: unknown;
}

/** The DESIGN.md invariant a rejected line breaks, or `statechart` for a move no rule names. */
export type BrokenRule =
  | 'StagedBeforeSwitch'
  | 'NoEarlyActivation'
  | 'NoBackoutAfterCommit'
  | 'NoLostUpdate'
  | 'KeyAgreement'
  | 'statechart';

export class ReplayError extends Error {
  constructor(
    readonly line: number,
    readonly actor: string,
    readonly state: string,
    readonly rule: BrokenRule,
    what: string,
  ) {
    super(
      `trace line ${line}: ${actor} ${what}, not allowed by the statechart in state ${state}${rule === 'statechart' ? '' : `: breaks ${rule}`}`,
    );
    this.name = 'ReplayError';
  }
}

export interface ReplayOptions {
  /**
   * Resends per request before a silent member counts as lost (the implementation's
   * timing.retries), for a trace without a `header` line (whose `retries` wins); default 1.
   */
  readonly retryBudget?: number;
  /** Keep the spec actions consumed, with their moves, in the result (`actions`). */
  readonly keepActions?: boolean;
}

export interface ReplayResult {
  /** Lines that moved a statechart. */
  readonly moves: number;
  /** With `keepActions`: the spec actions the replay consumed, in order, each with the statechart moves it made (`initiator.validated`, `member.reload`). */
  readonly actions?: readonly {
    readonly line: number;
    readonly action: SpecAction;
    readonly moves: readonly string[];
  }[];
  /** The initiator statechart's state at the end, and the member playing it. */
  readonly initiator: { readonly state: string; readonly self: string } | null;
  readonly members: Readonly<Record<string, string>>;
}

/** The statechart events an item may feed: the member's (of the member that acts) or the initiator's. */
export interface Moves {
  readonly member?: readonly MemberEvent['type'][];
  readonly initiator?: readonly InitiatorEvent['type'][];
}
/** A spec action that moves no statechart, and why. */
export interface NoMove {
  readonly none: string;
}

/**
 * Spec action -> statechart transition: the one event (of those listed, by what the line says) it
 * feeds the member's or the initiator's statechart, or why it feeds none. A crash or an expel of
 * the member that plays the initiator moves both its statecharts (and any initiator that waits to
 * begin on it); a step of the initiator that finds members the trace never asked lost first
 * (from commit on, and in backout) takes their memberLost before the step.
 */
export const ACTION_TRANSITIONS: Readonly<Record<SpecAction, Moves | NoMove>> = {
  validate: { initiator: ['refuse'] }, // a fresh initiator statechart for the cluster it names; refuse when refused
  BeginRoutingByInitiator: { initiator: ['validated', 'refuse'] }, // its record write; or the compare-and-set lost
  BeginRoutingAtMember: { member: ['beginRouting'] },
  reencipher: { initiator: ['reencipherDone'] },
  suspend: { none: "suspend is within the initiator statechart's applyDelta step" },
  applyDelta: { initiator: ['applyDeltaDone'] },
  ReloadByInitiator: { member: ['reload'] },
  ReloadAtMember: { member: ['reload'] },
  ReloadRefusedAtMember: {
    none: 'the member stages nothing and stays routing: its refusal is its answer',
  },
  ReloadRefusedByInitiator: {
    none: "the `step backout start` line naming the refusal, just after, is the initiator statechart's refuse",
  },
  clearNew: {
    none: "a register changed outside the protocol: no statechart moves; the member's context loses its new key",
  },
  commit: { initiator: ['commitDone'] }, // the record says committed: the point of no return
  SwitchByInitiator: { initiator: ['memberLost'] },
  SwitchAtMember: { member: ['switch'] },
  FinishByInitiator: {
    none: "the initiator statechart's finish step writes it; it decides the change (an outcome may follow)",
  },
  FinishAtMember: { member: ['finish'] },
  FinishFromRecord: { member: ['driverLost'] },
  resume: { initiator: ['memberLost'] },
  BackoutByInitiator: {
    none: "the initiator statechart's backout step writes it; it decides the change",
  },
  BackoutAtMember: { member: ['backout'] },
  BackoutFromRecord: { member: ['driverLost'] },
  ReceiveAck: {
    initiator: ['beginRoutingAck', 'reloadAck', 'switchAck', 'finishAck', 'backoutAck'],
  },
  timeout: { initiator: ['timeout'] },
  takeover: { initiator: ['takeover'] },
  memberJoined: {
    none: 'the send of the current request is the effect of the initiator taking the memberJoined notice',
  },
  Expel: { member: ['crash'], initiator: ['crash'] },
  restartCheck: { member: ['restart'] },
  FenceOnIoError: { member: ['fence'], initiator: ['ioError'] },
  FenceAtMember: { member: ['fence'] },
  FenceOnRestartCheck: { member: ['restart'] },
  Ignore: { none: 'the member reads a request and stays where it is' },
  request: { member: ['update'] },
  ApplyOwn: { initiator: ['update'] },
  ApplyRouted: { initiator: ['update'] },
  ApplyRefused: { none: 'a refused update changes no state the statecharts keep' },
  ioError: {
    initiator: ['memberLost'],
    // the failed write's `step ... done failed` line, just before, took the statechart's ioError
  },
  crash: { member: ['crash'], initiator: ['crash'] },
  restart: { none: "the member's restartCheck, when it comes, is its move" },
  drop: { none: 'the statecharts do not model messages on their way' },
  duplicate: {
    none: "the statecharts do not model messages on their way; the line's own item follows",
  },
};

/** The observations (lines that are no spec action) that move a statechart, and the events they may feed. */
export const OBSERVATION_TRANSITIONS: Readonly<Partial<Record<TraceEventName, Moves>>> = {
  // validate start; beginRouting done failed; a step done failed; backout start
  // (the member lost or the refusal it names); a step start finding members lost
  step: {
    initiator: ['startChange', 'validated', 'refuse', 'ioError', 'memberLost'],
  },
  memberLost: { initiator: ['memberLost'] },
  memberJoined: { initiator: ['memberJoined'] },
  // the initiator's own part of a step (its spec action is the initiator's)
  beginRouting: { member: ['beginRouting'] },
  reload: { member: ['reload'] },
  switch: { member: ['switch'] },
  finish: { member: ['finish'] },
  backout: { member: ['backout'] },
  fence: { member: ['fence'], initiator: ['ioError'] },
  // an update request that fails at once; an update the initiator holds, or applies again
  update: { member: ['update'], initiator: ['update'] },
};

/** The initiator statechart's step for each step of the trace (the implementation's initiatorStep). */
const AT_STEP_START: Readonly<Record<string, readonly string[]>> = {
  reencipher: ['reencipher'],
  suspend: ['applyDelta'],
  applyDelta: ['applyDelta'],
  reload: ['reload'],
  commit: ['commit'],
  switch: ['switch'],
  finish: ['finish'],
  resume: ['completed', 'backedOut'],
};
const AT_STEP_DONE: Readonly<Record<string, readonly string[]>> = {
  beginRouting: ['reencipher'],
  suspend: ['applyDelta'],
  reload: ['commit'],
  commit: ['switch'],
  switch: ['finish'],
  finish: ['completed'],
  backout: ['backout', 'backedOut'],
  resume: ['completed', 'backedOut'],
};
/**
 * The member statechart's states that acknowledge a request again without moving: the state its
 * part of that step leads to (a late beginRouting is acknowledged by a staged member too). A
 * member elsewhere that sends the acknowledgement skipped its part. (backoutAck is not checked:
 * a member that routed an update before its part of beginRouting has no part of backout to show.)
 */
/** The spec actions of a member settling its part from the record (impl/vocabulary.ts SPEC_ACTIONS). */
const FROM_RECORD: ReadonlySet<string> = new Set([
  'FinishFromRecord',
  'BackoutFromRecord',
] satisfies SpecAction[]);

const ACKED_IN: Readonly<Record<string, readonly string[]>> = {
  beginRoutingAck: ['routing', 'staged'],
  reloadAck: ['staged'],
  switchAck: ['switched'],
  finishAck: ['serving'],
};

/** The initiator statechart's states in which each outcome is decided (its record write, or the fence). */
const DECIDED_IN: Readonly<Record<string, readonly string[]>> = {
  completed: ['finish', 'completed'],
  backedOut: ['backout', 'backedOut'],
  fenced: ['fenced'],
  refused: ['refused'],
};

const ORDER = [
  'validate',
  'beginRouting',
  'reencipher',
  'applyDelta',
  'reload',
  'commit',
  'switch',
  'finish',
  'completed',
];

/** Which rule a step that came too early skips: the guard on the way from `state` to `wanted`. */
function ruleFor(state: string, wanted: string, initiator: InitiatorContext | null): BrokenRule {
  if (wanted === 'backout' && initiator?.record.change === 'committed')
    return 'NoBackoutAfterCommit';
  const at = ORDER.indexOf(state);
  const to = ORDER.indexOf(wanted);
  if (at < 0 || to <= at) return 'statechart';
  if (at <= ORDER.indexOf('applyDelta')) return 'NoEarlyActivation';
  if (at === ORDER.indexOf('reload')) return 'StagedBeforeSwitch';
  return 'statechart';
}

const str = (line: TraceLine, field: string): string => {
  const v = line[field];
  if (typeof v !== 'string')
    throw new Error(
      `trace line ${line.seq}: ${line.event} needs a string field ${field}, got ${JSON.stringify(v)}`,
    );
  return v;
};

/**
 * The statechart replay of a trace, a line at a time (`feed` the lines in order; `result` at the
 * end): it throws a ReplayError at the first line the statecharts do not allow.
 */
export class Replay {
  #retryBudget: number | undefined;
  #lines = 0;
  #initiator: AnyMachineSnapshot | null = null;
  readonly #members = new Map<string, AnyMachineSnapshot>();
  #old = '';
  #target = '';
  #record: RecordView = { change: 'none', active: 'old' };
  #applied: string[] = [];
  /** The record write that decides the change (finish or backout) is in the trace for the initiator now playing. */
  #decided = false;
  /** The target's header was written (applyDelta) since the change began. */
  #headerWritten = false;
  /** The initiator statechart before the last roll-forward takeover, and the member whose takeover will be tried again. */
  #beforeTakeover: AnyMachineSnapshot | null = null;
  #takeoverRetry: string | null = null;
  /** The members the initiator sent the request of its current step to. */
  readonly #asked = new Set<string>();
  /** The change the initiator statechart plays. */
  #change: unknown = null;
  /**
   * Concurrent initiators (issue 9): the changes validated while another is under way, by change
   * id, each with its own statechart, until its outcome. One becomes the initiator when its
   * beginRouting writes the record (the one it replaces, if it never began, waits here instead).
   */
  readonly #waitingInitiators = new Map<
    unknown,
    { snapshot: AnyMachineSnapshot; line: TraceLine }
  >();
  moves = 0;
  /** The spec actions consumed, with their moves (with `keepActions`). */
  readonly #actions: { line: number; action: SpecAction; moves: string[] }[] | null;
  /** The item being consumed: its spec action (null for an observation), its event, the moves it made. */
  #current: { action: SpecAction | null; event: string; line: number; moves: string[] } = {
    action: null,
    event: '',
    line: 0,
    moves: [],
  };

  /** The cluster, as the header names it. */
  #cluster: string[] | null = null;

  readonly #stream = new ActionStream();

  constructor(options: ReplayOptions = {}) {
    this.#retryBudget = options.retryBudget;
    this.#actions = options.keepActions ? [] : null;
  }

  /** The next trace line: each item of the action stream it gives. */
  feed(line: TraceLine): void {
    for (const item of this.#stream.next(line as unknown as TraceEvent)) this.#item(item);
  }

  get #self(): string | null {
    return this.#initiator ? (this.#initiator.context as InitiatorContext).self : null;
  }

  #leaf(snapshot: AnyMachineSnapshot): string {
    return leafOf(snapshot.value);
  }

  #member(name: string): AnyMachineSnapshot {
    let m = this.#members.get(name);
    if (!m) {
      [m] = initialTransition(memberMachine, {});
      this.#members.set(name, m);
    }
    return m;
  }

  /** Feeds an event to a statechart; a refused event is a ReplayError naming `rule`. */
  #feed(
    machine: AnyStateMachine,
    snapshot: AnyMachineSnapshot,
    event: { type: string },
    line: TraceLine,
    rule: BrokenRule,
    what: string,
  ): AnyMachineSnapshot {
    if (machine.getTransitionData(snapshot, event).length === 0)
      throw new ReplayError(line.seq, line.actor, this.#leaf(snapshot), rule, what);
    this.#moved(machine === memberMachine ? 'member' : 'initiator', event.type);
    this.moves++;
    return transition(machine, snapshot, event)[0];
  }

  /** A move of the item being consumed must be one its table entry lists (a replay bug otherwise, not the trace's). */
  #moved(chart: 'member' | 'initiator', type: string): void {
    const c = this.#current;
    const entry: Moves | NoMove | undefined =
      c.action !== null
        ? ACTION_TRANSITIONS[c.action]
        : OBSERVATION_TRANSITIONS[c.event as TraceEventName];
    const listed: readonly string[] = (entry && !('none' in entry) && entry[chart]) || [];
    if (!listed.includes(type))
      throw new Error(
        `replay: trace line ${c.line} (${c.action ?? c.event}) moves the ${chart} statechart by ${type}, which ${c.action !== null ? 'ACTION_TRANSITIONS' : 'OBSERVATION_TRANSITIONS'} does not list`,
      );
    c.moves.push(`${chart}.${type}`);
  }

  #toInitiator(
    event: InitiatorEvent,
    line: TraceLine,
    what: string,
    rule: BrokenRule = 'statechart',
  ): void {
    this.#initiator = this.#feed(initiatorMachine, this.#initiator!, event, line, rule, what);
  }

  #toMember(
    name: string,
    event: MemberEvent,
    line: TraceLine,
    what: string,
    rule: BrokenRule = 'statechart',
  ): void {
    this.#members.set(name, this.#feed(memberMachine, this.#member(name), event, line, rule, what));
  }

  /**
   * The initiator statechart must be at one of `states`, or past it on the way of a change (it
   * passes a step without stopping when nobody is left to wait for).
   */
  #expect(states: readonly string[], line: TraceLine, what: string, mayLoseUnasked = true): void {
    if (this.#at(states)) return;
    // From commit on (and in backout), the implementation asks the group as it is: a member out of
    // it when the step began is left out before the initiator's own memberLost line comes.
    const waiting = this.#initiator!.matches('rollForward') || this.#initiator!.matches('backout');
    const awaited = waiting && mayLoseUnasked ? this.#awaitedNotAsked() : [];
    for (const member of awaited)
      this.#toInitiator({ type: 'memberLost', member }, line, `loses ${member}`);
    if (this.#at(states)) return;
    const state = this.#leaf(this.#initiator!);
    throw new ReplayError(
      line.seq,
      line.actor,
      state,
      ruleFor(state, states[0]!, this.#initiatorContext),
      what,
    );
  }

  #at(states: readonly string[]): boolean {
    const state = this.#leaf(this.#initiator!);
    if (states.includes(state)) return true;
    const at = ORDER.indexOf(state);
    return at > 0 && states.some((s) => ORDER.indexOf(s) > 0 && at > ORDER.indexOf(s));
  }

  /** Members the initiator statechart still waits for that the initiator never asked in this step (or that are down). */
  #awaitedNotAsked(): string[] {
    const ctx = this.#initiatorContext!;
    return ctx.cluster.filter(
      (m) =>
        m !== ctx.self &&
        !ctx.lost.includes(m) &&
        !ctx.acked.includes(m) &&
        (!this.#asked.has(m) || this.#member(m).value === 'down'),
    );
  }

  get #initiatorContext(): InitiatorContext | null {
    return this.#initiator ? (this.#initiator.context as InitiatorContext) : null;
  }

  #running(): boolean {
    return (
      this.#initiator !== null &&
      this.#initiator.status === 'active' &&
      this.#leaf(this.#initiator) !== 'idle'
    );
  }

  #dataSet(name: unknown): 'old' | 'target' {
    return name === this.#target ? 'target' : 'old';
  }

  /** One item of the action stream: a spec action, or an observation. */
  #item(item: StreamItem): void {
    const action = item.type === 'action' ? item.step.action : null;
    this.#current = { action, event: item.event.event, line: item.event.seq, moves: [] };
    if (action !== null)
      this.#actions?.push({ line: item.event.seq, action, moves: this.#current.moves });
    if (action === 'duplicate') return; // the line's own item follows
    this.#line(item.event as unknown as TraceLine);
  }

  #line(line: TraceLine): void {
    const self = this.#self;
    this.#lines++;
    switch (line.event) {
      case 'header':
        return this.#header(line);
      case 'step':
        if (this.#waitingInitiators.has(line.change)) return this.#waitingStep(line);
        // the last lines (resume) of a change whose statechart ended and a new change's replaced
        if (line.step !== 'validate' && this.#change !== null && line.change !== this.#change)
          return;
        return line.actor === self || line.step === 'validate' ? this.#step(line) : undefined;
      case 'deliver': {
        const msg = str(line, 'msg');
        if (
          line.actor === self &&
          this.#running() &&
          line.change === this.#change && // another change's is ignored (Initiator.acknowledged)
          /^(beginRouting|reload|switch|finish|backout)Ack$/.test(msg)
        ) {
          this.#toInitiator(
            { type: msg as `${'reload'}Ack`, member: str(line, 'from') },
            line,
            `takes ${msg} from ${str(line, 'from')}`,
          );
        }
        return;
      }
      case 'timeout':
        // the fence fan-out (fence, fenceAck) is the effect of the fenced state, outside the statechart
        if (line.actor === self && this.#running() && line.step !== 'fence')
          this.#toInitiator({ type: 'timeout' }, line, 'times out');
        return;
      case 'memberLost':
      case 'memberJoined': {
        // a group change the initiator's statechart has no move for is only news (the implementation ignores it too)
        const event = { type: line.event, member: str(line, 'member') } as InitiatorEvent;
        if (
          line.actor === self &&
          this.#running() &&
          initiatorMachine.getTransitionData(this.#initiator!, event).length > 0
        ) {
          this.#toInitiator(event, line, `learns ${line.event} ${str(line, 'member')}`);
        }
        return;
      }
      case 'expel':
        return this.#down(str(line, 'member'), line);
      case 'crash':
      case 'partition':
        return this.#down(str(line, 'member'), line);
      case 'takeover':
        return this.#takeover(line);
      case 'ioError':
        // a roll-forward takeover that cannot write the record tries again later: until then
        // nobody has taken the change over (a running one fences instead: see fence)
        if (line.step === 'takeover' && line.actor === self && this.#beforeTakeover) {
          this.#initiator = this.#beforeTakeover;
          this.#takeoverRetry = line.actor;
        }
        return;
      case 'restartCheck':
        return this.#restartCheck(line);
      case 'clearNew':
        // every active coprocessor's new register cleared: its restart check finds no new key
        if (line.action === 'clearNew') this.#clearNew(str(line, 'member'));
        return;
      case 'record':
        this.#record = {
          change: str(line, 'to') as RecordView['change'],
          active: this.#dataSet(line.active),
        };
        if (this.#record.change === 'none' && line.from !== 'none') this.#decided = true;
        this.#begins(line);
        return this.#checkRecord(line);
      case 'update':
        return this.#update(line);
      case 'fence':
        // a restart check that fences said so first (its restartCheck line, FenceOnRestartCheck)
        if (this.#leaf(this.#member(line.actor)) === 'fenced') return;
        // the initiator fences itself when its backout cannot write (a takeover's record write, too)
        if (line.actor === self) {
          this.#undecide();
          if (this.#leaf(this.#initiator!) === 'backout')
            this.#toInitiator({ type: 'ioError' }, line, 'fences: its backout could not write');
        }
        return this.#memberPart(line);
      case 'beginRouting':
      case 'reload':
      case 'switch':
      case 'finish':
      case 'backout':
        return this.#memberPart(line);
      case 'send': {
        const msg = str(line, 'msg');
        if (line.actor === self && /^(beginRouting|reload|switch|finish|backout)$/.test(msg))
          this.#asked.add(str(line, 'to'));
        if (line.actor !== self && ACKED_IN[msg]) this.#acknowledges(line, msg);
        return;
      }
      case 'write':
        if (line.op === 'header' && line.dataSet === this.#target) this.#headerWritten = true;
        // finish's archive renames the target to the old data set's name
        if (line.op === 'rename' && line.dataSet === this.#target) this.#target = str(line, 'to');
        return;
      case 'outcome':
        return this.#outcome(line);
      default:
        return; // drop, duplicate, delay, reencipher progress, archive, restart, heal
    }
  }

  /** The trace's first line says how the run was set up: the cluster is its `members`, the retry budget its `retries`. */
  #header(line: TraceLine): void {
    if (this.#lines !== 1)
      throw new Error(`trace line ${line.seq}: a header must be the first line of the trace`);
    if (Array.isArray(line.members))
      this.#cluster = (line.members as { member: string }[]).map((m) => m.member);
    const retries = line.retries;
    if (retries === undefined) return;
    if (!Number.isSafeInteger(retries) || (retries as number) < 0)
      throw new Error(
        `trace line ${line.seq}: header.retries must be a non-negative integer, got ${JSON.stringify(retries)}`,
      );
    this.#retryBudget = retries as number;
  }

  /** A change is under way: its initiator validated and has not ended (or the record shows it). */
  #underWay(): boolean {
    if (!this.#initiator) return false;
    const state = this.#leaf(this.#initiator);
    if (['idle', 'refused', 'completed', 'backedOut'].includes(state)) return false;
    return state !== 'down' || this.#record.change !== 'none';
  }

  /** A new initiator statechart for `self`, started (the operator's startChange). */
  #started(self: string, cluster: readonly string[] | null): AnyMachineSnapshot {
    const [s] = initialTransition(initiatorMachine, {
      self,
      ...(cluster ? { cluster } : {}),
      ...(this.#retryBudget === undefined ? {} : { retryBudget: this.#retryBudget }),
    });
    return transition(initiatorMachine, s, { type: 'startChange' })[0];
  }

  /**
   * A step line of an initiator that validated while another change was under way: its validate,
   * and a beginRouting that the record refuses (its validation went stale: changeRunning) or
   * that fails; the record write that begins its change makes it the initiator (#checkRecord).
   */
  #waitingStep(line: TraceLine): void {
    const w = this.#waitingInitiators.get(line.change)!;
    const result = line.result;
    const what = `${line.phase === 'start' ? 'starts' : 'ends'} ${String(line.step)}${result && result !== 'ok' ? ` (${String(result)})` : ''}`;
    if (line.step === 'validate' && Array.isArray(line.members)) {
      w.snapshot = this.#started(line.actor, line.members as string[]);
      w.line = line;
    }
    if (line.phase !== 'done' || (result !== 'refused' && result !== 'failed')) return;
    const [first] =
      (line.refusals as { subject: string; reason: RefusalReason }[] | undefined) ?? [];
    const event: InitiatorEvent =
      result === 'refused'
        ? {
            type: 'refuse',
            member: first?.subject ?? line.actor,
            reason: first?.reason ?? 'changeRunning',
          }
        : { type: 'ioError' };
    w.snapshot = this.#feed(initiatorMachine, w.snapshot, event, line, 'statechart', what);
  }

  /** The record write of `line` begins a change that validated while another was under way: its initiator plays from here. */
  #begins(line: TraceLine): void {
    const w = this.#waitingInitiators.get(line.change);
    if (!w || line.from !== 'none' || line.to !== 'running') return;
    this.#waitingInitiators.delete(line.change);
    // the initiator it replaces never began: its beginRouting will be refused (changeRunning)
    if (this.#initiator && this.#leaf(this.#initiator) === 'validate')
      this.#waitingInitiators.set(this.#change, { snapshot: this.#initiator, line });
    this.#initiator = w.snapshot;
    this.#change = line.change;
    this.#old = String(w.line.active ?? this.#old);
    this.#target = String(w.line.target ?? this.#target);
    this.#headerWritten = false;
    this.#decided = false;
    this.#asked.clear();
  }

  #step(line: TraceLine): void {
    const step = str(line, 'step');
    const phase = str(line, 'phase');
    const result = line.result;
    const what = `${phase === 'start' ? 'starts' : 'ends'} ${step}${result && result !== 'ok' ? ` (${String(result)})` : ''}`;
    if (step === 'validate' && phase === 'start' && this.#underWay()) {
      // another operator starts a change at about the same time: its own statechart
      this.#waitingInitiators.set(line.change, {
        snapshot: this.#started(line.actor, this.#cluster),
        line,
      });
      return;
    }
    if (step === 'validate') {
      if (phase === 'start') {
        this.#change = line.change;
        this.#initiator = initialTransition(initiatorMachine, {
          self: line.actor,
          ...(this.#cluster ? { cluster: this.#cluster } : {}),
          ...(this.#retryBudget === undefined ? {} : { retryBudget: this.#retryBudget }),
        })[0];
        this.#initiator = this.#feed(
          initiatorMachine,
          this.#initiator,
          { type: 'startChange' },
          line,
          'statechart',
          what,
        );
        return;
      }
      const members = line.members as string[] | undefined;
      if (members) {
        this.#change = line.change;
        this.#initiator = initialTransition(initiatorMachine, {
          self: line.actor,
          cluster: members,
          ...(this.#retryBudget === undefined ? {} : { retryBudget: this.#retryBudget }),
        })[0];
        this.#initiator = transition(initiatorMachine, this.#initiator, { type: 'startChange' })[0];
        members.forEach((m) => this.#member(m));
      }
      if (!this.#initiator)
        throw this.#noChange(line, `${what} without its start or the cluster (members)`);
      this.#old = String(line.active ?? this.#old);
      this.#target = String(line.target ?? this.#target);
      this.#headerWritten = false;
      if (result === 'refused') {
        const [first] =
          (line.refusals as { subject: string; reason: RefusalReason }[] | undefined) ?? [];
        this.#toInitiator(
          {
            type: 'refuse',
            member: first?.subject ?? line.actor,
            reason: first?.reason ?? 'memberNotActive',
          },
          line,
          what,
        );
      }
      return;
    }
    if (!this.#initiator) throw this.#noChange(line, `${what} before validate`);
    if (phase === 'start') this.#asked.clear();
    if (step === 'beginRouting' && phase === 'done' && this.#leaf(this.#initiator) === 'validate') {
      // its compare-and-set of the record did not write: an I/O error (the change never began:
      // backed out at once), or refused (validate's record went stale)
      if (result === 'failed') return this.#toInitiator({ type: 'ioError' }, line, what);
      if (result === 'refused') {
        const [first] =
          (line.refusals as { subject: string; reason: RefusalReason }[] | undefined) ?? [];
        return this.#toInitiator(
          {
            type: 'refuse',
            member: first?.subject ?? line.actor,
            reason: first?.reason ?? 'changeRunning',
          },
          line,
          what,
        );
      }
    }
    if (phase === 'done' && result === 'failed') {
      if (step === 'finish') return; // finish is retried (roll-forward)
      if (step === 'backout') this.#undecide();
      return this.#toInitiator(
        { type: 'ioError' },
        line,
        what,
        step === 'backout'
          ? 'statechart'
          : ruleFor(this.#leaf(this.#initiator), 'backout', this.#initiatorContext),
      );
    }
    if (phase === 'start') {
      switch (step) {
        case 'beginRouting':
          return; // validated: once its record write begins the change (#checkRecord)
        case 'backout': {
          this.#decided = false;
          if (['backout', 'backedOut'].includes(this.#leaf(this.#initiator))) return;
          // the initiator saw the member leave the group before its notification line
          const lost = /^member (\S+) lost/.exec(String(line.reason ?? ''))?.[1];
          if (lost && !this.#initiator.matches('rollForward'))
            this.#toInitiator({ type: 'memberLost', member: lost }, line, what);
          // a member (or the initiator itself) refused its part of reload: phase 1's register check
          const [refusal] =
            (line.refusals as { subject: string; reason: RefusalReason }[] | undefined) ?? [];
          if (refusal && !this.#initiator.matches('rollForward'))
            this.#toInitiator(
              { type: 'refuse', member: refusal.subject, reason: refusal.reason },
              line,
              what,
            );
          // (with nobody left to answer, the statechart ends the backout at once)
          return this.#expect(['backout', 'backedOut'], line, what, false);
        }
        case 'applyDelta':
          this.#applied = [];
          return this.#expect(AT_STEP_START.applyDelta!, line, what);
        default:
          return this.#expect(AT_STEP_START[step] ?? [], line, what);
      }
    }
    switch (step) {
      case 'reencipher':
        return this.#toInitiator({ type: 'reencipherDone' }, line, what);
      case 'applyDelta':
        if (!this.#headerWritten)
          throw new ReplayError(
            line.seq,
            line.actor,
            this.#leaf(this.#initiator),
            'NoEarlyActivation',
            `${what} without writing the header of the target ${this.#target}`,
          );
        return this.#toInitiator(
          { type: 'applyDeltaDone', applied: this.#applied },
          line,
          `${what}: the delta holds ${this.#applied.join(', ') || 'nothing'}`,
          'NoLostUpdate',
        );
      default:
        return AT_STEP_DONE[step] ? this.#expect(AT_STEP_DONE[step]!, line, what) : undefined;
    }
  }

  /** A record write comes from a step of the initiator statechart that makes it. */
  #checkRecord(line: TraceLine): void {
    if (!this.#initiator || line.from === line.to) return; // a takeover names the new initiator only
    const ctx = this.#initiatorContext!;
    const to = str(line, 'to');
    const state = this.#leaf(this.#initiator);
    // step 2's record write: the change begins
    if (to === 'running' && state === 'validate' && line.actor === this.#self)
      return this.#toInitiator(
        { type: 'validated' },
        line,
        'writes the cluster record none -> running',
      );
    // the commit step's record write: the point of no return
    if (to === 'committed' && state === 'commit' && line.actor === this.#self)
      return this.#toInitiator(
        { type: 'commitDone' },
        line,
        'writes the cluster record running -> committed',
      );
    const finishing = line.active === this.#target;
    const writers =
      to === 'running'
        ? ['beginRouting']
        : to === 'committed'
          ? ['commit']
          : finishing
            ? ['finish']
            : ['backout', 'backedOut'];
    if (this.#at(writers)) return;
    const rule =
      to === 'committed'
        ? ruleFor(state, 'commit', ctx)
        : to === 'none' &&
            !finishing &&
            (line.from === 'committed' || ctx.record.change === 'committed')
          ? 'NoBackoutAfterCommit'
          : 'statechart';
    throw new ReplayError(
      line.seq,
      line.actor,
      state,
      rule,
      `writes the cluster record ${String(line.from)} -> ${to}${finishing ? ' (target active)' : ''}`,
    );
  }

  #update(line: TraceLine): void {
    const phase = str(line, 'phase');
    const id = str(line, 'id');
    const self = this.#self;
    if (phase === 'request') {
      const member = this.#member(line.actor);
      if (member.value === 'down') return; // refused at once: the member is down
      return this.#toMember(
        line.actor,
        { type: 'update', id, record: this.#record },
        line,
        `takes update ${id}`,
      );
    }
    if (line.actor !== self || !this.#running()) return;
    const state = this.#leaf(this.#initiator!);
    const origin = typeof line.origin === 'string' ? line.origin : line.actor;
    if (phase === 'apply' && line.dataSet === this.#target) {
      this.#applied.push(id);
      return;
    }
    if (
      (phase === 'apply' && (state === 'beginRouting' || state === 'reencipher')) ||
      phase === 'wait'
    ) {
      this.#toInitiator(
        { type: 'update', id, member: origin },
        line,
        `${phase === 'wait' ? 'holds' : 'applies'} update ${id}`,
      );
    }
  }

  #down(name: string, line: TraceLine): void {
    if (this.#member(name).value !== 'down')
      this.#toMember(name, { type: 'crash' }, line, `goes down (${line.event})`);
    for (const w of this.#waitingInitiators.values())
      if ((w.snapshot.context as InitiatorContext).self === name && w.snapshot.status === 'active')
        w.snapshot = this.#feed(
          initiatorMachine,
          w.snapshot,
          { type: 'crash' },
          line,
          'statechart',
          `loses the initiator ${name}`,
        );
    if (name !== this.#self) return;
    this.#undecide();
    if (this.#running()) this.#toInitiator({ type: 'crash' }, line, `loses the initiator ${name}`);
  }

  /**
   * With nobody left to answer, the statechart passes backout or switch and finish at once and
   * ends the change, taking the record write that decides it as done. Until the trace shows that
   * write, the initiator is still in that step: a crash or an I/O error there leaves the change
   * undecided (the record still says running or committed), for a takeover to decide.
   */
  #undecide(): void {
    if (!this.#initiator || this.#decided) return;
    const state = this.#leaf(this.#initiator);
    const ctx = this.#initiatorContext!;
    if (state === 'backedOut')
      this.#initiator = initiatorMachine.resolveState({
        value: 'backout',
        context: { ...ctx, record: { change: 'running', active: 'old' } },
      });
    if (state === 'completed')
      this.#initiator = initiatorMachine.resolveState({
        value: { rollForward: 'finish' },
        context: { ...ctx, record: { change: 'committed', active: 'old' } },
      });
  }

  /** A line that needs a change under way when no validate has started one. */
  #noChange(line: TraceLine, what: string): ReplayError {
    return new ReplayError(line.seq, line.actor, 'none', 'statechart', what);
  }

  #takeover(line: TraceLine): void {
    if (!this.#initiator) throw this.#noChange(line, 'takes over a change that never started');
    if (this.#takeoverRetry === line.actor) {
      this.#takeoverRetry = null;
      // tried again after the change was settled: its compare-and-set of the record fails, nothing moves
      if (this.#record.change !== 'committed') return;
    }
    const record: RecordView = {
      change: str(line, 'record') as RecordView['change'],
      active: 'old',
    };
    this.#decided = false;
    this.#beforeTakeover = record.change === 'committed' ? this.#initiator : null;
    this.#toInitiator(
      { type: 'takeover', member: line.actor, record },
      line,
      `takes over (record ${record.change})`,
      record.change === 'committed' ? 'statechart' : 'NoBackoutAfterCommit',
    );
  }

  #clearNew(name: string): void {
    const m = this.#member(name);
    const context = { ...(m.context as MemberContext), next: null };
    this.#members.set(name, memberMachine.resolveState({ value: m.value, context }));
  }

  #restartCheck(line: TraceLine): void {
    const change = str(line, 'record') as RecordView['change'];
    const record: RecordView = {
      change,
      active: change === 'committed' ? 'old' : this.#dataSet(line.active),
    };
    const before = this.#member(line.actor).context as MemberContext;
    this.#toMember(line.actor, { type: 'restart', record }, line, 'runs its restart check');
    const after = this.#member(line.actor);
    const predicted =
      this.#leaf(after) === 'fenced'
        ? 'fenced'
        : (after.context as MemberContext).cur !== before.cur
          ? 'setMasterKey'
          : 'serve';
    if (predicted !== line.result) {
      throw new ReplayError(
        line.seq,
        line.actor,
        `restartCheck (record ${change}, ${record.active} active)`,
        'KeyAgreement',
        `restart check says ${String(line.result)} where the statechart says ${predicted}`,
      );
    }
  }

  /** A member's part of a step: its own statechart, and what the initiator's must already say. */
  #memberPart(line: TraceLine): void {
    const name = line.actor;
    const part = line.event as MemberEvent['type'];
    const initiator = this.#initiatorContext;
    const what = `does its part of ${part}`;
    const here = this.#leaf(this.#member(name));
    if ((part === 'reload' || part === 'switch') && initiator && !initiator.deltaApplied) {
      throw new ReplayError(
        line.seq,
        name,
        here,
        'NoEarlyActivation',
        `${what} before the delta is applied`,
      );
    }
    if (part === 'switch' && line.dataSet !== this.#target) {
      throw new ReplayError(
        line.seq,
        name,
        here,
        'statechart',
        `switches to ${String(line.dataSet)}, not the target ${this.#target}`,
      );
    }
    if (
      part === 'switch' &&
      initiator &&
      initiator.record.change !== 'committed' &&
      this.#record.change !== 'committed'
    ) {
      throw new ReplayError(
        line.seq,
        name,
        here,
        'StagedBeforeSwitch',
        `${what} before the commit`,
      );
    }
    if (part === 'backout' && this.#record.change === 'committed') {
      throw new ReplayError(
        line.seq,
        name,
        here,
        'NoBackoutAfterCommit',
        `${what} after the commit`,
      );
    }
    const rule: BrokenRule =
      part === 'switch'
        ? 'StagedBeforeSwitch'
        : part === 'backout' && here === 'switched'
          ? 'NoBackoutAfterCommit'
          : 'statechart';
    // the line names its spec action: a part settled from the record, its driver lost, is the
    // statechart's driverLost transition, not the one a request takes
    const event: MemberEvent = FROM_RECORD.has(String(this.#current.action))
      ? { type: 'driverLost', record: this.#record }
      : ({ type: part } as MemberEvent);
    this.#toMember(name, event, line, what, rule);
  }

  /** A member sends the acknowledgement of a request: its statechart must have done its part. */
  #acknowledges(line: TraceLine, ack: string): void {
    const state = this.#leaf(this.#member(line.actor));
    if (!ACKED_IN[ack]!.includes(state))
      throw new ReplayError(
        line.seq,
        line.actor,
        state,
        'statechart',
        `acknowledges ${ack.slice(0, -3)} without doing its part of it`,
      );
  }

  /** An outcome is decided in the initiator statechart's state that decides it (a fenced change may later be backed out). */
  #outcome(line: TraceLine): void {
    if (!this.#initiator)
      throw this.#noChange(line, 'decides the outcome of a change that never started');
    const outcome = str(line, 'outcome');
    const waiting = this.#waitingInitiators.get(line.change);
    if (waiting) {
      // a change that never began: refused, or backed out by an initiator lost before it began
      this.#waitingInitiators.delete(line.change);
      const at = this.#leaf(waiting.snapshot);
      if ((DECIDED_IN[outcome] ?? []).includes(at) || (outcome === 'backedOut' && at === 'down'))
        return;
      throw new ReplayError(
        line.seq,
        line.actor,
        at,
        'statechart',
        `decides the outcome ${outcome}`,
      );
    }
    // the outcome of a change whose initiator statechart another change's replaced (it never began)
    if (line.change !== undefined && this.#change !== null && line.change !== this.#change) return;
    const state = this.#leaf(this.#initiator);
    // an initiator lost before beginRouting wrote the record leaves nothing to undo: backed out
    if (outcome === 'backedOut' && state === 'down' && this.#record.change === 'none') return;
    if (!(DECIDED_IN[outcome] ?? []).includes(state)) {
      const afterCommit = this.#initiator.matches('rollForward') || state === 'completed';
      const rule: BrokenRule =
        outcome === 'backedOut' && afterCommit ? 'NoBackoutAfterCommit' : 'statechart';
      throw new ReplayError(line.seq, line.actor, state, rule, `decides the outcome ${outcome}`);
    }
  }

  result(): ReplayResult {
    return {
      moves: this.moves,
      ...(this.#actions ? { actions: this.#actions } : {}),
      initiator: this.#initiator ? { state: this.#leaf(this.#initiator), self: this.#self! } : null,
      members: Object.fromEntries([...this.#members].map(([n, s]) => [n, this.#leaf(s)])),
    };
  }
}

/** Replays a trace through the statecharts; throws a ReplayError at the first line they do not allow. */
export function replayTrace(
  lines: readonly TraceLine[],
  options: ReplayOptions = {},
): ReplayResult {
  const replay = new Replay(options);
  for (const line of lines) replay.feed(line);
  return replay.result();
}
