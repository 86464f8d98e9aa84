// The ONE adapter between the cluster statechart (model/cluster.ts) and an implementation under
// test (driver/protocol.ts): it carries each model event of a path (driver/paths.ts) out with the
// implementation's controls, lets the implementation take the internal actions the statechart
// takes without an event, and compares what the implementation observes with the model after
// every step. The model-based tests run it on the reference implementation in process
// (driver/simulated.ts); the harness (driver/harness.ts) runs it on a child process.
//
// Step granularity. The implementation runs each step as its own pending action; the model
// takes some of them with no event of its own (eventless transitions). After every event the
// adapter SETTLES the implementation: it fires the pending membership notifications (but those
// to the initiator of a loss the model notices late, until its `notice` event), restart checks,
// deliveries of the messages the model leaves out (updateResult, liveUpdate and its ack), and the
// initiator's step actions the model's current step implies (`reload` in reload, `switch` in
// switch, `resume` at an outcome, the first re-encipherment chunk as reencipher starts, so
// that routed updates fall between chunks). The step actions a model event stands for are fired
// by that event: `validated` runs validate (and beginRouting follows), `reencipherDone` the
// chunks left, `applyDeltaDone` applyDelta, `commitDone` commit. So the model's applyDelta is the
// implementation's suspend with applyDelta pending, and its commit the implementation's reload
// with commit pending (INITIATOR_STEP below).
//
// Executed coverage. A step's transitions (the cluster statechart's and those of the parts'
// statecharts, the path step's `takes`) count as executed only once the implementation, driven
// through the step and settled, shows what the model state says. Settling also delivers messages
// the cluster view leaves out (liveUpdate; an acknowledgement the cluster view dropped as stale);
// the receiving part's statechart takes them, must stay as it was, and its transitions count
// with the step's.
import assert from 'node:assert/strict';
import type { AnyStateMachine } from 'xstate';
import { transitionCoverage, type Coverage } from '../model/coverage.ts';
import { machines, type MachineName } from '../model/index.ts';
import { ACKS, initiatorMachine, RETRY_BUDGET } from '../model/initiator.ts';
import { memberMachine } from '../model/member.ts';
import {
  advance,
  isUp,
  leafOf,
  narrate,
  rivalRefusal,
  type ClusterContext,
  type ClusterEvent,
  type Message,
  type Part,
} from '../model/cluster.ts';
import { INIT_EVENT } from '../model/step.ts';
import type { ClusterView, MemberView } from '../impl/index.ts';
import { definitionsOf, transitionName, type ExportedPath } from './paths.ts';
import type { Implementation, Pending, Setup } from './protocol.ts';

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
  fenced: 'fenced',
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

type Delivery = Extract<Pending, { kind: 'deliver' }>;
type Step = ExportedPath['steps'][number];

/** Replaces the adapter's handling of an event (a test's deliberate bug); resolves true when it handled it. */
export type Override = (adapter: PathAdapter, event: ClusterEvent) => Promise<boolean>;

/** The step of the implementation whose first write an ioError in each initiator step fails. */
const FAILED_WRITE = {
  validate: 'beginRouting',
  applyDelta: 'applyDelta',
  commit: 'commit',
} as const;

/** The cluster a path runs on: its members (the last one's new key differs on a path that `refuse`s) and its I/O errors. */
export function setupOf(steps: readonly Step[]): Setup {
  const ioErrors: Setup['ioErrors'][number][] = [];
  let refuses = false;
  steps.forEach((step, i) => {
    const event = step.event as ClusterEvent;
    if (event.type === 'refuse') refuses = true;
    if (event.type === 'ioError') {
      const at = leafOf(contextOf(steps[i - 1]!).initiator.value);
      if (!Object.hasOwn(FAILED_WRITE, at))
        throw new Error(
          `the adapter injects an I/O error at validate, applyDelta or commit, not at ${at}`,
        );
      ioErrors.push(FAILED_WRITE[at as keyof typeof FAILED_WRITE]);
      if (event.backout === 'fails') ioErrors.push('backout');
    }
  });
  const names = Object.keys(contextOf(steps[0]!).members);
  return {
    members: names.map((name, i) => ({
      name,
      ...(refuses && i === names.length - 1 ? { newKey: 'differs' as const } : {}),
    })),
    // one record per re-encipherment chunk, so that routed updates fall between chunks
    dataSet: { tokens: 2, objects: 6 },
    seed: 7,
    chunk: 1,
    retries: RETRY_BUDGET,
    ioErrors,
  };
}

const contextOf = (step: Step) => step.state.context as ClusterContext;

