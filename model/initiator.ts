// The initiator's statechart: the eight DESIGN.md steps, backout, roll-forward, fencing and the
// takeover by a surviving member. Plain data and pure guards: the effects (messages, data set
// writes) are named actions that do nothing here; the cluster view (cluster.ts) gives them
// meaning, and the diagrams show them.
import { assign, setup } from 'xstate';
import { INITIAL_RECORD, type RecordView } from './record.ts';
import { withItem, withItems, withoutItem } from './sets.ts';
import {
  REFUSAL_REASONS,
  type RefusalReason,
  type Request as VocabularyRequest,
} from '../impl/vocabulary.ts';

/** Resends of one request before an unanswering member counts as lost (protocol.md Messages); the graphs use 1. */
export const RETRY_BUDGET = 1;

/**
 * The initiator-to-member requests the statechart awaits (protocol.md Messages; impl/vocabulary.ts
 * REQUESTS less `fence`, which no one awaits); each acknowledgement adds `Ack`.
 */
export const REQUESTS = [
  'beginRouting',
  'reload',
  'switch',
  'finish',
  'backout',
] as const satisfies readonly VocabularyRequest[];
export type Request = (typeof REQUESTS)[number];
export type Ack = `${Request}Ack`;
export const ACKS: readonly Ack[] = REQUESTS.map((r) => `${r}Ack` as const);

/** protocol.md "Refusal reasons of validate": the vocabulary's list. */
export { REFUSAL_REASONS, type RefusalReason };

export interface InitiatorContext {
  /** The member playing the initiator (the first survivor by name after a takeover). */
  readonly self: string;
  /** Every member of the cluster, the initiator included. */
  readonly cluster: readonly string[];
  /** Members that left the group (or never answered) during the change. */
  readonly lost: readonly string[];
  /** Members that acknowledged the current request. */
  readonly acked: readonly string[];
  /** Resends of the current request so far, at most `retryBudget`. */
  readonly retries: number;
  /** Resends allowed per request (RETRY_BUDGET unless the input says otherwise). */
  readonly retryBudget: number;
  /** The cluster record as this initiator last wrote (or, on takeover, read) it. */
  readonly record: RecordView;
  /** Ids of the updates routed since beginRouting: in the active data set, owed to the target. */
  readonly delta: readonly string[];
  /** The delta is in the target and the target header carries the new MKVP. */
  readonly deltaApplied: boolean;
  /** Ids of the updates held by the suspension until `resume`. */
  readonly waiting: readonly string[];
}

export interface InitiatorInput {
  readonly self?: string;
  readonly cluster?: readonly string[];
  readonly retryBudget?: number;
}

type AckEvent = { [R in Request]: { type: `${R}Ack`; member: string } }[Request];

export type InitiatorEvent =
  | { type: 'startChange' }
  | { type: 'validated' }
  | { type: 'refuse'; member: string; reason: RefusalReason }
  | AckEvent
  | { type: 'reencipherDone' }
  | { type: 'applyDeltaDone'; applied: readonly string[] }
  | { type: 'commitDone' }
  | { type: 'update'; id: string; member: string }
  | { type: 'timeout' }
  | { type: 'memberLost'; member: string }
  | { type: 'memberJoined'; member: string }
  | { type: 'ioError' }
  | { type: 'crash' }
  | { type: 'takeover'; member: string; record: RecordView };

export function initialInitiatorContext(input: InitiatorInput = {}): InitiatorContext {
  const self = input.self ?? 'SYSA';
  const cluster = [...(input.cluster ?? ['SYSA', 'SYSB', 'SYSC'])].sort();
  if (!cluster.includes(self))
    throw new Error(`initiator ${self} is not a member of the cluster ${cluster.join(',')}`);
  const retryBudget = input.retryBudget ?? RETRY_BUDGET;
  if (!Number.isInteger(retryBudget) || retryBudget < 0)
    throw new Error(`retryBudget must be a non-negative integer, got ${retryBudget}`);
  return {
    self,
    cluster,
    lost: [],
    acked: [],
    retries: 0,
    retryBudget,
    record: INITIAL_RECORD,
    delta: [],
    deltaApplied: false,
    waiting: [],
  };
}

