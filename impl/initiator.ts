// The initiator of a coordinated change (DESIGN.md "The protocol"): its eight steps, each a
// method named after the step (`validate`, `beginRouting`, `reencipher`, `suspend`, `applyDelta`,
// `reload`, `commit`, `switch`, `finish`, `resume`), and the failure paths (`backout` before
// `commit`, roll-forward after it, `takeover` by the first surviving member by name, `fence`
// when backout cannot finish).
//
// Each step runs as its own scheduler action, so faults can fall between steps. A step that asks
// every member for its part (beginRouting, reload, switch, finish, backout, fence) sends the
// request to every member in the group and waits for the acknowledgements; on a `timeout` it
// sends again to the members still silent, and after the retry budget such a member counts as
// lost: before `commit` that means `backout`; from `commit` on (and in backout and fence) the
// member is expelled from the group, so it stops serving until it rejoins and passes its restart
// check. A member that leaves the group before `commit` also means `backout`.

import { CoprocessorError, type Coprocessor } from './coprocessor.ts';
import { DasdIoError, sameClusterRecord, type ClusterRecord } from './dasd.ts';
import { secureValue, withValue, type Handle, type TkdsRecord } from './tkds.ts';
import { writeRecords, type RecordWrite, type UpdateRequest } from './updates.ts';
import { MIN_LEVEL, type Cluster } from './cluster.ts';
import type { KeyMismatch, Member } from './member.ts';
import type { Message } from './sysplex.ts';
import type { MessageType, Outcome, RefusalReason, SpecAction, StepName } from './vocabulary.ts';

/** Steps whose start or done line is a spec action of the initiator (CoordinatedCMK.tla). */
const STEP_START_ACTIONS: Partial<Record<StepName, SpecAction>> = {
  switch: 'SwitchByInitiator',
  resume: 'resume',
};
const STEP_DONE_ACTIONS: Partial<Record<StepName, SpecAction>> = {
  reencipher: 'reencipher',
  suspend: 'suspend',
  applyDelta: 'applyDelta',
};

/** The initiator's statechart states (docs/protocol.md "States"). */
export type InitiatorStep =
  'idle' | 'validate' | 'refused' | StepName | 'completed' | 'backedOut' | 'fenced';

/** One reason `validate` refuses, naming the member or data set. */
export interface Refusal {
  readonly subject: string;
  readonly reason: RefusalReason;
  readonly message: string;
}
/** The refusal that makes the initiator back out (phase 1's register check), as its backout start line shows it. */
type BackoutRefusal = Omit<Refusal, 'message'>;

/** `validate`: every refusal (nothing changes). */
export function validate(
  cluster: Cluster,
  initiator: Member,
  target: string,
  archive: string | null,
): Refusal[] {
  const out: Refusal[] = [];
  const refuse = (subject: string, reason: RefusalReason, message: string): void => {
    out.push({ subject, reason, message });
  };
  const { dasd, sysplex } = cluster;
  const record = dasd.readClusterRecord();
  if (record.change !== 'none') {
    refuse(
      record.initiator ?? 'cluster',
      'changeRunning',
      `change ${record.changeId} of ${record.active} to ${record.target} by ${record.initiator} is ${record.change}`,
    );
  }
  // this member still drives a change whose record write settled it (it resumes, or awaits acknowledgements)
  const busy = initiator.initiator;
  if (busy && record.change === 'none') {
    refuse(
      initiator.name,
      'changeRunning',
      `${initiator.name} still drives change ${busy.change} (${busy.phase})`,
    );
  }
  const reference = initiator.new.status === 'committed' ? initiator.new.mkvp : null;
  for (const name of cluster.names()) {
    const m = cluster.member(name);
    if (m.phase !== 'up' || m.fenced || !sysplex.inGroup(name)) {
      refuse(
        name,
        'memberNotActive',
        `${name} is not active (${m.fenced ? 'fenced' : m.phase}); work is not queued for inactive members`,
      );
      continue;
    }
    if (m.level < MIN_LEVEL)
      refuse(name, 'levelBelowHCR77A0', `${name} is at ${m.level}, below ${MIN_LEVEL}`);
    if (!m.hasActiveCoprocessor()) {
      refuse(name, 'noActiveCoprocessor', `${name} has no active Enterprise PKCS #11 coprocessor`);
      continue;
    }
    // every active coprocessor of the member, against the initiator's (that of its cp())
    for (const cp of m.activeCoprocessors()) {
      const n = cp.new;
      if (n.status !== 'committed') {
        refuse(
          name,
          'newNotCommitted',
          `${name}: the new master key register is ${n.status}${n.partsLoaded ? ` (${n.partsLoaded} parts)` : ''} on coprocessor ${cp.serial}, not committed`,
        );
      } else if (reference !== null && n.mkvp !== reference) {
        refuse(
          name,
          'newMkvpDiffers',
          `${name}: new master key MKVP ${n.mkvp} differs from the initiator ${initiator.name}'s ${reference} on coprocessor ${cp.serial}`,
        );
      }
    }
  }
  if (target === initiator.active)
    refuse(target, 'targetIsActive', `target data set ${target} is the active data set`);
  else {
    const bad = targetRefusal(cluster, target);
    if (bad) out.push(bad);
  }
  if (archive !== null && dasd.exists(archive))
    refuse(archive, 'archiveExists', `archive name ${archive} exists`);
  return out;
}

