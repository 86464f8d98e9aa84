// The trace (docs/trace-format.md): one event per line of NDJSON,
// `{"seq":N,"tick":T,"event":NAME,"actor":MEMBER|"env", ...fields}`.
//
// One table, TRACE_EVENTS, defines every event and its fields; the TypeScript types, the line
// validator of `parseTrace` and the JSON Schema (docs/trace.schema.json) are all derived from it.
// Events carry names, MKVPs, handles, counts and ids: never key material.

import {
  CHANGE_STATES,
  MEMBER_STATES,
  MESSAGE_TYPES,
  OUTCOMES,
  REFUSAL_REASONS,
  SPEC_ACTION_NAMES,
  STEP_NAMES,
  UPDATE_OPS,
  UPDATE_PHASES,
  WRITE_OPS,
  type RefusalReason,
} from './vocabulary.ts';

/** The version of the trace format this module reads and writes (the header's `version`). */
export const TRACE_VERSION = 3;
/** Fields a writer may add to any line, ignored by every reader: names under this prefix. */
export const EXTENSION_PREFIX = 'x-';
/** Keys no trace object may have, at any depth (they would reach an object's prototype). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// ---- the table ----
type Kind =
  | 'string'
  | 'integer'
  | 'boolean'
  | 'nullableString'
  | 'strings'
  | 'refusals'
  | 'memberStates'
  | 'dataSetStates'
  | readonly string[];
interface EventSpec {
  readonly req: Readonly<Record<string, Kind>>;
  readonly opt: Readonly<Record<string, Kind>>;
}

const MSG = {
  req: { msg: MESSAGE_TYPES, id: 'string', from: 'string', to: 'string' },
  opt: { change: 'nullableString', update: 'string' },
} as const;
/** A line that is a spec action names it (impl/vocabulary.ts SPEC_ACTIONS). */
const ACTION = { action: SPEC_ACTION_NAMES } as const;

export const TRACE_EVENTS = {
  // The first line: the state the run starts from, as the spec's Init compares it.
  header: {
    req: {
      version: 'integer',
      retries: 'integer',
      members: 'memberStates',
      dataSets: 'dataSetStates',
      active: 'string',
      record: CHANGE_STATES,
    },
    opt: {},
  },
  // DESIGN steps, run by the initiator (or the takeover member): start and done, with the result.
  step: {
    req: { step: STEP_NAMES, phase: ['start', 'done'], change: 'nullableString' },
    opt: {
      result: ['ok', 'refused', 'failed'],
      reason: 'string',
      refusals: 'refusals',
      members: 'strings',
      active: 'string',
      target: 'string',
      mkvp: 'string',
      records: 'integer',
      rewrapped: 'integer',
      copied: 'integer',
      delta: 'integer',
      waiting: 'integer',
      ...ACTION,
    },
  },
  outcome: { req: { change: 'nullableString', outcome: OUTCOMES }, opt: {} },
  // A member's part of a step (actor = that member; the initiator's own part too).
  beginRouting: { req: { change: 'string' }, opt: ACTION },
  reencipher: {
    req: {
      change: 'string',
      from: 'string',
      to: 'string',
      done: 'integer',
      total: 'integer',
      rewrapped: 'integer',
      copied: 'integer',
    },
    opt: {},
  },
  reload: {
    req: { change: 'string', dataSet: 'string', mkvp: 'string', records: 'integer' },
    opt: ACTION,
  },
  // Phase 1's register check: the member cannot switch to `dataSet` (header `mkvp`), so it refuses reload.
  reloadRefused: {
    req: {
      change: 'string',
      dataSet: 'string',
      mkvp: 'string',
      refusal: REFUSAL_REASONS,
      reason: 'string',
    },
    opt: ACTION,
  },
  switch: {
    req: { change: 'string', dataSet: 'string', cur: 'string', records: 'integer' },
    opt: ACTION,
  },
  finish: { req: { change: 'string', active: 'string' }, opt: ACTION },
  backout: { req: { change: 'string' }, opt: ACTION },
  fence: { req: { change: 'nullableString', reason: 'string' }, opt: ACTION },
  // A member read a request and did nothing: `reason` says why.
  ignore: {
    req: {
      msg: MESSAGE_TYPES,
      id: 'string',
      from: 'string',
      change: 'nullableString',
      reason: 'string',
    },
    opt: ACTION,
  },
  takeover: {
    req: {
      change: 'string',
      from: 'string',
      record: ['running', 'committed'],
      then: ['backout', 'rollForward'],
    },
    opt: ACTION,
  },
  restartCheck: {
    req: {
      active: 'string',
      record: CHANGE_STATES,
      header: 'nullableString',
      cur: 'nullableString',
      new: 'nullableString',
      result: ['serve', 'setMasterKey', 'fenced'],
    },
    opt: { reason: 'string', ...ACTION },
  },
  archive: {
    req: { from: 'string', to: 'string', result: ['ok', 'failed'] },
    opt: { reason: 'string' },
  },
  // Sysplex messaging.
  send: { req: MSG.req, opt: { ...MSG.opt, ...ACTION } },
  deliver: { req: MSG.req, opt: { ...MSG.opt, copy: 'boolean', ...ACTION } },
  drop: { req: MSG.req, opt: { ...MSG.opt, why: ['fault', 'down'], ...ACTION } },
  duplicate: MSG,
  delay: { req: MSG.req, opt: { ...MSG.opt, until: 'integer' } },
  memberLost: { req: { member: 'string' }, opt: {} },
  memberJoined: { req: { member: 'string' }, opt: {} },
  expel: { req: { member: 'string' }, opt: ACTION },
  timeout: { req: { step: 'string', waitingFor: 'strings', retry: 'integer' }, opt: ACTION },
  // Dynamic updates (phases of docs/protocol.md).
  update: {
    req: { phase: UPDATE_PHASES, id: 'string', op: UPDATE_OPS },
    opt: {
      handle: 'string',
      token: 'string',
      dataSet: 'string',
      reason: 'string',
      origin: 'string',
      ...ACTION,
    },
  },
  // Shared DASD: the cluster record and every data set write.
  record: {
    req: {
      from: CHANGE_STATES,
      to: CHANGE_STATES,
      active: 'string',
      initiator: 'nullableString',
      target: 'nullableString',
      change: 'nullableString',
    },
    opt: ACTION,
  },
  write: {
    req: { dataSet: 'string', op: WRITE_OPS },
    opt: { handle: 'string', mkvp: 'string', to: 'string', update: 'string' },
  },
  ioError: { req: { dataSet: 'string', op: [...WRITE_OPS, 'record'], step: 'string' }, opt: {} },
  // Environment (fault injection).
  crash: { req: { member: 'string' }, opt: ACTION },
  restart: { req: { member: 'string' }, opt: ACTION },
  partition: { req: { member: 'string' }, opt: ACTION },
  heal: { req: { member: 'string' }, opt: ACTION },
  // The operator clears a member's new master key register with the TKE (all its coprocessors, or one).
  clearNew: { req: { member: 'string' }, opt: { coprocessor: 'integer', ...ACTION } },
} as const satisfies Record<string, EventSpec>;