export class PathAdapter {
  readonly impl: Implementation;
  readonly #override: Override | null;
  #oldKey = '';
  #newKey = '';
  /** The member whose new register differs (a path that `refuse`s: the model has no third key). */
  #differs: string | null = null;
  /** The model state the adapter last settled for (the initiator's step and its player). */
  #model: ClusterContext | null = null;
  /**
   * Members whose initiator statechart ended `fenced` as they played it: the implementation shows
   * that step (MemberView initiatorStep: it drove the change) until the member goes down.
   */
  readonly #fencedDrivers = new Set<string>();
  /** Transitions of steps the implementation was confirmed to agree with (executed coverage). */
  readonly executed = new Set<string>();
  /** Transitions the parts' statecharts took for deliveries the cluster view leaves out, not yet confirmed. */
  #unconfirmed: string[] = [];

  private constructor(impl: Implementation, override: Override | null) {
    this.impl = impl;
    this.#override = override;
  }

  /** A fresh cluster for one path (`init`): the path's refusal or I/O error is set up in advance. */
  static async open(
    impl: Implementation,
    steps: readonly Step[],
    override: Override | null = null,
  ): Promise<PathAdapter> {
    const adapter = new PathAdapter(impl, override);
    const setup = setupOf(steps);
    await impl.send('init', { setup });
    adapter.#differs = setup.members.find((m) => m.newKey === 'differs')?.name ?? null;
    const view = await adapter.observe();
    adapter.#oldKey = view.dataSets.find((d) => d.name === ACTIVE)?.mkvp ?? '';
    adapter.#newKey = view.members[0]?.new.mkvp ?? '';
    return adapter;
  }

  async observe(): Promise<ClusterView> {
    return (await this.impl.send('observe', {})).view;
  }

  async pending(): Promise<Pending[]> {
    return (await this.impl.send('pending', {})).actions;
  }

  fire(action: Pending): Promise<unknown> {
    return this.impl.send('fire', { action: action.id });
  }

  /** Carries out one model event, then settles the implementation for the model state reached. */
  async exec(event: ClusterEvent, after: ClusterContext): Promise<void> {
    const before = this.#model;
    this.#model = after;
    const player = before?.initiator.context.self;
    if (
      player &&
      isUp(before.members[player]!) &&
      leafOf(after.members[player]!.value) === 'fenced'
    )
      this.#fencedDrivers.add(player);
    for (const [name, part] of Object.entries(after.members))
      if (part.value === 'down') this.#fencedDrivers.delete(name);
    if (!(await this.#override?.(this, event))) await this.#drive(event, before);
    await this.settle();
  }

  /** Starts the change the model validates, once (a loss while validating is only remembered, so the model may still validate after it). */
  async #startChange(): Promise<void> {
    const self = this.#model!.initiator.context.self;
    const view = await this.observe();
    if (view.members.find((m) => m.name === self)?.initiatorStep != null) return;
    const { refusals } = await this.impl.send('startChange', {});
    assert.deepEqual(refusals, [], 'validate refused a change the model validated');
  }

  async #drive(event: ClusterEvent, before: ClusterContext | null): Promise<unknown> {
    const impl = this.impl;
    const self = this.#model!.initiator.context.self;
    // A loss while the model validates: the implementation's validate passed, its beginRouting not yet run.
    // (once: a loss while validating is only remembered, so the model may still validate after it)
    if (event.type === 'crash' && before && leafOf(before.initiator.value) === 'validate')
      await this.#startChange();
    switch (event.type) {
      case 'startChange':
        return; // validation runs with `validated`
      case 'validated':
        return this.#startChange();
      case 'refuse': {
        const { refusals } = await impl.send('startChange', {});
        return assert.ok(
          refusals.some((r) => r.subject === event.member && r.reason === event.reason),
          `validate did not refuse ${event.member} for ${event.reason}: ${JSON.stringify(refusals)}`,
        );
      }
      case 'reencipherDone':
        for (
          let chunk = await this.work('reencipher', self);
          chunk;
          chunk = await this.work('reencipher', self)
        )
          await this.fire(chunk);
        return;
      case 'applyDeltaDone':
        return this.fire(
          await this.required(this.work('applyDelta', self), `applyDelta at ${self}`),
        );
      case 'commitDone':
        return this.fire(await this.required(this.work('commit', self), `commit at ${self}`));
      case 'ioError': {
        // validate passes; beginRouting, whose record write the path's fault fails, follows
        if (before && leafOf(before.initiator.value) === 'validate') return this.#startChange();
        // the step whose write the path's fault fails (and with it, the backout's: a member then
        // takes over from the initiator, which fences)
        const at = before?.initiator.context.self ?? self;
        const step = (await this.work('applyDelta', at)) ?? (await this.work('commit', at));
        return this.fire(await this.required(step, `applyDelta or commit at ${at}`));
      }
      case 'timeout':
        return this.fire(
          await this.required(
            this.find((a) => a.kind === 'timer' && a.timer === 'timeout' && a.member === self),
            `a timeout at ${self}`,
          ),
        );
      case 'drop':
        return impl.send('drop', { action: (await this.delivery(event.message)).id });
      case 'duplicate': {
        // a second delivery of the message becomes pending; the first one arrives now
        const original = await this.delivery(event.message);
        await impl.send('duplicate', { action: original.id });
        return this.fire(original);
      }
      case 'delay':
        return this.fire(await this.delivery(event.message));
      case 'crash':
      case 'partition':
        return impl.send(event.type, { member: event.member });
      case 'heal':
        await this.#dropMessagesTo(event.member);
        return impl.send('heal', { member: event.member });
      case 'rivalStart':
        return this.#rivalStart(event.member, before);
      case 'notice':
        return; // settling fires the notices held for it
      case 'clearNew':
        return impl.send('clearNew', { member: event.member });
      case 'restart': {
        await this.#dropMessagesTo(event.member);
        const rejoin = await this.find(
          (a) => a.kind === 'restart' && a.how === 'rejoin' && a.member === event.member,
        );
        return rejoin ? this.fire(rejoin) : impl.send('restart', { member: event.member });
      }
      case 'update': {
        const { update } = await impl.send('update', {
          member: event.member,
          op: { op: 'createToken', token: `MBT${this.#model!.updates}` },
        });
        return this.fire(
          await this.required(
            this.find((a) => a.kind === 'arrival' && a.update === update),
            `the arrival of ${update}`,
          ),
        );
      }
      default:
        return this.fire(await this.delivery(event as Message));
    }
  }