/** The members the initiator still waits for: up, other than itself, not yet acknowledged. */
export function awaited(context: InitiatorContext): string[] {
  return context.cluster.filter(
    (m) => m !== context.self && !context.lost.includes(m) && !context.acked.includes(m),
  );
}

const everyMemberAnswered = ({ context }: { context: InitiatorContext }) =>
  awaited(context).length === 0;
const memberOf = (event: InitiatorEvent): string => ('member' in event ? event.member : '');
/** An effect the cluster view carries out; nothing to do in the statechart itself. */
const effect = () => {};

/** The members still silent after the retry budget are cut off from the group (DESIGN.md). */
const partitionSilent = {
  type: 'partitionSilent',
  params: ({ context }: { context: InitiatorContext }) => ({ members: awaited(context) }),
} as const;

export const initiatorMachine = setup({
  types: {
    context: {} as InitiatorContext,
    events: {} as InitiatorEvent,
    input: {} as InitiatorInput,
  },
  guards: {
    // beginRouting: every member routes its updates before re-encipherment starts.
    allRoutingAcked: everyMemberAnswered,
    // StagedBeforeSwitch: the commit step only once every member holds a staged copy of the target.
    allMembersStaged: everyMemberAnswered,
    allSwitched: everyMemberAnswered,
    allFinished: everyMemberAnswered,
    allBackedOut: everyMemberAnswered,
    retriesLeft: ({ context }) => context.retries < context.retryBudget,
    // NoLostUpdate, NoEarlyActivation: reload only once the whole delta is in the target.
    wholeDeltaApplied: ({ context, event }) =>
      event.type === 'applyDeltaDone' && context.delta.every((id) => event.applied.includes(id)),
    // takeover: only a record that shows a change is taken over; it decides roll-forward or backout.
    changeUnderway: ({ event }) => event.type === 'takeover' && event.record.change !== 'none',
    changeCommitted: ({ context }) => context.record.change === 'committed',
    memberLostSinceValidate: ({ context }) => context.lost.length > 0,
  },
  actions: {
    startRequest: assign({ acked: [], retries: 0 }),
    markAcked: assign({ acked: ({ context, event }) => withItem(context.acked, memberOf(event)) }),
    countRetry: assign({ retries: ({ context }) => context.retries + 1 }),
    expel: assign({ lost: ({ context, event }) => withItem(context.lost, memberOf(event)) }),
    expelUnacked: assign({ lost: ({ context }) => withItems(context.lost, awaited(context)) }),
    // a member that rejoins lost its part: it must answer the current request again
    rejoin: assign(({ context, event }) => ({
      lost: withoutItem(context.lost, memberOf(event)),
      acked: withoutItem(context.acked, memberOf(event)),
    })),
    recordDelta: assign({
      delta: ({ context, event }) =>
        event.type === 'update' ? withItem(context.delta, event.id) : context.delta,
    }),
    holdUpdate: assign({
      waiting: ({ context, event }) =>
        event.type === 'update' ? withItem(context.waiting, event.id) : context.waiting,
    }),
    markDeltaApplied: assign({ deltaApplied: true }),
    recordRunning: assign({
      record: ({ context }) => ({ ...context.record, change: 'running' as const }),
    }),
    recordCommitted: assign({
      record: ({ context }) => ({ ...context.record, change: 'committed' as const }),
    }),
    recordFinished: assign({ record: { change: 'none', active: 'target' } }),
    recordBackedOut: assign({ record: { change: 'none', active: 'old' } }),
    recordStillRunning: assign({
      record: ({ context }) => ({ ...context.record, change: 'running' as const }),
    }),
    readClusterRecord: assign(({ context, event }) =>
      event.type === 'takeover'
        ? { self: event.member, record: event.record, lost: withItem(context.lost, context.self) }
        : {},
    ),
    send: (_: unknown, _params: { message: Request }) => {},
    sendToJoined: (_: unknown, _params: { message: Request }) => {},
    partitionSilent: (_: unknown, _params: { members: readonly string[] }) => {},
    routeSelf: effect,
    stageSelf: effect,
    switchSelf: effect,
    finishSelf: effect,
    backoutSelf: effect,
    suspendUpdates: effect,
    endRouting: effect,
    resume: effect,
    markTargetUnusable: effect,
    fence: effect,
    refuseChange: effect,
    reportUnknownOutcome: effect,
    ignoreStaleAck: effect,
  },
}).createMachine({
  id: 'initiator',
  description: 'The initiator of a coordinated TKDS change master key (DESIGN.md "The protocol").',
  context: ({ input }) => initialInitiatorContext(input),
  initial: 'idle',
  // an acknowledgement of an earlier step, still in flight when the next request went out (finish
  // and backout are each the last step that asks for one: nothing comes after them to ignore theirs)
  on: {
    beginRoutingAck: { actions: 'ignoreStaleAck' },
    reloadAck: { actions: 'ignoreStaleAck' },
    switchAck: { actions: 'ignoreStaleAck' },
  },
  states: {
    idle: {
      description: 'No change runs; the operator may start one at this member.',
      on: { startChange: 'validate' },
    },
    validate: {
      description:
        'Step 1: nothing changes; every precondition is checked, a refusal names the member and the reason.',
      on: {
        // a member lost since validate: the change begins (the record is written) and backs out
        validated: [
          { guard: 'memberLostSinceValidate', target: 'backout', actions: 'recordRunning' },
          { target: 'beforeCommit', actions: 'recordRunning' },
        ],
        refuse: { target: 'refused', actions: 'refuseChange' },
        // validated, not begun: nothing to undo or tell; only remembered (issue 9)
        memberLost: { actions: 'expel' },
        // beginRouting's record write failed: the change never began, nothing to undo or tell
        ioError: { target: 'backedOut' },
        crash: { target: 'down' },
      },
    },
    refused: {
      type: 'final',
      description: 'Outcome: validate refused the change; nothing was changed.',
    },
    beforeCommit: {
      description:
        'Steps 2-6, up to the point of no return: any refusal, lost member, timeout or error makes the initiator back out.',
      initial: 'beginRouting',
      on: {
        update: { actions: 'holdUpdate' },
        memberLost: { target: 'backout', actions: 'expel' },
        refuse: { target: 'backout' },
        ioError: { target: 'backout' },
        crash: { target: 'down', actions: 'reportUnknownOutcome' },
      },
      states: {
        beginRouting: {
          description:
            'Step 2: the record goes none -> running; every member routes its dynamic updates to the initiator and acknowledges.',
          entry: [
            'startRequest',
            'routeSelf',
            { type: 'send', params: { message: 'beginRouting' } },
          ],
          always: { guard: 'allRoutingAcked', target: 'reencipher' },
          on: {
            beginRoutingAck: { actions: 'markAcked' },
            update: { actions: 'recordDelta' },
            timeout: [
              {
                guard: 'retriesLeft',
                actions: ['countRetry', { type: 'send', params: { message: 'beginRouting' } }],
              },
              { target: '#initiator.backout' },
            ],
          },
        },
        reencipher: {
          description:
            'Step 3: every record of the active data set is written to the target, secure values rewrapped cur -> new; routed updates go on.',
          on: {
            reencipherDone: { target: 'suspend' },
            update: { actions: 'recordDelta' },
          },
        },
        suspend: {
          description: 'Step 4: dynamic update processing pauses; requests wait until resume.',
          entry: 'suspendUpdates',
          always: { target: 'applyDelta' },
        },
        applyDelta: {
          description:
            'Step 4: the delta is applied to the target and the target header gets the new MKVP.',
          on: {
            applyDeltaDone: {
              guard: 'wholeDeltaApplied',
              target: 'reload',
              actions: 'markDeltaApplied',
            },
          },
        },
        reload: {
          description:
            'Step 5 (phase 1): each member, the initiator too, builds a staged copy from the target and acknowledges.',
          entry: ['startRequest', 'stageSelf', { type: 'send', params: { message: 'reload' } }],
          always: { guard: 'allMembersStaged', target: 'commit' },
          on: {
            reloadAck: { actions: 'markAcked' },
            timeout: [
              {
                guard: 'retriesLeft',
                actions: ['countRetry', { type: 'send', params: { message: 'reload' } }],
              },
              { target: '#initiator.backout' },
            ],
          },
        },
        commit: {
          description:
            'Step 6: every member staged; the record goes running -> committed (durably, first): the point of no return; then the initiator sets its master key and makes the target active and its staged copy live. An error writing the record means backout.',
          on: {
            commitDone: {
              target: '#initiator.rollForward',
              actions: ['recordCommitted', 'switchSelf'],
            },
          },
        },
      },
    },
    rollForward: {
      description:
        'Steps 7-8, after the point of no return: no backout, only roll-forward; a member that is lost catches up when it restarts.',
      initial: 'switch',
      on: {
        update: { actions: 'holdUpdate' },
        memberLost: { actions: 'expel' },
        crash: { target: 'down', actions: 'reportUnknownOutcome' },
      },
      states: {
        switch: {
          description:
            'Step 7 (phase 2): each member sets its master key, makes the target active and its staged copy live, and acknowledges.',
          entry: ['startRequest', { type: 'send', params: { message: 'switch' } }],
          always: { guard: 'allSwitched', target: 'finish' },
          on: {
            switchAck: { actions: 'markAcked' },
            memberJoined: {
              actions: ['rejoin', { type: 'sendToJoined', params: { message: 'switch' } }],
            },
            timeout: [
              {
                guard: 'retriesLeft',
                actions: ['countRetry', { type: 'send', params: { message: 'switch' } }],
              },
              { actions: [partitionSilent, 'expelUnacked'] },
            ],
          },
        },
        finish: {
          description:
            'Step 8: the record names the target active and goes back to none; routing ends once the members that are up acknowledge, then resume.',
          entry: [
            'startRequest',
            'recordFinished',
            'finishSelf',
            { type: 'send', params: { message: 'finish' } },
          ],
          always: {
            guard: 'allFinished',
            target: '#initiator.completed',
            actions: ['endRouting', 'resume'],
          },
          on: {
            finishAck: { actions: 'markAcked' },
            memberJoined: {
              actions: ['rejoin', { type: 'sendToJoined', params: { message: 'finish' } }],
            },
            timeout: [
              {
                guard: 'retriesLeft',
                actions: ['countRetry', { type: 'send', params: { message: 'finish' } }],
              },
              { actions: [partitionSilent, 'expelUnacked'] },
            ],
          },
        },
      },
    },
    completed: {
      type: 'final',
      description:
        'Outcome: every member that is up runs on the target under the new key; waiting updates were processed against it.',
    },
    backout: {
      description:
        'Before commit only: staged copies dropped, the target marked unusable, routing ends, the record goes running -> none.',
      entry: [
        'startRequest',
        'recordBackedOut',
        'markTargetUnusable',
        'backoutSelf',
        { type: 'send', params: { message: 'backout' } },
      ],
      always: { guard: 'allBackedOut', target: 'backedOut', actions: ['endRouting', 'resume'] },
      on: {
        backoutAck: { actions: 'markAcked' },
        update: { actions: 'holdUpdate' },
        memberLost: { actions: 'expel' },
        memberJoined: {
          actions: ['rejoin', { type: 'sendToJoined', params: { message: 'backout' } }],
        },
        timeout: [
          {
            guard: 'retriesLeft',
            actions: ['countRetry', { type: 'send', params: { message: 'backout' } }],
          },
          { actions: [partitionSilent, 'expelUnacked'] },
        ],
        // the record (or the target) could not be written: the record still says running
        ioError: { target: 'fenced', actions: 'recordStillRunning' },
        crash: { target: 'down', actions: 'reportUnknownOutcome' },
      },
    },
    backedOut: {
      type: 'final',
      description:
        'Outcome: the cluster goes on with the old data set and the old key, every acknowledged update in it.',
    },
    fenced: {
      description:
        'Outcome: backout could not finish (a data set or cluster record write failed): it tells every member to fence and shuts down (ICSF CSFM621I), rather than run with mixed keys. The record still says running: the first member left in the group by name (or one that comes back later) takes the backout over.',
      entry: 'fence',
      on: {
        takeover: { guard: 'changeUnderway', target: 'takeover', actions: 'readClusterRecord' },
      },
    },
    down: {
      description:
        'The member playing the initiator is lost; updates it had not acknowledged have an unknown outcome.',
      on: {
        takeover: { guard: 'changeUnderway', target: 'takeover', actions: 'readClusterRecord' },
      },
    },
    takeover: {
      description:
        'The first surviving member by name reads the cluster record: committed means roll forward (switch, finish), running means backout.',
      always: [
        { guard: 'changeCommitted', target: 'rollForward.switch', actions: 'switchSelf' },
        { target: 'backout' },
      ],
    },
  },
});

