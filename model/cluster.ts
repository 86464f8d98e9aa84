// The cluster view: one initiator role and up to three members (SYSA initiates; SYSB, SYSC),
// composed from the two statecharts without copying them. The context holds each part's state
// (value + context); an event steps the part it reaches (model/step.ts: one observed step of
// that part's statechart), and the named actions the part's statechart takes become the
// cluster's effects: messages put in flight, a member's own part of a step, group membership
// (memberLost, memberJoined, takeover). Bounds (FAULT_BUDGET, UPDATE_BOUND) keep its graph small.
import {
  and,
  assign,
  initialTransition,
  setup,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyTransitionDefinition,
  type EventObject,
  type StateValue,
} from 'xstate';
import {
  awaited,
  initiatorMachine,
  type Ack,
  type InitiatorContext,
  type InitiatorEvent,
  type Request,
} from './initiator.ts';
import { memberMachine, type MemberContext, type MemberEvent } from './member.ts';
import { step, type Effect } from './step.ts';
import { UPDATE_BOUND } from './supply.ts';

/** Faults (crash, drop, ioError; duplicate, delay, partition) per generated path. */
export const FAULT_BUDGET = 2;

/** Changes a second operator starts per generated path (the second initiator). */
export const RIVAL_BOUND = 1;

export const DEFAULT_CLUSTER = ['SYSA', 'SYSB', 'SYSC'] as const;

/** A part's state as plain data, so that the cluster's context serializes to JSON. */
export interface Part<C> {
  readonly value: StateValue;
  readonly context: C;
}

export type MessageType = Request | Ack | 'routeUpdate' | 'fence' | 'reloadRefused';
export type Outcome = 'completed' | 'backedOut' | 'refused';

/** A message in flight (sysplex messaging); `id` names the update a routeUpdate carries. */
export interface Message {
  readonly type: MessageType;
  readonly from: string;
  readonly to: string;
  readonly id?: string;
}

export interface ClusterContext {
  /** The initiator's role; `initiator.context.self` names the member playing it. */
  readonly initiator: Part<InitiatorContext>;
  readonly members: Readonly<Record<string, Part<MemberContext>>>;
  /** Messages in flight, sorted. */
  readonly network: readonly Message[];
  readonly faults: number;
  readonly updates: number;
  /** Members cut off from the group (partition): down until `heal`. */
  readonly partitioned: readonly string[];
  /**
   * A second initiator's role (DESIGN.md step 1: two initiators that validate at once): its
   * validate and refusal; null before it starts and once its member leaves the group.
   */
  readonly rival: Part<InitiatorContext> | null;
  /** Changes a second operator started (at most RIVAL_BOUND). */
  readonly rivals: number;
  /**
   * Members that left the group whose notice (memberLost) has not reached the initiator yet: it
   * acts as if they were still there until `notice` delivers it (a crash with a late notice).
   */
  readonly unnoticed: readonly string[];
}

export interface ClusterInput {
  readonly members?: readonly string[];
}

export type LocalStep =
  'validated' | 'reencipherDone' | 'applyDeltaDone' | 'commitDone' | 'timeout';

export type ClusterEvent =
  | { type: 'startChange' }
  | { [T in LocalStep]: { type: T } }[LocalStep]
  // `backout: 'fails'`: the first write of the backout the failed write leads to fails too
  | { type: 'ioError'; backout?: 'fails' }
  | { type: 'refuse'; member: string; reason: 'newMkvpDiffers' }
  | { [T in MessageType]: { type: T; from: string; to: string; id?: string } }[MessageType]
  | { type: 'drop'; message: Message }
  // `notice: 'late'`: the group's notice of the loss reaches the initiator later, by `notice`
  | { type: 'crash'; member: string; notice?: 'late' }
  | { type: 'notice'; member: string }
  | { type: 'restart'; member: string }
  | { type: 'update'; member: string }
  | { type: 'duplicate'; message: Message }
  | { type: 'delay'; message: Message }
  | { type: 'partition'; member: string }
  | { type: 'heal'; member: string }
  | { type: 'rivalStart'; member: string }
  | { type: 'clearNew'; member: string };

