// The ONE adapter between the cluster statechart (model/cluster.ts) and the reference
// implementation: it carries each model event out with the Simulation's controls, lets the
// implementation take the internal actions the statechart takes without an event, and compares
// `sim.observe()` with the model after every step.
//
// Step granularity. The implementation runs each step as its own scheduler action; the model
// takes some of them with no event of its own (eventless transitions). After every event the
// adapter SETTLES the simulation: it fires the pending membership notifications, restart checks,
// deliveries of the messages the model leaves out (updateResult, liveUpdate and its ack), and the
// initiator's step actions the model's current step implies (`reload` in reload, `switch` in
// switch, `resume` at an outcome, the first re-encipherment chunk as reencipher starts, so that
// routed updates fall between chunks). The step actions a model event stands for are fired by
// that event: `validated` runs validate (and beginRouting follows), `reencipherDone` the chunks
// left, `applyDeltaDone` applyDelta, `commitDone` commit. So the model's applyDelta is the
// implementation's suspend with applyDelta pending, and its commit the implementation's reload
// with commit pending (INITIATOR_STEP below).
//
// Executed coverage. A step's transitions (the cluster statechart's and those of the parts'
// statecharts, model/cluster.ts clusterTakes) count as executed only once the implementation,
// driven through the step and settled, shows what the model state says. Settling also delivers
// messages the cluster view leaves out (liveUpdate; an acknowledgement the cluster view dropped as
// stale); the receiving part's statechart takes them, must stay as it was, and its transitions
// count with the step's.
import assert from 'node:assert/strict';
import type {
  AnyMachineSnapshot,
  AnyStateMachine,
  AnyTransitionDefinition,
  EventObject,
} from 'xstate';
import { transitionCoverage, type Coverage } from '../../model/coverage.ts';
import { machines, type MachineName } from '../../model/index.ts';
import { ACKS, initiatorMachine, RETRY_BUDGET } from '../../model/initiator.ts';
import { memberMachine } from '../../model/member.ts';
import {
  advance,
  clusterMachine,
  clusterTakes,
  isUp,
  leafOf,
  MESSAGE_TYPES,
  type ClusterContext,
  type ClusterEvent,
  type Message,
  type Part,
} from '../../model/cluster.ts';
import { INIT_EVENT, step } from '../../model/step.ts';
import type { GeneratedPath } from '../../model/subjects.ts';
import {
  Simulation,
  type ClusterView,
  type Fault,
  type MemberView,
  type SimulateOptions,
} from '../../impl/index.ts';

export const ACTIVE = 'CSF.TKDS';
export const TARGET = 'CSF.TKDS.NEW';
const DATA_SET = { old: ACTIVE, target: TARGET } as const;

/** The implementation's initiatorStep for each step of the initiator statechart. */
export const INITIATOR_STEP: Readonly<Record<string, string | null>> = {
  idle: null,
  validate: null, // validation takes no time: it runs with `validated` (or `refuse`)
  beginRouting: 'beginRouting',
  reencipher: 'reencipher',
  applyDelta: 'suspend', // applyDelta pending
  reload: 'reload',
  commit: 'reload', // commit pending: its record write is the commitDone event
  switch: 'switch',
  finish: 'finish',
  completed: 'completed',
  backout: 'backout',
  backedOut: 'backedOut',
  refused: 'refused',
  down: null,
};

/**
 * The initiator's step actions the adapter fires on its own, in step order: those up to the
 * model's step (the model may pass several steps in one event, as after a takeover with nobody
 * left to wait for). reencipher and applyDelta are never among them: their events fire them.
 */
const AUTOMATIC_ORDER = [
  'beginRouting',
  'suspend',
  'reload',
  'switch',
  'finish',
  'resume',
] as const;
const AUTOMATIC_UP_TO: Readonly<Record<string, number>> = {
  beginRouting: 1,
  backout: 1, // a member lost since validate: beginRouting writes the record, then backs out
  reencipher: 1,
  applyDelta: 2,
  reload: 3,
  commit: 3,
  switch: 4,
  finish: 5,
  completed: 6,
  backedOut: 6,
};

