// The Simulation: a cluster of members on a shared DASD, driven step by step (the form the CLI,
// the model-based tests and the property tests use), and `simulateChange`, which runs one
// coordinated change to its end on the seeded driver.
//
// Stepwise control: `startChange()` runs `validate` at the initiator (and schedules the steps);
// `pending()` lists the pending actions and `fire(id)` runs a chosen one; `step()` lets the seeded
// driver pick; `runUntilQuiet()` runs until nothing is pending. Environment controls act at once:
// `crash`, `restart`, `partition`, `heal`, `drop`/`duplicate` of a pending delivery, `clearNew`
// and `loadOtherNew` (an operator clears a member's new register, or loads another key, with the TKE). `observe()` gives the ClusterView;
// `checkInvariants()` the invariants (state and trace forms) as things stand.
//
// Everything random is drawn from the seed (schedules, faults, workload, key material), so the
// same options give the same trace, byte for byte. Key material stays inside coprocessors; an
// auditor pair of coprocessors (one per master key of the run) computes key check values for
// SecureValuesPreserved and the KCV report.

import { Coprocessor, blobMkvp, MASTER_KEY_BYTES, type Mkvp } from './coprocessor.ts';
import { KeyCheckValues, kcvText, packKcv } from './key-check-values.ts';
import { Originals } from './originals.ts';
import { MemoryDasd, streamRecords, type DasdWrite, type WriteOp } from './dasd.ts';
import { Rng } from './rng.ts';
import {
  Scheduler,
  Sysplex,
  type MessageCounts,
  type MessageFaultRule,
  type PendingAction,
} from './sysplex.ts';
import {
  compareHandles,
  generateRecords,
  tokenRecord,
  type Handle,
  type SecureValue,
  type TkdsRecord,
} from './tkds.ts';
import { OrderedMap } from './sorted-set.ts';
import { checkUpdateOp, randomUpdateOp, type UpdateOp } from './updates.ts';
import { Cluster, LEVEL, type Counts, type StepTiming, type Timing } from './cluster.ts';
import { Initiator, validate, type Refusal } from './initiator.ts';
import { OptionsError } from './options-error.ts';
import { PctSchedule, SCHEDULES, type ScheduleName } from './pct.ts';
import { Member } from './member.ts';
import {
  checkState,
  mergeResults,
  TraceChecker,
  type AckedUpdate,
  type AuditState,
  type InvariantResult,
} from './invariants.ts';
import { TRACE_VERSION, type TraceEvent, type TraceEventInput } from './trace.ts';
import {
  STEP_NAMES,
  MESSAGE_TYPES,
  WRITE_OPS,
  type MessageType,
  type Outcome,
  type SpecAction,
  type StepName,
} from './vocabulary.ts';
import type { ClusterView } from './view.ts';

/** A member's `new` register at the start (MemberSpec.newKey) and the target data set's state. */
export const NEW_KEY_STATES = ['committed', 'uncommitted', 'differs', 'empty'] as const;
export const TARGET_STATES = ['empty', 'missing', 'notEmpty', 'active'] as const;

export interface MemberSpec {
  name: string;
  level?: string; // default 'HCR77A1'
  coprocessors?: number; // default 1
  activeCoprocessors?: number; // default: all of them
  started?: boolean; // default true
  newKey?: (typeof NEW_KEY_STATES)[number]; // default 'committed'
}

export type Fault =
  | {
      kind: 'crash' | 'partition';
      member: string;
      at: StepName | 'takeover';
      restartAfter?: number;
    }
  | { kind: 'drop' | 'duplicate' | 'delay'; message: MessageType; to?: string; count?: number }
  | {
      kind: 'ioError';
      at: StepName | 'takeover';
      count?: number;
      op?: WriteOp; // only writes of this kind (e.g. `rename`), and
      dataSet?: string; // only writes of this data set (a `record` write: the active one)
    }
  | { kind: 'random'; rate: number; stopAfter?: number };

export interface SimulateOptions {
  seed?: number;
  members?: MemberSpec[]; // default SYSA, SYSB, SYSC
  initiator?: string; // default the first member
  dataSet?: { tokens?: number; objects?: number; secureFraction?: number };
  active?: string; // default 'CSF.TKDS'
  target?: string; // default 'CSF.TKDS.NEW'
  targetState?: (typeof TARGET_STATES)[number];
  updates?: { count?: number; every?: number }; // default none; every: ticks between arrivals (default 5)
  dynamicUpdates?: boolean; // default true; false: updates during the suspension fail
  faults?: Fault[];
  archive?: string;
  chunk?: number; // records per reencipher action (default 25)
  schedule?: ScheduleName; // the seeded driver's choice (default 'random'; 'pct': impl/pct.ts)
  timing?: Partial<Omit<Timing, 'chunk'>>;
  onEvent?: (e: TraceEvent) => void;
  /** Default true. false: the trace is not held in memory (`trace` stays empty); take each line from onEvent as it is emitted. */
  keepTrace?: boolean;
}

