// Turns a trace (the NDJSON of docs/trace-format.md) into the TLA+ module TraceData that
// tla/TraceCMK.tla checks against CoordinatedCMK: one observation per trace line that a spec
// action accounts for, each keeping its line number. Lines no action accounts for (data set
// writes, message sends, progress, outcomes, group notices) are left out; see docs/conformance.md.
import { parseTrace, type TraceEvent } from '../impl/index.ts';

/** One observation: the spec action `ev`, with its member, argument, peer, message step and update. */
export interface Observation {
  seq: number;
  ev: string;
  m: string;
  arg: string;
  peer: string;
  step: string;
  u: number;
}

export interface Conversion {
  observations: Observation[];
  /** Trace member name -> the spec's name (the spec orders members as SYSA, SYSB, ...). */
  names: Map<string, string>;
  /** The TraceData module. */
  module: string;
}

/** A trace this check cannot take, with the line that says so. */
export class TraceConversionError extends Error {
  constructor(readonly line: number, message: string) {
    super(`trace line ${line}: ${message}`);
    this.name = 'TraceConversionError';
  }
}

const SPEC_NAMES = ['SYSA', 'SYSB', 'SYSC', 'SYSD', 'SYSE', 'SYSF', 'SYSG', 'SYSH'];
const REQUESTS = new Set(['beginRouting', 'reload', 'switch', 'finish', 'backout', 'fence']);
const ACKS = new Set([...REQUESTS].map((r) => `${r}Ack`));
// Refusals the spec models; others (release level, coprocessors, ...) are outside it.
const MODELLED_REFUSALS = new Set(['changeRunning', 'memberNotActive', 'newNotCommitted', 'newMkvpDiffers', 'targetNotEmpty', 'targetIsActive']);
// Update failures that are the consequence of another observed event (fence, crash, takeover).
const CONSEQUENTIAL_FAILURES = new Set(['fenced', 'memberDown', 'initiatorLost']);

/** Parses NDJSON with the trace format's own parser, then converts it. */
export function convertNdjson(ndjson: string): Conversion {
  return convertTrace(parseTrace(ndjson));
}