/** Messages the cluster statechart leaves out (an update's answer, live copy refreshes): delivered as they come. */
const UNMODELLED = ['updateResult', 'liveUpdate', 'liveUpdateAck'];

const SUSPENDED = new Set(['applyDelta', 'reload', 'commit', 'switch', 'finish', 'backout']);

type Pending = ReturnType<Simulation['pending']>[number];
type Delivery = Extract<Pending, { kind: 'deliver' }>;

/**
 * A deliberate protocol bug: a wrapper around the implementation (installed for one run and
 * removed after it) or a change to how the adapter drives it. Test-side only.
 */
export interface Bug {
  readonly name: string;
  readonly install?: () => () => void;
  /** Replaces the adapter's handling of an event; returns true when it handled it. */
  readonly drive?: (adapter: SimAdapter, event: ClusterEvent) => boolean;
}

export class SimAdapter {
  readonly sim: Simulation;
  readonly #bug: Bug | null;
  #oldKey = '';
  #newKey = '';
  /** The member whose new register differs (a path that `refuse`s: the model has no third key). */
  readonly #differs: string | null;
  /** The model state the adapter last settled for (the initiator's step and its player). */
  #model: ClusterContext | null = null;
  /** Transitions of steps the implementation was confirmed to agree with (executed coverage). */
  readonly executed = new Set<AnyTransitionDefinition>();
  /** Transitions the parts' statecharts took for deliveries the cluster view leaves out, not yet confirmed. */
  #unconfirmed: AnyTransitionDefinition[] = [];

  /** A fresh cluster for one path: the path's refusal or I/O error is set up in advance. */
  constructor(
    path: readonly { event: ClusterEvent; state: { context: ClusterContext } }[],
    bug: Bug | null = null,
  ) {
    const faults: Fault[] = [];
    let refuses = false;
    path.forEach((step, i) => {
      if (step.event.type === 'refuse') refuses = true;
      if (step.event.type === 'ioError') {
        const at = leafOf(path[i - 1]!.state.context.initiator.value);
        if (at !== 'applyDelta' && at !== 'commit')
          throw new Error(`the adapter injects an I/O error at applyDelta or commit, not at ${at}`);
        faults.push({ kind: 'ioError', at });
      }
    });
    const members = Object.keys(path[0]!.state.context.members).map((name, i, all) => ({
      name,
      ...(refuses && i === all.length - 1 ? { newKey: 'differs' as const } : {}),
    }));
    // one record per re-encipherment chunk, so that routed updates fall between chunks
    const options: SimulateOptions = {
      seed: 7,
      members,
      dataSet: { tokens: 2, objects: 6 },
      chunk: 1,
      timing: { retries: RETRY_BUDGET },
      faults,
    };
    this.sim = new Simulation(options);
    this.#bug = bug;
    this.#differs = refuses ? members[members.length - 1]!.name : null;
    const view = this.sim.observe();
    this.#oldKey = view.dataSets.find((d) => d.name === ACTIVE)!.mkvp!;
    this.#newKey = view.members[0]!.new.mkvp!;
  }