export type TraceEventName = keyof typeof TRACE_EVENTS;

/** A member as the header shows it: up or down, its registers' MKVPs and the `new` register's status. */
export interface MemberAtStart {
  member: string;
  state: (typeof MEMBER_STATES)[number];
  cur: string | null;
  new: string | null;
  newStatus: (typeof NEW_STATUSES)[number];
}
/** A data set as the header shows it: its header MKVP (null: none yet) and how many records it holds. */
export interface DataSetAtStart {
  dataSet: string;
  mkvp: string | null;
  records: number;
}
const NEW_STATUSES = ['empty', 'uncommitted', 'committed'] as const;
/** The fields of the header's members and data sets, for the validator and the schema. */
const MEMBER_AT_START: Record<string, Kind> = {
  member: 'string',
  state: MEMBER_STATES,
  cur: 'nullableString',
  new: 'nullableString',
  newStatus: NEW_STATUSES,
};
const DATA_SET_AT_START: Record<string, Kind> = {
  dataSet: 'string',
  mkvp: 'nullableString',
  records: 'integer',
};

type ValueOf<K> = K extends 'string'
  ? string
  : K extends 'integer'
    ? number
    : K extends 'boolean'
      ? boolean
      : K extends 'memberStates'
        ? MemberAtStart[]
        : K extends 'dataSetStates'
          ? DataSetAtStart[]
          : K extends 'nullableString'
            ? string | null
            : K extends 'strings'
              ? string[]
              : K extends 'refusals'
                ? { subject: string; reason: RefusalReason }[]
                : K extends readonly (infer U)[]
                  ? U
                  : never;
type Fields<S extends EventSpec> = { -readonly [F in keyof S['req']]: ValueOf<S['req'][F]> } & {
  -readonly [F in keyof S['opt']]?: ValueOf<S['opt'][F]>;
};
type EventOf<N extends TraceEventName> = {
  seq: number;
  tick: number;
  event: N;
  actor: string;
} & Fields<(typeof TRACE_EVENTS)[N]>;

