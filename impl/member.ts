// A member (DESIGN.md "member"): one ICSF instance with a release level, its coprocessors (every
// active one must hold the same registers: validate, reload, switch and restartCheck check each),
// the name of its active TKDS, and its in-store copies (live, staged).
//
// It serves PKCS #11-style requests (createToken, deleteToken, createObject, updateObject,
// destroyObject as dynamic updates; readObject and keyCheckValue from the live copy), and it
// handles every protocol message of docs/protocol.md idempotently: a duplicate or a resent
// message finds the work done and is acknowledged again; a message of a change the cluster record
// no longer shows is ignored. The cluster record is a member's serialization point: it reads the
// record before it writes a data set, and while a change is running or committed it routes the
// update to the initiator the record names instead (so only the initiator writes: SingleWriter).

import type { Coprocessor, RegisterView } from './coprocessor.ts';
import { DasdIoError, type ClusterRecord } from './dasd.ts';
import { InStoreCopy, newObject, type Handle, type TkdsRecord } from './tkds.ts';
import { planUpdate, writeRecords, type RecordWrite, type UpdateRequest } from './updates.ts';
import { Initiator, type InitiatorStep } from './initiator.ts';
import type { Cluster } from './cluster.ts';
import type { Message } from './sysplex.ts';
import {
  CONSEQUENTIAL_FAILURES,
  type MemberState,
  type MessageType,
  type RefusalReason,
  type SpecAction,
} from './vocabulary.ts';

/** docs/protocol.md member states. */

export type UpdateResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };
/** What a write did: its result and, when it was made, the record writes (for the delta). */
export interface Written {
  readonly result: UpdateResult;
  readonly handle?: Handle;
  readonly writes?: readonly RecordWrite[];
}

/** Why a member cannot run under a data set's master key: a refusal code of protocol.md and a message naming the coprocessor. */
export interface KeyMismatch {
  readonly reason: Extract<
    RefusalReason,
    'noActiveCoprocessor' | 'newNotCommitted' | 'newMkvpDiffers'
  >;
  readonly message: string;
}

interface Caller {
  readonly req: UpdateRequest;
  routedTo: string | null;
  incarnation: number;
  timer: number | null;
}

export class Member {
  readonly name: string;
  readonly level: string;
  readonly coprocessors: readonly Coprocessor[];
  readonly #cluster: Cluster;
  /**
   * down: not running; fenced: shut down because it must not serve under mixed keys (ICSF's
   * CSFM621I), back only by a restart; restartCheck: restarting; up: in the group.
   */
  phase: 'down' | 'fenced' | 'restartCheck' | 'up' = 'down';
  active: string;
  live: InStoreCopy | null = null;
  staged: InStoreCopy | null = null;
  routing = false;
  switched = false;
  change: string | null = null;
  /** The change whose initiator this member routes updates to before its own part of beginRouting (it read the record first). */
  #routesFor: string | null = null;
  initiator: Initiator | null = null;
  /** The initiator's statechart state while this member drives (or last drove) a change. */
  initiatorStep: InitiatorStep | null = null;
  /** Updates asked of this member by its callers and not yet answered. */
  readonly #callers = new Map<string, Caller>();
  /** Updates this member wrote, with their results (to answer a resent request again). */
  readonly #written = new Map<string, UpdateResult>();
  /** liveUpdates sent and not yet acknowledged: update id -> members still to acknowledge. */
  readonly #liveOut = new Map<
    string,
    { waiting: Set<string>; dataSet: string; handles: Handle[]; timer: number | null }
  >();

  constructor(
    cluster: Cluster,
    name: string,
    level: string,
    coprocessors: Coprocessor[],
    active: string,
  ) {
    this.#cluster = cluster;
    this.name = name;
    this.level = level;
    this.coprocessors = coprocessors;
    this.active = active;
  }

  /** Running: in the group, or restarting. */
  get up(): boolean {
    return this.phase === 'up' || this.phase === 'restartCheck';
  }

  get fenced(): boolean {
    return this.phase === 'fenced';
  }

  get state(): MemberState {
    if (this.phase !== 'up') return this.phase;
    if (this.switched) return 'switched';
    if (this.staged) return 'staged';
    return this.routing ? 'routing' : 'serving';
  }