export const MESSAGE_TYPES: readonly MessageType[] = [
  'beginRouting',
  'beginRoutingAck',
  'reload',
  'reloadAck',
  'switch',
  'switchAck',
  'finish',
  'finishAck',
  'backout',
  'backoutAck',
  'routeUpdate',
  'fence',
  'reloadRefused',
];

const messageKey = (m: Message) => `${m.type} ${m.from}>${m.to} ${m.id ?? ''}`;
const sameMessage = (a: Message, b: Message) => messageKey(a) === messageKey(b);

export function initialClusterContext(input: ClusterInput = {}): ClusterContext {
  const names = [...(input.members ?? DEFAULT_CLUSTER)].sort();
  if (names.length === 0) throw new Error('a cluster needs at least one member');
  const [first] = initialTransition(initiatorMachine, { self: names[0], cluster: names });
  const members = Object.fromEntries(
    names.map((name) => [name, partOf(initialTransition(memberMachine, {})[0])]),
  );
  return {
    initiator: partOf(first),
    members,
    network: [],
    faults: 0,
    updates: 0,
    partitioned: [],
    rival: null,
    rivals: 0,
    unnoticed: [],
  };
}

function partOf<C>(snapshot: { value: StateValue; context: C }): Part<C> {
  return { value: snapshot.value, context: snapshot.context };
}

type Stepped<C> = {
  part: Part<C>;
  effects: readonly Effect[];
  transitions: readonly AnyTransitionDefinition[];
} | null;
/** Steps are pure, and the same few part states recur on many paths: remember them. */
const remembered = new Map<string, Stepped<unknown>>();

/** One step of a part's statechart; null when it has no transition for the event. */
export function advance<C>(
  machine: AnyStateMachine,
  part: Part<C>,
  event: { type: string },
): Stepped<C> {
  const key = JSON.stringify([machine.id, part, event]);
  if (!remembered.has(key)) {
    const snapshot = machine.resolveState({ value: part.value, context: part.context });
    const enabled = machine.getTransitionData(snapshot, event).length > 0;
    const result = enabled ? step(machine, snapshot, event) : null;
    remembered.set(
      key,
      result && {
        part: partOf(result.next),
        effects: result.effects,
        transitions: result.transitions,
      },
    );
  }
  return remembered.get(key) as Stepped<C>;
}

/** The state name of a part: its deepest active state (`reload`, `staged`, `down`...). */
export function leafOf(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0]!;
  return child === undefined ? key : leafOf(child as StateValue);
}

export const isUp = (part: Part<MemberContext>) => typeof part.value !== 'string';

const SELF_PART: Readonly<Record<string, Request>> = {
  routeSelf: 'beginRouting',
  stageSelf: 'reload',
  switchSelf: 'switch',
  finishSelf: 'finish',
  backoutSelf: 'backout',
};

function isRequest(type: MessageType): type is Request {
  return !['routeUpdate', 'fence', 'reloadRefused'].includes(type) && !type.endsWith('Ack');
}

function addMessages(network: readonly Message[], messages: readonly Message[]): Message[] {
  const all = [...network];
  for (const m of messages) if (!all.some((x) => sameMessage(x, m))) all.push(m);
  return all.sort((a, b) => messageKey(a).localeCompare(messageKey(b)));
}

const messageOf = (event: ClusterEvent): Message | null => {
  if (event.type === 'drop' || event.type === 'duplicate' || event.type === 'delay')
    return event.message;
  if (!(MESSAGE_TYPES as readonly string[]).includes(event.type)) return null;
  const { type, from, to, id } = event as Message;
  return id === undefined ? { type, from, to } : { type, from, to, id };
};

const memberOf = (event: ClusterEvent): string => ('member' in event ? event.member : '');

/** The outcome, once decided: the initiator reached it, or was lost after the record write deciding it. */
export function outcomeOf(context: ClusterContext): Outcome | null {
  const { value, context: initiator } = context.initiator;
  if (value === 'completed' || value === 'backedOut' || value === 'refused') return value;
  if (value === 'down' && initiator.record.change === 'none') {
    return initiator.record.active === 'target' ? 'completed' : 'backedOut';
  }
  return null;
}