export interface SimulationResult {
  outcome: Outcome;
  refusals: Refusal[];
  invariants: InvariantResult[];
  counts: Counts & MessageCounts;
  steps: StepTiming[];
  suspension: { startTick: number; endTick: number; wallMs: number } | null;
  kcv: { before: KeyCheckValues; after: KeyCheckValues };
  trace: TraceEvent[]; // empty if keepTrace was false
}

/** What `plan` reports: the change as it would run, and every reason it would be refused. */
export interface ChangePlan {
  initiator: string;
  members: string[];
  active: string;
  target: string;
  archive: string | null;
  records: { total: number; tokens: number; secure: number; clear: number };
  steps: StepName[];
  refusals: Refusal[];
}

/** Actions (scheduler steps) a run takes at most: one that is not quiet by then did not settle. */
export const MAX_STEPS = 1_000_000;
const DEFAULT_TIMING: Omit<Timing, 'chunk'> = {
  ackTimeout: 20,
  retries: 3,
  rejoinAfter: 40,
  routeRetry: 20,
};
const NAME = /^[A-Z#@$][A-Z0-9#@$]{0,7}$/;
const DATA_SET = /^[A-Z#@$][A-Z0-9#@$-]{0,7}(\.[A-Z#@$][A-Z0-9#@$-]{0,7})*$/;

/** Computes key check values inside coprocessors that hold the run's master keys (cached per value: values are immutable). */
class Auditor {
  readonly #cps = new Map<Mkvp, Coprocessor>();
  readonly #cache = new WeakMap<SecureValue, number>(); // packed (impl/key-check-values.ts)
  add(cp: Coprocessor): void {
    this.#cps.set(cp.cur.mkvp!, cp);
  }
  kcv(value: SecureValue): string | null {
    const k = this.packedKcv(value);
    return k === null ? null : kcvText(k);
  }
  /** The key check value as a number; null if no coprocessor of the run holds the blob's key. */
  packedKcv(value: SecureValue): number | null {
    let k = this.#cache.get(value);
    if (k === undefined) {
      const blob = value.blob;
      const cp = this.#cps.get(blobMkvp(blob));
      if (!cp) return null;
      k = packKcv(cp.keyCheckValue(blob));
      this.#cache.set(value, k);
    }
    return k;
  }
}

function loadKey(cp: Coprocessor, parts: readonly Uint8Array[], commit: boolean): void {
  parts.forEach((p, i) =>
    cp.loadNewKeyPart(i === 0 ? 'first' : i === parts.length - 1 ? 'last' : 'middle', p),
  );
  if (commit) cp.commitNew();
}

/**
 * The spec action a write of the cluster record is (CoordinatedCMK.tla). A takeover rewrites the
 * record in the same state, naming itself: its takeover line is the action.
 */
const RECORD_ACTIONS: Readonly<Record<string, SpecAction>> = {
  'none->running': 'BeginRoutingByInitiator',
  'running->committed': 'commit',
  'committed->none': 'FinishByInitiator',
  'running->none': 'BackoutByInitiator',
};

export class Simulation {
  readonly trace: TraceEvent[] = [];
  readonly #opts: SimulateOptions;
  readonly #cluster: Cluster;
  readonly #scheduler = new Scheduler();
  readonly #dasd: MemoryDasd;
  readonly #sysplex: Sysplex;
  readonly #schedule: Rng;
  readonly #pct: PctSchedule | null;
  readonly #work: Rng;
  readonly #keys: Rng; // key parts (the operator's TKE)
  readonly #auditor = new Auditor();
  readonly #checker = new TraceChecker();
  #lines = 0; // trace lines emitted (held in `trace` unless keepTrace is false)
  readonly #faults: { fault: Fault; left: number }[];
  readonly #initiator: string;
  // the ledger of dynamic updates, kept from the trace as it is written
  readonly #ops = new Map<string, UpdateOp>();
  readonly #applied = new Set<string>();
  readonly #handleOf = new Map<string, Handle>();
  readonly #lastTouch = new Map<Handle, string>();
  readonly #pendingWrites = new Map<string, Handle[]>();
  readonly #destroyed = new Set<Handle>();
  readonly #acked: string[] = [];
  readonly #originals: Originals;
  #nextUpdate = 1;
  #freshTokens = 0;
  /** The change the run reports: the first started, until another one's beginRouting writes the record. */
  #change: { id: string; refusals: Refusal[] } | null = null;
  #old: {
    name: string;
    archive: string | null;
    mkvp: string;
    records: OrderedMap<Handle, TkdsRecord> | null; // a snapshot: O(1), it shares the data set's nodes
    updated: Set<Handle>;
  } | null = null;
  /** The old data set as the change began (a snapshot), for the key check values before it. */
  #before: OrderedMap<Handle, TkdsRecord> | null = null;

  constructor(options: SimulateOptions = {}) {
    this.#opts = options;
    const seed = options.seed ?? 1;
    const root = new Rng(seed);
    const keys = root.fork();
    this.#keys = keys;
    const data = root.fork();
    this.#schedule = root.fork();
    this.#work = root.fork();
    const messages = root.fork();
    const schedule = options.schedule ?? 'random';
    if (!(SCHEDULES as readonly string[]).includes(schedule))
      throw new OptionsError(
        `schedule must be one of ${SCHEDULES.join(', ')}, got ${JSON.stringify(schedule)}`,
      );
    // (its own stream: the random schedule draws exactly as before)
    this.#pct = schedule === 'pct' ? new PctSchedule(root.fork()) : null;

    const specs = options.members ?? [{ name: 'SYSA' }, { name: 'SYSB' }, { name: 'SYSC' }];
    checkSpecs(specs);
    this.#initiator = options.initiator ?? specs[0]!.name;
    if (!specs.some((s) => s.name === this.#initiator))
      throw new OptionsError(
        `initiator ${this.#initiator} is not a member (${specs.map((s) => s.name).join(', ')})`,
      );
    const active = options.active ?? 'CSF.TKDS';
    const target = options.targetState === 'active' ? active : (options.target ?? 'CSF.TKDS.NEW');
    for (const [what, n] of [
      ['active', active],
      ['target', target],
      ['archive', options.archive],
    ] as const) {
      if (n !== undefined && !DATA_SET.test(n))
        throw new OptionsError(
          `${what} data set name ${JSON.stringify(n)} is not a valid data set name`,
        );
    }
    const chunk = options.chunk ?? 25;
    if (!Number.isInteger(chunk) || chunk < 1)
      throw new OptionsError(`chunk must be a positive integer, got ${chunk}`);
    const faults = options.faults ?? [];
    faults.forEach((f) => checkFault(f, specs));
    this.#faults = faults.map((fault) => ({
      fault,
      left: fault.kind === 'ioError' ? (fault.count ?? 1) : 1,
    }));
    const random = faults.find((f) => f.kind === 'random');
    const timing: Timing = { ...DEFAULT_TIMING, ...options.timing, chunk };

    this.#dasd = new MemoryDasd(active);
    const emit = (e: TraceEventInput): void => this.#emit(e);
    this.#sysplex = new Sysplex(this.#scheduler, messages, emit, {
      rules: faults
        .filter(
          (f): f is Extract<Fault, { kind: 'drop' | 'duplicate' | 'delay' }> =>
            f.kind === 'drop' || f.kind === 'duplicate' || f.kind === 'delay',
        )
        .map((f): MessageFaultRule => ({
          kind: f.kind,
          message: f.message,
          ...(f.to ? { to: f.to } : {}),
          ...(f.count ? { count: f.count } : {}),
        })),
      randomRate: random?.kind === 'random' ? random.rate : 0,
      randomStopAfter: random?.kind === 'random' ? (random.stopAfter ?? Infinity) : 0,
      latency: 0,
      delayBy: timing.ackTimeout * 2,
    });
    this.#cluster = new Cluster(
      this.#dasd,
      this.#sysplex,
      this.#scheduler,
      this.#work,
      timing,
      { target, archive: options.archive ?? null, dynamicUpdates: options.dynamicUpdates ?? true },
      emit,
      {
        stepStarting: (step, actor) => this.#stepStarting(step, actor),
        expelled: (m) => this.#expelled(m),
      },
    );

    // Master keys: the current (old) one in every coprocessor's cur, the new one loaded (TKE-style, in parts) into new.
    const part = (): Uint8Array => keys.bytes(MASTER_KEY_BYTES);
    const oldParts = [part(), part()];
    const newParts = [part(), part()];
    const otherParts = [part(), part()];
    const [auditOld] = [
      ['AUDIT.OLD', oldParts],
      ['AUDIT.NEW', newParts],
    ].map(([serial, parts]) => {
      const cp = new Coprocessor(serial as string);
      loadKey(cp, parts as Uint8Array[], true);
      cp.setMasterKey();
      this.#auditor.add(cp);
      return cp;
    });
    for (const s of specs) {
      const cps = Array.from(
        { length: s.coprocessors ?? 1 },
        (_, i) => new Coprocessor(`${s.name}.CP${i}`),
      );
      for (const cp of cps) {
        loadKey(cp, oldParts, true);
        cp.setMasterKey();
        const nk = s.newKey ?? 'committed';
        if (nk !== 'empty')
          loadKey(cp, nk === 'differs' ? otherParts : newParts, nk !== 'uncommitted');
      }
      cps.slice(s.activeCoprocessors ?? cps.length).forEach((cp) => {
        cp.active = false;
      });
      const m = new Member(this.#cluster, s.name, s.level ?? 'HCR77A1', cps, active);
      this.#cluster.members.set(s.name, m);
      this.#sysplex.register(
        s.name,
        (msg) => m.onMessage(msg),
        (x) => m.memberLost(x),
        (x) => m.memberJoined(x),
      );
    }
    for (const p of [...oldParts, ...newParts, ...otherParts]) p.fill(0);

    // The active data set (setup writes are not traced: the trace starts with the cluster in place).
    const setup = { by: 'setup' };
    const oldAudit = auditOld!;
    this.#dasd.allocate(active, setup);
    for (const r of generateRecords(data, options.dataSet ?? {}, (v) => oldAudit.wrap(v))) {
      this.#dasd.put(active, r, setup);
      this.#cacheKcv(r);
    }
    this.#originals = new Originals(this.#dasd.snapshot(active));
    this.#dasd.writeHeader(active, oldAudit.cur.mkvp!, setup);
    const ts = options.targetState ?? 'empty';
    if (!(TARGET_STATES as readonly string[]).includes(ts))
      throw new OptionsError(
        `targetState must be one of ${TARGET_STATES.join(', ')}, got ${JSON.stringify(ts)}`,
      );
    if (ts === 'empty' || ts === 'notEmpty') this.#dasd.allocate(target, setup);
    if (ts === 'notEmpty') this.#dasd.put(target, tokenRecord('LEFTOVER', 0), setup);
    this.#dasd.onWrite = (w) => this.#onWrite(w);
    this.#dasd.failWrite = (w) => this.#ioFault(w);

    for (const s of specs) {
      const m = this.#cluster.member(s.name);
      if (s.started === false) continue;
      m.phase = 'up';
      m.live = m.readCopy(active);
      this.#sysplex.join(s.name, false);
    }
    this.#emitHeader(timing.retries);

    const count = options.updates?.count ?? 0;
    const every = options.updates?.every ?? 5;
    if (!Number.isInteger(count) || count < 0)
      throw new OptionsError(`updates.count must be a non-negative integer, got ${count}`);
    if (!Number.isInteger(every) || every < 0)
      throw new OptionsError(`updates.every must be a non-negative integer, got ${every}`);
    for (let i = 0; i < count; i++)
      this.#arrival(this.#work.pick(specs).name, undefined, every * (i + 1));
  }

  // ---- stepwise control ----

  /** The operator starts the change at the initiator (or `at`): `validate` runs now. Returns the refusals. */
  startChange(at?: string): Refusal[] {
    const m = this.#cluster.member(at ?? this.#initiator);
    const oldName = m.active;
    const { change, refusals } = Initiator.start(this.#cluster, m);
    if (this.#change === null) {
      this.#change = { id: change, refusals };
      if (this.#dasd.exists(oldName)) {
        this.#old = refusals.length
          ? null
          : {
              name: oldName,
              archive: this.#cluster.settings.archive,
              mkvp: this.#dasd.header(oldName).mkvp!,
              records: null,
              updated: new Set(),
            };
        this.#before = this.#dasd.snapshot(oldName);
      }
    }
    return refusals;
  }

  /** A dry run of `validate` at the initiator (or `at`): every refusal, and what the change would
   *  do to the active data set. Nothing changes: no record, data set, register or trace event. */
  plan(at?: string): ChangePlan {
    const m = this.#cluster.member(at ?? this.#initiator);
    const { target, archive } = this.#cluster.settings;
    const records = { total: 0, tokens: 0, secure: 0, clear: 0 };
    if (this.#dasd.exists(m.active)) {
      for (const r of streamRecords(this.#dasd, m.active, null, 256)) {
        records.total++;
        if (r.kind === 'token') records.tokens++;
        else if (r.value.type === 'secure') records.secure++;
        else records.clear++;
      }
    }
    return {
      initiator: m.name,
      members: this.#cluster.names(),
      active: m.active,
      target,
      archive,
      records,
      steps: STEP_NAMES.filter((s) => s !== 'backout'),
      refusals: validate(this.#cluster, m, target, archive),
    };
  }

  /** A caller at `member` asks for a dynamic update (random if no op is given); it arrives as a pending action. Returns its id. */
  submitUpdate(member: string, op?: UpdateOp): string {
    this.#cluster.member(member);
    if (op) checkUpdateOp(op);
    return this.#arrival(member, op, 0);
  }

  #arrival(member: string, op: UpdateOp | undefined, delay: number): string {
    const id = `u${this.#nextUpdate++}`;
    this.#scheduler.add(
      { kind: 'arrival', update: id, member },
      () => {
        const record = this.#dasd.readClusterRecord();
        const d = record.change === 'committed' ? record.target! : record.active;
        const chosen =
          op ??
          randomUpdateOp(
            this.#work,
            this.#dasd,
            d,
            () => `NEW${++this.#freshTokens}`,
            (t) => t.startsWith('NEW'),
          );
        this.#ops.set(id, chosen);
        this.#cluster.member(member).submit({ id, origin: member, op: chosen });
      },
      { delay },
    );
    return id;
  }

  /** The pending actions, by id: what each is (the typed fields of impl/sysplex.ts ActionDescriptor; a message without its body), its label and due tick. */
  pending(): PendingAction[] {
    return this.#scheduler
      .pending()
      .map((a) => (a.kind === 'deliver' ? { ...a, message: { ...a.message, body: null } } : a));
  }

  fire(id: number): void {
    this.#scheduler.fire(id);
  }

  /** The seeded driver runs one action; false when nothing is pending. */
  step(): boolean {
    const pct = this.#pct;
    const id = this.#scheduler.pickNext(this.#schedule, pct ? (a) => pct.priority(a) : undefined);
    if (id === null) return false;
    if (pct) pct.taken(this.#scheduler.get(id)!);
    this.#scheduler.fire(id);
    return true;
  }

  /** Runs the seeded driver until nothing is pending (true), or `maxSteps` ran out (false). */
  runUntilQuiet(maxSteps = MAX_STEPS): boolean {
    for (let i = 0; i < maxSteps; i++) {
      if (!this.step()) return true;
    }
    return this.#scheduler.size === 0;
  }

  crash(member: string): void {
    this.#down(member, 'crash');
  }
  partition(member: string): void {
    this.#down(member, 'partition');
  }
  restart(member: string): void {
    this.#up(member, 'restart');
  }
  heal(member: string): void {
    this.#up(member, 'heal');
  }

  #down(member: string, how: 'crash' | 'partition'): void {
    const m = this.#cluster.member(member);
    if (!m.up) return;
    this.#emit({ event: how, actor: 'env', member, action: 'crash' });
    m.goDown();
  }

  #up(member: string, how: 'restart' | 'heal'): void {
    const m = this.#cluster.member(member);
    if (m.up) return;
    this.#emit({ event: how, actor: 'env', member, action: 'restart' });
    m.startUp();
  }

  drop(pendingId: number): void {
    this.#sysplex.drop(pendingId);
  }
  duplicate(pendingId: number): void {
    this.#sysplex.duplicate(pendingId);
  }

  /**
   * The operator clears a member's new master key register with the TKE: on every coprocessor, or
   * on the one at index `coprocessor`. The spec's `clearNew` when the member's active coprocessors
   * all held a committed `new` before and no longer do (the spec's one register per member).
   */
  clearNew(member: string, coprocessor?: number): void {
    const m = this.#cluster.member(member);
    const committed = (): boolean => {
      const active = m.activeCoprocessors();
      return active.length > 0 && active.every((cp) => cp.new.status === 'committed');
    };
    const before = committed();
    for (const cp of this.#coprocessorsOf(member, coprocessor)) cp.clearNew();
    this.#emit({
      event: 'clearNew',
      actor: 'env',
      member,
      ...(coprocessor !== undefined ? { coprocessor } : {}),
      ...(before && !committed() ? { action: 'clearNew' as const } : {}),
    });
  }

  /**
   * The operator loads with the TKE, into a member's new register (cleared first), a master key
   * no other register of the run holds, and commits it unless `commit` is false: on every
   * coprocessor, or on the one at index `coprocessor`.
   */
  loadOtherNew(
    member: string,
    { coprocessor, commit = true }: { coprocessor?: number; commit?: boolean } = {},
  ): void {
    const parts = [this.#keys.bytes(MASTER_KEY_BYTES), this.#keys.bytes(MASTER_KEY_BYTES)];
    for (const cp of this.#coprocessorsOf(member, coprocessor)) {
      cp.clearNew();
      loadKey(cp, parts, commit);
    }
    for (const p of parts) p.fill(0);
  }

  #coprocessorsOf(member: string, index: number | undefined): readonly Coprocessor[] {
    const cps = this.#cluster.member(member).coprocessors;
    if (index === undefined) return cps;
    if (!Number.isInteger(index) || cps[index] === undefined)
      throw new OptionsError(
        `${member} has no coprocessor ${index} (it has ${cps.length}, from 0)`,
      );
    return [cps[index]];
  }

  /** PKCS #11 reads served by a member from its live copy (clear attributes; never key values). */
  readObject(
    member: string,
    handle: Handle,
  ): {
    handle: Handle;
    label: string;
    class: string;
    keyType: string | null;
    length: number;
    secure: boolean;
  } {
    const r = this.#cluster.member(member).readObject(handle);
    if (r.kind !== 'object') throw new Error(`${handle} is a token record, not an object`);
    return {
      handle,
      label: r.attrs.label,
      class: r.attrs.class,
      keyType: r.attrs.keyType,
      length: r.attrs.length,
      secure: r.value.type === 'secure',
    };
  }

  keyCheckValue(member: string, handle: Handle): string {
    return this.#cluster.member(member).keyCheckValue(handle);
  }

  /** The outcome of the change the run reports (null before it ends). */
  get outcome(): Outcome | null {
    return this.#change ? (this.#cluster.outcomes.get(this.#change.id) ?? null) : null;
  }

  // ---- observation and checks ----

  observe(): ClusterView {
    const d = this.#dasd;
    const r = d.readClusterRecord();
    const copy = (c: { dataSet: string; mkvp: Mkvp; size: number } | null) =>
      c ? { dataSet: c.dataSet, mkvp: c.mkvp, records: c.size } : null;
    return {
      tick: this.#scheduler.tick,
      record: {
        active: r.active,
        change: r.change,
        initiator: r.initiator,
        target: r.target,
        changeId: r.changeId,
        ...(r.archive !== undefined ? { archive: r.archive } : {}),
      },
      dataSets: d.names().map((name) => ({
        name,
        mkvp: d.header(name).mkvp,
        usable: d.header(name).usable,
        records: d.count(name),
      })),
      members: this.#cluster.names().map((n) => {
        const m = this.#cluster.member(n);
        return {
          name: n,
          up: m.up,
          state: m.state,
          initiatorStep: m.initiatorStep,
          level: m.level,
          cur: m.cur,
          new: m.new,
          coprocessors: m.coprocessors.map((cp) => cp.toJSON()),
          active: m.active,
          live: copy(m.live),
          staged: copy(m.staged),
          routing: m.routing,
          suspended: m.initiator?.suspended ?? false,
          fenced: m.fenced,
        };
      }),
    };
  }

  #audit(): AuditState {
    const members = this.#cluster.names().map((n) => this.#cluster.member(n));
    return {
      view: this.observe(),
      dasd: this.#dasd,
      copies: members.flatMap((m) => [
        ...(m.live ? [{ member: m.name, kind: 'live' as const, copy: m.live }] : []),
        ...(m.staged ? [{ member: m.name, kind: 'staged' as const, copy: m.staged }] : []),
      ]),
      initiators: members
        .filter((m) => m.initiator?.running)
        .map((m) => ({ member: m.name, change: m.initiator!.change })),
      kcv: (value) => this.#auditor.kcv(value),
      originals: this.#originals,
      destroyed: this.#destroyed,
      acked: this.#acked.map((id): AckedUpdate => {
        const handle = this.#handleOf.get(id) ?? null;
        return {
          id,
          op: this.#ops.get(id)!,
          handle,
          superseded: handle !== null && this.#lastTouch.get(handle) !== id,
        };
      }),
      old: this.#old,
      quiet: this.#scheduler.size === 0,
    };
  }

  /** Every invariant (state and trace forms merged) as things stand. */
  checkInvariants(): InvariantResult[] {
    return mergeResults(checkState(this.#audit()), this.#checker.results());
  }

  /** The result of the run so far (simulateChange calls it once the run is quiet). */
  result(): SimulationResult {
    const invariants = this.checkInvariants();
    const settled = invariants.find((r) => r.name === 'SettledOutcome')!;
    const outcome: Outcome = this.outcome ?? 'unresolved';
    const quiet = this.#scheduler.size === 0;
    const unsettled = !quiet
      ? 'the run did not become quiet'
      : outcome === 'unresolved'
        ? 'the change never reached an outcome (no member left to finish it)'
        : !settled.ok
          ? settled.detail!
          : this.#outcomeDisagrees(outcome);
    const eventually: InvariantResult =
      unsettled === null
        ? { name: 'EventuallySettled', ok: true, form: 'run' }
        : { name: 'EventuallySettled', ok: false, form: 'run', detail: unsettled };
    const r = this.#dasd.readClusterRecord();
    const last = r.change === 'committed' ? r.target! : r.active;
    const packed = (v: SecureValue): number | null => this.#auditor.packedKcv(v);
    const none = new OrderedMap<Handle, TkdsRecord>(compareHandles);
    const after = new KeyCheckValues(
      this.#dasd.exists(last) ? this.#dasd.snapshot(last) : none,
      packed,
    );
    const before = new KeyCheckValues(this.#before ?? none, packed, this.#destroyed);
    const s = this.#cluster.suspension;
    return {
      outcome,
      refusals: this.#change?.refusals ?? [],
      invariants: [...invariants, eventually],
      counts: { ...this.#cluster.counts, ...this.#sysplex.counts },
      steps: this.#cluster.steps.map((x) => ({ ...x })),
      suspension: s ? { startTick: s.startTick, endTick: s.endTick, wallMs: s.wallMs } : null,
      kcv: { before, after },
      trace: this.trace,
    };
  }

  /**
   * How the run ends, if it is not what the outcome reported says: `completed` and `backedOut`
   * need the record settled on the target (or, archived, on the target renamed to the old name)
   * or on the old data set, `fenced` no member up (each is fenced or down). null when they agree.
   */
  #outcomeDisagrees(outcome: Outcome): string | null {
    const r = this.#dasd.readClusterRecord();
    if (outcome === 'completed' || outcome === 'backedOut') {
      const old = this.#old;
      const renamed =
        old?.archive != null && this.#dasd.exists(old.archive) && r.active === old.name;
      const active = outcome === 'completed' ? this.#cluster.settings.target : old?.name;
      return r.change === 'none' && (r.active === active || (outcome === 'completed' && renamed))
        ? null
        : `the outcome is ${outcome}, but the cluster record shows change ${r.change} with ${r.active} active`;
    }
    if (outcome !== 'fenced') return null;
    const unfenced = this.#cluster.names().filter((n) => this.#cluster.member(n).up);
    return unfenced.length === 0
      ? null
      : `the outcome is fenced, but ${unfenced.join(', ')} ${unfenced.length > 1 ? 'are' : 'is'} up and not fenced`;
  }

  // ---- the trace and the ledger ----

  #emit(e: TraceEventInput): void {
    const full = { seq: ++this.#lines, tick: this.#scheduler.tick, ...e } as TraceEvent;
    if (this.#opts.keepTrace !== false) this.trace.push(full);
    this.#checker.feed(full);
    if (full.event === 'update') {
      if (full.phase === 'apply' && !this.#applied.has(full.id)) {
        this.#applied.add(full.id);
        if (full.handle) this.#handleOf.set(full.id, full.handle);
        for (const h of this.#pendingWrites.get(full.id) ?? []) this.#lastTouch.set(h, full.id);
        if (full.op === 'createObject' && full.handle && full.dataSet)
          this.#made(this.#dasd.get(full.dataSet, full.handle)!);
      }
      if (full.phase === 'apply') this.#pendingWrites.delete(full.id);
      if (full.phase === 'ack') this.#acked.push(full.id);
    }
    this.#opts.onEvent?.(full);
  }

  /** The trace's first line: the state the run starts from (docs/trace-format.md "Header"). */
  #emitHeader(retries: number): void {
    const record = this.#dasd.readClusterRecord();
    this.#emit({
      event: 'header',
      actor: 'env',
      version: TRACE_VERSION,
      retries,
      active: record.active,
      record: record.change,
      members: [...this.#cluster.members.values()].map((m) => ({
        member: m.name,
        state: m.state,
        cur: m.cur.mkvp,
        new: m.new.mkvp,
        newStatus: m.new.status,
      })),
      dataSets: this.#dasd.names().map((d) => ({
        dataSet: d,
        mkvp: this.#dasd.header(d).mkvp,
        records: this.#dasd.count(d),
      })),
    });
  }

  /** Caches the key check value of a new object's original now. */
  #cacheKcv(r: TkdsRecord): void {
    if (r.kind === 'object' && r.value.type === 'secure') this.#auditor.packedKcv(r.value);
  }

  /** An object a dynamic update made: its value is its original. */
  #made(r: TkdsRecord): void {
    if (r.kind !== 'object') return;
    this.#cacheKcv(r);
    this.#originals.add(r);
  }

  #onWrite(w: DasdWrite): void {
    this.#oldWrite(w);
    if (w.op === 'record') {
      const from = w.from!;
      const next = w.next!;
      const action = RECORD_ACTIONS[`${from.change}->${next.change}`];
      // of concurrent initiators, the one whose beginRouting wrote the record runs the change
      if (from.change === 'none' && next.changeId !== null && this.#change?.id !== next.changeId)
        this.#change = { id: next.changeId, refusals: [] };
      this.#emit({
        event: 'record',
        actor: w.by,
        from: from.change,
        to: next.change,
        active: next.active,
        initiator: next.initiator,
        target: next.target,
        change: next.changeId ?? from.changeId,
        ...(action ? { action } : {}),
      });
      return;
    }
    if (w.update && !this.#applied.has(w.update) && w.handle) {
      const list = this.#pendingWrites.get(w.update) ?? [];
      list.push(w.handle);
      this.#pendingWrites.set(w.update, list);
      if (w.op === 'delete') this.#destroyed.add(w.handle);
    }
    this.#emit({
      event: 'write',
      actor: w.by,
      dataSet: w.dataSet,
      op: w.op,
      ...(w.handle ? { handle: w.handle } : {}),
      ...(w.mkvp ? { mkvp: w.mkvp } : {}),
      ...(w.to ? { to: w.to } : {}),
      ...(w.update ? { update: w.update } : {}),
    });
  }

  /**
   * For OldDataSetPreserved: the old data set's records when the record first goes `running`,
   * and the handles dynamic updates write in it from then on (where it is: its archive name once
   * renamed, and then its own name holds the new data).
   */
  #oldWrite(w: DasdWrite): void {
    const old = this.#old;
    if (!old) return;
    if (w.op === 'record' && w.next!.change === 'running' && old.records === null) {
      if (w.next!.active === old.name) old.records = this.#dasd.snapshot(old.name);
      return;
    }
    const at = old.archive !== null && this.#dasd.exists(old.archive) ? old.archive : old.name;
    if (old.records && w.update && w.handle && w.dataSet === at) old.updated.add(w.handle);
  }

  // ---- faults ----

  #stepStarting(step: StepName | 'takeover', _actor: string): void {
    for (const f of this.#faults) {
      const fault = f.fault;
      if (
        (fault.kind !== 'crash' && fault.kind !== 'partition') ||
        fault.at !== step ||
        f.left === 0
      )
        continue;
      f.left = 0;
      const back = fault.kind === 'crash' ? 'restart' : 'heal';
      this.#down(fault.member, fault.kind);
      if (fault.restartAfter !== undefined) {
        this.#scheduler.add(
          { kind: 'restart', how: back, member: fault.member },
          () => this.#up(fault.member, back),
          { delay: fault.restartAfter },
        );
      }
    }
  }

  #ioFault(w: DasdWrite): boolean {
    if (w.by === 'setup') return false;
    const step = this.#cluster.members.get(w.by)?.initiator?.faultStep;
    for (const f of this.#faults) {
      const fault = f.fault;
      if (fault.kind !== 'ioError' || fault.at !== step || f.left === 0) continue;
      if ((fault.op ?? w.op) !== w.op || (fault.dataSet ?? w.dataSet) !== w.dataSet) continue;
      f.left--;
      this.#emit({ event: 'ioError', actor: w.by, dataSet: w.dataSet, op: w.op, step });
      return true;
    }
    return false;
  }

  #expelled(member: string): void {
    this.#cluster.member(member).goDown();
    this.#scheduler.add(
      { kind: 'restart', how: 'rejoin', member },
      () => this.#up(member, 'heal'),
      { delay: this.#cluster.timing.rejoinAfter },
    );
  }
}