  /** Carries out one model event, then settles the implementation for the model state reached. */
  exec(event: ClusterEvent, after: ClusterContext): void {
    const before = this.#model;
    this.#model = after;
    if (!this.#bug?.drive?.(this, event)) this.#drive(event, before);
    this.settle();
  }

  #drive(event: ClusterEvent, before: ClusterContext | null): void {
    const sim = this.sim;
    const self = this.#model!.initiator.context.self;
    // A loss while the model validates: the implementation's validate passed, its beginRouting not yet run.
    // (once: a loss while validating is only remembered, so the model may still validate after it)
    const validated = (): boolean =>
      sim.observe().members.find((m) => m.name === self)?.initiatorStep != null;
    if (event.type === 'crash' && before && leafOf(before.initiator.value) === 'validate') {
      if (!validated())
        assert.deepEqual(
          sim.startChange(),
          [],
          'validate refused a change the model was validating',
        );
    }
    switch (event.type) {
      case 'startChange':
        return; // validation runs with `validated`
      case 'validated':
        if (!validated())
          assert.deepEqual(sim.startChange(), [], 'validate refused a change the model validated');
        return;
      case 'refuse': {
        const refusals = sim.startChange();
        assert.ok(
          refusals.some((r) => r.subject === event.member && r.reason === event.reason),
          `validate did not refuse ${event.member} for ${event.reason}: ${JSON.stringify(refusals)}`,
        );
        return;
      }
      case 'reencipherDone':
        for (
          let chunk = this.work('reencipher', self);
          chunk;
          chunk = this.work('reencipher', self)
        )
          sim.fire(chunk.id);
        return;
      case 'applyDeltaDone':
        return sim.fire(this.required(this.work('applyDelta', self), `applyDelta at ${self}`).id);
      case 'commitDone':
        return sim.fire(this.required(this.work('commit', self), `commit at ${self}`).id);
      case 'ioError': {
        // the step whose write the path's fault fails
        const step = this.work('applyDelta', self) ?? this.work('commit', self);
        return sim.fire(this.required(step, `applyDelta or commit at ${self}`).id);
      }
      case 'timeout':
        return sim.fire(
          this.required(
            this.find((a) => a.kind === 'timer' && a.timer === 'timeout' && a.member === self),
            `a timeout at ${self}`,
          ).id,
        );
      case 'drop':
        return sim.drop(this.delivery(event.message).id);
      case 'crash':
        return sim.crash(event.member);
      case 'restart': {
        // The cluster view loses every message to a member that left the group (model/cluster.ts
        // leaveGroup); the sysplex drops them only while it is out, and would hand them to it
        // once it is back: they are dropped here.
        for (const a of sim.pending())
          if (a.kind === 'deliver' && a.message.to === event.member) sim.drop(a.id);
        const rejoin = this.find(
          (a) => a.kind === 'restart' && a.how === 'rejoin' && a.member === event.member,
        );
        return rejoin ? sim.fire(rejoin.id) : sim.restart(event.member);
      }
      case 'update': {
        const id = sim.submitUpdate(event.member, {
          op: 'createToken',
          token: `MBT${this.#model!.updates}`,
        });
        return sim.fire(
          this.required(
            this.find((a) => a.kind === 'arrival' && a.update === id),
            `the arrival of ${id}`,
          ).id,
        );
      }
      default:
        return sim.fire(this.delivery(event as Message).id);
    }
  }

