// Turns a trace (the NDJSON of docs/trace-format.md) into the TLA+ module TraceData that
// tla/TraceCMK.tla checks against CoordinatedCMK: one observation per spec action of the trace
// (impl/actions.ts: the lines that name their action), each keeping its line number and named
// after the TLA+ action that takes it. The other lines (data set writes, progress, outcomes,
// group notices) are not actions of the spec; see docs/conformance.md.
import { parseTrace, type TraceEvent, type TraceEventOf } from '../impl/index.ts';
import { ActionStream, FAULT_ACTIONS } from '../impl/actions.ts';

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
  const module: string[] = [];
  const converter = new TraceConverter((text) => module.push(text));
  for (const e of events) converter.feed(e);
  const { names, constants } = converter.finish();
  const observations = converter.observations;
  const trace = `<<\n${observations.map((o) => `  ${tlaRecord(o)}`).join(',\n')}\n>>`;
  return {
    observations,
    names,
    data: [...constants, ['Trace', trace]],
    module: module.join(''),
  };
}

/**
 * The conversion a line at a time (`feed` the trace's lines in order, then `finish`): the module
 * TraceData is written to `write` as the lines arrive, its observations (the tuple `Trace`) first
 * and the constants the whole trace decides (initiators, updates, faults) after them, so no line
 * is held. The observations are kept (`observations`): one per spec action, they name the line
 * where TLC stops.
 */
export class TraceConverter {
  readonly observations: Observation[] = [];
  readonly #write: (text: string) => void;
  readonly #stream = new ActionStream();
  #line = 0;
  #names: Map<string, string> | null = null;
  #uncommitted: string[] = [];
  #state: ReturnType<typeof initialState> | null = null;
  readonly #updates = new Map<string, number>();
  readonly #initiators = new Set<string>();
  #faults = 0;

  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  feed(e: TraceEvent): void {
    const line = ++this.#line;
    if (line === 1) return this.#header(e);
    const state = this.#state!;
    if (e.event === 'step' && e.step === 'validate' && e.phase === 'done') {
      const outside = (e.refusals ?? []).find((r) => !MODELLED_REFUSALS.has(r.reason));
      if (outside) {
        throw new TraceConversionError(
          e.seq,
          `refusal reason ${outside.reason} is outside the spec (it takes release levels and coprocessors as valid)`,
        );
      }
      this.#initiators.add(e.actor);
      state.validated(e.target ?? null);
    }
    if (e.event === 'ioError') this.#faults++;
    for (const item of this.#stream.next(e)) {
      if (item.type !== 'action') continue;
      if (item.unasked !== null) throw new TraceConversionError(line, item.unasked);
      const s = item.step;
      if (FAULT_ACTIONS.has(s.action)) this.#faults++;
      const o: Observation = {
        seq: s.line,
        ev: s.action,
        m: this.#spec(s.line, s.member),
        arg: s.result ?? s.kind ?? 'none',
        peer: this.#spec(s.line, s.peer),
        step: s.step ?? 'none',
        u: this.#updateIndex(s.update),
        ds: state.dataSetOf(s.dataSet),
        key: state.keyOf(s.mkvp),
      };
      this.#write(`${this.observations.length ? ',\n' : ''}  ${tlaRecord(o)}`);
      this.observations.push(o);
    }
    if (e.event === 'write' && e.op === 'rename' && e.to) state.renamed(e.dataSet, e.to);
  }

