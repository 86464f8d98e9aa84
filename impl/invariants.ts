// The invariants of DESIGN.md, each a function under its DESIGN name.
//
// State form (`checkState`): over the global simulated state at a moment (AuditState: the
// ClusterView, the DASD, the in-store copies, and the ledger a checker needs).
// Trace form (`checkTrace`, `TraceChecker`): over a trace (docs/trace-format.md), so that another
// implementation's trace can be checked too; a fold over its action stream (impl/actions.ts), each
// rule reading the items TRACE_RULE_READS names. NoLostUpdate, SingleWriter, NoEarlyActivation,
// StagedBeforeSwitch, NoBackoutAfterCommit and OldDataSetPreserved are natural over a trace;
// KeyAgreement, OneChangeAtATime and UniqueHandles have both forms; SettledOutcome,
// SecureValuesPreserved, ClearObjectsUnchanged and TargetComplete need the state (key check
// values, bytes); OldDataSetPreserved has both forms (the trace form sees writes, the state form
// the records).
// A result names the first violation; a trace result gives its line (1-based).

import { blobMkvp, blobUnder, type Mkvp } from './coprocessor.ts';
import { streamRecords, type Dasd } from './dasd.ts';
import type {
  Handle,
  InStoreCopy,
  ObjectAttributes,
  ObjectRecord,
  ObjectValue,
  SecureValue,
  TkdsRecord,
  TokenRecord,
} from './tkds.ts';
import { ActionStream, type StreamItem } from './actions.ts';
import type { TraceEvent, TraceEventName } from './trace.ts';
import type { UpdateOp } from './updates.ts';
import type { ClusterView } from './view.ts';
import type { SpecAction } from './vocabulary.ts';

export const INVARIANT_NAMES = [
  'NoLostUpdate',
  'KeyAgreement',
  'SingleWriter',
  'OneChangeAtATime',
  'NoEarlyActivation',
  'StagedBeforeSwitch',
  'NoBackoutAfterCommit',
  'OldDataSetPreserved',
  'SettledOutcome',
  'SecureValuesPreserved',
  'ClearObjectsUnchanged',
  'UniqueHandles',
  'TargetComplete', // this project's addition (docs/protocol.md "Invariants")
  'EventuallySettled',
] as const;
export type InvariantName = (typeof INVARIANT_NAMES)[number];

/**
 * Rules of the protocol that no DESIGN.md invariant names but a trace shows broken
 * (docs/trace-format.md "What the checkers read"):
 * AckAfterAnswer: a routed update is acknowledged at its origin only once the initiator's answer
 * (`updateResult`) reached it. AckAfterPart: a member acknowledges a request only after its part
 * of that step (or after a restart check put it past it). OneOutcome: a change has one outcome,
 * but for a `fenced` one that a takeover then backs out. SwitchToTarget: a member switches to
 * the change's target.
 */
export const TRACE_RULE_NAMES = [
  'AckAfterAnswer',
  'AckAfterPart',
  'OneOutcome',
  'SwitchToTarget',
] as const;
export type TraceRuleName = (typeof TRACE_RULE_NAMES)[number];

export interface InvariantResult {
  name: InvariantName | TraceRuleName;
  ok: boolean;
  detail?: string; // the first violation
  line?: number; // trace form: the line of the first violation
  actor?: string; // trace form: that line's actor
  form: 'state' | 'trace' | 'state+trace' | 'run';
}

/**
 * The value a stored object had when it was made (values are immutable): a secure key is
 * compared by its key check value, a clear object by its bytes.
 */
export type Original = ObjectValue;

/** An acknowledged dynamic update; `superseded` when a later-applied update touched its handle. */
export interface AckedUpdate {
  readonly id: string;
  readonly op: UpdateOp;
  readonly handle: Handle | null;
  readonly superseded: boolean;
}

export interface AuditState {
  readonly view: ClusterView;
  readonly dasd: Dasd;
  readonly copies: readonly {
    readonly member: string;
    readonly kind: 'live' | 'staged';
    readonly copy: InStoreCopy;
  }[];
  readonly initiators: readonly { readonly member: string; readonly change: string }[];
  /** The KCV of a secure value's blob, computed inside a coprocessor holding its key; null if no key of the run fits. */
  readonly kcv: (value: SecureValue) => string | null;
  /** Every object's original, by handle: a Map, or Originals (impl/originals.ts). */
  readonly originals: Iterable<readonly [Handle, Original]> & {
    get(handle: Handle): Original | undefined;
  };
  /** Objects that an applied dynamic update deleted (destroyObject, deleteToken). */
  readonly destroyed: ReadonlySet<Handle>;
  readonly acked: readonly AckedUpdate[];
  /**
   * The old data set of the change, once one began: its name, archive name, header MKVP; its
   * records when the cluster record went `running` (null before), and the handles dynamic updates
   * wrote or deleted in it since.
   */
  readonly old: {
    readonly name: string;
    readonly archive: string | null;
    readonly mkvp: Mkvp;
    readonly records: {
      has(handle: Handle): boolean;
      values(): Iterable<TkdsRecord>;
    } | null;
    readonly updated: ReadonlySet<Handle>;
  } | null;
  /** Nothing is in flight: no pending action. */
  readonly quiet: boolean;
}