function checkSpecs(specs: MemberSpec[]): void {
  if (!Array.isArray(specs) || specs.length === 0)
    throw new OptionsError('members must list at least one member');
  const seen = new Set<string>();
  for (const s of specs) {
    if (!NAME.test(s.name))
      throw new OptionsError(
        `member name ${JSON.stringify(s.name)} must be 1-8 of A-Z 0-9 # @ $, starting with a letter`,
      );
    if (seen.has(s.name)) throw new OptionsError(`member ${s.name} is listed twice`);
    seen.add(s.name);
    if (s.level !== undefined && !LEVEL.test(s.level))
      throw new OptionsError(
        `${s.name}: level ${JSON.stringify(s.level)} is not an ICSF FMID like HCR77A1`,
      );
    const n = s.coprocessors ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 16)
      throw new OptionsError(`${s.name}: coprocessors must be 1-16, got ${n}`);
    const a = s.activeCoprocessors ?? n;
    if (!Number.isInteger(a) || a < 0 || a > n)
      throw new OptionsError(`${s.name}: activeCoprocessors must be 0-${n}, got ${a}`);
    if (s.newKey !== undefined && !(NEW_KEY_STATES as readonly string[]).includes(s.newKey))
      throw new OptionsError(
        `${s.name}: newKey must be one of ${NEW_KEY_STATES.join(', ')}, got ${JSON.stringify(s.newKey)}`,
      );
  }
}