/** One line per event: the DESIGN.md or protocol.md sentence it models. */
export const initiatorEvents: Readonly<Record<InitiatorEvent['type'], string>> = {
  startChange: 'The operator starts a coordinated change at this member.',
  validated: 'validate found every precondition met; the record write none -> running succeeded.',
  refuse: 'A refusal naming the member (or data set) and a reason of protocol.md.',
  beginRoutingAck: 'A member routes its dynamic updates to the initiator from now on.',
  reencipherDone: 'The last record of the active data set is in the target.',
  applyDeltaDone: 'The delta (the ids it carries) is in the target; its header has the new MKVP.',
  reloadAck: 'A member holds a staged copy of the target.',
  commitDone:
    'The record says committed (the point of no return) and the initiator runs on the target under the new key.',
  switchAck: 'A member runs on the target under the new key.',
  finishAck: 'A member stopped routing and serves the new active data set.',
  backoutAck: 'A member dropped its staged copy and stopped routing.',
  update: 'A dynamic update reaches the initiator (its own request, or routed by a member).',
  timeout:
    "The initiator's wait for acknowledgements ran out: resend, or count the silent members as lost.",
  memberLost:
    'A member left the group (crash or partition); before the change began, only remembered.',
  memberJoined: 'A member came back and passed its restart check.',
  ioError: 'Writing a data set or the cluster record failed.',
  crash: 'The member playing the initiator crashed.',
  takeover:
    'The first surviving member by name (or, after fencing, a member that comes back) takes over, with the cluster record it read.',
};

