// Turns a trace (the NDJSON of docs/trace-format.md) into the TLA+ module TraceData that
// tla/TraceCMK.tla checks against CoordinatedCMK: one observation per spec action of the trace
// (impl/actions.ts: the lines that name their action), each keeping its line number and named
// after the TLA+ action that takes it. The other lines (data set writes, progress, outcomes,
// group notices) are not actions of the spec; see docs/conformance.md.
import { parseTrace, type TraceEvent, type TraceEventOf } from '../impl/index.ts';
import { ActionStreamError, FAULT_ACTIONS, specSteps, type SpecStep } from '../impl/actions.ts';

/** One observation: the spec action `ev` (its TLA+ name), with its member, argument, peer, message step and update. */
export interface Observation {
  seq: number;
  ev: string;
  m: string;
  arg: string;
  peer: string;
  step: string;
  u: number;
  /** The data set the line shows (the spec's OldDS, Target, "other", or "none") and the key of an MKVP (OldKey 1, NewKey 2, another 3, none 0). */
  ds: string;
  key: number;
}

export interface Conversion {
  observations: Observation[];
  /** Trace member name -> the spec's name (the spec orders members as SYSA, SYSB, ...). */
  names: Map<string, string>;
  /** TraceData's definitions (the trace's constants and Trace), name and TLA+ expression. */
  data: [string, string][];
  /** The TraceData module. */
  module: string;
}

/** A trace this check cannot take, with the line that says so. */
export class TraceConversionError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`trace line ${line}: ${message}`);
    this.name = 'TraceConversionError';
  }
}

const SPEC_NAMES = ['SYSA', 'SYSB', 'SYSC', 'SYSD', 'SYSE', 'SYSF', 'SYSG', 'SYSH'];
// Refusals the spec models; others (release level, coprocessors, ...) are outside it.
const MODELLED_REFUSALS = new Set([
  'changeRunning',
  'memberNotActive',
  'newNotCommitted',
  'newMkvpDiffers',
  'targetNotEmpty',
  'targetIsActive',
]);

/** Parses NDJSON with the trace format's own parser, then converts it. */
export function convertNdjson(ndjson: string): Conversion {
  return convertTrace(parseTrace(ndjson));
}

/** One observation per spec action of the trace (impl/actions.ts), its parameters in the spec's names. */
export function convertTrace(events: readonly TraceEvent[]): Conversion {
  const header = events[0];
  if (header?.event !== 'header') throw new TraceConversionError(1, 'the trace has no header line');
  const names = memberNames(header.members.map((m) => m.member));
  const { dataSetOf, keyOf } = initialState(header, events);
  const spec = (line: number, member: string | null): string => {
    if (member === null) return 'none';
    const n = names.get(member);
    if (n === undefined)
      throw new TraceConversionError(line, `${member} is not a member of the cluster`);
    return n;
  };
  for (const e of events) {
    if (e.event !== 'step' || e.step !== 'validate' || e.phase !== 'done') continue;
    const outside = (e.refusals ?? []).find((r) => !MODELLED_REFUSALS.has(r.reason));
    if (outside) {
      throw new TraceConversionError(
        e.seq,
        `refusal reason ${outside.reason} is outside the spec (it takes release levels and coprocessors as valid)`,
      );
    }
  }
  let steps: SpecStep[];
  try {
    steps = specSteps(events);
  } catch (e) {
    if (e instanceof ActionStreamError)
      throw new TraceConversionError(e.line, e.message.replace(/^trace line \d+: /, ''));
    throw e;
  }
  const updates = new Map<string, number>();
  const updateIndex = (id: string | null): number => {
    if (id === null) return 0;
    if (!updates.has(id)) updates.set(id, updates.size + 1);
    return updates.get(id)!;
  };
  const observations: Observation[] = steps.map((s) => ({
    seq: s.line,
    ev: s.action,
    m: spec(s.line, s.member),
    arg: s.result ?? s.kind ?? 'none',
    peer: spec(s.line, s.peer),
    step: s.step ?? 'none',
    u: updateIndex(s.update),
    ds: dataSetOf(s.dataSet, s.line),
    key: keyOf(s.mkvp),
  }));
  const faults =
    steps.filter((s) => FAULT_ACTIONS.has(s.action)).length +
    events.filter((e) => e.event === 'ioError').length;
  const initiators = new Set(
    events
      .filter((e) => e.event === 'step' && e.step === 'validate' && e.phase === 'done')
      .map((e) => e.actor),
  );
  const uncommitted = header.members
    .filter((m) => m.newStatus === 'uncommitted')
    .map((m) => m.member);

  const set = (xs: Iterable<string>) =>
    `{${[...xs].map((x) => JSON.stringify(names.get(x) ?? x)).join(', ')}}`;
  const data: [string, string][] = [
    ['TraceMembers', set(names.keys())],
    ['TraceInitiators', set(initiators)],
    ['TraceUncommittedNew', set(uncommitted)],
    ['TraceNumUpdates', String(updates.size)],
    [
      'TraceRefusedUpdates',
      `{${[...new Set(observations.filter((o) => o.ev === 'ApplyRefused').map((o) => o.u))].join(', ')}}`,
    ],
    ['TraceFaults', String(faults)],
    ['Trace', `<<\n${observations.map((o) => `  ${tlaRecord(o)}`).join(',\n')}\n>>`],
  ];
  const module = [
    '---------------------------- MODULE TraceData ----------------------------',
    '\\* Generated by tla/trace-to-tla.ts from an NDJSON trace (docs/trace-format.md).',
    `\\* Members: ${[...names].map(([t, s]) => (t === s ? t : `${t} as ${s}`)).join(', ')}.`,
    ...data.map(([name, expr]) => `${name} == ${expr}`),
    '=============================================================================',
    '',
  ].join('\n');
  return { observations, names, data, module };
}