  /**
   * The cluster view loses every message to a member that left the group (model/cluster.ts
   * leaveGroup); the sysplex drops them only while it is out, and would hand them to it once it is
   * back: they are dropped before it comes back.
   */
  async #dropMessagesTo(member: string): Promise<void> {
    for (const a of await this.pending())
      if (a.kind === 'deliver' && a.message.to === member)
        await this.impl.send('drop', { action: a.id });
  }

  /**
   * A second change started at `member`: refused at once for the reason the model gives, or, while
   * the first initiator validates (its validate runs first here), passed: then the first one's
   * beginRouting wins the compare-and-set and the second one's, fired after it (settle), loses.
   */
  async #rivalStart(member: string, before: ClusterContext | null): Promise<void> {
    if (before && leafOf(before.initiator.value) === 'validate') await this.#startChange();
    const { refusals } = await this.impl.send('startChange', { member });
    const refusal = rivalRefusal(this.#model!);
    if (refusal?.type !== 'refuse')
      return assert.deepEqual(refusals, [], `validate at ${member} refused a change`);
    assert.ok(
      refusals.some((r) => r.reason === refusal.reason),
      `validate at ${member} did not refuse for ${refusal.reason}: ${JSON.stringify(refusals)}`,
    );
  }

  /** Fires notifications, restart checks and the step actions the model's step implies, until none is left. */
  async settle(): Promise<void> {
    const model = this.#model;
    if (!model) return;
    const self = model.initiator.context.self;
    const step = leafOf(model.initiator.value);
    const steps = AUTOMATIC_ORDER.slice(0, AUTOMATIC_UP_TO[step] ?? 0);
    // the group's notices to the initiator of a loss the model notices late wait for its `notice`
    const heldNotice = (a: Extract<Pending, { kind: 'notify' }>) =>
      a.observer === self && model.unnoticed.includes(a.member);
    // a second initiator the model refused after both validated: its beginRouting, after the first one's
    const loser = model.rival?.value === 'refused' ? model.rival.context.self : null;
    for (let guard = 0; guard < 1000; guard++) {
      const pending = await this.pending();
      const beginsAt = (member: string | null) => (a: Pending) =>
        a.kind === 'work' && a.step === 'beginRouting' && a.member === member;
      const next = pending.find(
        (a) =>
          (a.kind === 'notify' && !heldNotice(a)) ||
          (a.kind === 'deliver' &&
            (UNMODELLED.includes(a.message.type) || this.#staleAck(a, model))) ||
          (a.kind === 'work' &&
            (a.step === 'restartCheck' ||
              (a.member === self && (steps as readonly string[]).includes(a.step)))) ||
          (beginsAt(loser)(a) && !pending.some(beginsAt(self))),
      );
      // entering reencipher, the first chunk is copied (reencipherDone copies the rest)
      const firstChunk = async () => {
        if (step !== 'reencipher') return undefined;
        const at = (await this.observe()).members.find((m) => m.name === self);
        if (at?.initiatorStep === 'reencipher') return undefined;
        return pending.find(
          (a) => a.kind === 'work' && a.step === 'reencipher' && a.member === self,
        );
      };
      const action = next ?? (await firstChunk());
      if (!action) return;
      if (action.kind === 'deliver') this.#unmodelled(action, model);
      await this.fire(action);
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
      this.#unconfirmed.push(...stepped.transitions.map(transitionName));
    };
    if (type === 'liveUpdate') taken(memberMachine, receiver, { type, id: '' });
    else if (this.#staleAck(action, model))
      taken(initiatorMachine, model.initiator, { type, member: from });
  }

  async find(test: (a: Pending) => boolean): Promise<Pending | undefined> {
    return (await this.pending()).find(test);
  }

  work(step: string, actor: string): Promise<Pending | undefined> {
    return this.find((a) => a.kind === 'work' && a.step === step && a.member === actor);
  }

  delivery(m: Message): Promise<Pending> {
    const match = (a: Pending): boolean =>
      a.kind === 'deliver' &&
      a.message.type === m.type &&
      a.message.from === m.from &&
      a.message.to === m.to;
    return this.required(this.find(match), `a pending delivery of ${m.type} ${m.from}->${m.to}`);
  }

  async required(
    found: Pending | undefined | Promise<Pending | undefined>,
    what: string,
  ): Promise<Pending> {
    const action = await found;
    if (action) return action;
    const pending = (await this.pending()).map((a) => a.label).join('; ');
    assert.fail(`the implementation has no ${what} pending; pending: ${pending}`);
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
    const { initiator, members, rival } = model;
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
          initiatorStep: plays
            ? INITIATOR_STEP[step]
            : this.#fencedDrivers.has(name)
              ? 'fenced'
              : name === rival?.context.self
                ? INITIATOR_STEP[leafOf(rival.value)]
                : null,
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

  /** The same observables, read from what the implementation shows. */
  observed(view: ClusterView): object {
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
  async check(model: ClusterContext, taken: Iterable<string> = []): Promise<void> {
    const differs = firstDifference(this.observed(await this.observe()), this.expected(model));
    if (differs) assert.fail(differs);
    for (const t of [...taken, ...this.#unconfirmed.splice(0)]) this.executed.add(t);
  }
}

/** `members[1].state: the implementation shows "staged", the model says "routing"`; null when equal. */
export function firstDifference(shown: unknown, model: unknown, at = ''): string | null {
  if (JSON.stringify(shown) === JSON.stringify(model)) return null;
  const container = (v: unknown) => typeof v === 'object' && v !== null;
  if (container(shown) && container(model) && Array.isArray(shown) === Array.isArray(model)) {
    const keys = new Set([...Object.keys(shown as object), ...Object.keys(model as object)]);
    for (const k of keys) {
      const where = Array.isArray(shown) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
      const d = firstDifference(
        (shown as Record<string, unknown>)[k],
        (model as Record<string, unknown>)[k],
        where,
      );
      if (d) return d;
    }
  }
  const text = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
  return `${at || 'the state'}: the implementation shows ${text(shown)}, the model says ${text(model)}`;
}

/**
 * Runs one path of the cluster statechart on the implementation: a fresh cluster (`init`), then
 * each step's event carried out and the state it reaches compared; rejects at the first step
 * where they differ, naming it. The transitions of the steps the implementation was confirmed to
 * agree with are added to `executed` (those of a path cut short included).
 */
export async function runPath(
  impl: Implementation,
  path: ExportedPath,
  options: { override?: Override; executed?: Set<string> } = {},
): Promise<void> {
  const adapter = await PathAdapter.open(impl, path.steps, options.override ?? null);
  const words = narrate(
    path.steps.map((s) => ({ event: s.event, state: { context: s.state.context } }) as never),
  );
  let i = 0;
  try {
    for (; i < path.steps.length; i++) {
      const { event, state, takes } = path.steps[i]!;
      const context = state.context as ClusterContext;
      if (event.type !== INIT_EVENT.type) await adapter.exec(event as ClusterEvent, context);
      await adapter.check(context, takes);
    }
  } catch (e) {
    if (e instanceof Error && i > 0) e.message = `step ${i} (${words[i - 1]}): ${e.message}`;
    throw e;
  } finally {
    adapter.executed.forEach((t) => options.executed?.add(t));
  }
}

/** Executed transition coverage of each statechart by the transitions taken on the implementation. */
export function executedCoverage(
  executed: Iterable<string>,
): Record<MachineName, Coverage['transitions']> {
  const taken = definitionsOf(executed);
  return {
    initiator: transitionCoverage(machines.initiator, taken),
    member: transitionCoverage(machines.member, taken),
    cluster: transitionCoverage(machines.cluster, taken),
  };
}