function initiatorEventOf(context: ClusterContext, event: ClusterEvent): InitiatorEvent | null {
  switch (event.type) {
    case 'startChange':
    case 'validated':
    case 'reencipherDone':
    case 'commitDone':
    case 'timeout':
    case 'refuse':
      return event;
    case 'ioError':
      return { type: 'ioError' };
    case 'applyDeltaDone':
      return { type: 'applyDeltaDone', applied: context.initiator.context.delta };
    default:
      return null;
  }
}

/**
 * What a second initiator's validate finds while this change runs (impl validate): the record
 * shows the change (changeRunning), or it is settled and the target is active (finish) or marked
 * unusable (backout). null while the first initiator validates too: the compare-and-set of
 * beginRouting separates them, and the first one's record write wins (DESIGN.md step 1).
 */
export function rivalRefusal(context: ClusterContext): InitiatorEvent | null {
  const { value, context: first } = context.initiator;
  if (value === 'validate') return null;
  const { change, active } = first.record;
  if (change !== 'none') return { type: 'refuse', member: first.self, reason: 'changeRunning' };
  return {
    type: 'refuse',
    member: 'target',
    reason: active === 'target' ? 'targetIsActive' : 'targetNotEmpty',
  };
}

function initiatorAccepts(context: ClusterContext, event: ClusterEvent): boolean {
  const local = initiatorEventOf(context, event);
  return local !== null && advance(initiatorMachine, context.initiator, local) !== null;
}

/** Told every transition a part's statechart takes inside the cluster (for coverage). */
export type Probe = (transitions: readonly AnyTransitionDefinition[]) => void;