/**
 * The header against the spec's Init (every member serving, `cur` the active data set's MKVP, one
 * new MKVP loaded everywhere, no change running), and the spec's names for the data sets and keys.
 */
function initialState(header: TraceEventOf<'header'>, events: readonly TraceEvent[]) {
  const outside = (why: string) =>
    new TraceConversionError(1, `the header's state is outside the spec's Init: ${why}`);
  const oldKey = header.dataSets.find((d) => d.dataSet === header.active)?.mkvp ?? null;
  if (header.record !== 'none') throw outside(`the cluster record shows a change ${header.record}`);
  const newKeys = new Set(header.members.map((m) => m.new).filter((k) => k !== null));
  for (const m of header.members) {
    if (m.state !== 'serving') throw outside(`${m.member} starts ${m.state}, not serving`);
    if (m.cur !== oldKey)
      throw outside(`${m.member}'s cur MKVP is not the MKVP of ${header.active}`);
  }
  if (newKeys.size > 1) throw outside('the members have new master keys of different MKVPs');
  const validated = events.find(
    (e): e is TraceEventOf<'step'> =>
      e.event === 'step' && e.step === 'validate' && e.phase === 'done',
  );
  const target = validated?.target ?? null;
  const newKey = [...newKeys][0] ?? null;
  // A name is the spec's data set it names at a line: finish's archive renames the old data set
  // to the archive name and the target to the old name (`write` lines of op `rename`), which the
  // spec does not see (its OldDS and Target are the data sets, whatever their names).
  const named = new Map<string, string>([[header.active, 'CSF.TKDS']]);
  if (target !== null) named.set(target, 'CSF.TKDS.NEW');
  const renames = events.filter(
    (e): e is TraceEventOf<'write'> => e.event === 'write' && e.op === 'rename' && !!e.to,
  );
  let renamed = 0;
  return {
    /** The spec's name of data set `d` at line `line` (asked in line order). */
    dataSetOf: (d: string | null, line: number): string => {
      for (; renamed < renames.length && renames[renamed]!.seq < line; renamed++) {
        const r = renames[renamed]!;
        const ds = named.get(r.dataSet) ?? 'other';
        named.delete(r.dataSet);
        named.set(r.to!, ds);
      }
      return d === null ? 'none' : (named.get(d) ?? 'other');
    },
    keyOf: (k: string | null): number => (k === null ? 0 : k === oldKey ? 1 : k === newKey ? 2 : 3),
  };
}

/** The cluster (the header's members), in name order, as SYSA, SYSB, ... */
function memberNames(members: readonly string[]): Map<string, string> {
  const sorted = [...members].sort();
  if (sorted.length === 0) throw new TraceConversionError(1, 'the trace names no member');
  if (sorted.length > SPEC_NAMES.length) {
    throw new TraceConversionError(
      1,
      `${sorted.length} members; the spec names at most ${SPEC_NAMES.length}`,
    );
  }
  return new Map(sorted.map((name, i) => [name, SPEC_NAMES[i]!]));
}

function tlaRecord(o: Observation): string {
  const str = (v: string) => JSON.stringify(v);
  return (
    `[seq |-> ${o.seq}, ev |-> ${str(o.ev)}, m |-> ${str(o.m)}, arg |-> ${str(o.arg)}, ` +
    `peer |-> ${str(o.peer)}, step |-> ${str(o.step)}, u |-> ${o.u}, ds |-> ${str(o.ds)}, key |-> ${o.key}]`
  );
}