  /** The registers of the coprocessor that does this member's secure work (cp(), or the first if none is active). */
  get cur(): RegisterView {
    return (this.coprocessors.find((c) => c.active) ?? this.coprocessors[0]!).cur;
  }
  get new(): RegisterView {
    return (this.coprocessors.find((c) => c.active) ?? this.coprocessors[0]!).new;
  }

  hasActiveCoprocessor(): boolean {
    return this.coprocessors.some((c) => c.active);
  }

  /** The active coprocessors: every one must hold the master key of the copy the member serves. */
  activeCoprocessors(): Coprocessor[] {
    return this.coprocessors.filter((c) => c.active);
  }

  /**
   * Why this member cannot run under `mkvp`, the header MKVP of `dataSet`: no coprocessor is
   * active, or an active one has neither `cur` nor a committed `new` of that key. null if it can.
   */
  keyMismatch(mkvp: string, dataSet: string): KeyMismatch | null {
    const active = this.activeCoprocessors();
    if (active.length === 0)
      return { reason: 'noActiveCoprocessor', message: 'no active coprocessor' };
    const bad = active.find(
      (c) => c.cur.mkvp !== mkvp && !(c.new.status === 'committed' && c.new.mkvp === mkvp),
    );
    if (!bad) return null;
    const n = bad.new;
    return n.status === 'committed'
      ? {
          reason: 'newMkvpDiffers',
          message: `coprocessor ${bad.serial}: new master key MKVP ${n.mkvp} differs from the header MKVP ${mkvp} of ${dataSet}`,
        }
      : {
          reason: 'newNotCommitted',
          message: `coprocessor ${bad.serial}: the new master key register is ${n.status}, and cur is not the header MKVP ${mkvp} of ${dataSet}`,
        };
  }

  /** The coprocessor that does this member's secure work. */
  cp(): Coprocessor {
    const c = this.coprocessors.find((x) => x.active);
    if (!c) throw new Error(`${this.name} has no active coprocessor`);
    return c;
  }

  // ---- serving secure work from the live copy ----

