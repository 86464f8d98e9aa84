// The one vocabulary of DESIGN.md and docs/protocol.md, as data. The implementation, the
// statecharts (model/), the trace format (impl/trace.ts), the TLA+ trace converter
// (tla/trace-to-tla.ts) and the tests import these lists; none keeps a copy of its own.

/** The initiator's steps (DESIGN.md "The protocol"), and backout (DESIGN.md "Failures"). */
export const STEP_NAMES = [
  'validate',
  'beginRouting',
  'reencipher',
  'suspend',
  'applyDelta',
  'reload',
  'commit',
  'switch',
  'finish',
  'resume',
  'backout',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

/**
 * What the initiator asks the members; each is acknowledged by `<request>Ack`, but `fence`: a
 * fenced member shuts down (ICSF's CSFM621I) and acknowledges nothing.
 */
export const REQUESTS = ['beginRouting', 'reload', 'switch', 'finish', 'backout', 'fence'] as const;
export type Request = (typeof REQUESTS)[number];
export const ACKS = [
  'beginRoutingAck',
  'reloadAck',
  'switchAck',
  'finishAck',
  'backoutAck',
] as const satisfies readonly `${Exclude<Request, 'fence'>}Ack`[];
export type Ack = (typeof ACKS)[number];
/** A member that cannot do its part of a request says so instead of acknowledging: reload (its `new` register no longer matches the target). */
export const REFUSALS = ['reloadRefused'] as const;
/** The request a refusal answers (`reloadRefused`: reload), or null for a message that is not one. */
export function refusalOf(msg: string): Request | null {
  return (REFUSALS as readonly string[]).includes(msg)
    ? (msg.slice(0, -'Refused'.length) as Request)
    : null;
}
/** Messages of dynamic updates: routed to the initiator and answered; live copies told. */
export const UPDATE_MESSAGES = [
  'routeUpdate',
  'updateResult',
  'liveUpdate',
  'liveUpdateAck',
] as const;
export const MESSAGE_TYPES = [...REQUESTS, ...ACKS, ...REFUSALS, ...UPDATE_MESSAGES] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The request an acknowledgement answers, or null for a message that is neither. */
export function requestOf(msg: string): Request | null {
  if (isAck(msg)) return msg.slice(0, -'Ack'.length) as Request;
  return (REQUESTS as readonly string[]).includes(msg) ? (msg as Request) : null;
}
export const isAck = (msg: string): boolean => (ACKS as readonly string[]).includes(msg);

/** A member's state (docs/protocol.md "States"). */
export const MEMBER_STATES = [
  'down',
  'restartCheck',
  'serving',
  'routing',
  'staged',
  'switched',
  'fenced',
] as const;
export type MemberState = (typeof MEMBER_STATES)[number];
/** The cluster record's change state. */
export const CHANGE_STATES = ['none', 'running', 'committed'] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];
/** How a change ends. */
export const OUTCOMES = ['completed', 'backedOut', 'fenced', 'refused', 'unresolved'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Why validate (or beginRouting's compare-and-set) refuses a change. */
export const REFUSAL_REASONS = [
  'changeRunning',
  'memberNotActive',
  'levelBelowHCR77A0',
  'noActiveCoprocessor',
  'newNotCommitted',
  'newMkvpDiffers',
  'targetMissing',
  'targetNotEmpty',
  'targetIsActive',
  'archiveExists',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Dynamic updates: the operations and the phases of one update (docs/protocol.md). */
export const UPDATE_OPS = [
  'createToken',
  'deleteToken',
  'createObject',
  'updateObject',
  'destroyObject',
] as const;
export type UpdateOpName = (typeof UPDATE_OPS)[number];
export const UPDATE_PHASES = [
  'request',
  'route',
  'apply',
  'wait',
  'ack',
  'fail',
  'unknown',
] as const;
export type UpdatePhase = (typeof UPDATE_PHASES)[number];
/** Why an update fails because of another event (its member down or fenced, its initiator lost). */
export const CONSEQUENTIAL_FAILURES = ['memberDown', 'fenced', 'initiatorLost'] as const;

/** Writes to a TKDS data set on shared DASD. */
export const WRITE_OPS = ['allocate', 'put', 'delete', 'header', 'unusable', 'rename'] as const;

/**
 * The actions of tla/CoordinatedCMK.tla, by their TLA+ names. A trace line that is one of them
 * names it in its `action` field (docs/trace-format.md "Spec actions"); tla/TraceCMK.tla takes
 * each such line with the action of that name, and the other oracles read the same stream.
 * Each entry says which line carries it.
 */
export const SPEC_ACTIONS = {
  validate: 'step validate done: ok or refused',
  BeginRoutingByInitiator:
    'record none -> running; or step beginRouting done refused (the compare-and-set lost)',
  BeginRoutingAtMember:
    'a member routes its updates (its beginRouting line, or its beginRoutingAck sent again)',
  reencipher: 'step reencipher done',
  suspend: 'step suspend done',
  applyDelta: 'step applyDelta done',
  ReloadByInitiator: "the initiator's reload line",
  ReloadAtMember: 'a member stages the target (its reload line, or its reloadAck sent again)',
  ReloadRefusedAtMember:
    "a member's register check refuses reload: it cannot switch to the target (its reloadRefused line)",
  ReloadRefusedByInitiator:
    'a reloadRefused delivered to the initiator (it backs out if it still waits for the reloadAcks)',
  commit: 'record running -> committed',
  SwitchByInitiator: 'step switch start',
  SwitchAtMember: 'a member switches (its switch line, or its switchAck sent again)',
  FinishByInitiator: 'record committed -> none',
  FinishAtMember:
    'a member ends routing on a finish message (its finish line, or its finishAck sent again)',
  FinishFromRecord: 'a member ends routing from the record, its driver lost (its finish line)',
  resume: 'step resume start',
  BackoutByInitiator: 'record running -> none',
  BackoutAtMember:
    'a member drops its staged copy on a backout message (its backout line, or its backoutAck sent again)',
  BackoutFromRecord:
    'a member drops its staged copy from the record, its driver lost (its backout line)',
  ReceiveAck: 'an acknowledgement delivered to the initiator',
  timeout: 'timeout',
  takeover: 'takeover',
  memberJoined: 'the initiator sends its current request to a member that came back',
  Expel: 'expel',
  restartCheck: 'restartCheck serve or setMasterKey',
  FenceOnIoError: 'the initiator fences itself: a write of its backout failed',
  FenceAtMember: 'a member fences on a fence message',
  FenceOnRestartCheck: 'restartCheck fenced',
  Ignore: 'a member reads a request and does nothing (ignore line)',
  request: 'update request (a caller asks a member that takes it)',
  ApplyOwn: 'update apply: a member writes its own update',
  ApplyRouted: 'update apply: the initiator writes a routed (or held) update',
  ApplyRefused:
    'update fail at the member that refused its own update, or the updateResult the initiator sends for a routed one it refused',
  ioError: 'step backout start, when a failed write makes the initiator back out',
  crash: 'crash or partition',
  restart: 'restart or heal',
  clearNew:
    "clearNew: the operator clears a member's new register, so that it can no longer switch (fault)",
  drop: 'drop of a request, acknowledgement or refusal (fault)',
  duplicate:
    "deliver of a copy: a request, acknowledgement or refusal the spec has taken already arrives again (with the line's own action, if any, after it)",
} as const;
export type SpecAction = keyof typeof SPEC_ACTIONS;
export const SPEC_ACTION_NAMES = Object.keys(SPEC_ACTIONS) as SpecAction[];