type Check = (s: AuditState) => string | null;

/** Every place records are kept: data sets on DASD and in-store copies. */
function* stores(s: AuditState): Generator<{ where: string; records: Iterable<TkdsRecord> }> {
  for (const name of s.dasd.names())
    yield { where: `data set ${name}`, records: streamRecords(s.dasd, name, null, 256) };
  for (const c of s.copies)
    yield { where: `${c.member}'s ${c.kind} copy of ${c.copy.dataSet}`, records: c.copy.records() };
}

/** The data set that survives as things stand: the target once committed, else the active one. */
function survivingDataSet(v: ClusterView): string {
  return v.record.change === 'committed' ? v.record.target! : v.record.active;
}

/** NoLostUpdate: every acknowledged dynamic update is in the data set that ends up active. */
export const NoLostUpdate: Check = (s) => {
  const d = survivingDataSet(s.view);
  if (!s.dasd.exists(d)) return `the surviving data set ${d} does not exist`;
  for (const u of s.acked) {
    if (u.superseded) continue;
    const op = u.op;
    const r = u.handle ? s.dasd.get(d, u.handle) : undefined;
    const bad = (what: string): string =>
      `acknowledged update ${u.id} (${op.op} ${u.handle ?? ''}) is lost: ${what} in ${d}`;
    switch (op.op) {
      case 'createObject':
      case 'updateObject':
        if (!r || r.kind !== 'object') return bad('no such object');
        if (r.attrs.label !== op.label) return bad(`label is ${r.attrs.label}, not ${op.label}`);
        break;
      case 'destroyObject':
        if (r) return bad('the object is still there');
        break;
      case 'createToken':
        if (!r) return bad('no token record');
        break;
      case 'deleteToken':
        if (r) return bad('the token record is still there');
        break;
    }
  }
  return null;
};

/**
 * KeyAgreement: a serving member's cur MKVP (that of every active coprocessor) equals the MKVP of
 * its live copy and of its active data set's header, every secure blob in its live copy is under
 * that MKVP, and it serves from a data set the cluster record names.
 */
export const KeyAgreement: Check = (s) => {
  const rec = s.view.record;
  for (const m of s.view.members) {
    if (!m.up || m.state === 'restartCheck' || m.fenced || !m.live) continue;
    if (m.live.dataSet !== m.active)
      return `${m.name} serves a live copy of ${m.live.dataSet} but its active data set is ${m.active}`;
    // a switched member whose target finish renamed to the old name takes that name from the
    // record when it next reads it (Member.followRename)
    const active =
      m.state === 'switched' && rec.change === 'none' && !s.dasd.exists(m.active)
        ? rec.active
        : m.active;
    if (m.cur.mkvp !== m.live.mkvp)
      return `${m.name}: cur MKVP ${m.cur.mkvp} differs from its live copy's ${m.live.mkvp}`;
    const behind = m.coprocessors.find((c) => c.active && c.cur.mkvp !== m.live!.mkvp);
    if (behind)
      return `${m.name}: coprocessor ${behind.serial} has cur MKVP ${behind.cur.mkvp}, not its live copy's ${m.live.mkvp}`;
    if (!s.dasd.exists(active)) return `${m.name} serves ${active}, which no longer exists`;
    const h = s.dasd.header(active).mkvp;
    if (h !== m.live.mkvp)
      return `${m.name}: live copy MKVP ${m.live.mkvp} differs from the header MKVP ${h} of ${active}`;
    if (active !== rec.active && !(rec.change === 'committed' && active === rec.target))
      return `${m.name} serves ${active}, which the cluster record does not name`;
  }
  for (const c of s.copies) {
    if (c.kind !== 'live') continue;
    for (const r of c.copy.records()) {
      if (
        r.kind === 'object' &&
        r.value.type === 'secure' &&
        !blobUnder(r.value.blob, c.copy.mkvp)
      ) {
        return `${c.member}'s live copy holds ${r.handle} under MKVP ${blobMkvp(r.value.blob)}, not ${c.copy.mkvp}`;
      }
    }
  }
  return null;
};

/** OneChangeAtATime: at most one coordinated change runs per cluster, driven by the initiator the record names. */
export const OneChangeAtATime: Check = (s) => {
  if (s.initiators.length > 1)
    return `${s.initiators.length} members drive a change: ${s.initiators.map((c) => `${c.member} (${c.change})`).join(', ')}`;
  const rec = s.view.record;
  const co = s.initiators[0];
  if (co && rec.change !== 'none' && (co.member !== rec.initiator || co.change !== rec.changeId)) {
    return `${co.member} drives ${co.change} but the cluster record shows ${rec.changeId} by ${rec.initiator}`;
  }
  return null;
};

/** NoEarlyActivation (state form): a target active anywhere has its header MKVP, written last by applyDelta. */
export const NoEarlyActivationState: Check = (s) => {
  const rec = s.view.record;
  const target = rec.target;
  if (target === null) return null;
  const activeSomewhere =
    rec.change === 'committed' || s.view.members.some((m) => m.up && m.active === target);
  if (activeSomewhere && (!s.dasd.exists(target) || s.dasd.header(target).mkvp === null))
    return `target ${target} is active before the delta was applied`;
  return null;
};