/** The cluster's reaction to its events, built around an optional probe. */
function compose(probe?: Probe) {
  const stepPart = <C>(
    machine: AnyStateMachine,
    part: Part<C>,
    event: { type: string },
  ): Stepped<C> => {
    const stepped = advance(machine, part, event);
    if (stepped && probe) probe(stepped.transitions);
    return stepped;
  };

  /** Steps the initiator's role with an event, then carries out its effects. */
  const toInitiator = (context: ClusterContext, event: InitiatorEvent): ClusterContext => {
    const stepped = stepPart(initiatorMachine, context.initiator, event);
    if (!stepped) return context;
    return stepped.effects.reduce((c, e) => initiatorEffect(c, e, event), {
      ...context,
      initiator: stepped.part,
    });
  };

  /** Steps a member's statechart with an event, then carries out its effects. */
  const toMember = (context: ClusterContext, name: string, event: MemberEvent): ClusterContext => {
    const part = context.members[name];
    if (!part) throw new Error(`no member named ${name} in the cluster`);
    const stepped = stepPart(memberMachine, part, event);
    if (!stepped) return context;
    const next = { ...context, members: { ...context.members, [name]: stepped.part } };
    return stepped.effects.reduce((c, e) => memberEffect(c, name, e, event), next);
  };

  const initiatorEffect = (
    context: ClusterContext,
    effect: Effect,
    cause: InitiatorEvent,
  ): ClusterContext => {
    const self = context.initiator.context.self;
    const selfPart = SELF_PART[effect.type];
    if (selfPart) return toMember(context, self, { type: selfPart });
    if (effect.type === 'send' || effect.type === 'sendToJoined') {
      const message = (effect.params as { message: Request }).message;
      // Requests and acknowledgements of an earlier step still in flight are stale: they are ignored
      // (a fence is not: its receiver reads the record).
      const current = context.network.filter(
        (m) =>
          m.type === message ||
          m.type === `${message}Ack` ||
          m.type === 'routeUpdate' ||
          m.type === 'fence',
      );
      const to =
        effect.type === 'send'
          ? awaited(context.initiator.context)
          : 'member' in cause
            ? [cause.member]
            : [];
      return {
        ...context,
        network: addMessages(
          current,
          to.map((member) => ({ type: message, from: self, to: member })),
        ),
      };
    }
    if (effect.type === 'fence') {
      // DESIGN.md "Failures": backout cannot finish; it tells every member in the group to fence
      // and shuts down (impl/initiator.ts fence)
      const group = Object.keys(context.members).filter(
        (m) => m !== self && isUp(context.members[m]!),
      );
      const told = addMessages(
        context.network,
        group.map((to) => ({ type: 'fence' as const, from: self, to })),
      );
      return toMember({ ...context, network: told }, self, { type: 'fence' });
    }
    if (effect.type === 'partitionSilent') {
      const silent = (effect.params as { members: readonly string[] }).members;
      return silent.reduce(
        (c, name) => (isUp(c.members[name]!) ? toMember(c, name, { type: 'crash' }) : c),
        context,
      );
    }
    return context;
  };

  const memberEffect = (
    context: ClusterContext,
    name: string,
    effect: Effect,
    cause: MemberEvent,
  ): ClusterContext => {
    const self = context.initiator.context.self;
    switch (effect.type) {
      case 'acknowledge': {
        if (name === self) return context;
        const message = (effect.params as { message: Request }).message;
        return {
          ...context,
          network: addMessages(context.network, [{ type: `${message}Ack`, from: name, to: self }]),
        };
      }
      case 'routeUpdate': {
        const id = cause.type === 'update' ? cause.id : '';
        if (name === self) return toInitiator(context, { type: 'update', id, member: name });
        return {
          ...context,
          network: addMessages(context.network, [
            { type: 'routeUpdate', from: name, to: self, id },
          ]),
        };
      }
      case 'leaveGroup':
        return leaveGroup(context, name);
      case 'joinGroup':
        // back before the initiator heard it left: both notices come with `notice`
        if (context.unnoticed.includes(name)) return context;
        return toInitiator(context, { type: 'memberJoined', member: name });
      default:
        return context;
    }
  };

  /** A member left: messages to it are lost; the initiator learns it, or a survivor takes over. */
  const leaveGroup = (context: ClusterContext, name: string): ClusterContext => {
    const network = context.network.filter((m) => m.to !== name);
    // a member that leaves the group forgets a second change it started (its validate or refusal)
    const rival = context.rival?.context.self === name ? null : context.rival;
    const after = { ...context, network, rival };
    // a late notice: the initiator learns it by `notice`
    if (context.unnoticed.includes(name)) return after;
    if (name !== context.initiator.context.self)
      return toInitiator(after, { type: 'memberLost', member: name });
    const down = toInitiator(after, { type: 'crash' });
    const record = down.initiator.context.record;
    const survivors = Object.keys(down.members).filter((m) => m !== name && isUp(down.members[m]!));
    // DESIGN.md: a takeover reads running (backout) or committed (roll forward)
    if (survivors.length > 0 && record.change !== 'none')
      return toInitiator(down, { type: 'takeover', member: survivors[0]!, record });
    // none, with no one left driving the change: each survivor still in it settles from the record
    if (down.initiator.value !== 'down' || record.change !== 'none') return down;
    return survivors.reduce((c, m) => toMember(c, m, { type: 'driverLost', record }), down);
  };

  /** Delivers a message in flight to its receiver. */
  const deliver = (context: ClusterContext, message: Message): ClusterContext => {
    const network = context.network.filter((m) => !sameMessage(m, message));
    const after = { ...context, network };
    if (message.type === 'routeUpdate')
      return toInitiator(after, { type: 'update', id: message.id ?? '', member: message.from });
    if (message.type === 'reloadRefused')
      return toInitiator(after, {
        type: 'refuse',
        member: message.from,
        reason: 'newNotCommitted',
      });
    // phase 1's register check: a member whose new register was cleared stages nothing and
    // refuses instead of acknowledging (impl/member.ts)
    if (message.type === 'reload' && after.members[message.to]!.context.next === null) {
      const refusal = { type: 'reloadRefused' as const, from: message.to, to: message.from };
      return { ...after, network: addMessages(after.network, [refusal]) };
    }
    if (message.type === 'fence') {
      // the member reads the record: a fence of a change it no longer shows running is late, and
      // touches nothing (a member that took the change over has backed it out: impl/member.ts)
      if (after.initiator.context.record.change !== 'running') return after;
      return toMember(after, message.to, { type: 'fence' });
    }
    if (isRequest(message.type)) return toMember(after, message.to, { type: message.type });
    return toInitiator(after, { type: message.type, member: message.from });
  };

  /** Steps the second initiator's role with an event (its effects are none: it never begins). */
  const toRival = (context: ClusterContext, event: InitiatorEvent | null): ClusterContext => {
    const stepped = context.rival && event && stepPart(initiatorMachine, context.rival, event);
    return stepped ? { ...context, rival: stepped.part } : context;
  };

  /** A second operator starts a change at `member`: its validate, refused unless the first one validates too. */
  const rivalStart = (context: ClusterContext, member: string): ClusterContext => {
    const [idle] = initialTransition(initiatorMachine, {
      self: member,
      cluster: Object.keys(context.members),
    });
    const started = toRival(
      { ...context, rival: partOf(idle), rivals: context.rivals + 1 },
      { type: 'startChange' },
    );
    return toRival(started, rivalRefusal(started));
  };

  /** A delivery that leaves a copy of the message in flight (its receiver still in the group). */
  const duplicate = (context: ClusterContext, message: Message): ClusterContext => {
    const after = deliver(context, message);
    const receiver = after.members[message.to];
    if (!receiver || !isUp(receiver)) return after;
    return { ...after, network: addMessages(after.network, [message]) };
  };

  /** The cluster's reaction to one of its events (the statechart's guards decide whether it may happen). */
  const react = (context: ClusterContext, event: ClusterEvent): ClusterContext => {
    const message = messageOf(event);
    if (event.type === 'drop')
      return {
        ...context,
        network: context.network.filter((m) => !message || !sameMessage(m, message)),
      };
    if (event.type === 'duplicate') return duplicate(context, event.message);
    if (message) return deliver(context, message);
    switch (event.type) {
      case 'partition':
        return toMember(
          { ...context, partitioned: [...context.partitioned, event.member].sort() },
          event.member,
          { type: 'crash' },
        );
      case 'heal':
        return toMember(
          { ...context, partitioned: context.partitioned.filter((m) => m !== event.member) },
          event.member,
          { type: 'restart', record: context.initiator.context.record },
        );
      case 'rivalStart':
        return rivalStart(context, event.member);
      case 'crash': {
        const late = event.notice === 'late';
        const unnoticed = late ? [...context.unnoticed, event.member].sort() : context.unnoticed;
        return toMember({ ...context, unnoticed }, event.member, { type: 'crash' });
      }
      case 'notice': {
        // the group's notices to the initiator, in the order they happened: lost, then joined if back
        const told = toInitiator(
          { ...context, unnoticed: context.unnoticed.filter((m) => m !== event.member) },
          { type: 'memberLost', member: event.member },
        );
        return isUp(told.members[event.member]!)
          ? toInitiator(told, { type: 'memberJoined', member: event.member })
          : told;
      }
      case 'restart':
        return toMember(context, event.member, {
          type: 'restart',
          record: context.initiator.context.record,
        });
      case 'clearNew': {
        // outside the protocol: no statechart takes it; the member's registers just change
        const part = context.members[event.member]!;
        const cleared = { ...part, context: { ...part.context, next: null } };
        return { ...context, members: { ...context.members, [event.member]: cleared } };
      }
      case 'update':
        return toMember({ ...context, updates: context.updates + 1 }, event.member, {
          type: 'update',
          id: `u${context.updates + 1}`,
          record: context.initiator.context.record,
        });
      case 'ioError': {
        const failed = toInitiator(context, { type: 'ioError' });
        if (event.backout !== 'fails' || leafOf(failed.initiator.value) !== 'backout')
          return failed;
        // the backout's first write fails before it sends anything: the initiator fences
        return toInitiator({ ...failed, network: context.network }, { type: 'ioError' });
      }
      default: {
        const local = initiatorEventOf(context, event);
        return local ? toInitiator(context, local) : context;
      }
    }
  };

  return (context: ClusterContext, event: ClusterEvent): ClusterContext => {
    const next = react(context, event);
    // the first initiator's record write won the compare-and-set: the second one's beginRouting loses
    return next.rival?.value === 'validate' && next.initiator.value !== 'validate'
      ? toRival(next, rivalRefusal(next))
      : next;
  };
}

