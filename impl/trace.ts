// The trace (docs/trace-format.md): one event per line of NDJSON,
// `{"seq":N,"tick":T,"event":NAME,"actor":MEMBER|"env", ...fields}`.
//
// One table, TRACE_EVENTS, defines every event and its fields; the TypeScript types, the line
// validator of `parseTrace` and the JSON Schema (docs/trace.schema.json) are all derived from it.
// Events carry names, MKVPs, handles, counts and ids: never key material.

export const STEP_NAMES = ['validate', 'beginRouting', 'reencipher', 'suspend', 'applyDelta', 'reload', 'commit', 'switch', 'finish', 'resume', 'backout'] as const;
export type StepName = (typeof STEP_NAMES)[number];

export const MESSAGE_TYPES = [
  'beginRouting', 'beginRoutingAck', 'routeUpdate', 'updateResult', 'liveUpdate', 'liveUpdateAck',
  'reload', 'reloadAck', 'switch', 'switchAck', 'finish', 'finishAck', 'backout', 'backoutAck', 'fence', 'fenceAck',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const UPDATE_OPS = ['createToken', 'deleteToken', 'createObject', 'updateObject', 'destroyObject'] as const;
export type UpdateOpName = (typeof UPDATE_OPS)[number];
export const UPDATE_PHASES = ['request', 'route', 'apply', 'wait', 'ack', 'fail', 'unknown'] as const;
export type UpdatePhase = (typeof UPDATE_PHASES)[number];
export const CHANGE_STATES = ['none', 'running', 'committed'] as const;
export const OUTCOMES = ['completed', 'backedOut', 'fenced', 'refused', 'unresolved'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const REFUSAL_REASONS = [
  'changeRunning', 'memberNotActive', 'levelBelowHCR77A0', 'noActiveCoprocessor', 'newNotCommitted',
  'newMkvpDiffers', 'targetMissing', 'targetNotEmpty', 'targetIsActive', 'archiveExists',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
export const WRITE_OPS = ['allocate', 'put', 'delete', 'header', 'unusable', 'rename'] as const;

// ---- the table ----
type Kind = 'string' | 'integer' | 'nullableString' | 'strings' | 'refusals' | readonly string[];
interface EventSpec { readonly req: Readonly<Record<string, Kind>>; readonly opt: Readonly<Record<string, Kind>> }

const MSG = { req: { msg: MESSAGE_TYPES, id: 'string', from: 'string', to: 'string' }, opt: { change: 'nullableString', update: 'string' } } as const;

export const TRACE_EVENTS = {
  // DESIGN steps, run by the initiator (or the takeover member): start and done, with the result.
  step: {
    req: { step: STEP_NAMES, phase: ['start', 'done'], change: 'nullableString' },
    opt: {
      result: ['ok', 'refused', 'failed'], reason: 'string', refusals: 'refusals', members: 'strings',
      active: 'string', target: 'string', mkvp: 'string', records: 'integer', rewrapped: 'integer',
      copied: 'integer', delta: 'integer', waiting: 'integer',
    },
  },
  outcome: { req: { change: 'nullableString', outcome: OUTCOMES }, opt: {} },
  // A member's part of a step (actor = that member; the initiator's own part too).
  beginRouting: { req: { change: 'string' }, opt: {} },
  reencipher: { req: { change: 'string', from: 'string', to: 'string', done: 'integer', total: 'integer', rewrapped: 'integer', copied: 'integer' }, opt: {} },
  reload: { req: { change: 'string', dataSet: 'string', mkvp: 'string', records: 'integer' }, opt: {} },
  switch: { req: { change: 'string', dataSet: 'string', cur: 'string', records: 'integer' }, opt: {} },
  finish: { req: { change: 'string', active: 'string' }, opt: {} },
  backout: { req: { change: 'string' }, opt: {} },
  fence: { req: { change: 'nullableString', reason: 'string' }, opt: {} },
  takeover: { req: { change: 'string', from: 'string', record: ['running', 'committed'], then: ['backout', 'rollForward'] }, opt: {} },
  restartCheck: {
    req: { active: 'string', record: CHANGE_STATES, header: 'nullableString', cur: 'nullableString', new: 'nullableString', result: ['serve', 'setMasterKey', 'fenced'] },
    opt: { reason: 'string' },
  },
  archive: { req: { from: 'string', to: 'string', result: ['ok', 'failed'] }, opt: { reason: 'string' } },
  // Sysplex messaging.
  send: MSG,
  deliver: MSG,
  drop: { req: MSG.req, opt: { ...MSG.opt, why: ['fault', 'down'] } },
  duplicate: MSG,
  delay: { req: MSG.req, opt: { ...MSG.opt, until: 'integer' } },
  memberLost: { req: { member: 'string' }, opt: {} },
  memberJoined: { req: { member: 'string' }, opt: {} },
  expel: { req: { member: 'string' }, opt: {} },
  timeout: { req: { step: 'string', waitingFor: 'strings', retry: 'integer' }, opt: {} },
  // Dynamic updates (phases of docs/protocol.md).
  update: {
    req: { phase: UPDATE_PHASES, id: 'string', op: UPDATE_OPS },
    opt: { handle: 'string', token: 'string', dataSet: 'string', reason: 'string', origin: 'string' },
  },
  // Shared DASD: the cluster record and every data set write.
  record: { req: { from: CHANGE_STATES, to: CHANGE_STATES, active: 'string', initiator: 'nullableString', target: 'nullableString', change: 'nullableString' }, opt: {} },
  write: { req: { dataSet: 'string', op: WRITE_OPS }, opt: { handle: 'string', mkvp: 'string', to: 'string', update: 'string' } },
  ioError: { req: { dataSet: 'string', op: [...WRITE_OPS, 'record'], step: 'string' }, opt: {} },
  // Environment (fault injection).
  crash: { req: { member: 'string' }, opt: {} },
  restart: { req: { member: 'string' }, opt: {} },
  partition: { req: { member: 'string' }, opt: {} },
  heal: { req: { member: 'string' }, opt: {} },
} as const satisfies Record<string, EventSpec>;

export type TraceEventName = keyof typeof TRACE_EVENTS;

type ValueOf<K> = K extends 'string' ? string
  : K extends 'integer' ? number
  : K extends 'nullableString' ? string | null
  : K extends 'strings' ? string[]
  : K extends 'refusals' ? { subject: string; reason: RefusalReason }[]
  : K extends readonly (infer U)[] ? U
  : never;
type Fields<S extends EventSpec> = { -readonly [F in keyof S['req']]: ValueOf<S['req'][F]> } & { -readonly [F in keyof S['opt']]?: ValueOf<S['opt'][F]> };
type EventOf<N extends TraceEventName> = { seq: number; tick: number; event: N; actor: string } & Fields<(typeof TRACE_EVENTS)[N]>;

/** One trace event: a discriminated union on `event`. */
export type TraceEvent = { [N in TraceEventName]: EventOf<N> }[TraceEventName];
export type TraceEventOf<N extends TraceEventName> = Extract<TraceEvent, { event: N }>;
/** An event before the writer numbers it (seq and tick are added by the writer). */
export type TraceEventInput = TraceEvent extends infer E ? E extends TraceEvent ? Omit<E, 'seq' | 'tick'> : never : never;

// ---- writer ----

const HEAD = ['seq', 'tick', 'event', 'actor'];

/** One line of NDJSON: seq, tick, event, actor first, then the other fields in name order. */
export function formatEvent(e: TraceEvent): string {
  const rec = e as unknown as Record<string, unknown>;
  const keys = [...HEAD, ...Object.keys(rec).filter((k) => !HEAD.includes(k) && rec[k] !== undefined).sort()];
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
    case 'string': return typeof v === 'string';
    case 'integer': return Number.isSafeInteger(v) && (v as number) >= 0;
    case 'nullableString': return v === null || typeof v === 'string';
    case 'strings': return Array.isArray(v) && v.every((s) => typeof s === 'string');
    case 'refusals': return Array.isArray(v) && v.every((r) => r !== null && typeof r === 'object' && typeof r.subject === 'string'
      && (REFUSAL_REASONS as readonly string[]).includes(r.reason) && Object.keys(r).length === 2);
    default: return false;
  }
}

function describeKind(kind: Kind): string {
  return Array.isArray(kind) ? `one of ${kind.join(' | ')}` : kind === 'refusals' ? 'a list of {subject, reason}' : `a ${kind}`;
}

/** Checks one parsed event against the table; throws a TraceFormatError naming the line. */
export function validateEvent(v: unknown, line: number): TraceEvent {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TraceFormatError(line, 'not a JSON object');
  const rec = v as Record<string, unknown>;
  const name = rec.event;
  if (typeof name !== 'string' || !Object.hasOwn(TRACE_EVENTS, name)) throw new TraceFormatError(line, `unknown event ${JSON.stringify(name)}`);
  const spec: EventSpec = TRACE_EVENTS[name as TraceEventName];
  const head: Record<string, Kind> = { seq: 'integer', tick: 'integer', actor: 'string' };
  for (const [field, kind] of Object.entries({ ...head, ...spec.req })) {
    if (!(field in rec)) throw new TraceFormatError(line, `${name} event lacks field "${field}"`);
    if (!kindOk(kind, rec[field])) throw new TraceFormatError(line, `${name}.${field} must be ${describeKind(kind)}, got ${JSON.stringify(rec[field])}`);
  }
  for (const [field, value] of Object.entries(rec)) {
    if (field === 'event' || field in head || field in spec.req) continue;
    const kind = spec.opt[field];
    if (kind === undefined) throw new TraceFormatError(line, `${name} event has unknown field "${field}"`);
    if (!kindOk(kind, value)) throw new TraceFormatError(line, `${name}.${field} must be ${describeKind(kind)}, got ${JSON.stringify(value)}`);
  }
  return rec as unknown as TraceEvent;
}

/** Parses and validates NDJSON: every line an event, seq 1, 2, 3..., ticks never going back. */
export function parseTrace(ndjson: string): TraceEvent[] {
  const lines = ndjson.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: TraceEvent[] = [];
  lines.forEach((text, i) => {
    const line = i + 1;
    let v: unknown;
    try { v = JSON.parse(text); } catch (e) { throw new TraceFormatError(line, `not JSON (${(e as Error).message})`); }
    const ev = validateEvent(v, line);
    if (ev.seq !== line) throw new TraceFormatError(line, `seq must be ${line}, got ${ev.seq}`);
    const prev = out[out.length - 1];
    if (prev && ev.tick < prev.tick) throw new TraceFormatError(line, `tick ${ev.tick} goes back from ${prev.tick}`);
    out.push(ev);
  });
  return out;
}

// ---- JSON Schema (docs/trace.schema.json is this, pretty-printed) ----

function kindSchema(kind: Kind): object {
  if (Array.isArray(kind)) return { enum: [...kind] };
  switch (kind) {
    case 'string': return { type: 'string' };
    case 'integer': return { type: 'integer', minimum: 0 };
    case 'nullableString': return { type: ['string', 'null'] };
    case 'strings': return { type: 'array', items: { type: 'string' } };
    case 'refusals': return {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['subject', 'reason'], properties: { subject: { type: 'string' }, reason: { enum: [...REFUSAL_REASONS] } } },
    };
    default: throw new Error(`unknown kind ${String(kind)}`);
  }
}

export function traceJsonSchema(): object {
  const variants = Object.entries(TRACE_EVENTS).map(([name, spec]: [string, EventSpec]) => ({
    if: { properties: { event: { const: name } } },
    then: {
      additionalProperties: false,
      required: ['seq', 'tick', 'event', 'actor', ...Object.keys(spec.req)],
      properties: {
        seq: { type: 'integer', minimum: 1 }, tick: { type: 'integer', minimum: 0 }, event: { const: name }, actor: { type: 'string' },
        ...Object.fromEntries([...Object.entries(spec.req), ...Object.entries(spec.opt)].map(([f, k]) => [f, kindSchema(k)])),
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