/** Two records are the same value (records are immutable values: a write replaces one). */
function sameRecord(a: TkdsRecord, b: TkdsRecord): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind || a.handle !== b.handle) return false;
  if (a.kind === 'token') return a.lastSeq === (b as TokenRecord).lastSeq;
  const o = b as ObjectRecord;
  const bytes = (v: ObjectValue): Uint8Array => (v.type === 'secure' ? v.blob : v.bytes);
  return (
    sameAttrs(a.attrs, o.attrs) &&
    a.value.type === o.value.type &&
    sameBytes(bytes(a.value), bytes(o.value))
  );
}

function sameAttrs(a: ObjectAttributes, b: ObjectAttributes): boolean {
  return (
    a.label === b.label && a.class === b.class && a.keyType === b.keyType && a.length === b.length
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/**
 * OldDataSetPreserved (state form): the old data set still exists (under its archive name once
 * renamed, else its own), header unchanged and usable, and every record it held when the change
 * began is there unchanged, but for those dynamic updates wrote since (nothing else added one).
 */
export const OldDataSetPreservedState: Check = (s) => {
  const old = s.old;
  if (!old) return null;
  const name = old.archive !== null && s.dasd.exists(old.archive) ? old.archive : old.name;
  if (!s.dasd.exists(name)) return `the old data set ${old.name} is gone`;
  const h = s.dasd.header(name);
  if (h.mkvp !== old.mkvp || !h.usable)
    return `the header of the old data set ${name} changed (MKVP ${h.mkvp}, usable ${h.usable})`;
  if (old.records === null) return null;
  for (const before of old.records.values()) {
    const handle = before.handle;
    if (old.updated.has(handle)) continue;
    const now = s.dasd.get(name, handle);
    if (!now) return `the old data set ${name} lost ${handle}, which no update deleted`;
    if (!sameRecord(before, now))
      return `the old data set ${name}: ${handle} changed, and no update wrote it`;
  }
  for (const r of streamRecords(s.dasd, name, null, 256))
    if (!old.records.has(r.handle) && !old.updated.has(r.handle))
      return `the old data set ${name} holds ${r.handle}, which no update wrote`;
  return null;
};

/**
 * TargetComplete (this project's addition): the target holds every record of the old data set
 * (the delta included, for the routed updates wrote the old data set too), objects with the same
 * attributes and value (a secure one re-enciphered: the same key check value). It must hold from
 * applyDelta on (the target's header has its MKVP) while the target is in use for the change:
 * the cluster record still shows the change (from finish on the target is the active data set
 * and ordinary updates change it) and no backout marked it unusable.
 */
export const TargetComplete: Check = (s) => {
  const rec = s.view.record;
  const target = rec.target;
  if (rec.change === 'none' || target === null || !s.dasd.exists(target)) return null;
  const h = s.dasd.header(target);
  if (h.mkvp === null || !h.usable) return null;
  for (const r of streamRecords(s.dasd, rec.active, null, 256)) {
    const t = s.dasd.get(target, r.handle);
    const missing = `the target ${target} lacks ${r.handle} of the old data set ${rec.active}`;
    if (!t || t.kind !== r.kind) return missing;
    if (r.kind === 'token' || t.kind === 'token') continue;
    if (!sameAttrs(t.attrs, r.attrs) || t.value.type !== r.value.type)
      return `${missing} as it is there (attributes or value type differ)`;
    const same =
      r.value.type === 'secure' && t.value.type === 'secure'
        ? s.kcv(t.value) === s.kcv(r.value)
        : r.value.type === 'clear' &&
          t.value.type === 'clear' &&
          sameBytes(t.value.bytes, r.value.bytes);
    if (!same) return `${missing} with its value (another key check value or other bytes)`;
  }
  return null;
};

/**
 * SettledOutcome: once nothing is in flight, every member that is up is on (target, new key), or
 * every one on (old data set, old key), or fenced; and the cluster record agrees.
 */
export const SettledOutcome: Check = (s) => {
  if (!s.quiet) return null;
  const rec = s.view.record;
  const serving = s.view.members.filter((m) => m.up && !m.fenced);
  if (serving.length === 0) return null;
  if (rec.change !== 'none')
    return `nothing is in flight but the cluster record shows change ${rec.changeId} ${rec.change}`;
  for (const m of serving) {
    if (m.state !== 'serving')
      return `${m.name} is ${m.state}, not serving, with nothing in flight`;
    if (m.active !== rec.active)
      return `${m.name} is on ${m.active}, the cluster record names ${rec.active}`;
    if (!m.live || m.cur.mkvp !== s.dasd.header(rec.active).mkvp)
      return `${m.name}'s cur MKVP ${m.cur.mkvp} is not the MKVP of ${rec.active}`;
  }
  return null;
};

function valueCheck(s: AuditState, kind: 'secure' | 'clear'): string | null {
  // every object of this kind ever made, and not deleted by an update, is in the surviving data set
  const d = survivingDataSet(s.view);
  if (!s.dasd.exists(d)) return `the surviving data set ${d} does not exist`;
  for (const [h, o] of s.originals) {
    if (o.type !== kind || s.destroyed.has(h)) continue;
    const r = s.dasd.get(d, h);
    if (!r || r.kind !== 'object' || r.value.type !== kind)
      return `${kind} object ${h} is missing from ${d}`;
  }
  for (const { where, records } of stores(s)) {
    for (const r of records) {
      if (r.kind !== 'object' || r.value.type !== kind) continue;
      const o = s.originals.get(r.handle);
      if (r.value.type === 'secure') {
        if (o?.type !== 'secure')
          return `${where}: secure object ${r.handle} was never made as one`;
        const k = s.kcv(r.value);
        const made = s.kcv(o);
        if (k !== made)
          return `${where}: ${r.handle} has key check value ${k ?? '(under no known key)'}, it was made with ${made}`;
      } else {
        if (o?.type !== 'clear') return `${where}: clear object ${r.handle} was never made as one`;
        if (!sameBytes(r.value.bytes, o.bytes))
          return `${where}: clear object ${r.handle} is not byte-identical to what was stored`;
      }
    }
  }
  return null;
}

/** SecureValuesPreserved: every secure key is kept, with the same value (same key check value) wherever it is stored. */
export const SecureValuesPreserved: Check = (s) => valueCheck(s, 'secure');

/** ClearObjectsUnchanged: every clear object is kept, byte-identical to what was stored. */
export const ClearObjectsUnchanged: Check = (s) => valueCheck(s, 'clear');

/**
 * UniqueHandles: no handle twice in a data set or copy; in the active data set every object's
 * token record exists and has given out its sequence number (so no later object can get it).
 * (Live copies are not held to the second rule: they catch up with the disk by liveUpdate.)
 */
export const UniqueHandles: Check = (s) => {
  for (const { where, records } of stores(s)) {
    let prev: Handle | null = null;
    for (const r of records) {
      if (prev !== null && r.handle <= prev)
        return `${where}: handle ${r.handle} repeats or is out of order`;
      prev = r.handle;
    }
  }
  const active = s.view.record.active;
  if (!s.dasd.exists(active)) return null;
  for (const r of streamRecords(s.dasd, active, null, 256)) {
    if (r.kind !== 'object') continue;
    const t = s.dasd.get(active, `${r.token}:00000000:T`);
    if (!t || t.kind !== 'token' || t.lastSeq < r.seq)
      return `data set ${active}: ${r.handle} is beyond its token's last sequence number`;
  }
  return null;
};

const STATE_CHECKS: readonly [InvariantName, Check][] = [
  ['NoLostUpdate', NoLostUpdate],
  ['KeyAgreement', KeyAgreement],
  ['OneChangeAtATime', OneChangeAtATime],
  ['NoEarlyActivation', NoEarlyActivationState],
  ['OldDataSetPreserved', OldDataSetPreservedState],
  ['SettledOutcome', SettledOutcome],
  ['SecureValuesPreserved', SecureValuesPreserved],
  ['ClearObjectsUnchanged', ClearObjectsUnchanged],
  ['UniqueHandles', UniqueHandles],
  ['TargetComplete', TargetComplete],
];

/** Every invariant that has a state form, over one state. */
export function checkState(s: AuditState): InvariantResult[] {
  return STATE_CHECKS.map(([name, check]) => {
    const detail = check(s);
    return detail === null
      ? { name, ok: true, form: 'state' }
      : { name, ok: false, detail, form: 'state' };
  });
}

// ---- the trace form ----

/** Items of the action stream a trace-form rule reads: spec actions by name, observations (lines that are no spec action) by event. */
export interface StreamReads {
  readonly actions: readonly SpecAction[];
  readonly observations: readonly TraceEventName[];
}
const reads = (...parts: StreamReads[]): StreamReads => ({
  actions: parts.flatMap((p) => p.actions),
  observations: parts.flatMap((p) => p.observations),
});
/** The cluster record's writes: the spec's record actions, and takeover's and the archive's writes. */
const RECORD_WRITES: StreamReads = {
  actions: ['BeginRoutingByInitiator', 'commit', 'FinishByInitiator', 'BackoutByInitiator'],
  observations: ['record'],
};
const WRITES: StreamReads = { actions: [], observations: ['write'] };
/** Initiator step lines: the spec's step actions, and the step lines that are none. */
const STEPS: StreamReads = {
  actions: ['validate', 'reencipher', 'suspend', 'applyDelta', 'SwitchByInitiator', 'resume'],
  observations: ['step'],
};
/** A member's part lines: the spec's actions on a request or from the record; the initiator's own part (no spec action). */
const PARTS: StreamReads = {
  actions: [
    'BeginRoutingAtMember',
    'ReloadByInitiator',
    'ReloadAtMember',
    'SwitchAtMember',
    'FinishAtMember',
    'FinishFromRecord',
    'BackoutAtMember',
    'BackoutFromRecord',
  ],
  observations: ['beginRouting', 'reload', 'switch', 'finish', 'backout'],
};
const RESTART_CHECKS: StreamReads = {
  actions: ['restartCheck', 'FenceOnRestartCheck'],
  observations: [],
};
/** Update phases: request and the first apply are spec actions; route, wait, a second apply, ack, fail and unknown are not. */
const UPDATES: StreamReads = {
  actions: ['request', 'ApplyOwn', 'ApplyRouted', 'ApplyRefused'],
  observations: ['update'],
};
const only = (...observations: TraceEventName[]): StreamReads => ({ actions: [], observations });

/** What each trace-form rule reads from the action stream (docs/conformance.md "One action stream"). */
export const TRACE_RULE_READS: Readonly<
  Record<Exclude<InvariantName, StateOnly> | TraceRuleName, StreamReads>
> = {
  NoLostUpdate: reads(UPDATES, RECORD_WRITES, only('reencipher')),
  KeyAgreement: reads(only('header'), RECORD_WRITES, WRITES, PARTS, RESTART_CHECKS),
  SingleWriter: reads(RECORD_WRITES, WRITES),
  OneChangeAtATime: RECORD_WRITES,
  NoEarlyActivation: reads(RECORD_WRITES, WRITES, STEPS, PARTS, RESTART_CHECKS),
  StagedBeforeSwitch: reads(RECORD_WRITES, STEPS, PARTS),
  // a backout start: a step line, or the spec's ioError (a failed write begins it)
  NoBackoutAfterCommit: reads(RECORD_WRITES, STEPS, PARTS, only('outcome'), {
    actions: ['ioError'],
    observations: [],
  }),
  OldDataSetPreserved: reads(RECORD_WRITES, WRITES),
  UniqueHandles: UPDATES,
  AckAfterAnswer: reads(UPDATES, {
    actions: ['ReceiveAck'],
    observations: ['deliver'],
  }),
  // an acknowledgement sent again is the member's spec action on the request (PARTS)
  AckAfterPart: reads(PARTS, RESTART_CHECKS, RECORD_WRITES, only('send')),
  OneOutcome: only('outcome'),
  SwitchToTarget: reads(RECORD_WRITES, PARTS),
};
/** The invariants that have no trace form. */
type StateOnly =
  | 'SettledOutcome'
  | 'SecureValuesPreserved'
  | 'ClearObjectsUnchanged'
  | 'TargetComplete'
  | 'EventuallySettled';

interface ChangeInTrace {
  id: string;
  old: string;
  target: string;
  participants: Set<string> | null; // the group at beginRouting
  staged: Set<string>;
  headerWritten: boolean; // the target's header, by applyDelta
  deltaApplied: boolean;
  committed: boolean;
  firstCopySeq: number | null; // the first reencipher chunk
}

/**
 * Checks a trace event by event (feed them in order). `results()` gives the trace-form invariants
 * so far; NoLostUpdate is judged against the data set active at the end of what was fed.
 */
export class TraceChecker {
  #line = 0;
  readonly #stream = new ActionStream();
  /** The item being folded. */
  #item: StreamItem | null = null;
  /** The spec actions folded, with their lines, when kept (`keepActions`). */
  readonly #actions: { line: number; action: SpecAction }[] | null;

  constructor(options: { readonly keepActions?: boolean } = {}) {
    this.#actions = options.keepActions ? [] : null;
  }

  /** The spec actions folded so far, in order (with `keepActions`). */
  get actions(): readonly { line: number; action: SpecAction }[] {
    if (this.#actions === null) throw new Error('TraceChecker: construct it with keepActions');
    return this.#actions;
  }
  readonly #first = new Map<
    InvariantName | TraceRuleName,
    { line: number; actor: string; detail: string }
  >();
  #record: {
    change: string;
    active: string;
    initiator: string | null;
    target: string | null;
    changeId: string | null;
  } | null = null;
  readonly #changes = new Map<string, ChangeInTrace>();
  readonly #headers = new Map<string, string>();
  readonly #applies = new Map<string, { dataSet: string; line: number }[]>();
  readonly #acked: { id: string; line: number; actor: string }[] = [];
  readonly #createdHandles = new Map<Handle, string>();
  /** Routed updates: id -> origin; and `id@member` for each updateResult delivered. */
  readonly #routed = new Map<string, string>();
  readonly #answered = new Set<string>();
  /** Per member: its parts of steps (`change:part`) since it came up, and the record its restart check read. */
  readonly #parts = new Map<
    string,
    { done: Set<string>; restart: { record: string; active: string } | null }
  >();
  readonly #outcomes = new Map<string, string>();
  /** The MKVP of the active data set's header when the run starts (the header line). */
  #oldKey: string | null = null;
  /**
   * Data set names as renamed (`write` lines of op `rename`: finish's archive renames the target
   * to the old data set's name): a name -> the data set it names, by the name it had when the
   * trace first showed it. The rules compare data sets by that.
   */
  readonly #renamed = new Map<string, string>();

  #ds(name: string): string;
  #ds(name: string | null): string | null;
  #ds(name: string | null): string | null {
    return name === null ? null : (this.#renamed.get(name) ?? name);
  }

  #violate(name: Exclude<InvariantName, StateOnly> | TraceRuleName, detail: string): void {
    // a rule judges from the items it reads (a checker bug otherwise, not the trace's)
    const item = this.#item!;
    const r = TRACE_RULE_READS[name];
    const read =
      item.type === 'action'
        ? r.actions.includes(item.step.action)
        : r.observations.includes(item.event.event);
    if (!read)
      throw new Error(
        `TraceChecker: ${name} judges at ${item.type === 'action' ? item.step.action : item.event.event}, an item TRACE_RULE_READS does not give it`,
      );
    if (!this.#first.has(name))
      this.#first.set(name, { line: this.#line, actor: item.event.actor, detail });
  }

  #changeOf(id: string | null | undefined): ChangeInTrace | undefined {
    return id ? this.#changes.get(id) : undefined;
  }

  feed(e: TraceEvent): void {
    this.#line++;
    for (const item of this.#stream.next(e)) this.#fold(item);
  }

  /** One item of the action stream: the rules read the state the line shows, whether it is a spec action or an observation. */
  #fold(item: StreamItem): void {
    this.#item = item;
    if (item.type === 'action') {
      this.#actions?.push({ line: item.step.line, action: item.step.action });
      if (item.step.action === 'duplicate') return; // a copy of a message: no rule reads it
    }
    const e = item.event;
    if (e.event === 'header') {
      this.#oldKey = e.dataSets.find((d) => d.dataSet === e.active)?.mkvp ?? null;
      return;
    }
    switch (e.event) {
      case 'record': {
        const prev = this.#record;
        if (prev && prev.change !== e.from)
          this.#violate(
            'OneChangeAtATime',
            `cluster record written from ${e.from} while it was ${prev.change}`,
          );
        if (e.from === 'none' && e.to === 'running') {
          if (prev && prev.change !== 'none')
            this.#violate(
              'OneChangeAtATime',
              `change ${e.change} starts while ${prev.changeId} is ${prev.change}`,
            );
          this.#changes.set(e.change!, {
            id: e.change!,
            old: this.#ds(e.active),
            target: this.#ds(e.target!),
            participants: null,
            staged: new Set(),
            headerWritten: false,
            deltaApplied: false,
            committed: false,
            firstCopySeq: null,
          });
        }
        const ch = this.#changeOf(e.change);
        if (ch?.committed && e.to === 'none' && this.#ds(e.active) !== ch.target)
          this.#violate(
            'NoBackoutAfterCommit',
            `${e.actor} writes the record of ${ch.id} from ${e.from} to none naming ${e.active} active, not its target ${ch.target}, after the commit`,
          );
        if (ch && e.to === 'committed') {
          if (!ch.deltaApplied)
            this.#violate(
              'NoEarlyActivation',
              `change ${ch.id} commits before its delta was applied`,
            );
          this.#stagedCheck(ch, `${e.actor} commits`);
          ch.committed = true;
        }
        this.#record = {
          change: e.to,
          active: this.#ds(e.active),
          initiator: e.initiator,
          target: this.#ds(e.target),
          changeId: e.to === 'none' ? null : e.change,
        };
        return;
      }
      case 'write': {
        const r = this.#record;
        const ds = this.#ds(e.dataSet);
        if (r && r.change !== 'none') {
          if (e.actor !== r.initiator)
            this.#violate(
              'SingleWriter',
              `${e.actor} writes ${e.dataSet} (${e.op}) during change ${r.changeId}, whose initiator is ${r.initiator}`,
            );
          const ch = this.#changeOf(r.changeId);
          if (
            ch &&
            ds === ch.old &&
            !((e.op === 'put' || e.op === 'delete') && e.update !== undefined)
          ) {
            this.#violate(
              'OldDataSetPreserved',
              `${e.actor} writes the old data set ${ch.old} (${e.op}${e.handle ? ` ${e.handle}` : ''}) other than by a routed update`,
            );
          }
        }
        if (e.op === 'rename' && e.to !== undefined) {
          this.#renamed.set(e.to, ds);
          this.#renamed.set(e.dataSet, `${ds} (renamed to ${e.to})`);
        }
        if (e.op === 'header' && e.mkvp !== undefined) {
          this.#headers.set(ds, e.mkvp);
          const ch = this.#changeOf(r?.changeId);
          if (ch && ds === ch.target) {
            ch.headerWritten = true;
            // the change is to a new master key: a target under the old one was never re-enciphered
            if (e.mkvp === this.#oldKey)
              this.#violate(
                'KeyAgreement',
                `${e.actor} writes the header of the target ${e.dataSet} with the old MKVP ${e.mkvp}: the key never changed`,
              );
          }
        }
        return;
      }
      case 'step': {
        const ch = this.#changeOf(e.change);
        if (!ch) return;
        if (e.step === 'beginRouting' && e.phase === 'done' && e.result === 'ok' && e.members)
          ch.participants = new Set(e.members);
        if (e.step === 'applyDelta' && e.phase === 'done' && e.result === 'ok') {
          if (ch.headerWritten) ch.deltaApplied = true;
          else
            this.#violate(
              'NoEarlyActivation',
              `applyDelta of ${ch.id} ends without writing the header of the target ${ch.target}`,
            );
        }
        if (e.step === 'backout' && ch.committed)
          this.#violate(
            'NoBackoutAfterCommit',
            `${e.actor} starts backout of ${ch.id} after it committed`,
          );
        return;
      }
      case 'reencipher': {
        const ch = this.#changeOf(e.change);
        if (ch && ch.firstCopySeq === null) ch.firstCopySeq = this.#line;
        return;
      }
      case 'beginRouting':
      case 'finish':
      case 'backout':
        this.#part(e.actor).done.add(`${e.change}:${e.event}`);
        if (e.event === 'backout') this.#backoutCheck(e);
        return;
      case 'reload': {
        this.#part(e.actor).done.add(`${e.change}:reload`);
        const ch = this.#changeOf(e.change);
        if (ch) ch.staged.add(e.actor);
        if (ch && !ch.deltaApplied)
          this.#violate(
            'NoEarlyActivation',
            `${e.actor} reloads the target of ${ch.id} before the delta was applied`,
          );
        const h = this.#headers.get(this.#ds(e.dataSet));
        if (h !== undefined && h !== e.mkvp)
          this.#violate(
            'KeyAgreement',
            `${e.actor} staged ${e.dataSet} under ${e.mkvp}, its header is ${h}`,
          );
        return;
      }
      case 'switch': {
        this.#part(e.actor).done.add(`${e.change}:switch`);
        const ch = this.#changeOf(e.change);
        if (ch) {
          if (this.#ds(e.dataSet) !== ch.target)
            this.#violate(
              'SwitchToTarget',
              `${e.actor} switches to ${e.dataSet}, not the target ${ch.target} of ${ch.id}`,
            );
          if (!ch.deltaApplied)
            this.#violate(
              'NoEarlyActivation',
              `${e.actor} switches to ${e.dataSet} before the delta was applied`,
            );
          this.#stagedCheck(ch, `${e.actor} switches`);
        }
        const h = this.#headers.get(this.#ds(e.dataSet));
        if (h !== undefined && h !== e.cur)
          this.#violate(
            'KeyAgreement',
            `${e.actor} switches to ${e.dataSet} with cur ${e.cur}, its header is ${h}`,
          );
        return;
      }
      case 'send':
        if (/^(beginRouting|reload|switch|finish)Ack$/.test(e.msg) && e.change)
          this.#ackCheck(e.actor, e.change, e.msg.slice(0, -3));
        return;
      case 'deliver':
        if (e.msg === 'updateResult' && e.update) this.#answered.add(`${e.update}@${e.actor}`);
        return;
      case 'outcome': {
        if (e.change === null) return;
        const before = this.#outcomes.get(e.change);
        this.#outcomes.set(e.change, e.outcome);
        if (before === undefined || (before === 'fenced' && e.outcome === 'backedOut')) return;
        if (before === 'completed' && e.outcome === 'backedOut')
          this.#violate(
            'NoBackoutAfterCommit',
            `${e.actor} decides ${e.change} backedOut after it completed`,
          );
        else
          this.#violate(
            'OneOutcome',
            `${e.actor} decides ${e.change} ${e.outcome} after it was decided ${before}`,
          );
        return;
      }
      case 'restartCheck': {
        this.#parts.set(e.actor, {
          done: new Set(),
          restart: { record: e.record, active: this.#ds(e.active) },
        });
        const key = e.result === 'serve' ? e.cur : e.result === 'setMasterKey' ? e.new : null;
        if (key !== null && key !== e.header)
          this.#violate(
            'KeyAgreement',
            `${e.actor} restarts to serve ${e.active} (header ${e.header}) with key ${key}`,
          );
        const pending = [...this.#changes.values()].find(
          (c) => c.target === this.#ds(e.active) && !c.deltaApplied,
        );
        if (pending && e.result !== 'fenced')
          this.#violate(
            'NoEarlyActivation',
            `${e.actor} serves the target ${e.active} of ${pending.id} before its delta was applied`,
          );
        return;
      }
      case 'update': {
        if (e.phase === 'apply' && e.dataSet) {
          const list = this.#applies.get(e.id) ?? [];
          list.push({ dataSet: this.#ds(e.dataSet), line: this.#line });
          this.#applies.set(e.id, list);
          if (e.op === 'createObject' && e.handle) {
            const before = this.#createdHandles.get(e.handle);
            if (before !== undefined && before !== e.id)
              this.#violate(
                'UniqueHandles',
                `${e.id} creates ${e.handle}, which ${before} created`,
              );
            this.#createdHandles.set(e.handle, e.id);
          }
          if (e.op === 'deleteToken' && e.token)
            for (const h of [...this.#createdHandles.keys()])
              if (h.startsWith(`${e.token}:`)) this.#createdHandles.delete(h);
        }
        if (e.phase === 'route') this.#routed.set(e.id, e.actor);
        if (e.phase === 'ack') {
          this.#acked.push({ id: e.id, line: this.#line, actor: e.actor });
          if (!this.#applies.has(e.id))
            this.#violate(
              'NoLostUpdate',
              `${e.actor} acknowledges update ${e.id} before it was applied to any data set`,
            );
          if (this.#routed.get(e.id) === e.actor && !this.#answered.has(`${e.id}@${e.actor}`))
            this.#violate(
              'AckAfterAnswer',
              `${e.actor} acknowledges update ${e.id}, which it routed, with no answer from the initiator`,
            );
        }
        return;
      }
      default:
        return;
    }
  }

  #backoutCheck(e: { actor: string; change: string }): void {
    const ch = this.#changeOf(e.change);
    if (ch?.committed)
      this.#violate('NoBackoutAfterCommit', `${e.actor} backs out ${ch.id} after it committed`);
  }

  #part(member: string): { done: Set<string>; restart: { record: string; active: string } | null } {
    let p = this.#parts.get(member);
    if (!p) this.#parts.set(member, (p = { done: new Set(), restart: null }));
    return p;
  }

  /**
   * AckAfterPart: `member` acknowledges `part` of `change` only after its own line for that part,
   * or after a restart check that put it past it (it rejoins a running change routing, a committed
   * one switched, and comes up after finish on the target).
   */
  #ackCheck(member: string, change: string, part: string): void {
    const p = this.#part(member);
    if (p.done.has(`${change}:${part}`)) return;
    const r = p.restart;
    const ch = this.#changeOf(change);
    const past =
      r !== null &&
      ((part === 'beginRouting' && r.record !== 'none') ||
        (part === 'switch' && r.record === 'committed') ||
        (part === 'finish' && r.record === 'none' && r.active === ch?.target));
    if (!past)
      this.#violate(
        'AckAfterPart',
        `${member} acknowledges ${part} of ${change} without doing its part of it`,
      );
  }

  #stagedCheck(ch: ChangeInTrace, what: string): void {
    const missing = [...(ch.participants ?? [])].filter((m) => !ch.staged.has(m));
    if (missing.length)
      this.#violate(
        'StagedBeforeSwitch',
        `${what} in ${ch.id} before ${missing.join(', ')} staged the target`,
      );
  }

  /** NoLostUpdate over the trace: every acked update reached the final active data set by an apply, or by a re-encipherment that began after it. */
  #lostUpdate(): { line: number; actor: string; detail: string } | null {
    const r = this.#record;
    if (!r) return null;
    const d = r.change === 'committed' ? r.target! : r.active;
    for (const a of this.#acked) {
      const applies = this.#applies.get(a.id) ?? [];
      if (applies.some((x) => x.dataSet === d)) continue;
      const carried = applies.some((x) =>
        [...this.#changes.values()].some(
          (c) =>
            c.old === x.dataSet &&
            c.target === d &&
            c.firstCopySeq !== null &&
            c.firstCopySeq > x.line,
        ),
      );
      if (!carried)
        return {
          line: a.line,
          actor: a.actor,
          detail: `acknowledged update ${a.id} was applied to ${applies.map((x) => x.dataSet).join(', ')} and never reached ${d}`,
        };
    }
    return null;
  }

  results(): InvariantResult[] {
    const lost = this.#lostUpdate();
    const names: (InvariantName | TraceRuleName)[] = [
      'NoLostUpdate',
      'KeyAgreement',
      'SingleWriter',
      'OneChangeAtATime',
      'NoEarlyActivation',
      'StagedBeforeSwitch',
      'NoBackoutAfterCommit',
      'OldDataSetPreserved',
      'UniqueHandles',
      ...TRACE_RULE_NAMES,
    ];
    return names.map((name) => {
      const v = name === 'NoLostUpdate' ? (this.#first.get(name) ?? lost) : this.#first.get(name);
      return v
        ? { name, ok: false, detail: v.detail, line: v.line, actor: v.actor, form: 'trace' }
        : { name, ok: true, form: 'trace' };
    });
  }
}

/** The trace-form invariants over a whole trace; a violation names its line. */
export function checkTrace(events: readonly TraceEvent[]): InvariantResult[] {
  const c = new TraceChecker();
  for (const e of events) c.feed(e);
  return c.results();
}

/** State and trace results merged per invariant name (a name fails if either form fails). */
export function mergeResults(
  state: readonly InvariantResult[],
  trace: readonly InvariantResult[],
): InvariantResult[] {
  const out = new Map<InvariantName | TraceRuleName, InvariantResult>();
  for (const r of [...state, ...trace]) {
    const prev = out.get(r.name);
    if (!prev) {
      out.set(r.name, { ...r });
      continue;
    }
    const merged: InvariantResult = { name: r.name, ok: prev.ok && r.ok, form: 'state+trace' };
    const bad = !prev.ok ? prev : !r.ok ? r : null;
    if (bad?.detail !== undefined) merged.detail = bad.detail;
    if (bad?.line !== undefined) merged.line = bad.line;
    out.set(r.name, merged);
  }
  return [...INVARIANT_NAMES, ...TRACE_RULE_NAMES]
    .filter((n) => out.has(n))
    .map((n) => out.get(n)!);
}