export const applyClusterEvent = compose();

/** applyClusterEvent, telling the probe each transition the parts' statecharts take. */
export function probedClusterEvent(
  probe: Probe,
): (context: ClusterContext, event: ClusterEvent) => ClusterContext {
  return compose(probe);
}

export const clusterMachine = setup({
  types: {
    context: {} as ClusterContext,
    events: {} as ClusterEvent,
    input: {} as ClusterInput,
  },
  guards: {
    initiatorAccepts: ({ context, event }) => initiatorAccepts(context, event),
    inFlight: ({ context, event }) => {
      const message = messageOf(event);
      return message !== null && context.network.some((m) => sameMessage(m, message));
    },
    faultsLeft: ({ context }) => context.faults < FAULT_BUDGET,
    updatesLeft: ({ context }) => context.updates < UPDATE_BOUND,
    memberUp: ({ context, event }) => {
      const part = context.members[memberOf(event)];
      return part !== undefined && isUp(part);
    },
    // a late notice is of a member other than the one playing the initiator, one at a time
    noticeMayBeLate: ({ context, event }) =>
      event.type !== 'crash' ||
      event.notice !== 'late' ||
      (memberOf(event) !== context.initiator.context.self && context.unnoticed.length === 0),
    unnoticed: ({ context, event }) => context.unnoticed.includes(memberOf(event)),
    // a member cut off from the group comes back only when reconnected (heal)
    memberDown: ({ context, event }) =>
      !context.partitioned.includes(memberOf(event)) &&
      ['down', 'fenced'].includes(context.members[memberOf(event)]?.value as string),
    // the spec's clearNew: the record shows the change, at a member that is not the initiator
    newClearable: ({ context, event }) => {
      const part = context.members[memberOf(event)];
      const { self, record } = context.initiator.context;
      if (!part || part.context.next === null || memberOf(event) === self) return false;
      // running: one down or fenced, or one that is up while re-encipherment runs, before it
      // staged the target (one step keeps the graph small); committed: one down or fenced
      if (!isUp(part)) return record.change !== 'none';
      return record.change === 'running' && leafOf(context.initiator.value) === 'reencipher';
    },
    takesRequests: ({ context, event }) => {
      const part = context.members[memberOf(event)];
      return part !== undefined && (isUp(part) || part.value === 'fenced');
    },
    partitioned: ({ context, event }) =>
      context.partitioned.includes(memberOf(event)) &&
      context.members[memberOf(event)]?.value === 'down',
    rivalMayStart: ({ context, event }) => {
      const part = context.members[memberOf(event)];
      return (
        context.rivals < RIVAL_BOUND &&
        part !== undefined &&
        isUp(part) &&
        memberOf(event) !== context.initiator.context.self
      );
    },
    decided: ({ context }, params: { outcome: Outcome }) => outcomeOf(context) === params.outcome,
  },
  actions: {
    step: assign(({ context, event }) => applyClusterEvent(context, event)),
    countFault: assign({ faults: ({ context }) => context.faults + 1 }),
  },
}).createMachine({
  id: 'cluster',
  description:
    'The cluster view: the initiator role and every member, with the messages in flight.',
  context: ({ input }) => initialClusterContext(input),
  initial: 'idle',
  states: {
    idle: {
      description: 'Every member serves the old data set under the old key; no change runs.',
      on: { startChange: { target: 'change', actions: 'step' } },
    },
    change: {
      description:
        'A change runs: the initiator and the members move by their statecharts as messages are delivered, dropped or lost.',
      on: {
        validated: { guard: 'initiatorAccepts', actions: 'step' },
        refuse: { guard: 'initiatorAccepts', actions: 'step' },
        reencipherDone: { guard: 'initiatorAccepts', actions: 'step' },
        applyDeltaDone: { guard: 'initiatorAccepts', actions: 'step' },
        commitDone: { guard: 'initiatorAccepts', actions: 'step' },
        timeout: { guard: 'initiatorAccepts', actions: 'step' },
        ioError: {
          guard: and(['initiatorAccepts', 'faultsLeft']),
          actions: ['countFault', 'step'],
        },
        beginRouting: { guard: 'inFlight', actions: 'step' },
        beginRoutingAck: { guard: 'inFlight', actions: 'step' },
        reload: { guard: 'inFlight', actions: 'step' },
        reloadAck: { guard: 'inFlight', actions: 'step' },
        switch: { guard: 'inFlight', actions: 'step' },
        switchAck: { guard: 'inFlight', actions: 'step' },
        finish: { guard: 'inFlight', actions: 'step' },
        finishAck: { guard: 'inFlight', actions: 'step' },
        backout: { guard: 'inFlight', actions: 'step' },
        backoutAck: { guard: 'inFlight', actions: 'step' },
        routeUpdate: { guard: 'inFlight', actions: 'step' },
        fence: { guard: 'inFlight', actions: 'step' },
        reloadRefused: { guard: 'inFlight', actions: 'step' },
        drop: { guard: and(['inFlight', 'faultsLeft']), actions: ['countFault', 'step'] },
        crash: {
          guard: and(['memberUp', 'noticeMayBeLate', 'faultsLeft']),
          actions: ['countFault', 'step'],
        },
        notice: { guard: 'unnoticed', actions: 'step' },
        restart: { guard: 'memberDown', actions: 'step' },
        update: { guard: and(['takesRequests', 'updatesLeft']), actions: 'step' },
        clearNew: { guard: 'newClearable', actions: 'step' },
        duplicate: { guard: and(['inFlight', 'faultsLeft']), actions: ['countFault', 'step'] },
        delay: { guard: and(['inFlight', 'faultsLeft']), actions: ['countFault', 'step'] },
        partition: { guard: and(['memberUp', 'faultsLeft']), actions: ['countFault', 'step'] },
        heal: { guard: 'partitioned', actions: 'step' },
        rivalStart: { guard: 'rivalMayStart', actions: 'step' },
      },
      always: [
        { guard: { type: 'decided', params: { outcome: 'completed' } }, target: 'completed' },
        { guard: { type: 'decided', params: { outcome: 'backedOut' } }, target: 'backedOut' },
        { guard: { type: 'decided', params: { outcome: 'refused' } }, target: 'refused' },
      ],
    },
    completed: {
      description:
        'Outcome: every member that is up runs on the target under the new key; a member that was down switches when it restarts.',
      on: {
        restart: { guard: 'memberDown', actions: 'step' },
        heal: { guard: 'partitioned', actions: 'step' },
      },
    },
    backedOut: {
      description: 'Outcome: every member that is up runs on the old data set under the old key.',
      on: {
        restart: { guard: 'memberDown', actions: 'step' },
        heal: { guard: 'partitioned', actions: 'step' },
      },
    },
    refused: {
      type: 'final',
      description: 'Outcome: validate refused; nothing changed.',
    },
  },
});