  /** Fires notifications, restart checks and the step actions the model's step implies, until none is left. */
  settle(): void {
    const model = this.#model;
    if (!model) return;
    const self = model.initiator.context.self;
    const step = leafOf(model.initiator.value);
    const steps = AUTOMATIC_ORDER.slice(0, AUTOMATIC_UP_TO[step] ?? 0);
    for (let guard = 0; guard < 1000; guard++) {
      // entering reencipher, the first chunk is copied (reencipherDone copies the rest)
      const started =
        this.sim.observe().members.find((m) => m.name === self)?.initiatorStep === 'reencipher';
      const firstChunk =
        step === 'reencipher' && !started ? this.work('reencipher', self) : undefined;
      const next = this.find(
        (a) =>
          a.kind === 'notify' ||
          (a.kind === 'deliver' &&
            (UNMODELLED.includes(a.message.type) || this.#staleAck(a, model))) ||
          (a.kind === 'work' &&
            (a.step === 'restartCheck' ||
              (a.member === self && (steps as readonly string[]).includes(a.step)))),
      );
      const action = next ?? firstChunk;
      if (!action) return;
      if (action.kind === 'deliver') this.#unmodelled(action, model);
      this.sim.fire(action.id);
    }
    throw new Error('the implementation did not settle after 1000 actions');
  }

  /**
   * An acknowledgement to the initiator that the cluster view no longer has in flight: it dropped
   * it as stale when the next request went out (model/cluster.ts initiatorEffect).
   */
  #staleAck(a: Delivery, model: ClusterContext): boolean {
    const { type, from, to } = a.message;
    const receiver = model.members[to];
    if (
      !(ACKS as readonly string[]).includes(type) ||
      to !== model.initiator.context.self ||
      !receiver ||
      !isUp(receiver)
    )
      return false;
    return !model.network.some((m) => m.type === type && m.from === from && m.to === to);
  }

  /**
   * A delivery the cluster view leaves out (liveUpdate, a stale acknowledgement): the receiving
   * part's statechart takes it (or ignores it) and must stay as it was; a member that is down never
   * gets it (the sysplex drops it).
   */
  #unmodelled(action: Delivery, model: ClusterContext): void {
    const { type, from, to } = action.message;
    const receiver = model.members[to];
    if (!receiver || !isUp(receiver)) return;
    const taken = (
      machine: AnyStateMachine,
      part: Part<unknown>,
      event: { type: string; [field: string]: unknown },
    ): void => {
      const stepped = advance(machine, part, event);
      if (!stepped) return;
      assert.deepEqual(
        stepped.part,
        part,
        `the ${machine.id} statechart of ${to} changes state on ${action.label}, which the cluster view leaves out`,
      );
      this.#unconfirmed.push(...stepped.transitions);
    };
    if (type === 'liveUpdate') taken(memberMachine, receiver, { type, id: '' });
    else if (this.#staleAck(action, model))
      taken(initiatorMachine, model.initiator, { type, member: from });
  }

  find(test: (a: Pending) => boolean): Pending | undefined {
    return this.sim.pending().find(test);
  }

  work(step: string, actor: string): Pending | undefined {
    return this.find((a) => a.kind === 'work' && a.step === step && a.member === actor);
  }

  delivery(m: Message): Pending {
    const match = (a: Pending): boolean =>
      a.kind === 'deliver' &&
      a.message.type === m.type &&
      a.message.from === m.from &&
      a.message.to === m.to;
    return this.required(this.find(match), `a pending delivery of ${m.type} ${m.from}->${m.to}`);
  }

  required(action: Pending | undefined, what: string): Pending {
    if (!action)
      assert.fail(
        `the implementation has no ${what} pending; pending: ${this.sim
          .pending()
          .map((a) => a.label)
          .join('; ')}`,
      );
    return action;
  }

  #keyName(mkvp: string | null): string | null {
    return mkvp === null
      ? null
      : mkvp === this.#oldKey
        ? 'old'
        : mkvp === this.#newKey
          ? 'new'
          : 'other';
  }

  /** What the model says each observable is, in the terms of ClusterView. */
  expected(model: ClusterContext): object {
    const { initiator, members } = model;
    const step = leafOf(initiator.value);
    return {
      record: {
        change: initiator.context.record.change,
        active: DATA_SET[initiator.context.record.active],
        ...(initiator.context.record.change === 'none'
          ? {}
          : { initiator: initiator.context.self }),
      },
      targetHeader: initiator.context.deltaApplied ? 'new' : null,
      members: Object.entries(members).map(([name, part]) => {
        const up = isUp(part);
        const m = part.context;
        const plays = name === initiator.context.self;
        return {
          name,
          up,
          state: leafOf(part.value),
          initiatorStep: plays ? INITIATOR_STEP[step] : null,
          suspended: plays && SUSPENDED.has(step),
          cur: m.cur,
          new: name === this.#differs ? 'other' : m.next,
          active: DATA_SET[m.active],
          live: up && m.live ? DATA_SET[m.live] : null,
          staged: up && m.staged ? TARGET : null,
          fenced: leafOf(part.value) === 'fenced',
        };
      }),
    };
  }