/** One line per guard: the rule it enforces (an invariant of DESIGN.md where there is one). */
export const initiatorGuards: Readonly<Record<string, string>> = {
  allRoutingAcked:
    'Re-encipherment starts only once every member that is up routes its updates to the initiator (SingleWriter).',
  allMembersStaged:
    'The commit step starts only once every member that is up holds a staged copy of the target (StagedBeforeSwitch).',
  allSwitched:
    'finish only once every member that is up acknowledged switch (a member silent after the retry budget is expelled).',
  allFinished: 'The change completes once every member that is up acknowledged finish.',
  allBackedOut:
    'Backout ends once every member that is up acknowledged backout (a member silent after the retry budget is expelled).',
  retriesLeft:
    'A request is sent again at most retryBudget times; then a silent member counts as lost: backout before commit, expelled from the group after it.',
  wholeDeltaApplied:
    'reload only once every routed update is in the target (NoLostUpdate, NoEarlyActivation).',
  changeUnderway:
    'A member takes over only when the record shows a change running or committed (a change decided by its last record write needs no one).',
  changeCommitted:
    'A takeover that reads committed rolls forward; one that reads running backs out (NoBackoutAfterCommit).',
  memberLostSinceValidate:
    'A member was lost after validate, before the change began: once its record write begins the change, it backs out (a change not begun has nothing to undo).',
};
