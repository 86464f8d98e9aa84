// Sysplex messaging and group membership (DESIGN.md "sysplex messaging"), run by a deterministic
// scheduler.
//
// The scheduler holds PENDING ACTIONS: a message delivery, a timer, a chunk of work, an arriving
// update request, a membership notification, a restart. Each has a stable id, a readable label
// (`deliver reloadAck SYSB->SYSA #17`), a due tick and an owner (the member whose crash cancels
// it). Logical time (`tick`) advances by one per fired action, or jumps to the next due action
// when nothing is due. Two drivers share the scheduler: the seeded random driver (`pickNext`,
// which prefers due non-timer actions in random order and lets a timer fire only when nothing
// else is due, as timeouts are long next to message latency; membership notifications reach a
// member in the order they happened) and manual control (`fire(id)` of
// any pending action, due or not).
//
// Message faults: a matching fault rule drops, duplicates or delays a message when it is sent;
// the random fault rate does the same at random until it stops; `drop`/`duplicate` of a pending
// delivery act on the spot. A message to a member outside the group is dropped on delivery.

import { MinHeap } from './min-heap.ts';
import type { Rng } from './rng.ts';
import { SortedSet } from './sorted-set.ts';
import type { TraceEventInput } from './trace.ts';
import {
  isAck,
  refusalOf,
  requestOf,
  type MessageType,
  type SpecAction,
  type StepName,
} from './vocabulary.ts';

/**
 * What a pending action is, in the protocol's terms: a test or a driver picks actions by these
 * fields (the label, `deliver reloadAck SYSB->SYSA #17`, is derived from them for people).
 */
export type ActionDescriptor =
  | { readonly kind: 'deliver'; readonly message: Message }
  | {
      readonly kind: 'timer';
      readonly timer: 'timeout' | 'retry' | 'routeRetry' | 'liveUpdateRetry';
      readonly member: string;
      readonly step?: string;
      readonly update?: string;
    }
  | { readonly kind: 'work'; readonly step: StepName | 'restartCheck'; readonly member: string }
  | { readonly kind: 'arrival'; readonly update: string; readonly member: string }
  | {
      readonly kind: 'notify';
      readonly notice: 'memberLost' | 'memberJoined';
      readonly member: string;
      readonly observer: string;
    }
  | {
      readonly kind: 'restart';
      readonly how: 'restart' | 'heal' | 'rejoin';
      readonly member: string;
    };
export type ActionKind = ActionDescriptor['kind'];

export type PendingAction = ActionDescriptor & {
  readonly id: number;
  readonly label: string;
  readonly due: number;
  readonly owner: string | null;
};

type Action = PendingAction & { run(): void };

/** The label of an action: how the trace and the CLI's pending list say it. */
export function describeAction(d: ActionDescriptor): string {
  switch (d.kind) {
    case 'deliver':
      return `deliver ${d.message.type} ${d.message.from}->${d.message.to}`;
    case 'timer':
      return d.timer === 'timeout'
        ? `timeout ${d.step} at ${d.member}`
        : d.timer === 'retry'
          ? `retry ${d.step} ${d.member}`
          : d.timer === 'routeRetry'
            ? `routeRetry ${d.update} at ${d.member}`
            : `liveUpdate retry ${d.update} at ${d.member}`;
    case 'work':
      return `${d.step} ${d.member}`;
    case 'arrival':
      return `update ${d.update} at ${d.member}`;
    case 'notify':
      return `notify ${d.notice} ${d.member} -> ${d.observer}`;
    case 'restart':
      return `${d.how} ${d.member}`;
  }
}

export class Scheduler {
  tick = 0;
  #nextId = 1;
  readonly #actions = new Map<number, Action>();
  // The seeded driver's view, kept up to date as actions come and go so that a pick is O(log n).
  // A CANDIDATE is an action `pickNext` may choose once it is due: any non-timer action, except
  // that of a member's notifications only the oldest pending one is (FIFO per member).
  readonly #ready = new SortedSet<number>((a, b) => a - b); // ids of due candidates
  readonly #waiting = new MinHeap<Action>(earlier); // candidates not yet due
  readonly #byDue = new MinHeap<Action>(earlier); // every action (for the no-candidate case)
  readonly #notifies = new Map<string | null, Action[]>(); // each member's notifications, oldest (pending) first
  // #waiting, #byDue and the notification queues drop gone actions lazily (see #live).