  #serving(what: string): InStoreCopy {
    if (this.phase === 'up' && this.live) return this.live;
    const why = this.fenced ? 'fenced and refuses secure work' : this.phase;
    throw new Error(`${this.name} cannot ${what}: it is ${why}`);
  }

  readObject(handle: Handle): TkdsRecord {
    const r = this.#serving(`read ${handle}`).get(handle);
    if (!r)
      throw new Error(
        `${this.name}: no object ${handle} in its live copy of ${this.live!.dataSet}`,
      );
    return r;
  }

  /** The key check value of a secure object, computed by this member's coprocessor. */
  keyCheckValue(handle: Handle): string {
    const live = this.#serving(`compute the key check value of ${handle}`);
    const r = live.get(handle);
    if (!r || r.kind !== 'object' || r.value.type !== 'secure')
      throw new Error(`${this.name}: ${handle} is not a secure object in ${live.dataSet}`);
    if (this.cur.mkvp !== live.mkvp)
      throw new Error(
        `${this.name}: cur MKVP ${this.cur.mkvp} differs from its live copy's ${live.mkvp}; refusing secure work`,
      );
    return this.cp().keyCheckValue(r.value.blob);
  }

  // ---- dynamic updates ----

  /** A caller at this member asks for an update (the request is stamped with this incarnation). */
  submit(asked: Omit<UpdateRequest, 'originIncarnation'>): void {
    const c = this.#cluster;
    const req: UpdateRequest = { ...asked, originIncarnation: c.sysplex.incarnation(this.name) };
    c.counts.updatesRequested++;
    // the spec's request, unless it fails at once as a consequence of another action
    const failsAtOnce = this.phase !== 'up' || this.#initiatorLost();
    c.emit({
      event: 'update',
      actor: this.name,
      phase: 'request',
      id: req.id,
      op: req.op.op,
      ...opFields(req),
      ...(failsAtOnce ? {} : { action: 'request' as const }),
    });
    if (this.fenced) return this.#report(req, { ok: false, reason: 'fenced' }, true);
    if (this.phase !== 'up') return this.#report(req, { ok: false, reason: 'memberDown' }, true);
    this.#callers.set(req.id, { req, routedTo: null, incarnation: 0, timer: null });
    this.take(req);
  }

  /**
   * Whether the caller's member went down (or restarted) since it took the request: going down
   * told the caller `unknown`, so the request is dropped, never written (a later write would be
   * a silent second one). Read from group membership, not from memory a crash erases.
   */
  callerGone(req: UpdateRequest): boolean {
    return this.#cluster.sysplex.incarnation(req.origin) !== req.originIncarnation;
  }

  /** An update to process here: written now, or routed to the initiator while a change runs. */
  take(req: UpdateRequest): void {
    if (this.callerGone(req)) return;
    const done = this.writtenResult(req.id);
    if (done) return this.answer(req, done);
    // the initiator takes its own updates while the change runs, and holds them while it suspends:
    // the spec's Routes
    if (this.initiator?.running) return this.initiator.takeUpdate(req);
    const c = this.#cluster;
    // A routed update is resent to the same initiator until it answers; if that initiator left
    // the group meanwhile, the caller cannot know the outcome (it may have been applied).
    const caller = this.#callers.get(req.id);
    if (caller && caller.routedTo !== null) {
      if (c.sysplex.incarnation(caller.routedTo) !== caller.incarnation)
        return this.#report(req, 'unknown');
      return this.#route(req, caller.routedTo);
    }
    const record = c.dasd.readClusterRecord();
    // another member's update reached here routed (a resend that outlived the change): the spec's ApplyRouted
    if (record.change === 'none') {
      this.followRename();
      return this.answer(
        req,
        this.write(req, this.active, req.origin === this.name ? 'ApplyOwn' : 'ApplyRouted').result,
        true,
      );
    }
    // A change is running: route to the initiator the record names.
    const initiator = record.initiator!;
    if (this.#initiatorLost()) return this.answer(req, { ok: false, reason: 'initiatorLost' });
    this.routing = true;
    this.#routesFor = record.changeId;
    this.#route(req, initiator);
  }

  /** A change runs that this member does not coordinate, and the initiator the record names is this member or gone. */
  #initiatorLost(): boolean {
    if (this.initiator?.running) return false;
    const record = this.#cluster.dasd.readClusterRecord();
    return (
      record.change !== 'none' &&
      (record.initiator === this.name || !this.#cluster.sysplex.inGroup(record.initiator!))
    );
  }

  /** The result of an update this member wrote already (a resent request is answered again). */
  writtenResult(id: string): UpdateResult | undefined {
    return this.#written.get(id);
  }

  #route(req: UpdateRequest, to: string): void {
    const caller = this.#callers.get(req.id);
    if (caller) {
      if (caller.routedTo === null) {
        this.#cluster.counts.updatesRouted++;
        this.#cluster.emit({
          event: 'update',
          actor: this.name,
          phase: 'route',
          id: req.id,
          op: req.op.op,
          origin: req.origin,
          ...opFields(req),
        });
      }
      caller.routedTo = to;
      caller.incarnation = this.#cluster.sysplex.incarnation(to);
      this.#cluster.scheduler.cancel(caller.timer);
      caller.timer = this.#cluster.scheduler.add(
        { kind: 'timer', timer: 'routeRetry', update: req.id, member: this.name },
        () => {
          caller.timer = null;
          this.take(req);
        },
        { delay: this.#cluster.timing.routeRetry, owner: this.name },
      );
    }
    // Addressed to this incarnation of `to`: one that restarted since has no memory of writing it.
    this.#cluster.sysplex.send(
      this.name,
      to,
      'routeUpdate',
      null,
      { req, incarnation: this.#cluster.sysplex.incarnation(to) },
      req.id,
    );
  }

  /** Writes an update to a data set (this member is the writer) and tells the others' live copies. */
  write(req: UpdateRequest, dataSet: string, action: 'ApplyOwn' | 'ApplyRouted'): Written {
    const c = this.#cluster;
    const plan = planUpdate(req.op, c.dasd, dataSet, (token, seq, secure, label) =>
      newObject(c.rng, token, seq, secure, label, (v) => this.cp().wrap(v)),
    );
    let written: Written;
    if (!plan.ok) written = { result: { ok: false, reason: plan.reason } };
    else {
      try {
        writeRecords(c.dasd, dataSet, plan.writes, { by: this.name, update: req.id });
        c.emit({
          event: 'update',
          actor: this.name,
          phase: 'apply',
          id: req.id,
          op: req.op.op,
          ...opFields(req),
          handle: plan.handle,
          dataSet,
          origin: req.origin,
          action,
        });
        this.refreshLive(
          dataSet,
          plan.writes.map((w) => w.handle),
        );
        this.#tellLive(req.id, dataSet, plan.writes);
        written = { result: { ok: true }, handle: plan.handle, writes: plan.writes };
      } catch (e) {
        if (!(e instanceof DasdIoError)) throw e;
        written = { result: { ok: false, reason: 'ioError' } };
      }
    }
    this.#written.set(req.id, written.result);
    return written;
  }

  /**
   * The update's result goes to its caller: here, or at the member it came from. `decided`: this
   * answer is the decision (not a resent one), so a refusal is the spec's ApplyRefused, unless it
   * is the consequence of another action (CONSEQUENTIAL_FAILURES).
   */
  answer(req: UpdateRequest, result: UpdateResult, decided = false): void {
    // a decided answer is kept: a resend of the request is answered the same (never written later)
    if (decided) this.#written.set(req.id, result);
    const refused =
      decided &&
      !result.ok &&
      !(CONSEQUENTIAL_FAILURES as readonly string[]).includes(result.reason);
    const action = refused ? ('ApplyRefused' as const) : undefined;
    if (req.origin === this.name) this.#report(req, result, false, action);
    else
      this.#cluster.sysplex.send(
        this.name,
        req.origin,
        'updateResult',
        null,
        { id: req.id, result },
        req.id,
        action,
      );
  }

  #report(
    req: UpdateRequest,
    result: UpdateResult | 'unknown',
    notTaken = false,
    action?: SpecAction,
  ): void {
    const caller = this.#callers.get(req.id);
    if (!caller && !notTaken) return; // answered already (a duplicate result)
    if (caller) {
      this.#cluster.scheduler.cancel(caller.timer);
      this.#callers.delete(req.id);
    }
    const c = this.#cluster;
    if (result === 'unknown') {
      c.counts.unknown++;
      c.emit({
        event: 'update',
        actor: this.name,
        phase: 'unknown',
        id: req.id,
        op: req.op.op,
        reason: 'the initiator or this member was lost before answering',
        ...opFields(req),
      });
    } else if (result.ok) {
      c.counts.acked++;
      c.emit({
        event: 'update',
        actor: this.name,
        phase: 'ack',
        id: req.id,
        op: req.op.op,
        ...opFields(req),
      });
    } else {
      c.counts.failed++;
      c.emit({
        event: 'update',
        actor: this.name,
        phase: 'fail',
        id: req.id,
        op: req.op.op,
        reason: result.reason,
        ...opFields(req),
        ...(action ? { action } : {}),
      });
    }
  }

  /** Callers whose updates went to `routedTo` (null: this member's own initiator; or every caller) learn the outcome is unknown. */
  #unknownOutcomes(routedTo: string | null | 'every'): void {
    for (const caller of [...this.#callers.values()]) {
      if (routedTo === 'every' || caller.routedTo === routedTo) this.#report(caller.req, 'unknown');
    }
  }

  // ---- live copies ----

  /** Re-reads some records of the live copy from disk (if the live copy is of that data set). */
  refreshLive(dataSet: string, handles: readonly Handle[]): void {
    this.followRename();
    if (!this.live || this.live.dataSet !== dataSet) return;
    for (const h of handles) {
      const r = this.#cluster.dasd.get(dataSet, h);
      if (r) this.live.put(r);
      else this.live.delete(h);
    }
  }

  #tellLive(id: string, dataSet: string, writes: readonly RecordWrite[]): void {
    const others = this.#cluster.sysplex.group().filter((n) => n !== this.name);
    if (others.length === 0) return;
    const out = {
      waiting: new Set(others),
      dataSet,
      handles: writes.map((w) => w.handle),
      timer: null as number | null,
    };
    this.#liveOut.set(id, out);
    this.#sendLive(id);
  }

  #sendLive(id: string): void {
    const out = this.#liveOut.get(id)!;
    for (const to of out.waiting)
      this.#cluster.sysplex.send(
        this.name,
        to,
        'liveUpdate',
        null,
        { dataSet: out.dataSet, handles: out.handles },
        id,
      );
    out.timer = this.#cluster.scheduler.add(
      { kind: 'timer', timer: 'liveUpdateRetry', update: id, member: this.name },
      () => this.#sendLive(id),
      { delay: this.#cluster.timing.routeRetry, owner: this.name },
    );
  }

  #liveAcked(id: string, from: string): void {
    const out = this.#liveOut.get(id);
    if (!out) return;
    out.waiting.delete(from);
    if (out.waiting.size === 0) {
      this.#cluster.scheduler.cancel(out.timer);
      this.#liveOut.delete(id);
    }
  }

  /** Reads a data set into a new in-store copy (a snapshot: O(1), DESIGN.md step 5 inside the suspension). */
  readCopy(dataSet: string): InStoreCopy {
    const header = this.#cluster.dasd.header(dataSet);
    if (header.mkvp === null) throw new Error(`data set ${dataSet} has no MKVP in its header`);
    return new InStoreCopy(dataSet, header.mkvp, this.#cluster.dasd.snapshot(dataSet));
  }

  // ---- the member's part of the steps ----

  /** `switch` (and the initiator's part of `commit`): set the master key, make the target active, its staged copy live. */
  switchTo(change: string, target: string, action?: SpecAction): boolean {
    const c = this.#cluster;
    if (this.switched && this.active === target) return true;
    const header = c.dasd.header(target);
    const mismatch = this.keyMismatch(header.mkvp!, target); // applyDelta wrote it before commit (NoEarlyActivation)
    if (mismatch !== null) {
      this.fence(change, `it cannot switch to ${target}: ${mismatch.message}`);
      return false;
    }
    this.#setMasterKeyTo(header.mkvp!);
    this.live = this.staged?.dataSet === target ? this.staged : this.readCopy(target);
    this.staged = null;
    this.active = target;
    this.switched = true;
    this.change = change;
    c.emit({
      event: 'switch',
      actor: this.name,
      change,
      dataSet: target,
      cur: this.cur.mkvp!,
      records: this.live.size,
      ...(action ? { action } : {}),
    });
    return true;
  }

  /** Sets the master key on every active coprocessor whose cur is not `mkvp` (keyMismatch found its committed new is). true if any was set. */
  #setMasterKeyTo(mkvp: string): boolean {
    const behind = this.activeCoprocessors().filter((c) => c.cur.mkvp !== mkvp);
    for (const cp of behind) cp.setMasterKey();
    return behind.length > 0;
  }

  /**
   * `fence` (DESIGN.md "Failures"): it must not serve under mixed keys, so ICSF shuts down
   * (CSFM621I): it leaves the group, acknowledges nothing, and comes back only by a restart and
   * its restart check. Its callers learn nothing more, as when it crashes.
   */
  fence(change: string | null, reason: string, action?: SpecAction): void {
    if (!this.up) return;
    this.#cluster.emit({
      event: 'fence',
      actor: this.name,
      change,
      reason,
      ...(action ? { action } : {}),
    });
    this.#leave('fenced');
  }

  // ---- messages ----

  onMessage(m: Message): void {
    const c = this.#cluster;
    const body = m.body as Record<string, unknown>;
    // A request's acknowledgement; `again` when the member did its part before: the ack line is
    // then the spec action (its part, taken again).
    const ack = (type: MessageType, again?: SpecAction): void =>
      c.sysplex.send(this.name, m.from, type, m.change, {}, undefined, again);
    // A request read and not acted on.
    const ignore = (reason: string): void =>
      c.emit({
        event: 'ignore',
        actor: this.name,
        msg: m.type,
        id: m.id,
        from: m.from,
        change: m.change,
        reason,
        action: 'Ignore',
      });
    switch (m.type) {
      case 'routeUpdate':
        // A resend that outlived the incarnation it was sent to is dropped: the sender reported
        // the update `unknown` when that incarnation left, and this one cannot tell it was written.
        if (body.incarnation !== c.sysplex.incarnation(this.name)) return;
        return this.take(body.req as UpdateRequest);
      case 'updateResult': {
        const caller = this.#callers.get(body.id as string);
        if (caller) this.#report(caller.req, body.result as UpdateResult);
        return;
      }
      case 'liveUpdate':
        this.refreshLive(body.dataSet as string, body.handles as Handle[]);
        return c.sysplex.send(this.name, m.from, 'liveUpdateAck', null, {}, m.update);
      case 'liveUpdateAck':
        return this.#liveAcked(m.update!, m.from);
      case 'beginRouting': {
        if (!this.#isCurrent(m, ['running']))
          return ignore('the record does not show this change running');
        if (this.routing && this.change === m.change)
          return ack('beginRoutingAck', 'BeginRoutingAtMember');
        this.routing = true;
        this.change = m.change;
        c.emit({
          event: 'beginRouting',
          actor: this.name,
          change: m.change!,
          action: 'BeginRoutingAtMember',
        });
        return ack('beginRoutingAck');
      }
      case 'reload': {
        if (!this.#isCurrent(m, ['running']))
          return ignore('the record does not show this change running');
        const target = body.target as string;
        const mismatch = this.keyMismatch(body.mkvp as string, target);
        if (mismatch !== null) return this.#refuseReload(m, target, mismatch);
        if (this.staged?.dataSet === target) return ack('reloadAck', 'ReloadAtMember');
        this.staged = this.readCopy(target);
        this.change = m.change;
        c.emit({
          event: 'reload',
          actor: this.name,
          change: m.change!,
          dataSet: target,
          mkvp: this.staged.mkvp,
          records: this.staged.size,
          action: 'ReloadAtMember',
        });
        return ack('reloadAck');
      }
      case 'switch': {
        if (!this.#isCurrent(m, ['committed']))
          return ignore('the record does not show this change committed');
        const target = body.target as string;
        const again = this.switched && this.active === target;
        if (this.switchTo(m.change!, target, 'SwitchAtMember'))
          ack('switchAck', again ? 'SwitchAtMember' : undefined);
        return;
      }
      case 'finish': {
        const active = body.active as string;
        if (c.dasd.readClusterRecord().active !== active)
          return ignore(`the record does not name ${active} active`);
        const again = !(this.routing || this.switched) && this.active === active;
        if (!this.#finishPart(m.change!, active, 'FinishAtMember')) return;
        return ack('finishAck', again ? 'FinishAtMember' : undefined);
      }
      case 'backout': {
        const record = c.dasd.readClusterRecord();
        if (record.changeId === m.change && record.change === 'committed')
          return ignore('never back out after commit');
        // A backout is written to the record before it is sent: while the record shows a change,
        // this one is a late copy of an earlier change's, and touches nothing (the spec's BackoutAtMember).
        if (record.change !== 'none')
          return ignore(`the record shows change ${record.changeId} ${record.change}`);
        const emitted = this.#backoutPart(m.change!, 'BackoutAtMember');
        return ack('backoutAck', emitted ? undefined : 'BackoutAtMember');
      }
      case 'fence':
        // A fence of a change the record no longer shows running is late: a member that took the
        // change over has backed it out since, and no copy runs under mixed keys.
        if (!this.#isCurrent(m, ['running']))
          return ignore('the record does not show this change running');
        return this.fence(m.change, body.reason as string, 'FenceAtMember');
      case 'reloadRefused':
        this.initiator?.reloadRefused(m);
        return;
      case 'beginRoutingAck':
      case 'reloadAck':
      case 'switchAck':
      case 'finishAck':
      case 'backoutAck':
        this.initiator?.acknowledged(m);
        return;
    }
  }

  /**
   * Phase 1's register check: this member could not switch to the target (a register changed
   * since validate: `new` cleared, or loaded with another key). It stages nothing and, instead of
   * acknowledging, refuses: the initiator backs out before commit, rather than fence it at switch.
   */
  #refuseReload(m: Message, target: string, mismatch: KeyMismatch): void {
    const c = this.#cluster;
    c.emit({
      event: 'reloadRefused',
      actor: this.name,
      change: m.change!,
      dataSet: target,
      mkvp: (m.body as { mkvp: string }).mkvp,
      refusal: mismatch.reason,
      reason: mismatch.message,
      action: 'ReloadRefusedAtMember',
    });
    c.sysplex.send(this.name, m.from, 'reloadRefused', m.change, mismatch);
  }

  /**
   * finish renamed the target this switched member is on to the old data set's name, and the
   * record names it so (docs/protocol.md "Archive"): the same data set under its new name. Once a
   * change committed the record names no other data set, so a switched member that finds another
   * name in the record takes it.
   */
  followRename(): void {
    if (!this.switched) return;
    const r = this.#cluster.dasd.readClusterRecord();
    if (r.change !== 'none' || r.active === this.active) return;
    this.active = r.active;
    this.live?.renamed(r.active);
  }

  /** Its part of `finish`: the record names `active` (switching to it first if it had not); routing ends. false if it had to fence. */
  #finishPart(
    change: string,
    active: string,
    action: 'FinishAtMember' | 'FinishFromRecord',
  ): boolean {
    this.followRename();
    if (this.active !== active && !this.switchTo(change, active)) return false;
    if (this.routing || this.switched) {
      this.routing = false;
      this.switched = false;
      this.change = null;
      this.#routesFor = null;
      this.#cluster.emit({ event: 'finish', actor: this.name, change, active, action });
    }
    return true;
  }

  /** Its part of `backout` of `change`: the staged copy dropped, routing ends. false if it had no part of that change to undo. */
  #backoutPart(change: string, action: 'BackoutAtMember' | 'BackoutFromRecord'): boolean {
    if ((this.change ?? this.#routesFor) !== change) return false;
    this.staged = null;
    this.routing = false;
    this.change = null;
    this.#routesFor = null;
    this.#cluster.emit({ event: 'backout', actor: this.name, change, action });
    return true;
  }

  /** Whether the cluster record still shows the message's change in one of `states`. */
  #isCurrent(m: Message, states: ClusterRecord['change'][]): boolean {
    const r = this.#cluster.dasd.readClusterRecord();
    return r.changeId === m.change && states.includes(r.change);
  }

  memberLost(lost: string): void {
    for (const id of [...this.#liveOut.keys()]) this.#liveAcked(id, lost);
    this.#unknownOutcomes(lost);
    // a initiator that validated and never began does nothing: this member may have to take over
    if (this.initiator && !this.initiator.validatedOnly) return this.initiator.memberLost(lost);
    this.maybeTakeover(lost);
  }

  memberJoined(joined: string): void {
    this.initiator?.memberJoined(joined);
  }

  /**
   * DESIGN.md: if the initiator is lost, a surviving member reads the cluster record. `running` or
   * `committed`: the first surviving member by name takes over. The initiator the record names is
   * lost when it is out of the group (crashed, cut off or fenced), when the group just reported it
   * `lost` (it may be back already, but it lost its memory), or when it is this member, restarted.
   * `none`: the change is over; a member still in it settles on its own.
   */
  maybeTakeover(lost?: string): void {
    const c = this.#cluster;
    const validated = this.initiator?.validatedOnly ?? false;
    if ((this.initiator && !validated) || this.phase !== 'up') return;
    const record = c.dasd.readClusterRecord();
    if (record.change === 'none') return this.#settleFromRecord(record);
    const initiator = record.initiator!;
    const initiatorGone =
      !c.sysplex.inGroup(initiator) || initiator === lost || initiator === this.name;
    if (!initiatorGone || c.driver() !== null || c.sysplex.group()[0] !== this.name) return;
    // This member's own validation is stale (the record shows another change): its beginRouting
    // is refused (the spec's RecordAsSeen fails) before it takes the orphaned change over.
    if (validated) {
      this.initiator!.beginRouting();
      if (this.initiator || this.phase !== 'up') return;
    }
    Initiator.takeover(c, this, record);
  }

  /**
   * The record says the change is over and no member drives it any more (whoever did was lost
   * before telling this member): the member does its own part of the step that settled it, as the
   * record says. Switched: `finish`. On the data set the record names, not switched: `backout`.
   * On another data set: `finish`, switching first, which sets its master key or fences (the
   * restart check's rule).
   */
  #settleFromRecord(record: ClusterRecord): void {
    const change = this.change ?? this.#routesFor;
    if (
      change === null ||
      !(this.routing || this.staged || this.switched) ||
      this.#cluster.driver() !== null
    )
      return;
    if (this.switched || record.active !== this.active)
      this.#finishPart(change, record.active, 'FinishFromRecord');
    else this.#backoutPart(change, 'BackoutFromRecord');
  }

  // ---- crash, restart, restart check ----

  /** The member goes down (crash, partition, expel). */
  goDown(): void {
    if (this.up) this.#leave('down');
  }

  /**
   * It leaves the group as `phase`: in-memory state is gone, its callers learn nothing more. A
   * member driving a change that is fenced ends as the initiator statechart's `fenced`.
   */
  #leave(phase: 'down' | 'fenced'): void {
    const c = this.#cluster;
    this.#unknownOutcomes('every');
    this.initiator?.lostBeforeStart();
    this.initiatorStep =
      phase === 'fenced' && (this.initiator || this.initiatorStep === 'fenced') ? 'fenced' : null;
    this.phase = phase;
    this.initiator = null;
    this.live = null;
    this.staged = null;
    this.routing = false;
    this.switched = false;
    this.change = null;
    this.#routesFor = null;
    this.#written.clear();
    this.#liveOut.clear();
    c.scheduler.cancelOwnedBy(this.name);
    c.sysplex.leave(this.name);
  }

  /** The member starts again (a fenced one, when the operator restarts it): its restart check runs as its next action. */
  startUp(): void {
    if (this.up) return;
    this.phase = 'restartCheck';
    this.#cluster.scheduler.add(
      { kind: 'work', step: 'restartCheck', member: this.name },
      () => this.restartCheck(),
      { owner: this.name },
    );
  }

  /**
   * `restartCheck` (DESIGN.md): learn the active data set from the cluster record (the target, if
   * a change is committed), then check the coprocessor against its header: `cur` matches: serve;
   * a committed `new` matches: set the master key first; otherwise stay fenced.
   */
  restartCheck(): void {
    const c = this.#cluster;
    const record = c.dasd.readClusterRecord();
    const active = record.change === 'committed' ? record.target! : record.active;
    const header = c.dasd.exists(active) ? c.dasd.header(active) : null;
    const fields = {
      active,
      record: record.change,
      header: header?.mkvp ?? null,
      cur: this.cur.mkvp,
      new: this.new.mkvp,
    };
    const reason =
      header?.usable && header.mkvp !== null
        ? (this.keyMismatch(header.mkvp, active)?.message ?? null)
        : `data set ${active} is missing, unusable or has no MKVP`;
    const result =
      reason !== null ? 'fenced' : this.#setMasterKeyTo(header!.mkvp!) ? 'setMasterKey' : 'serve';
    c.emit({
      event: 'restartCheck',
      actor: this.name,
      ...fields,
      result,
      ...(reason ? { reason } : {}),
      action: result === 'fenced' ? 'FenceOnRestartCheck' : 'restartCheck',
    });
    this.active = active;
    if (result === 'fenced') {
      // it stays out of the group, shut down, until it is restarted again
      this.phase = 'fenced';
      c.emit({ event: 'fence', actor: this.name, change: record.changeId, reason: reason! });
      return;
    }
    this.phase = 'up';
    this.live = this.readCopy(active);
    this.routing = record.change !== 'none';
    this.switched = record.change === 'committed';
    this.change = record.changeId;
    c.sysplex.join(this.name);
    this.maybeTakeover();
  }
}

function opFields(req: UpdateRequest): { handle?: string; token?: string } {
  const op = req.op;
  return 'handle' in op ? { handle: op.handle } : { token: op.token };
}