export function convertTrace(events: readonly TraceEvent[]): Conversion {
  const names = memberNames(events);
  const spec = (line: number, member: string): string => {
    const n = names.get(member);
    if (n === undefined) throw new TraceConversionError(line, `${member} is not a member of the cluster`);
    return n;
  };
  const obs: Observation[] = [];
  const add = (seq: number, ev: string, m: string, more: Partial<Omit<Observation, 'seq' | 'ev' | 'm'>> = {}) =>
    obs.push({ seq, ev, m, arg: 'none', peer: 'none', step: 'none', u: 0, ...more });

  const updates = new Map<string, number>();
  const updateIndex = (id: string) => {
    if (!updates.has(id)) updates.set(id, updates.size + 1);
    return updates.get(id)!;
  };
  const applied = new Set<string>();
  const routed = new Set<string>();
  const initiators = new Set<string>();
  const uncommitted = new Set<string>();
  // The spec's messages have no ids: at most one copy of each (kind, step, from, to) is on its
  // way. A delivery of one that is not (a late original after its resend, a duplicate) is the
  // spec's `duplicate`: a copy of a message sent earlier arriving again.
  const inFlight = new Set<string>();
  const key = (msg: string, from: string, to: string) => `${msg}|${from}|${to}`;
  const leaves = (member: string) => {
    for (const k of inFlight) if (k.endsWith(`|${member}`)) inFlight.delete(k);
  };
  const fenced = new Set<string>();
  let coordinator: string | null = null;
  let change: 'none' | 'running' | 'committed' = 'none';
  let backingOut = false;
  let faults = 0;

  events.forEach((e, k) => {
    const line = e.seq;
    // Later lines of the same scheduler action (same tick and actor).
    const sameAction = (pred: (x: TraceEvent) => boolean) => {
      for (let j = k + 1; j < events.length && events[j]!.tick === e.tick; j++) {
        const x = events[j]!;
        if (x.actor === e.actor && pred(x)) return true;
      }
      return false;
    };
    // The request delivered to this member just before, in the same action.
    const deliveredHere = (step: string) => {
      for (let j = k - 1; j >= 0 && events[j]!.tick === e.tick; j--) {
        const x = events[j]!;
        if (x.event === 'deliver' && x.actor === e.actor) return x.msg === step;
      }
      return false;
    };
    switch (e.event) {
      case 'step': {
        if (e.step === 'validate' && e.phase === 'done') {
          initiators.add(e.actor);
          for (const r of e.refusals ?? []) {
            if (!MODELLED_REFUSALS.has(r.reason)) {
              throw new TraceConversionError(line, `refusal reason ${r.reason} is outside the spec (it takes release levels and coprocessors as valid)`);
            }
            if (r.reason === 'newNotCommitted') uncommitted.add(r.subject);
          }
          add(line, 'validate', spec(line, e.actor), { arg: e.result === 'ok' ? 'validate' : 'refused' });
        } else if (e.step === 'beginRouting' && e.phase === 'done' && e.result === 'refused') {
          add(line, 'beginRouting', spec(line, e.actor), { arg: 'refused' });
        } else if (e.phase === 'done' && e.result === 'ok' && (e.step === 'reencipher' || e.step === 'suspend' || e.step === 'applyDelta')) {
          add(line, e.step, spec(line, e.actor));
        } else if (e.phase === 'start' && e.step === 'switch' && e.actor === coordinator) {
          add(line, 'switch', spec(line, e.actor), { arg: 'coordinator' });
        } else if (e.phase === 'start' && e.step === 'resume') {
          // Waiting updates are processed inside resume, after its start.
          add(line, 'resume', spec(line, e.actor));
        }
        return;
      }
      case 'record': {
        const m = spec(line, e.actor);
        if (e.from === 'none' && e.to === 'running') {
          coordinator = e.actor;
          backingOut = false;
          add(line, 'beginRouting', m, { arg: 'beginRouting' });
        } else if (e.from === 'running' && e.to === 'committed') {
          add(line, 'commit', m);
        } else if (e.from === 'committed' && e.to === 'none') {
          add(line, 'finish', m, { arg: 'coordinator' });
        } else if (e.from === 'running' && e.to === 'none') {
          backingOut = true;
          add(line, 'backout', m, { arg: 'coordinator' });
        } else if (e.from !== e.to) {
          throw new TraceConversionError(line, `cluster record write ${e.from} -> ${e.to} is not a step of the protocol`);
        } // from = to: the takeover names itself in the record (its takeover line is the observation)
        change = e.to;
        return;
      }
      case 'beginRouting':
      case 'reload':
      case 'switch':
      case 'finish':
      case 'backout': {
        if (e.actor === coordinator) {
          // The coordinator's own staging is its reload step; its other parts belong to the
          // step whose record write (or `step switch start`) is the observation.
          if (e.event === 'reload') add(line, 'reload', spec(line, e.actor), { arg: 'coordinator' });
          return;
        }
        const here = deliveredHere(e.event);
        if (!here && (e.event === 'beginRouting' || e.event === 'reload' || e.event === 'switch')) {
          throw new TraceConversionError(line, `${e.actor} does its part of ${e.event} without a ${e.event} message`);
        }
        add(line, e.event, spec(line, e.actor), { arg: here ? 'member' : 'record' });
        return;
      }
      case 'fence': {
        if (e.actor === coordinator) {
          coordinator = null;
          add(line, 'fence', spec(line, e.actor), { arg: 'ioError' });
        } else if (deliveredHere('fence')) {
          add(line, 'fence', spec(line, e.actor), { arg: 'member' });
        } else if (!fenced.has(e.actor)) {
          throw new TraceConversionError(line, `${e.actor} is fenced without a fence message or a failed restart check`);
        }
        fenced.add(e.actor);
        return;
      }
      case 'takeover': {
        coordinator = e.actor;
        backingOut = e.then === 'backout';
        add(line, 'takeover', spec(line, e.actor), { arg: e.then === 'backout' ? 'backout' : 'commit' });
        return;
      }
      case 'restartCheck': {
        const m = spec(line, e.actor);
        if (e.result === 'fenced') {
          fenced.add(e.actor);
          add(line, 'fence', m, { arg: 'restartCheck' });
        } else {
          fenced.delete(e.actor);
          add(line, 'restartCheck', m, { arg: e.result });
        }
        return;
      }
      case 'send': {
        if (REQUESTS.has(e.msg) || ACKS.has(e.msg)) inFlight.add(key(e.msg, e.from, e.to));
        // The coordinator answers a routed update it did not apply: it refused it (the caller's
        // `fail` line comes later, unless the failure is another event's consequence).
        if (e.msg === 'updateResult' && e.update !== undefined && !applied.has(e.update)) {
          const failure = events.slice(k + 1).find((x) => x.event === 'update' && x.id === e.update && x.phase === 'fail');
          if (failure?.event === 'update' && !CONSEQUENTIAL_FAILURES.has(failure.reason ?? '')) {
            add(line, 'apply', spec(line, e.actor), { u: updateIndex(e.update), arg: 'fail' });
          }
        }
        return;
      }
      case 'deliver': {
        if (!REQUESTS.has(e.msg) && !ACKS.has(e.msg)) return; // routeUpdate, updateResult, liveUpdate...
        const k = key(e.msg, e.from, e.to);
        const wasInFlight = inFlight.delete(k);
        // A fenced member has left the group in the spec, and the spec's fencing coordinator
        // waits for no fenceAck.
        if (fenced.has(e.actor) || e.msg === 'fenceAck') return;
        const isAck = ACKS.has(e.msg);
        const step = isAck ? e.msg.slice(0, -'Ack'.length) : e.msg;
        const msg = { peer: spec(line, e.from), step, arg: isAck ? 'ack' : 'request' };
        const to = spec(line, e.to);
        if (!wasInFlight) {
          faults++;
          add(line, 'duplicate', to, msg);
        }
        if (isAck) {
          add(line, 'receiveAck', to, msg);
        } else if (sameAction((x) => x.event === step)) {
          // its member-part line is the observation
        } else if (sameAction((x) => x.event === 'send' && x.msg === `${step}Ack`)) {
          add(line, step, to, { arg: 'member' }); // done before: acknowledged again
        } else {
          add(line, 'ignore', to, msg);
        }
        return;
      }
      case 'drop': {
        if (!(REQUESTS.has(e.msg) || ACKS.has(e.msg))) return;
        inFlight.delete(key(e.msg, e.from, e.to));
        if (e.why !== 'fault') return; // not delivered to a member out of the group
        const isAck = ACKS.has(e.msg);
        faults++;
        add(line, 'drop', spec(line, e.to), {
          peer: spec(line, e.from), step: isAck ? e.msg.slice(0, -'Ack'.length) : e.msg, arg: isAck ? 'ack' : 'request',
        });
        return;
      }
      case 'timeout':
        faults++; // a premature one spends a delay fault
        add(line, 'timeout', spec(line, e.actor));
        return;
      case 'expel':
        faults++;
        leaves(e.member);
        add(line, 'expel', spec(line, e.actor), { peer: spec(line, e.member) });
        return;
      case 'crash':
      case 'partition':
        faults++;
        leaves(e.member);
        fenced.delete(e.member);
        add(line, 'crash', spec(line, e.member));
        return;
      case 'restart':
      case 'heal':
        add(line, 'restart', spec(line, e.member));
        return;
      case 'ioError': {
        faults++;
        // Before commit, a failed write of the coordinator makes it back out (if the write was
        // beginRouting's of the cluster record, before the change began).
        const backsOut = sameAction((x) => x.event === 'step' && x.step === 'backout' && x.phase === 'start');
        const beginning = e.step === 'beginRouting' && change === 'none';
        if (backsOut && !backingOut && (beginning || (e.actor === coordinator && change === 'running'))) {
          coordinator = e.actor;
          backingOut = true;
          add(line, 'ioError', spec(line, e.actor));
        }
        return;
      }
      case 'update': {
        const u = updateIndex(e.id);
        if (e.phase === 'request') {
          // A caller asking a member that is down, or whose initiator is lost, fails at once.
          const refusedAtOnce = sameAction((x) => x.event === 'update' && x.id === e.id && x.phase === 'fail' && CONSEQUENTIAL_FAILURES.has(x.reason ?? ''));
          if (!refusedAtOnce) add(line, 'request', spec(line, e.actor), { u });
        } else if (e.phase === 'apply' && !applied.has(e.id)) {
          applied.add(e.id); // a second apply is the delta's, during applyDelta
          add(line, 'apply', spec(line, e.actor), { u, arg: 'apply' });
        } else if (e.phase === 'route') {
          routed.add(e.id);
        } else if (e.phase === 'fail' && !routed.has(e.id) && !CONSEQUENTIAL_FAILURES.has(e.reason ?? '')) {
          add(line, 'apply', spec(line, e.actor), { u, arg: 'fail' }); // a member refuses its own update
        }
        return;
      }
      case 'memberJoined': {
        // The coordinator sends the member that came back its current request.
        if (e.actor === coordinator && sameAction((x) => x.event === 'send' && REQUESTS.has(x.msg) && x.to === e.member)) {
          add(line, 'memberJoined', spec(line, e.actor), { peer: spec(line, e.member) });
        }
        return;
      }
      default:
        return; // duplicate, delay, write, outcome, archive, reencipher progress, memberLost
    }
  });

  const lines = obs.map((o) => `  ${tlaRecord(o)}`);
  const set = (xs: Iterable<string>) => `{${[...xs].map((x) => JSON.stringify(names.get(x) ?? x)).join(', ')}}`;
  const module = [
    '---------------------------- MODULE TraceData ----------------------------',
    '\\* Generated by tla/trace-to-tla.ts from an NDJSON trace (docs/trace-format.md).',
    `\\* Members: ${[...names].map(([t, s]) => (t === s ? t : `${t} as ${s}`)).join(', ')}.`,
    `TraceMembers == ${set(names.keys())}`,
    `TraceInitiators == ${set(initiators)}`,
    `TraceUncommittedNew == ${set(uncommitted)}`,
    `TraceNumUpdates == ${updates.size}`,
    `TraceRefusedUpdates == {${[...new Set(obs.filter((o) => o.ev === 'apply' && o.arg === 'fail').map((o) => o.u))].join(', ')}}`,
    `TraceFaults == ${faults}`,
    'Trace == <<',
    lines.join(',\n'),
    '>>',
    '=============================================================================',
    '',
  ].join('\n');
  return { observations: obs, names, module };
}

/** The cluster (validate's `members`, else every actor), in name order, as SYSA, SYSB, ... */
function memberNames(events: readonly TraceEvent[]): Map<string, string> {
  const validated = events.find((e) => e.event === 'step' && e.step === 'validate' && e.phase === 'done' && e.members);
  const cluster = new Set<string>(validated && validated.event === 'step' ? validated.members : []);
  if (cluster.size === 0) for (const e of events) if (e.actor !== 'env') cluster.add(e.actor);
  const sorted = [...cluster].sort();
  if (sorted.length === 0) throw new TraceConversionError(1, 'the trace names no member');
  if (sorted.length > SPEC_NAMES.length) {
    throw new TraceConversionError(1, `${sorted.length} members; the spec names at most ${SPEC_NAMES.length}`);
  }
  return new Map(sorted.map((name, i) => [name, SPEC_NAMES[i]!]));
}

function tlaRecord(o: Observation): string {
  const str = (v: string) => JSON.stringify(v);
  return `[seq |-> ${o.seq}, ev |-> ${str(o.ev)}, m |-> ${str(o.m)}, arg |-> ${str(o.arg)}, ` +
    `peer |-> ${str(o.peer)}, step |-> ${str(o.step)}, u |-> ${o.u}]`;
}