  add(
    what: ActionDescriptor,
    run: () => void,
    opts: { delay?: number; owner?: string | null } = {},
  ): number {
    const id = this.#nextId++;
    const a: Action = {
      ...what,
      id,
      label: `${describeAction(what)} #${id}`,
      due: this.tick + (opts.delay ?? 0),
      owner: opts.owner ?? null,
      run,
    };
    this.#actions.set(id, a);
    this.#byDue.push(a);
    if (a.kind === 'notify') {
      const queue = this.#notifies.get(a.owner) ?? [];
      this.#notifies.set(a.owner, queue);
      if (queue.push(a) === 1) this.#candidate(a);
    } else if (a.kind !== 'timer') {
      this.#candidate(a);
    }
    return id;
  }

  cancel(id: number | null): void {
    const a = id === null ? undefined : this.#actions.get(id);
    if (a) this.#remove(a);
  }

  /** Cancels every action a member owns (its timers and work: a crash ends them). */
  cancelOwnedBy(member: string): void {
    for (const a of this.#actions.values()) if (a.owner === member) this.#remove(a);
  }

  get(id: number): PendingAction | undefined {
    return this.#actions.get(id);
  }

  /** Every pending action, by id. */
  pending(): PendingAction[] {
    return [...this.#actions.values()]
      .sort((a, b) => a.id - b.id)
      .map(({ run: _run, ...view }) => view as PendingAction);
  }

  get size(): number {
    return this.#actions.size;
  }

  /** Runs one pending action now; logical time moves on by one tick, or to its due tick. */
  fire(id: number): void {
    const a = this.#actions.get(id);
    if (!a) throw new Error(`no pending action #${id}`);
    this.#remove(a);
    this.tick = Math.max(this.tick + 1, a.due);
    a.run();
  }

  /**
   * The seeded driver's choice: a random due non-timer action (or, given `priority`, the first
   * due one of the highest priority: impl/pct.ts); else the earliest due one.
   */
  pickNext(rng: Rng, priority?: (a: PendingAction) => number): number | null {
    if (this.#actions.size === 0) return null;
    // Due means due by the next tick; logical time never goes back, so a due candidate stays due.
    while (this.#waiting.size > 0 && this.#waiting.peek()!.due <= this.tick + 1) {
      const a = this.#waiting.pop()!;
      if (this.#live(a)) this.#ready.add(a.id);
    }
    if (this.#ready.size > 0 && priority) return this.#highest(priority);
    // One draw, the position among the due candidates in id order.
    if (this.#ready.size > 0) return this.#ready.at(rng.int(this.#ready.size))!;
    while (!this.#live(this.#byDue.peek()!)) this.#byDue.pop();
    return this.#byDue.peek()!.id;
  }

  /** The due candidate of the highest priority, the first in id order of those. */
  #highest(priority: (a: PendingAction) => number): number {
    let best = this.#ready.at(0)!;
    let top = priority(this.#actions.get(best)!);
    for (let i = 1; i < this.#ready.size; i++) {
      const id = this.#ready.at(i)!;
      const p = priority(this.#actions.get(id)!);
      if (p > top) [best, top] = [id, p];
    }
    return best;
  }

  #live(a: Action): boolean {
    return this.#actions.get(a.id) === a;
  }

  #candidate(a: Action): void {
    if (a.due <= this.tick + 1) this.#ready.add(a.id);
    else this.#waiting.push(a);
  }

  #remove(a: Action): void {
    this.#actions.delete(a.id);
    this.#ready.delete(a.id);
    const queue = a.kind === 'notify' ? this.#notifies.get(a.owner)! : null;
    if (queue && queue[0] === a) {
      // the member's next pending notification becomes the candidate
      do queue.shift();
      while (queue.length > 0 && !this.#live(queue[0]!));
      if (queue.length > 0) this.#candidate(queue[0]!);
      else this.#notifies.delete(a.owner);
    }
    // drop gone actions from the heaps once they make up most of them (amortised O(1) per removal)
    const slack = 2 * this.#actions.size + 64;
    if (this.#byDue.size > slack) this.#byDue.retain((x) => this.#live(x));
    if (this.#waiting.size > slack) this.#waiting.retain((x) => this.#live(x));
  }
}

/** Pending actions in order of due tick, then id. */
const earlier = (a: Action, b: Action): boolean =>
  a.due < b.due || (a.due === b.due && a.id < b.id);

/** A message between members. `body` never holds key material (blobs at most, never in traces). */
export interface Message {
  readonly id: string; // m1, m2, ...; a duplicate keeps its id
  readonly type: MessageType;
  readonly from: string;
  readonly to: string;
  readonly change: string | null;
  readonly update?: string;
  readonly body: unknown;
}

/** A fault rule on messages (SimulateOptions.faults: drop, duplicate, delay). */
export interface MessageFaultRule {
  kind: 'drop' | 'duplicate' | 'delay';
  message: MessageType;
  to?: string;
  count?: number; // default 1
}

export interface SysplexOptions {
  rules: MessageFaultRule[];
  randomRate: number; // 0..1 per message
  randomStopAfter: number; // messages after which random faults stop (Infinity: never)
  latency: number; // ticks a message takes (0: due at once)
  delayBy: number; // ticks a delayed message waits
}

export interface MessageCounts {
  messages: number;
  dropped: number;
  duplicated: number;
}

type Emit = (e: TraceEventInput) => void;

export class Sysplex {
  readonly scheduler: Scheduler;
  readonly #rng: Rng;
  readonly #emit: Emit;
  readonly #opts: SysplexOptions;
  readonly #rules: { rule: MessageFaultRule; left: number }[];
  readonly #group = new Set<string>();
  readonly #joins = new Map<string, number>();
  readonly #handlers = new Map<string, (m: Message) => void>();
  readonly #watchers = new Map<
    string,
    { lost: (m: string) => void; joined: (m: string) => void }
  >();
  // The spec's view of the messages on their way (CoordinatedCMK.tla `msgs`, a set): at most one
  // copy of each request, acknowledgement or refusal (type, from, to) sent to a member in the group.
  // A delivery of one that is not on its way there (a late original after its resend, a duplicate)
  // is the spec's `duplicate`.
  readonly #specInFlight = new Set<string>();
  #nextMessage = 1;
  readonly counts: MessageCounts = { messages: 0, dropped: 0, duplicated: 0 };

  constructor(scheduler: Scheduler, rng: Rng, emit: Emit, opts: SysplexOptions) {
    this.scheduler = scheduler;
    this.#rng = rng;
    this.#emit = emit;
    this.#opts = opts;
    this.#rules = opts.rules.map((rule) => ({ rule, left: rule.count ?? 1 }));
  }

  /** A member's message handler and membership watchers (called once per member). */
  register(
    member: string,
    onMessage: (m: Message) => void,
    onLost: (m: string) => void,
    onJoined: (m: string) => void,
  ): void {
    this.#handlers.set(member, onMessage);
    this.#watchers.set(member, { lost: onLost, joined: onJoined });
  }

  inGroup(member: string): boolean {
    return this.#group.has(member);
  }
  /** How many times the member has joined, while it is in the group (0 when it is not). */
  incarnation(member: string): number {
    return this.#group.has(member) ? (this.#joins.get(member) ?? 0) : 0;
  }
  /** The members in the group, by name. */
  group(): string[] {
    return [...this.#group].sort();
  }

  /** A member joins the group; every other member in it is told (`memberJoined`). */
  join(member: string, notify = true): void {
    this.#group.add(member);
    this.#joins.set(member, (this.#joins.get(member) ?? 0) + 1);
    if (notify) this.#notify(member, 'joined');
  }

  /** A member leaves the group (crash, partition, expel); every member still in it is told (`memberLost`). */
  leave(member: string): void {
    if (!this.#group.delete(member)) return;
    for (const k of this.#specInFlight) if (k.endsWith(`|${member}`)) this.#specInFlight.delete(k);
    this.#notify(member, 'lost');
  }

  #notify(member: string, what: 'lost' | 'joined'): void {
    for (const observer of this.group()) {
      if (observer === member) continue;
      this.scheduler.add(
        {
          kind: 'notify',
          notice: what === 'lost' ? 'memberLost' : 'memberJoined',
          member,
          observer,
        },
        () => {
          this.#emit({
            event: what === 'lost' ? 'memberLost' : 'memberJoined',
            actor: observer,
            member,
          });
          this.#watchers.get(observer)![what](member);
        },
        { owner: observer },
      );
    }
  }

  /** Sends a message; `action`: the spec action the sending is (docs/trace-format.md "Spec actions"). */
  send(
    from: string,
    to: string,
    type: MessageType,
    change: string | null,
    body: unknown = {},
    update?: string,
    action?: SpecAction,
  ): void {
    const msg: Message = {
      id: `m${this.#nextMessage++}`,
      type,
      from,
      to,
      change,
      body,
      ...(update ? { update } : {}),
    };
    this.counts.messages++;
    this.#emit({ event: 'send', actor: from, ...this.#fields(msg), ...(action ? { action } : {}) });
    if (inSpec(type) && this.#group.has(to)) this.#specInFlight.add(specKey(msg));
    let fault = this.#ruleFault(msg);
    if (
      fault === null &&
      this.counts.messages <= this.#opts.randomStopAfter &&
      this.#opts.randomRate > 0 &&
      this.#rng.chance(this.#opts.randomRate)
    ) {
      fault = this.#rng.pick(['drop', 'duplicate', 'delay'] as const);
    }
    if (fault === 'drop') return this.#dropFault(msg);
    if (fault === 'delay') {
      this.#emit({
        event: 'delay',
        actor: 'env',
        ...this.#fields(msg),
        until: this.scheduler.tick + this.#opts.delayBy,
      });
      this.#schedule(msg, this.#opts.delayBy);
      return;
    }
    this.#schedule(msg, this.#opts.latency);
    if (fault === 'duplicate') this.#duplicate(msg);
  }

  /** Drops a pending delivery now (manual control). */
  drop(actionId: number): void {
    const msg = this.#deliveryAt(actionId);
    this.scheduler.cancel(actionId);
    this.#dropFault(msg);
  }

  #dropFault(msg: Message): void {
    this.counts.dropped++;
    const spec = this.#specInFlight.delete(specKey(msg));
    this.#emit({
      event: 'drop',
      actor: 'env',
      ...this.#fields(msg),
      why: 'fault',
      ...(spec ? { action: 'drop' as const } : {}),
    });
  }

  /** Adds a second delivery of a pending message (manual control). */
  duplicate(actionId: number): void {
    this.#duplicate(this.#deliveryAt(actionId));
  }

  #deliveryAt(actionId: number): Message {
    const a = this.scheduler.get(actionId);
    if (!a || a.kind !== 'deliver')
      throw new Error(`pending action #${actionId} is not a message delivery`);
    return a.message;
  }

  #duplicate(msg: Message): void {
    this.counts.duplicated++;
    this.#emit({ event: 'duplicate', actor: 'env', ...this.#fields(msg) });
    this.#schedule(msg, this.#opts.latency);
  }

  #ruleFault(msg: Message): 'drop' | 'duplicate' | 'delay' | null {
    for (const r of this.#rules) {
      if (
        r.left > 0 &&
        r.rule.message === msg.type &&
        (r.rule.to === undefined || r.rule.to === msg.to)
      ) {
        r.left--;
        return r.rule.kind;
      }
    }
    return null;
  }

  #schedule(msg: Message, delay: number): void {
    this.scheduler.add(
      { kind: 'deliver', message: msg },
      () => {
        const wasInFlight = this.#specInFlight.delete(specKey(msg));
        if (!this.#group.has(msg.to)) {
          this.counts.dropped++;
          this.#emit({ event: 'drop', actor: 'env', ...this.#fields(msg), why: 'down' });
          return;
        }
        const seen = inSpec(msg.type);
        const copy = seen && !wasInFlight;
        const action = isAck(msg.type)
          ? ('ReceiveAck' as const)
          : refusalOf(msg.type)
            ? ('ReloadRefusedByInitiator' as const)
            : undefined;
        this.#emit({
          event: 'deliver',
          actor: msg.to,
          ...this.#fields(msg),
          ...(copy ? { copy } : {}),
          ...(action ? { action } : {}),
        });
        this.#handlers.get(msg.to)!(msg);
      },
      { delay },
    );
  }

  #fields(msg: Message) {
    return {
      msg: msg.type,
      id: msg.id,
      from: msg.from,
      to: msg.to,
      change: msg.change,
      ...(msg.update ? { update: msg.update } : {}),
    };
  }
}

/** A message the spec's `msgs` holds: a request, its acknowledgement, or a refusal of it. */
function inSpec(type: MessageType): boolean {
  return requestOf(type) !== null || refusalOf(type) !== null;
}

/** A message as the spec's `msgs` tells it apart: type, sender, receiver. */
function specKey(msg: Message): string {
  return `${msg.type}|${msg.from}|${msg.to}`;
}
