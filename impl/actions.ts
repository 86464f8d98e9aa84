// The action stream of a trace: the lines that are actions of the TLA+ spec (their `action`
// field, impl/vocabulary.ts SPEC_ACTIONS), each with the parameters the spec action takes,
// interleaved with the lines that are not (observations: record and data set writes, messages,
// group notices, outcomes, update phases, progress), each typed by its event (impl/trace.ts).
// It is the single reading of which trace line is which spec action: the TLA+ converter
// (tla/trace-to-tla.ts), the statechart replay (model/replay.ts) and the TraceChecker
// (impl/invariants.ts) each fold over it, so no checker keeps a translation of its own.
import type { TraceEvent } from './trace.ts';
import { isAck, refusalOf, requestOf, type Request, type SpecAction } from './vocabulary.ts';

/** One spec action, as a trace line shows it. */
export interface SpecStep {
  /** The trace line (seq). */
  readonly line: number;
  readonly action: SpecAction;
  /** The member that acts (for the environment's crash and restart, the member it acts on). */
  readonly member: string;
  /** The other member: a message's sender (the receiver acts), the member expelled or rejoined. */
  readonly peer: string | null;
  /** A message's request, and whether it is the request, its acknowledgement or a refusal of it. */
  readonly step: Request | null;
  readonly kind: 'request' | 'ack' | 'refusal' | null;
  /** A dynamic update's id. */
  readonly update: string | null;
  /** What the action decided, where it decides: validate ok/refused, beginRouting's write, takeover's way, restartCheck's result. */
  readonly result: string | null;
  /** The state the line shows after the action: a data set (the record's active one, a copy's, a write's) and an MKVP. */
  readonly dataSet: string | null;
  readonly mkvp: string | null;
}

/** A line that cannot be the action it names. */
export class ActionStreamError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`trace line ${line}: ${message}`);
    this.name = 'ActionStreamError';
  }
}

/** Actions a member takes on a request delivered to it (the line is its part, its ack sent again, or its ignore line). */
const ON_REQUEST: Partial<Record<SpecAction, Request | 'any'>> = {
  BeginRoutingAtMember: 'beginRouting',
  ReloadAtMember: 'reload',
  ReloadRefusedAtMember: 'reload',
  SwitchAtMember: 'switch',
  FinishAtMember: 'finish',
  BackoutAtMember: 'backout',
  FenceAtMember: 'fence',
  Ignore: 'any',
};

/** The fault actions: each spends one fault of the spec's budget (so does every ioError line). */
export const FAULT_ACTIONS: ReadonlySet<SpecAction> = new Set([
  'duplicate',
  'drop',
  'timeout',
  'Expel',
  'crash',
  'clearNew',
]);

function stepOf(e: TraceEvent): SpecStep {
  const base = {
    line: e.seq,
    member: e.actor,
    peer: null,
    step: null,
    kind: null,
    update: null,
    result: null,
    dataSet: null,
    mkvp: null,
  };
  const action = (e as { action?: SpecAction }).action!;
  switch (e.event) {
    case 'crash':
    case 'partition':
    case 'restart':
    case 'heal':
    case 'clearNew':
      return { ...base, action, member: e.member };
    case 'expel':
      return { ...base, action, peer: e.member };
    case 'send':
    case 'deliver':
    case 'drop': {
      const refused = refusalOf(e.msg);
      const step = refused ?? requestOf(e.msg);
      const kind = isAck(e.msg) ? 'ack' : refused ? 'refusal' : 'request';
      if (e.event === 'send' && action === 'memberJoined') return { ...base, action, peer: e.to };
      if (e.event === 'send' && action === 'ApplyRefused')
        return { ...base, action, update: e.update ?? null };
      if (e.event === 'send') return { ...base, action }; // a member's part, taken again: its ack
      return { ...base, action, member: e.to, peer: e.from, step, kind };
    }
    case 'ignore':
      return { ...base, action, peer: e.from, step: requestOf(e.msg), kind: 'request' };
    case 'update':
      return { ...base, action, update: e.id, dataSet: e.dataSet ?? null };
    case 'step':
      return {
        ...base,
        action,
        result: e.result === 'refused' ? 'refused' : e.step === 'validate' ? 'validate' : null,
        ...(e.step === 'applyDelta' ? { dataSet: e.target ?? null, mkvp: e.mkvp ?? null } : {}),
      };
    case 'record':
      return {
        ...base,
        action,
        result: e.to === 'running' ? 'beginRouting' : null,
        dataSet: e.active,
      };
    case 'reload':
      return { ...base, action, dataSet: e.dataSet, mkvp: e.mkvp };
    case 'switch':
      return { ...base, action, dataSet: e.dataSet, mkvp: e.cur };
    case 'takeover':
      return { ...base, action, result: e.then === 'backout' ? 'backout' : 'commit' };
    case 'restartCheck':
      return {
        ...base,
        action,
        result: e.result,
        dataSet: e.active,
        mkvp: e.result === 'fenced' ? null : e.header,
      };
    default:
      return { ...base, action };
  }
}