/** One trace event: a discriminated union on `event`. */
export type TraceEvent = { [N in TraceEventName]: EventOf<N> }[TraceEventName];
export type TraceEventOf<N extends TraceEventName> = Extract<TraceEvent, { event: N }>;
/** An event before the writer numbers it (seq and tick are added by the writer). */
export type TraceEventInput = TraceEvent extends infer E
  ? E extends TraceEvent
    ? Omit<E, 'seq' | 'tick'>
    : never
  : never;

// ---- writer ----

const HEAD = ['seq', 'tick', 'event', 'actor'];

/** One line of NDJSON: seq, tick, event, actor first, then the other fields in name order. */
export function formatEvent(e: TraceEvent): string {
  const rec = e as unknown as Record<string, unknown>;
  const keys = [
    ...HEAD,
    ...Object.keys(rec)
      .filter((k) => !HEAD.includes(k) && rec[k] !== undefined)
      .sort(),
  ];
  return '{' + keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(rec[k])}`).join(',') + '}';
}

export function toNdjson(events: readonly TraceEvent[]): string {
  return events.map((e) => formatEvent(e) + '\n').join('');
}

// ---- parser / validator ----

export class TraceFormatError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`trace line ${line}: ${message}`);
    this.name = 'TraceFormatError';
    this.line = line;
  }
}

function kindOk(kind: Kind, v: unknown): boolean {
  if (Array.isArray(kind)) return typeof v === 'string' && kind.includes(v);
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isSafeInteger(v) && (v as number) >= 0;
    case 'boolean':
      return typeof v === 'boolean';
    case 'nullableString':
      return v === null || typeof v === 'string';
    case 'memberStates':
      return Array.isArray(v) && v.every((m) => exactly(m, MEMBER_AT_START));
    case 'dataSetStates':
      return Array.isArray(v) && v.every((d) => exactly(d, DATA_SET_AT_START));
    case 'strings':
      return Array.isArray(v) && v.every((s) => typeof s === 'string');
    case 'refusals':
      return (
        Array.isArray(v) &&
        v.every(
          (r) =>
            r !== null &&
            typeof r === 'object' &&
            typeof r.subject === 'string' &&
            (REFUSAL_REASONS as readonly string[]).includes(r.reason) &&
            Object.keys(r).length === 2,
        )
      );
    default:
      return false;
  }
}

/** An object with exactly these fields, each of its kind. */
function exactly(v: unknown, fields: Record<string, Kind>): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const rec = v as Record<string, unknown>;
  return (
    Object.keys(rec).length === Object.keys(fields).length &&
    Object.entries(fields).every(([f, k]) => Object.hasOwn(rec, f) && kindOk(k, rec[f]))
  );
}

function describeKind(kind: Kind): string {
  if (Array.isArray(kind)) return `one of ${kind.join(' | ')}`;
  switch (kind) {
    case 'refusals':
      return 'a list of {subject, reason}';
    case 'memberStates':
      return 'a list of {member, state, cur, new, newStatus}';
    case 'dataSetStates':
      return 'a list of {dataSet, mkvp, records}';
    default:
      return `a ${kind}`;
  }
}

/** The first key, at any depth, that would reach an object's prototype. */
function forbiddenKey(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  for (const [k, x] of Object.entries(v)) {
    if (FORBIDDEN_KEYS.has(k)) return k;
    const deeper = forbiddenKey(x);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/** Checks one parsed event against the table; throws a TraceFormatError naming the line. */
export function validateEvent(v: unknown, line: number): TraceEvent {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new TraceFormatError(line, 'not a JSON object');
  const rec = v as Record<string, unknown>;
  const bad = forbiddenKey(rec);
  if (bad !== undefined)
    throw new TraceFormatError(line, `the key "${bad}" is not allowed in a trace`);
  const name = rec.event;
  if (typeof name !== 'string' || !Object.hasOwn(TRACE_EVENTS, name))
    throw new TraceFormatError(line, `unknown event ${JSON.stringify(name)}`);
  const spec: EventSpec = TRACE_EVENTS[name as TraceEventName];
  const head: Record<string, Kind> = { seq: 'integer', tick: 'integer', actor: 'string' };
  for (const [field, kind] of Object.entries({ ...head, ...spec.req })) {
    if (!Object.hasOwn(rec, field))
      throw new TraceFormatError(line, `${name} event lacks field "${field}"`);
    if (!kindOk(kind, rec[field]))
      throw new TraceFormatError(
        line,
        `${name}.${field} must be ${describeKind(kind)}, got ${JSON.stringify(rec[field])}`,
      );
  }
  for (const [field, value] of Object.entries(rec)) {
    if (
      field === 'event' ||
      Object.hasOwn(head, field) ||
      Object.hasOwn(spec.req, field) ||
      field.startsWith(EXTENSION_PREFIX)
    )
      continue;
    const kind = Object.hasOwn(spec.opt, field) ? spec.opt[field] : undefined;
    if (kind === undefined)
      throw new TraceFormatError(line, `${name} event has unknown field "${field}"`);
    if (!kindOk(kind, value))
      throw new TraceFormatError(
        line,
        `${name}.${field} must be ${describeKind(kind)}, got ${JSON.stringify(value)}`,
      );
  }
  return rec as unknown as TraceEvent;
}

/**
 * Parses and validates a trace a line at a time (feed the lines of NDJSON in order, without their
 * `\n`): a header first (of this version), then events; seq 1, 2, 3..., ticks never going back.
 * It keeps only the last tick, so a trace of any length can be read as a stream.
 */
export class TraceParser {
  /** The lines read so far. */
  lines = 0;
  #tick = 0;

  line(text: string): TraceEvent {
    const line = ++this.lines;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new TraceFormatError(line, `not JSON (${(e as Error).message})`);
    }
    const ev = validateEvent(v, line);
    if (ev.seq !== line) throw new TraceFormatError(line, `seq must be ${line}, got ${ev.seq}`);
    if ((ev.event === 'header') !== (line === 1)) {
      throw new TraceFormatError(
        line,
        line === 1
          ? `the first line must be the header, got a ${ev.event} event`
          : 'a header after the first line',
      );
    }
    if (ev.event === 'header' && ev.version !== TRACE_VERSION) {
      throw new TraceFormatError(
        line,
        `trace format version ${ev.version}; this reader takes version ${TRACE_VERSION}`,
      );
    }
    if (line > 1 && ev.tick < this.#tick)
      throw new TraceFormatError(line, `tick ${ev.tick} goes back from ${this.#tick}`);
    this.#tick = ev.tick;
    return ev;
  }
}