function checkFault(f: Fault, specs: MemberSpec[]): void {
  const member = (m: string | undefined): void => {
    if (m !== undefined && !specs.some((s) => s.name === m))
      throw new OptionsError(`fault ${JSON.stringify(f)}: no member named ${m}`);
  };
  const at = (s: string): void => {
    if (s !== 'takeover' && !(STEP_NAMES as readonly string[]).includes(s))
      throw new OptionsError(
        `fault ${JSON.stringify(f)}: at must be a step name or takeover, got ${s}`,
      );
  };
  switch (f.kind) {
    case 'crash':
    case 'partition':
      member(f.member);
      at(f.at);
      if (
        f.restartAfter !== undefined &&
        !(Number.isInteger(f.restartAfter) && f.restartAfter >= 0)
      )
        throw new OptionsError(
          `fault ${JSON.stringify(f)}: restartAfter must be a non-negative integer`,
        );
      return;
    case 'drop':
    case 'duplicate':
    case 'delay':
      if (!(MESSAGE_TYPES as readonly string[]).includes(f.message))
        throw new OptionsError(`fault ${JSON.stringify(f)}: unknown message type ${f.message}`);
      member(f.to);
      return;
    case 'ioError':
      at(f.at);
      if (
        f.op !== undefined &&
        f.op !== 'record' &&
        !(WRITE_OPS as readonly string[]).includes(f.op)
      )
        throw new OptionsError(`fault ${JSON.stringify(f)}: unknown write ${f.op}`);
      return;
    case 'random':
      if (!(f.rate >= 0 && f.rate <= 1))
        throw new OptionsError(`fault ${JSON.stringify(f)}: rate must be in [0, 1]`);
      return;
    default:
      throw new OptionsError(`unknown fault kind in ${JSON.stringify(f)}`);
  }
}

/** Runs one coordinated change to its end on the seeded driver and reports it. */
export function simulateChange(options: SimulateOptions = {}): SimulationResult {
  const sim = new Simulation(options);
  sim.startChange();
  sim.runUntilQuiet();
  return sim.result();
}