/**
 * One item of the stream: a spec action, with the line that carries it (`unasked` says why a
 * member's action on a request cannot be that action: no such request was delivered to it just
 * before), or a line that is no spec action, typed by its event.
 */
export type StreamItem =
  | {
      readonly type: 'action';
      readonly step: SpecStep;
      readonly event: TraceEvent;
      readonly unasked: string | null;
    }
  | { readonly type: 'observation'; readonly event: TraceEvent };

/**
 * The stream, a line at a time (a checker fed as the run goes, like the simulation's). Each line
 * gives one item, its action or its observation; a delivery of a copy (`copy`) is first the
 * spec's `duplicate`, then the delivery's own item. A member's action on a request must follow
 * the delivery of that request to it in the same scheduler action (same tick).
 */
export class ActionStream {
  #lastDelivery: { tick: number; actor: string; msg: string } | null = null;

  next(e: TraceEvent): StreamItem[] {
    const out: StreamItem[] = [];
    if (e.event === 'deliver') {
      this.#lastDelivery = { tick: e.tick, actor: e.actor, msg: e.msg };
      if (e.copy)
        out.push({
          type: 'action',
          step: stepOf({ ...e, action: 'duplicate' }),
          event: e,
          unasked: null,
        });
    }
    const action = (e as { action?: SpecAction }).action;
    if (action === undefined) {
      out.push({ type: 'observation', event: e });
      return out;
    }
    out.push({ type: 'action', step: stepOf(e), event: e, unasked: this.#unasked(e, action) });
    return out;
  }

  #unasked(e: TraceEvent, action: SpecAction): string | null {
    const needs = ON_REQUEST[action];
    if (needs === undefined) return null;
    const d = this.#lastDelivery;
    const asked =
      d !== null &&
      d.tick === e.tick &&
      d.actor === e.actor &&
      (needs === 'any' ? requestOf(d.msg) === d.msg : d.msg === needs);
    return asked
      ? null
      : `${e.actor} takes ${action} without a ${needs === 'any' ? 'request' : `${needs} message`} delivered to it`;
  }
}

/** The whole stream of a trace. */
export function actionStream(events: readonly TraceEvent[]): StreamItem[] {
  const stream = new ActionStream();
  return events.flatMap((e) => stream.next(e));
}

/** The spec actions of a trace, in order; a member's action on a request it was not delivered is an ActionStreamError. */
export function specSteps(events: readonly TraceEvent[]): SpecStep[] {
  const out: SpecStep[] = [];
  for (const item of actionStream(events)) {
    if (item.type !== 'action') continue;
    if (item.unasked !== null) throw new ActionStreamError(item.step.line, item.unasked);
    out.push(item.step);
  }
  return out;
}