/** Why the target cannot take a change now: missing, the active data set, or not empty (validate, and again at beginRouting). */
function targetRefusal(cluster: Cluster, target: string): Refusal | null {
  const { dasd } = cluster;
  if (!dasd.exists(target))
    return {
      subject: target,
      reason: 'targetMissing',
      message: `target data set ${target} does not exist`,
    };
  if (target === dasd.readClusterRecord().active)
    return {
      subject: target,
      reason: 'targetIsActive',
      message: `target data set ${target} is the active data set`,
    };
  const h = dasd.header(target);
  if (dasd.count(target) === 0 && h.mkvp === null && h.usable) return null;
  return {
    subject: target,
    reason: 'targetNotEmpty',
    message: `target data set ${target} is not empty (${dasd.count(target)} records${h.usable ? '' : ', marked unusable by a backout'})`,
  };
}

const ACK: Partial<Record<MessageType, MessageType>> = {
  beginRouting: 'beginRoutingAck',
  reload: 'reloadAck',
  switch: 'switchAck',
  finish: 'finishAck',
  backout: 'backoutAck',
};

interface Fanout {
  readonly step: StepName;
  readonly type: MessageType;
  readonly body: object;
  readonly waiting: Set<string>;
  readonly tries: Map<string, number>;
  timer: number | null;
  readonly done: () => void;
}

export class Initiator {
  readonly change: string;
  readonly target: string;
  readonly old: string;
  /** The archive name asked for (the initiator's; a takeover's from the cluster record), or null. */
  archive: string | null = null;
  readonly #cluster: Cluster;
  readonly #member: Member;
  #phase: InitiatorStep = 'idle';
  committed = false;
  suspended = false;
  #routingStarted = false;
  #backingOut = false;
  #takingOver = false;
  readonly #delta: { req: UpdateRequest; writes: readonly RecordWrite[] }[] = [];
  readonly #waiting: UpdateRequest[] = [];
  #cursor: Handle | null = null;
  #fanout: Fanout | null = null;
  #nextStep: number | null = null; // the scheduled action of the next step (cancelled by backout and fence)
  /** The other members of the change, with the incarnation each was in when it validated. */
  #participants = new Map<string, number>();
  /** The members down when this initiator's beginRouting wrote the record: none of them was lost during the change. */
  #downAtRecord = new Set<string>();
  #open: { step: StepName; tick: number; wall: number } | null = null;
  /** The new master key the change goes to: the initiator's committed `new` at validate (the target header gets it). */
  #newMkvp: string | null = null;
  /** The cluster record as `validate` read it: beginRouting's compare-and-set expects it whole (the spec's `seen`). */
  #seen: ClusterRecord | null = null;

  private constructor(
    cluster: Cluster,
    member: Member,
    change: string,
    old: string,
    target: string,
  ) {
    this.#cluster = cluster;
    this.#member = member;
    this.change = change;
    this.old = old;
    this.target = target;
    member.initiator = this;
  }

  get phase(): InitiatorStep {
    return this.#phase;
  }
  /** The change runs: the cluster record was set `running` by this initiator (or taken over). */
  get running(): boolean {
    return this.#routingStarted;
  }
  /** The step a fault `at` matches: the phase, or 'takeover' while the takeover writes the record. */
  get faultStep(): InitiatorStep | 'takeover' {
    return this.#takingOver ? 'takeover' : this.#phase;
  }
  get me(): string {
    return this.#member.name;
  }
  /** Validated, and beginRouting has not run yet: the change has not begun (nothing written, nothing sent). */
  get validatedOnly(): boolean {
    return this.#phase === 'validate';
  }