/** Parses and validates NDJSON held whole (TraceParser, line by line). */
export function parseTrace(ndjson: string): TraceEvent[] {
  const lines = ndjson.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const parser = new TraceParser();
  return lines.map((text) => parser.line(text));
}

// ---- JSON Schema (docs/trace.schema.json is this, pretty-printed) ----

function kindSchema(kind: Kind): object {
  if (Array.isArray(kind)) return { enum: [...kind] };
  switch (kind) {
    case 'string':
      return { type: 'string' };
    case 'integer':
      return { type: 'integer', minimum: 0 };
    case 'boolean':
      return { type: 'boolean' };
    case 'nullableString':
      return { type: ['string', 'null'] };
    case 'strings':
      return { type: 'array', items: { type: 'string' } };
    case 'memberStates':
      return objects(MEMBER_AT_START);
    case 'dataSetStates':
      return objects(DATA_SET_AT_START);
    case 'refusals':
      return {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['subject', 'reason'],
          properties: { subject: { type: 'string' }, reason: { enum: [...REFUSAL_REASONS] } },
        },
      };
    default:
      throw new Error(`unknown kind ${String(kind)}`);
  }
}

function objects(fields: Record<string, Kind>): object {
  return {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: Object.keys(fields),
      properties: Object.fromEntries(Object.entries(fields).map(([f, k]) => [f, kindSchema(k)])),
    },
  };
}

export function traceJsonSchema(): object {
  const variants = Object.entries(TRACE_EVENTS).map(([name, spec]: [string, EventSpec]) => ({
    if: { properties: { event: { const: name } } },
    then: {
      additionalProperties: false,
      patternProperties: { [`^${EXTENSION_PREFIX}`]: {} },
      required: ['seq', 'tick', 'event', 'actor', ...Object.keys(spec.req)],
      properties: {
        seq: { type: 'integer', minimum: 1 },
        tick: { type: 'integer', minimum: 0 },
        event: { const: name },
        actor: { type: 'string' },
        ...Object.fromEntries(
          [...Object.entries(spec.req), ...Object.entries(spec.opt)].map(([f, k]) => [
            f,
            kindSchema(k),
          ]),
        ),
      },
    },
  }));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'tkds-cmk/trace.schema.json',
    title: 'One line of a tkds-cmk trace (docs/trace-format.md)',
    type: 'object',
    required: ['seq', 'tick', 'event', 'actor'],
    properties: { event: { enum: Object.keys(TRACE_EVENTS) } },
    allOf: variants,
  };
}