  /** The same observables, read from the implementation. */
  observed(view: ClusterView = this.sim.observe()): object {
    const target = view.dataSets.find((d) => d.name === TARGET);
    return {
      record: {
        change: view.record.change,
        active: view.record.active,
        ...(view.record.change === 'none' ? {} : { initiator: view.record.initiator }),
      },
      targetHeader: this.#keyName(target?.mkvp ?? null),
      members: view.members.map((m: MemberView) => ({
        name: m.name,
        up: m.up,
        state: m.state,
        initiatorStep: m.initiatorStep === 'validate' ? null : m.initiatorStep,
        suspended: m.suspended,
        cur: this.#keyName(m.cur.mkvp),
        new: m.new.status === 'committed' ? this.#keyName(m.new.mkvp) : null,
        active: m.active,
        live: m.live?.dataSet ?? null,
        staged: m.staged?.dataSet ?? null,
        fenced: m.fenced,
      })),
    };
  }

  /** Asserts the implementation shows what the model state says; then the step's transitions (`taken`) count as executed. */
  check(model: ClusterContext, taken: Iterable<AnyTransitionDefinition> = []): void {
    assert.deepEqual(this.observed(), this.expected(model));
    for (const t of [...taken, ...this.#unconfirmed.splice(0)]) this.executed.add(t);
  }
}

const EVENT_TYPES = [
  'startChange',
  'validated',
  'refuse',
  'reencipherDone',
  'applyDeltaDone',
  'commitDone',
  'timeout',
  'ioError',
  'drop',
  'crash',
  'restart',
  'update',
  ...MESSAGE_TYPES,
];

/** What a step of the cluster statechart takes (model/cluster.ts clusterTakes); steps recur across paths: remembered. */
const stepTakes = new Map<string, readonly AnyTransitionDefinition[]>();
function takes(
  from: AnyMachineSnapshot | undefined,
  event: EventObject,
): readonly AnyTransitionDefinition[] {
  if (!from) return step(clusterMachine, undefined, INIT_EVENT).transitions;
  const key = JSON.stringify([from.value, from.context, event]);
  if (!stepTakes.has(key)) stepTakes.set(key, clusterTakes(from, event));
  return stepTakes.get(key)!;
}

/**
 * Runs one generated path on a fresh simulation (with a bug, if given); rejects at the first step
 * where they differ. With `executed` (and no bug), the transitions of the steps the implementation
 * was confirmed to agree with are added to it, those of a path cut short by a failure included.
 */
export async function runPath(
  path: GeneratedPath,
  bug: Bug | null = null,
  executed?: Set<AnyTransitionDefinition>,
): Promise<void> {
  const steps = path.steps.map((s) => ({
    event: s.event as ClusterEvent,
    state: { context: s.state.context as ClusterContext },
  }));
  const adapter = new SimAdapter(steps, bug);
  const uninstall = bug?.install?.();
  let from: AnyMachineSnapshot | undefined;
  let event: EventObject = INIT_EVENT;
  try {
    await path.test({
      events: Object.fromEntries(
        EVENT_TYPES.map((type) => [
          type,
          (step) => {
            event = step.event;
            adapter.exec(step.event as ClusterEvent, step.state.context as ClusterContext);
          },
        ]),
      ),
      states: {
        '*': (state) => {
          adapter.check(state.context as ClusterContext, takes(from, event));
          from = state;
        },
      },
    });
    // and every invariant of the implementation (state and trace forms) holds where the path
    // ends; SettledOutcome judges it when nothing is in flight there.
    const broken = adapter.sim.checkInvariants().filter((r) => !r.ok);
    assert.deepEqual(broken, [], `invariants broken at the end of: ${path.description}`);
  } finally {
    uninstall?.();
    if (executed && !bug) adapter.executed.forEach((t) => executed.add(t));
  }
}

/** Executed transition coverage of each statechart by the transitions taken on the implementation. */
export function executedCoverage(
  executed: ReadonlySet<AnyTransitionDefinition>,
): Record<MachineName, Coverage['transitions']> {
  return {
    initiator: transitionCoverage(machines.initiator, executed),
    member: transitionCoverage(machines.member, executed),
    cluster: transitionCoverage(machines.cluster, executed),
  };
}