/** One line per guard: the condition under which the environment may cause the event. */
export const clusterGuards: Readonly<Record<string, string>> = {
  initiatorAccepts:
    "The initiator's statechart has a transition for the event in its current state.",
  inFlight: 'The message was sent and is neither delivered nor lost yet.',
  faultsLeft: 'At most FAULT_BUDGET faults per path keep the graph small.',
  updatesLeft: 'At most UPDATE_BOUND dynamic updates per path keep the graph small.',
  memberUp: 'Only a member that is up can crash or take a request.',
  noticeMayBeLate:
    'A loss is noticed late only for a member that does not play the initiator, and one such notice at a time.',
  unnoticed: 'Only a loss whose notice has not reached the initiator yet can be noticed.',
  memberDown:
    'Only a member that is down (or fenced: its ICSF shut down) and not cut off from the group can restart.',
  takesRequests: 'A member that is up takes a request; a fenced one refuses it.',
  newClearable:
    "The spec's clearNew: the member (not the initiator) has a key in its new register, and the record says running while it is down, fenced, or up while the initiator re-enciphers (before it staged the target), or committed while it is down or fenced.",
  partitioned: 'Only a member cut off from the group (and still down) can be reconnected.',
  rivalMayStart:
    'At most RIVAL_BOUND changes started at a second member that is up and does not drive this one.',
  decided:
    'The initiator reached this outcome, or it was lost after the record write that decides it (finish: completed; backout: backedOut).',
};