  /** The end of the trace: the rest of the module; the member names and the constants. */
  finish(): { names: Map<string, string>; constants: [string, string][] } {
    const names = this.#names;
    if (names === null) throw new TraceConversionError(1, 'the trace has no header line');
    const set = (xs: Iterable<string>) =>
      `{${[...xs].map((x) => JSON.stringify(names.get(x) ?? x)).join(', ')}}`;
    const refused = this.observations.filter((o) => o.ev === 'ApplyRefused').map((o) => o.u);
    const constants: [string, string][] = [
      ['TraceMembers', set(names.keys())],
      ['TraceInitiators', set(this.#initiators)],
      ['TraceUncommittedNew', set(this.#uncommitted)],
      ['TraceOtherNew', set(this.#state!.otherNew)],
      ['TraceNumUpdates', String(this.#updates.size)],
      ['TraceRefusedUpdates', `{${[...new Set(refused)].join(', ')}}`],
      ['TraceFaults', String(this.#faults)],
    ];
    this.#write(
      [
        '\n>>',
        ...constants.map(([name, expr]) => `${name} == ${expr}`),
        '=============================================================================',
        '',
      ].join('\n'),
    );
    return { names, constants };
  }

  #header(header: TraceEvent): void {
    if (header.event !== 'header')
      throw new TraceConversionError(1, 'the trace has no header line');
    const names = memberNames(header.members.map((m) => m.member));
    this.#state = initialState(header);
    this.#names = names;
    this.#uncommitted = header.members
      .filter((m) => m.newStatus === 'uncommitted')
      .map((m) => m.member);
    this.#write(
      [
        '---------------------------- MODULE TraceData ----------------------------',
        '\\* Generated by tla/trace-to-tla.ts from an NDJSON trace (docs/trace-format.md).',
        `\\* Members: ${[...names].map(([t, s]) => (t === s ? t : `${t} as ${s}`)).join(', ')}.`,
        'Trace == <<\n',
      ].join('\n'),
    );
  }

  #spec(line: number, member: string | null): string {
    if (member === null) return 'none';
    const n = this.#names!.get(member);
    if (n === undefined)
      throw new TraceConversionError(line, `${member} is not a member of the cluster`);
    return n;
  }

  #updateIndex(id: string | null): number {
    if (id === null) return 0;
    if (!this.#updates.has(id)) this.#updates.set(id, this.#updates.size + 1);
    return this.#updates.get(id)!;
  }
}

/**
 * The header against the spec's Init (every member serving, `cur` the active data set's MKVP, no
 * change running), and the spec's names for the data sets and keys, told as the trace goes: the
 * first validate's target, and each rename. The new MKVP most members hold (the first member's by
 * name on a tie) is the spec's NewKey; the members whose new register holds another are its
 * OtherNew (their keys all OtherKey: validate refuses newMkvpDiffers wherever it runs).
 */
function initialState(header: TraceEventOf<'header'>) {
  const outside = (why: string) =>
    new TraceConversionError(1, `the header's state is outside the spec's Init: ${why}`);
  const oldKey = header.dataSets.find((d) => d.dataSet === header.active)?.mkvp ?? null;
  if (header.record !== 'none') throw outside(`the cluster record shows a change ${header.record}`);
  for (const m of header.members) {
    if (m.state !== 'serving') throw outside(`${m.member} starts ${m.state}, not serving`);
    if (m.cur !== oldKey)
      throw outside(`${m.member}'s cur MKVP is not the MKVP of ${header.active}`);
  }
  const newKey = mostHeld(
    [...header.members].sort((a, b) => (a.member < b.member ? -1 : 1)).map((m) => m.new),
  );
  // A name is the spec's data set it names at a line: finish's archive renames the old data set
  // to the archive name and the target to the old name (`write` lines of op `rename`), which the
  // spec does not see (its OldDS and Target are the data sets, whatever their names).
  const named = new Map<string, string>([[header.active, 'CSF.TKDS']]);
  let validated = false;
  return {
    /** The members whose new register holds another key than the spec's NewKey. */
    otherNew: header.members.filter((m) => m.new !== null && m.new !== newKey).map((m) => m.member),
    /** A validate done: the first names the spec's Target. */
    validated: (target: string | null): void => {
      if (!validated && target !== null) named.set(target, 'CSF.TKDS.NEW');
      validated = true;
    },
    /** A rename: later lines name the data set `from` named by `to`. */
    renamed: (from: string, to: string): void => {
      const ds = named.get(from) ?? 'other';
      named.delete(from);
      named.set(to, ds);
    },
    /** The spec's name of data set `d` at the line being read. */
    dataSetOf: (d: string | null): string => (d === null ? 'none' : (named.get(d) ?? 'other')),
    keyOf: (k: string | null): number => (k === null ? 0 : k === oldKey ? 1 : k === newKey ? 2 : 3),
  };
}

/** The key most registers hold (the first of them on a tie); null: none holds one. */
function mostHeld(keys: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>();
  for (const k of keys) if (k !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
  let most: string | null = null;
  for (const [k, n] of counts) if (most === null || n > counts.get(most)!) most = k;
  return most;
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