  #setPhase(p: InitiatorStep): void {
    this.#phase = p;
    this.#member.initiatorStep = p;
  }

  // ---- starting a change ----

  /** The operator starts a change at `member`: `validate`, then (if nothing is refused) the steps. */
  static start(cluster: Cluster, member: Member): { change: string; refusals: Refusal[] } {
    const change = cluster.nextChangeId();
    const { target, archive } = cluster.settings;
    member.initiatorStep = 'validate';
    const t0 = { tick: cluster.tick, wall: performance.now() };
    cluster.emit({ event: 'step', actor: member.name, step: 'validate', phase: 'start', change });
    cluster.hooks.stepStarting('validate', member.name);
    if (!member.up) {
      // The initiator went down while it validated: a member that is down does nothing, and the
      // change never began (as in lostBeforeStart).
      new Initiator(cluster, member, change, member.active, target).#end('backedOut');
      return { change, refusals: [] };
    }
    const seen = cluster.dasd.readClusterRecord();
    const refusals = validate(cluster, member, target, archive);
    cluster.emit({
      event: 'step',
      actor: member.name,
      step: 'validate',
      phase: 'done',
      change,
      result: refusals.length ? 'refused' : 'ok',
      members: cluster.names(),
      active: member.active,
      target,
      ...(refusals.length
        ? { refusals: refusals.map(({ subject, reason }) => ({ subject, reason })) }
        : {}),
      action: 'validate',
    });
    cluster.steps.push({
      step: 'validate',
      actor: member.name,
      startTick: t0.tick,
      endTick: cluster.tick,
      wallMs: performance.now() - t0.wall,
    });
    if (refusals.length) {
      member.initiatorStep = 'refused';
      cluster.outcomes.set(change, 'refused');
      cluster.emit({ event: 'outcome', actor: member.name, change, outcome: 'refused' });
      return { change, refusals };
    }
    const co = new Initiator(cluster, member, change, member.active, target);
    co.#newMkvp = member.new.mkvp;
    co.#seen = seen;
    co.archive = archive;
    co.#participants = new Map(
      cluster
        .names()
        .filter((n) => n !== member.name)
        .map((n) => [n, cluster.sysplex.incarnation(n)]),
    );
    co.#setPhase('validate');
    co.#next('beginRouting', () => co.beginRouting());
    return { change, refusals };
  }

  /**
   * `takeover` (DESIGN.md): the initiator is lost; the first surviving member by name reads the
   * cluster record: `running` means backout, `committed` means roll forward (switch, finish).
   */
  static takeover(cluster: Cluster, member: Member, record: ClusterRecord): void {
    const stepBefore = member.initiatorStep;
    const co = new Initiator(cluster, member, record.changeId!, record.active, record.target!);
    co.archive = record.archive ?? null;
    const rollForward = record.change === 'committed';
    co.#routingStarted = true; // the change runs: the record says so
    co.#setPhase(rollForward ? 'switch' : 'backout');
    cluster.emit({
      event: 'takeover',
      actor: member.name,
      change: co.change,
      from: record.initiator!,
      record: rollForward ? 'committed' : 'running',
      then: rollForward ? 'rollForward' : 'backout',
      action: 'takeover',
    });
    cluster.hooks.stepStarting('takeover', member.name);
    if (!co.#alive()) return;
    co.suspended = true; // updates wait until `resume`
    if (record.initiator !== member.name) {
      co.#takingOver = true;
      try {
        const ok = cluster.dasd.compareAndSetClusterRecord(
          record,
          { ...record, initiator: member.name },
          { by: member.name },
        );
        if (!ok) return co.#abandon('the cluster record changed under the takeover');
      } catch (e) {
        if (!(e instanceof DasdIoError)) throw e;
        return rollForward
          ? co.#retryTakeover(stepBefore, record.initiator!)
          : co.fence(`takeover could not write the cluster record: ${e.message}`);
      } finally {
        co.#takingOver = false;
      }
    }
    if (!rollForward) return co.backout(`initiator ${record.initiator} lost before commit`);
    co.committed = true;
    co.#next('switch', () => co.switch());
  }

  // ---- steps ----

  /** `beginRouting`: the cluster record goes none -> running; every member routes updates here. */
  beginRouting(): void {
    if (!this.#enter('beginRouting')) return;
    const c = this.#cluster;
    // The record validate read, whole (the spec's RecordAsSeen): an initiator that validated
    // before another change began or ended must lose, for the active data set may have moved on.
    // A backout of another change since leaves the record as validate read it: the target it
    // marked unusable tells (refused as validate would: targetNotEmpty).
    const seen = this.#seen!;
    const target = targetRefusal(c, this.target);
    let ok: boolean;
    try {
      ok =
        target === null &&
        seen.change === 'none' &&
        c.dasd.compareAndSetClusterRecord(
          seen,
          {
            active: this.old,
            change: 'running',
            initiator: this.me,
            target: this.target,
            changeId: this.change,
            ...(this.archive !== null ? { archive: this.archive } : {}),
          },
          { by: this.me },
        );
    } catch (e) {
      return this.#failed('beginRouting', e);
    }
    if (!ok) {
      const now = c.dasd.readClusterRecord();
      c.emit({
        event: 'step',
        actor: this.me,
        step: 'beginRouting',
        phase: 'done',
        change: this.change,
        result: 'refused',
        refusals: [
          target && sameClusterRecord(now, seen)
            ? { subject: target.subject, reason: target.reason }
            : { subject: now.initiator ?? 'cluster', reason: 'changeRunning' },
        ],
        action: 'BeginRoutingByInitiator',
      });
      this.#closeStep();
      return this.#end('refused');
    }
    this.#routingStarted = true;
    this.#downAtRecord = new Set(c.names().filter((n) => !c.sysplex.inGroup(n)));
    this.#member.routing = true;
    this.#member.change = this.change;
    c.emit({ event: 'beginRouting', actor: this.me, change: this.change });
    if (this.#participantLost()) return;
    this.#fanOut('beginRouting', 'beginRouting', {}, () => {
      this.#done('beginRouting', {
        members: c.sysplex.group(),
        active: this.old,
        target: this.target,
      });
      this.#next('reencipher', () => this.reencipher());
    });
  }

  /** `reencipher`: every record of the active data set into the target, secure values rewrapped cur -> new; one chunk per action. */
  reencipher(): void {
    const c = this.#cluster;
    if (this.#cursor === null && this.#phase !== 'reencipher') {
      if (!this.#enter('reencipher')) return;
      c.counts.records = c.dasd.count(this.old);
    }
    try {
      const page = c.dasd.scan(this.old, this.#cursor, c.timing.chunk);
      const cp = this.#member.cp();
      for (const r of page) {
        c.dasd.put(this.target, this.#rewrapped(r, cp), { by: this.me });
        if (r.kind === 'object' && r.value.type === 'secure') c.counts.rewrapped++;
        else c.counts.copied++;
      }
      if (page.length > 0) this.#cursor = page[page.length - 1]!.handle;
      const done = c.counts.rewrapped + c.counts.copied;
      c.emit({
        event: 'reencipher',
        actor: this.me,
        change: this.change,
        from: this.old,
        to: this.target,
        done,
        total: Math.max(done, c.dasd.count(this.old)),
        rewrapped: c.counts.rewrapped,
        copied: c.counts.copied,
      });
      if (page.length < c.timing.chunk) {
        this.#done('reencipher', {
          records: done,
          rewrapped: c.counts.rewrapped,
          copied: c.counts.copied,
        });
        return this.#next('suspend', () => this.suspend());
      }
    } catch (e) {
      return this.#failed('reencipher', e);
    }
    this.#next('reencipher', () => this.reencipher());
  }

  #rewrapped(r: TkdsRecord, cp: Coprocessor): TkdsRecord {
    return r.kind === 'object' && r.value.type === 'secure'
      ? withValue(r, secureValue(cp.rewrap(r.value.blob)))
      : r;
  }

  /** `suspend`: dynamic update processing pauses; requests wait (or fail if dynamic updates are disallowed). */
  suspend(): void {
    if (!this.#enter('suspend')) return;
    this.suspended = true;
    this.#cluster.suspension = {
      startTick: this.#cluster.tick,
      endTick: this.#cluster.tick,
      wallMs: 0,
      startWall: performance.now(),
    };
    this.#done('suspend', {});
    this.#next('applyDelta', () => this.applyDelta());
  }

  /** `applyDelta`: the updates routed here since `beginRouting` go to the target; the target header gets the new MKVP. */
  applyDelta(): void {
    if (!this.#enter('applyDelta')) return;
    const c = this.#cluster;
    try {
      const cp = this.#member.cp();
      for (const { req, writes } of this.#delta) {
        const rewritten = writes.map((w) =>
          w.record === null ? w : { handle: w.handle, record: this.#rewrapped(w.record, cp) },
        );
        writeRecords(c.dasd, this.target, rewritten, { by: this.me, update: req.id });
        c.emit({
          event: 'update',
          actor: this.me,
          phase: 'apply',
          id: req.id,
          op: req.op.op,
          handle: writes[writes.length - 1]!.handle,
          dataSet: this.target,
          origin: req.origin,
        });
        c.counts.deltaApplied++;
      }
      c.dasd.writeHeader(this.target, this.#newMkvp!, { by: this.me });
    } catch (e) {
      return this.#failed('applyDelta', e);
    }
    this.#done('applyDelta', {
      delta: this.#delta.length,
      mkvp: this.#newMkvp!,
      target: this.target,
    });
    this.#next('reload', () => this.reload());
  }

  /** `reload` (phase 1): every member, this one too, builds a staged copy from the target and acknowledges. */
  reload(): void {
    if (!this.#enter('reload')) return;
    const c = this.#cluster;
    const m = this.#member;
    if (this.#participantLost()) return;
    m.staged = m.readCopy(this.target);
    c.emit({
      event: 'reload',
      actor: this.me,
      change: this.change,
      dataSet: this.target,
      mkvp: m.staged.mkvp,
      records: m.staged.size,
      action: 'ReloadByInitiator',
    });
    this.#fanOut('reload', 'reload', { target: this.target, mkvp: m.staged.mkvp }, () => {
      this.#done('reload', { target: this.target, members: c.sysplex.group() });
      this.#next('commit', () => this.commit());
    });
  }

  /** `commit`: the point of no return. Record running -> committed first; then this member switches. */
  commit(): void {
    if (!this.#enter('commit')) return;
    if (this.#participantLost()) return;
    const c = this.#cluster;
    // phase 1's register check, at the initiator (its switch follows the record write at once)
    const mismatch = this.#member.keyMismatch(this.#newMkvp!, this.target);
    if (mismatch !== null)
      return this.backout(
        `${this.me} cannot switch to ${this.target}: ${mismatch.message}`,
        undefined,
        { subject: this.me, reason: mismatch.reason },
      );
    const record = c.dasd.readClusterRecord();
    try {
      const ok =
        record.changeId === this.change &&
        record.change === 'running' &&
        record.initiator === this.me &&
        c.dasd.compareAndSetClusterRecord(
          record,
          { ...record, change: 'committed' },
          { by: this.me },
        );
      if (!ok) return this.#abandon('the cluster record no longer shows this change running here');
    } catch (e) {
      return this.#failed('commit', e);
    }
    this.committed = true;
    this.#done('commit', { target: this.target, mkvp: this.#newMkvp! });
    this.#next('switch', () => this.switch());
  }

  /** `switch` (phase 2): every member sets its master key, makes the target active and its staged copy live. */
  /**
   * `switch` (phase 2): this initiator sets its master key and goes live on the target (the second
   * half of DESIGN.md's `commit`, after the record write), then asks each member: one action, the
   * spec's SwitchByInitiator.
   */
  switch(): void {
    if (!this.#member.switchTo(this.change, this.target))
      return this.#abandon(`${this.me} cannot switch`);
    if (!this.#enter('switch')) return;
    this.#fanOut('switch', 'switch', { target: this.target }, () => {
      this.#done('switch', { target: this.target });
      this.#next('finish', () => this.finish());
    });
  }

  /** `finish`: the record names the target active, change none; the optional archive; routing ends. */
  finish(): void {
    if (this.#phase !== 'finish' && !this.#enter('finish')) return;
    const c = this.#cluster;
    try {
      const record = c.dasd.readClusterRecord();
      if (record.changeId === this.change) {
        const ok = c.dasd.compareAndSetClusterRecord(
          record,
          { active: this.target, change: 'none', initiator: null, target: null, changeId: null },
          { by: this.me },
        );
        if (!ok) return this.#abandon('the cluster record changed under finish');
      }
      this.#decide('completed');
    } catch (e) {
      if (!(e instanceof DasdIoError)) throw e;
      this.#doneFailed('finish', `${e.message}; finish is retried`);
      return this.#retryLater(() => this.finish());
    }
    const active = this.#archive();
    if (active === null) return this.#retryLater(() => this.finish());
    const m = this.#member;
    m.followRename();
    m.routing = false;
    m.switched = false;
    m.change = null;
    c.emit({ event: 'finish', actor: this.me, change: this.change, active });
    this.#fanOut('finish', 'finish', { active }, () => {
      this.#done('finish', { active });
      this.#next('resume', () => this.resume('completed'));
    });
  }

  /**
   * The archive, as ICSF does it (docs/protocol.md "Archive"), once the record names the target:
   * the old data set is renamed to the archive name, then the target to the old data set's name
   * (the TKDS name the members are set up with stays valid), then the record names it. Never
   * deleted, and an existing name is never overwritten. A failed rename leaves the target active
   * under its own name; a failed record write renames it back. Returns the name the new data set
   * has now, or null if the record names a data set that is gone (the record write and the
   * rename back both failed: finish is retried, and writes the record first, nothing renamed).
   */
  #archive(): string | null {
    const c = this.#cluster;
    const { dasd } = c;
    const to = this.archive;
    if (to === null) return this.target;
    const by = { by: this.me };
    const said = (from: string, name: string, reason?: string): void =>
      c.emit({
        event: 'archive',
        actor: this.me,
        from,
        to: name,
        ...(reason === undefined ? { result: 'ok' } : { result: 'failed', reason }),
      });
    const failed = (from: string, name: string, reason: string): string => {
      said(from, name, reason);
      return this.target;
    };
    const io = (e: unknown): DasdIoError => {
      if (!(e instanceof DasdIoError)) throw e;
      return e;
    };
    // the progress is on disk: both names (nothing renamed yet), the old name only (both renamed)
    if (dasd.exists(this.target) && dasd.exists(this.old)) {
      if (dasd.exists(to))
        return failed(this.old, to, `${to} exists; ${this.old} is kept under its name`);
      try {
        dasd.rename(this.old, to, by);
      } catch (e) {
        return failed(this.old, to, `${io(e).message}; ${this.old} is kept under its name`);
      }
      said(this.old, to);
      try {
        dasd.rename(this.target, this.old, by);
      } catch (e) {
        const why = `${io(e).message}; ${this.target} stays active under its name`;
        return failed(this.target, this.old, why);
      }
      said(this.target, this.old);
    }
    const record = dasd.readClusterRecord();
    if (record.active !== this.target) return record.active;
    try {
      if (!dasd.compareAndSetClusterRecord(record, { ...record, active: this.old }, by))
        return null;
    } catch (e) {
      const reason = io(e).message;
      try {
        dasd.rename(this.old, this.target, by);
      } catch (again) {
        io(again);
        return null;
      }
      const why = `${reason}; ${this.target} got its name back and stays active`;
      return failed(this.target, this.old, why);
    }
    return this.old;
  }

  /** `resume`: the suspension ends; waiting updates are processed against the (new or old) active data set. */
  resume(outcome: 'completed' | 'backedOut'): void {
    if (!this.#enter('resume')) return;
    const c = this.#cluster;
    this.suspended = false;
    if (c.suspension) {
      c.suspension.endTick = c.tick;
      c.suspension.wallMs = performance.now() - c.suspension.startWall;
    }
    const waiting = this.#waiting.splice(0);
    this.#member.initiator = null; // updates are processed as usual from here on
    // A waiting update whose caller's member went down since was reported `unknown` there: dropped.
    for (const req of waiting)
      if (!this.#member.callerGone(req))
        this.#member.answer(
          req,
          this.#member.write(req, this.#member.active, 'ApplyRouted').result,
          true,
        );
    this.#done('resume', { waiting: waiting.length, active: this.#member.active });
    this.#end(outcome);
  }

  /** `backout` (before `commit` only): staged copies dropped, target marked unusable, routing ends, record running -> none. */
  backout(reason: string, action?: SpecAction, refusal?: BackoutRefusal): void {
    if (this.committed)
      throw new Error(
        `NoBackoutAfterCommit: change ${this.change} is committed; ${this.me} must roll forward (${reason})`,
      );
    if (this.#backingOut) return;
    this.#backingOut = true;
    this.#cancelFanout();
    if (!this.#enter('backout', reason, action, refusal)) return;
    // beginRouting's record write failed: the change never began; nothing to undo, no one to tell
    if (!this.#routingStarted) {
      this.#done('backout', { active: this.old });
      return this.#end('backedOut');
    }
    const c = this.#cluster;
    const m = this.#member;
    this.suspended = true;
    m.staged = null;
    try {
      if (c.dasd.exists(this.target)) c.dasd.markUnusable(this.target, { by: this.me });
      const record = c.dasd.readClusterRecord();
      if (record.changeId === this.change && record.change === 'running') {
        c.dasd.compareAndSetClusterRecord(
          record,
          { active: this.old, change: 'none', initiator: null, target: null, changeId: null },
          { by: this.me },
        );
      }
    } catch (e) {
      if (!(e instanceof DasdIoError)) throw e;
      this.#doneFailed('backout', e.message);
      this.#closeStep();
      return this.fence(`backout could not finish: ${e.message}`);
    }
    this.#decide('backedOut');
    m.routing = false;
    m.change = null;
    c.emit({ event: 'backout', actor: this.me, change: this.change });
    this.#fanOut('backout', 'backout', {}, () => {
      this.#done('backout', { active: this.old });
      this.#next('resume', () => this.resume('backedOut'));
    });
  }

  /**
   * `fence`: backout cannot finish. The members must refuse secure work rather than run with mixed
   * keys: this initiator tells every member in the group to fence and shuts down (the spec's
   * FenceOnIoError); the updates it holds fail. The record still says running: the first member
   * in the group by name takes over and backs out again.
   */
  fence(reason: string): void {
    const c = this.#cluster;
    this.#cancelFanout();
    this.#setPhase('fenced');
    for (const req of this.#waiting.splice(0))
      this.#member.answer(req, { ok: false, reason: 'fenced' });
    // the spec's FenceOnIoError is one step: its line, then the fence requests it puts on their way
    const group = c.sysplex.group().filter((n) => n !== this.me);
    this.#member.fence(this.change, reason, 'FenceOnIoError');
    for (const to of group) c.sysplex.send(this.me, to, 'fence', this.change, { reason });
    this.#decide('fenced');
  }

  /**
   * This initiator goes down before `beginRouting` wrote the cluster record: the change never
   * began, nothing is left to undo and no one will take it over; it ends as backed out.
   */
  lostBeforeStart(): void {
    if (this.#routingStarted) return;
    this.#cancelFanout();
    this.#end('backedOut');
  }

  // ---- updates, acknowledgements, membership ----

  /** A dynamic update reaches the initiator: processed against the active data set (kept in the delta), or held by the suspension. */
  takeUpdate(req: UpdateRequest): void {
    const c = this.#cluster;
    const m = this.#member;
    const done = m.writtenResult(req.id);
    if (done) return m.answer(req, done);
    if (this.suspended) {
      if (!c.settings.dynamicUpdates)
        return m.answer(req, { ok: false, reason: 'dynamicUpdatesDisabled' }, true);
      if (this.#waiting.some((w) => w.id === req.id)) return;
      this.#waiting.push(req);
      c.counts.waited++;
      c.emit({
        event: 'update',
        actor: this.me,
        phase: 'wait',
        id: req.id,
        op: req.op.op,
        origin: req.origin,
      });
      return;
    }
    const w = m.write(req, this.old, 'ApplyRouted');
    if (w.writes) this.#delta.push({ req, writes: w.writes });
    m.answer(req, w.result, true);
  }

  /** A member refused its part of reload (phase 1's register check): back out before commit. */
  reloadRefused(msg: Message): void {
    const { reason, message } = msg.body as KeyMismatch;
    if (msg.change !== this.change || this.#fanout?.type !== 'reload') return; // late: the change moved on
    this.backout(`${msg.from} refused reload: ${message}`, undefined, {
      subject: msg.from,
      reason,
    });
  }

  acknowledged(msg: Message): void {
    const f = this.#fanout;
    if (!f || msg.change !== this.change || ACK[f.type] !== msg.type || !f.waiting.delete(msg.from))
      return;
    this.#checkFanout();
  }

  memberLost(lost: string): void {
    // validated, not begun: nothing to undo or tell (beginRouting checks the participants)
    if (this.validatedOnly) return;
    if (!this.committed && !this.#backingOut)
      return this.backout(`member ${lost} lost before commit`);
    if (this.#fanout?.waiting.delete(lost)) this.#checkFanout();
  }

  memberJoined(joined: string): void {
    const f = this.#fanout;
    if (!f || !(this.committed || f.step === 'backout')) return;
    // a late notice: the member left the group again since (its memberLost follows)
    if (!this.#cluster.sysplex.inGroup(joined)) return;
    // one down before the change began, and back, has nothing of it to catch up on (its restart
    // check read the record): the spec's memberJoined is for a member lost during the change
    if (this.#downAtRecord.delete(joined)) return;
    f.waiting.add(joined);
    this.#send(f, joined, 'memberJoined');
  }

  // ---- machinery ----

  #alive(): boolean {
    return this.#member.initiator === this && this.#member.up;
  }

  /** Starts a step: trace, timing, and the faults set at it. false if this initiator did not survive them. */
  #enter(
    step: StepName,
    reason?: string,
    action: SpecAction | undefined = STEP_START_ACTIONS[step],
    refusal?: BackoutRefusal,
  ): boolean {
    const c = this.#cluster;
    this.#setPhase(step);
    c.emit({
      event: 'step',
      actor: this.me,
      step,
      phase: 'start',
      change: this.change,
      ...(reason ? { reason } : {}),
      ...(refusal ? { refusals: [refusal] } : {}),
      ...(action ? { action } : {}),
    });
    this.#open = { step, tick: c.tick, wall: performance.now() };
    c.hooks.stepStarting(step, this.me);
    return this.#alive();
  }

  /** The `step ... done` line of a step that ended well (with its spec action, if it has one). */
  #done(step: StepName, fields: Record<string, unknown>): void {
    const action = STEP_DONE_ACTIONS[step];
    this.#emitDone(step, { result: 'ok', ...fields, ...(action ? { action } : {}) });
    this.#closeStep();
  }

  #emitDone(step: StepName, fields: Record<string, unknown>): void {
    this.#cluster.emit({
      event: 'step',
      actor: this.me,
      step,
      phase: 'done',
      change: this.change,
      ...fields,
    });
  }

  #closeStep(): void {
    const o = this.#open;
    if (!o) return;
    this.#cluster.steps.push({
      step: o.step,
      actor: this.me,
      startTick: o.tick,
      endTick: this.#cluster.tick,
      wallMs: performance.now() - o.wall,
    });
    this.#open = null;
  }

  #next(label: StepName, run: () => void): void {
    this.#nextStep = this.#cluster.scheduler.add(
      { kind: 'work', step: label, member: this.me },
      () => {
        this.#nextStep = null;
        if (this.#alive()) run();
      },
      { owner: this.me },
    );
  }

  #retryLater(run: () => void): void {
    this.#cluster.scheduler.add(
      { kind: 'timer', timer: 'retry', step: this.#phase, member: this.me },
      () => {
        if (this.#alive()) run();
      },
      { delay: this.#cluster.timing.ackTimeout, owner: this.me },
    );
  }

  /**
   * A roll-forward takeover could not write the cluster record, so it took nothing over: this
   * member stops driving (the lost initiator may come back and drive its change meanwhile) and
   * later reads the record again, taking over only if it still must (Member.maybeTakeover).
   */
  #retryTakeover(stepBefore: InitiatorStep | null, lostInitiator: string): void {
    const c = this.#cluster;
    const m = this.#member;
    m.initiator = null;
    m.initiatorStep = stepBefore;
    c.scheduler.add(
      { kind: 'timer', timer: 'retry', step: 'takeover', member: m.name },
      () => m.maybeTakeover(lostInitiator),
      { delay: c.timing.ackTimeout, owner: m.name },
    );
  }

  /** The `step ... done` line of a step a failed write (or a coprocessor's refusal) ended. */
  #doneFailed(step: StepName, reason: string): void {
    this.#emitDone(step, { result: 'failed', reason });
  }

  #failed(step: StepName, e: unknown): void {
    if (!(e instanceof DasdIoError) && !(e instanceof CoprocessorError)) throw e;
    this.#doneFailed(step, e.message);
    this.#closeStep();
    // an I/O error is the spec's ioError; a coprocessor's refusal is outside the spec
    this.backout(`${step} failed: ${e.message}`, e instanceof DasdIoError ? 'ioError' : undefined);
  }

  /** This member is no longer the initiator the record names (it was taken over): stop. */
  #abandon(reason: string): void {
    this.#cancelFanout();
    this.#member.initiator = null;
    this.#member.fence(this.change, `stops driving the change: ${reason}`);
  }

  #end(outcome: Outcome): void {
    this.#setPhase(
      outcome === 'refused' ? 'refused' : outcome === 'completed' ? 'completed' : 'backedOut',
    );
    this.#member.initiator = null;
    this.#decide(outcome);
  }

  /**
   * The outcome is decided by the durable write that settles the change: `finish` or `backout`
   * writing the cluster record, or `fence` when backout could not write it. A fenced change is
   * not settled on disk (the record still says running): a member that takes it over and backs it
   * out writes the record, and that write decides the outcome again. Told once per decision.
   */
  #decide(outcome: Outcome): void {
    const c = this.#cluster;
    const decided = c.outcomes.get(this.change);
    if (decided === outcome || (decided !== undefined && decided !== 'fenced')) return;
    c.outcomes.set(this.change, outcome);
    c.emit({ event: 'outcome', actor: this.me, change: this.change, outcome });
  }

  /**
   * Before commit every member of the change must still be the incarnation that validated (a
   * member that left the group, even if it came back, lost its part): if not, back out. True if so.
   */
  #participantLost(): boolean {
    if (this.committed) return false;
    const lost = [...this.#participants].find(
      ([n, inc]) => this.#cluster.sysplex.incarnation(n) !== inc,
    );
    if (lost) this.backout(`member ${lost[0]} lost before commit`);
    return lost !== undefined;
  }

  #fanOut(step: Fanout['step'], type: MessageType, body: object, done: () => void): void {
    const c = this.#cluster;
    // Before commit the request goes to the members of the change; from commit on (and in backout
    // and fence) to every member in the group now.
    const preCommit = step === 'beginRouting' || step === 'reload';
    const targets = preCommit
      ? [...this.#participants.keys()]
      : c.sysplex.group().filter((n) => n !== this.me);
    const f: Fanout = {
      step,
      type,
      body,
      waiting: new Set(targets),
      tries: new Map(),
      timer: null,
      done,
    };
    this.#fanout = f;
    for (const m of targets) this.#send(f, m);
    this.#checkFanout();
  }

  #send(f: Fanout, to: string, action?: SpecAction): void {
    this.#cluster.sysplex.send(this.me, to, f.type, this.change, f.body, undefined, action);
    this.#armTimer(f);
  }

  #armTimer(f: Fanout): void {
    const c = this.#cluster;
    c.scheduler.cancel(f.timer);
    f.timer = c.scheduler.add(
      { kind: 'timer', timer: 'timeout', step: f.step, member: this.me },
      () => this.#timeout(f),
      { delay: c.timing.ackTimeout, owner: this.me },
    );
  }

  #timeout(f: Fanout): void {
    const c = this.#cluster;
    f.timer = null;
    if (this.#fanout !== f) return;
    const silent = [...f.waiting].sort();
    const retry = Math.max(0, ...silent.map((m) => f.tries.get(m) ?? 0)) + 1;
    c.emit({
      event: 'timeout',
      actor: this.me,
      step: f.step,
      waitingFor: silent,
      retry,
      action: 'timeout',
    });
    for (const m of silent) {
      const tries = (f.tries.get(m) ?? 0) + 1;
      f.tries.set(m, tries);
      if (tries <= c.timing.retries) {
        this.#send(f, m);
        continue;
      }
      if (!this.committed && f.step !== 'backout')
        return this.backout(`${m} did not acknowledge ${f.type} after ${c.timing.retries} retries`);
      f.waiting.delete(m);
      c.emit({ event: 'expel', actor: this.me, member: m, action: 'Expel' });
      c.hooks.expelled(m);
    }
    this.#checkFanout();
  }

  #checkFanout(): void {
    const f = this.#fanout;
    if (!f || f.waiting.size > 0) return;
    this.#cluster.scheduler.cancel(f.timer);
    this.#fanout = null;
    f.done();
  }

  /** Stops what this initiator was waiting for or about to do (backout, fence, abandon take over from here). */
  #cancelFanout(): void {
    if (this.#fanout) this.#cluster.scheduler.cancel(this.#fanout.timer);
    this.#fanout = null;
    this.#cluster.scheduler.cancel(this.#nextStep);
    this.#nextStep = null;
  }
}