/** One line per event: the DESIGN.md or protocol.md sentence it models. */
export const clusterEvents: Readonly<Record<ClusterEvent['type'], string>> = {
  startChange: 'The operator starts the change at SYSA.',
  validated: "The initiator's validate passes.",
  refuse: "The initiator's validate refuses (a member's new MKVP differs).",
  reencipherDone: 'The initiator finished re-enciphering the active data set into the target.',
  applyDeltaDone: 'The initiator applied the delta to the target.',
  commitDone: 'The initiator runs on the target under the new key.',
  timeout: "The initiator's wait for acknowledgements runs out.",
  ioError:
    "A write of the initiator fails (a fault): beginRouting's record write, or a write of applyDelta or commit; with backout: 'fails', the first write of the backout it leads to too (it fences).",
  beginRouting: 'Delivery of beginRouting to a member.',
  beginRoutingAck: "Delivery of a member's beginRoutingAck to the initiator.",
  reload: 'Delivery of reload to a member.',
  reloadAck: "Delivery of a member's reloadAck to the initiator.",
  switch: 'Delivery of switch to a member.',
  switchAck: "Delivery of a member's switchAck to the initiator.",
  finish: 'Delivery of finish to a member.',
  finishAck: "Delivery of a member's finishAck to the initiator.",
  backout: 'Delivery of backout to a member.',
  backoutAck: "Delivery of a member's backoutAck to the initiator.",
  routeUpdate: "Delivery of a member's routed dynamic update to the initiator.",
  fence: 'Delivery of fence to a member (it fences if the record still shows the change running).',
  reloadRefused:
    "Delivery of a member's refusal of reload (its new register was cleared) to the initiator.",
  drop: 'A message in flight is lost (a fault).',
  crash:
    "A member crashes or is partitioned out (a fault); the group tells the others (with notice: 'late', the initiator only later, by notice).",
  notice:
    "The group's late notice that a member left reaches the initiator (memberLost; memberJoined too if it is back).",
  restart: 'A member that was down restarts and runs its restart check.',
  update: 'A dynamic update request reaches a member.',
  duplicate:
    'A message in flight is delivered and a copy of it stays in flight, to arrive once more (a fault).',
  delay:
    'A message in flight is delivered before the ones ahead of it, which are delayed (a fault: paths otherwise deliver in order).',
  partition:
    'A member is cut off from the group (a fault): treated as gone, the group tells the others.',
  heal: 'A member cut off from the group is reconnected and runs its restart check.',
  rivalStart:
    'An operator starts a second change at another member: its validate, refused unless the first initiator validates at the same time, when beginRouting refuses it (DESIGN.md step 1).',
  clearNew:
    "The operator clears a member's new master key register with the TKE (outside the protocol; not a fault of FAULT_BUDGET: the supply offers it for one member).",
};

/**
 * What a cluster step takes, for coverage: the cluster's own transitions and those of the
 * parts' statecharts (so generated paths exercise each initiator and member transition the
 * cluster can reach).
 */
export function clusterTakes(
  from: AnyMachineSnapshot,
  event: EventObject,
): AnyTransitionDefinition[] {
  const taken: AnyTransitionDefinition[] = [...step(clusterMachine, from, event).transitions];
  probedClusterEvent((transitions) => taken.push(...transitions))(
    from.context as ClusterContext,
    event as ClusterEvent,
  );
  return taken;
}

function eventPhrase(event: EventObject): string {
  const e = event as ClusterEvent;
  const message = messageOf(e);
  if ((e.type === 'drop' || e.type === 'duplicate' || e.type === 'delay') && message)
    return `${e.type} ${message.type} ${message.from}->${message.to}`;
  if (message)
    return `${message.type} ${message.from}->${message.to}${message.id ? ` (${message.id})` : ''}`;
  if (e.type === 'crash' && e.notice === 'late') return `crash ${e.member} (noticed late)`;
  return 'member' in e ? `${e.type} ${e.member}` : e.type;
}

/** A path in words, one line a step: `crash SYSB at reload -> backout`. */
export function narrate(
  steps: readonly { readonly event: EventObject; readonly state: AnyMachineSnapshot }[],
): string[] {
  return steps.slice(1).map(({ event, state }, i) => {
    const before = leafOf((steps[i]!.state.context as ClusterContext).initiator.value);
    const after = leafOf((state.context as ClusterContext).initiator.value);
    return `${eventPhrase(event)} at ${before}${after === before ? '' : ` -> ${after}`}`;
  });
}
