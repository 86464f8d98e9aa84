// A member's statechart: serving, its part in each step (routing, staged, switched), fencing,
// and the restart check, whose three outcomes (serve; set the master key first; stay fenced)
// are guarded transitions on the cluster record and the register MKVPs (DESIGN.md "Failures").
import { and, assign, setup } from 'xstate';
import {
  INITIAL_RECORD,
  activeDataSet,
  headerKey,
  type DataSet,
  type Key,
  type RecordView,
} from './record.ts';

export interface MemberContext {
  /** MKVP of the `cur` register. */
  readonly cur: Key;
  /** MKVP of a committed `new` register; null when it is empty (after setMasterKey). */
  readonly next: Key | null;
  /** The data set this member names active. */
  readonly active: DataSet;
  /** The live in-store copy it serves from; null while it is down. */
  readonly live: DataSet | null;
  /** It holds a staged copy of the target. */
  readonly staged: boolean;
  /** The cluster record as it read it at its last restart. */
  readonly record: RecordView;
}

export interface MemberInput {
  readonly cur?: Key;
  readonly next?: Key | null;
}

export type MemberEvent =
  | { type: 'beginRouting' }
  | { type: 'reload' }
  | { type: 'switch' }
  | { type: 'finish' }
  | { type: 'backout' }
  | { type: 'update'; id: string; record: RecordView }
  | { type: 'liveUpdate'; id: string }
  | { type: 'fence' }
  | { type: 'crash' }
  | { type: 'restart'; record: RecordView }
  | { type: 'driverLost'; record: RecordView };

export function initialMemberContext(input: MemberInput = {}): MemberContext {
  return {
    cur: input.cur ?? 'old',
    next: input.next === undefined ? 'new' : input.next,
    active: 'old',
    live: 'old',
    staged: false,
    record: INITIAL_RECORD,
  };
}

/** The MKVP a restarting member must match: the header of the data set the record names. */
const expectedKey = (context: MemberContext): Key => headerKey(activeDataSet(context.record));
const effect = () => {};

export const memberMachine = setup({
  types: {
    context: {} as MemberContext,
    events: {} as MemberEvent,
    input: {} as MemberInput,
  },
  guards: {
    curMatchesActive: ({ context }) => context.cur === expectedKey(context),
    nextMatchesActive: ({ context }) => context.next === expectedKey(context),
    changeRunning: ({ context }) => context.record.change === 'running',
    changeCommitted: ({ context }) => context.record.change === 'committed',
    changeUnderway: ({ event }) => event.type === 'update' && event.record.change !== 'none',
    settledOnItsDataSet: ({ context, event }) =>
      event.type === 'driverLost' &&
      event.record.change === 'none' &&
      event.record.active === context.active,
  },
  actions: {
    stageTarget: assign({ staged: true }),
    dropStaged: assign({ staged: false }),
    setMasterKey: assign(({ context }) => ({ cur: context.next ?? context.cur, next: null })),
    activateTarget: assign({ active: 'target', live: 'target', staged: false }),
    dropInStore: assign({ live: null, staged: false }),
    readClusterRecord: assign({
      record: ({ context, event }) => (event.type === 'restart' ? event.record : context.record),
    }),
    // it learned the active data set from the record, even if it may not serve it
    learnActive: assign({ active: ({ context }) => activeDataSet(context.record) }),
    loadActive: assign(({ context }) => ({
      active: activeDataSet(context.record),
      live: activeDataSet(context.record),
    })),
    acknowledge: (
      _: unknown,
      _params: { message: 'beginRouting' | 'reload' | 'switch' | 'finish' | 'backout' },
    ) => {},
    writeUpdate: effect,
    routeUpdate: effect,
    applyLiveUpdate: effect,
    refuseSecureWork: effect,
    endRouting: effect,
    leaveGroup: effect,
    joinGroup: effect,
  },
}).createMachine({
  id: 'member',
  description:
    'A member of the cluster: one ICSF instance sharing the active TKDS (DESIGN.md "Parts of the world").',
  context: ({ input }) => initialMemberContext(input),
  initial: 'up',
  states: {
    up: {
      description:
        'The member is in the group; at any step it can crash (or be partitioned out), or be fenced when backout cannot finish.',
      initial: 'serving',
      on: {
        crash: { target: 'down', actions: ['dropInStore', 'leaveGroup'] },
        fence: { target: 'fenced', actions: ['dropInStore', 'leaveGroup'] },
        // while the record shows the change, updates go to the initiator; once it is over, it writes them
        update: [{ guard: 'changeUnderway', actions: 'routeUpdate' }, { actions: 'writeUpdate' }],
      },
      states: {
        serving: {
          description:
            'Normal operation: it writes the disk copy of its updates itself and tells the others (liveUpdate).',
          on: {
            beginRouting: {
              target: 'routing',
              actions: { type: 'acknowledge', params: { message: 'beginRouting' } },
            },
            update: [
              { guard: 'changeUnderway', target: 'routing', actions: 'routeUpdate' },
              { actions: 'writeUpdate' },
            ],
            liveUpdate: { actions: 'applyLiveUpdate' },
            finish: { actions: { type: 'acknowledge', params: { message: 'finish' } } },
            backout: { actions: { type: 'acknowledge', params: { message: 'backout' } } },
          },
        },
        routing: {
          description:
            'beginRouting: its dynamic updates go to the initiator; it still serves from its live copy under cur.',
          on: {
            beginRouting: { actions: { type: 'acknowledge', params: { message: 'beginRouting' } } },
            liveUpdate: { actions: 'applyLiveUpdate' },
            reload: {
              target: 'staged',
              actions: ['stageTarget', { type: 'acknowledge', params: { message: 'reload' } }],
            },
            backout: {
              target: 'serving',
              actions: ['endRouting', { type: 'acknowledge', params: { message: 'backout' } }],
            },
            // its own part of backout, the step that settled the record
            driverLost: { guard: 'settledOnItsDataSet', target: 'serving', actions: 'endRouting' },
          },
        },
        staged: {
          description:
            'reload (phase 1): it holds a staged copy of the target and still serves from its live copy under cur.',
          on: {
            reload: { actions: { type: 'acknowledge', params: { message: 'reload' } } },
            switch: {
              target: 'switched',
              actions: [
                'setMasterKey',
                'activateTarget',
                { type: 'acknowledge', params: { message: 'switch' } },
              ],
            },
            backout: {
              target: 'serving',
              actions: [
                'dropStaged',
                'endRouting',
                { type: 'acknowledge', params: { message: 'backout' } },
              ],
            },
            driverLost: {
              guard: 'settledOnItsDataSet',
              target: 'serving',
              actions: ['dropStaged', 'endRouting'],
            },
          },
        },
        switched: {
          description:
            'switch (phase 2): new key, the target active, its staged copy live; it waits for finish.',
          on: {
            switch: { actions: { type: 'acknowledge', params: { message: 'switch' } } },
            finish: {
              target: 'serving',
              actions: ['endRouting', { type: 'acknowledge', params: { message: 'finish' } }],
            },
            // its own part of finish, the step that settled the record
            driverLost: { guard: 'settledOnItsDataSet', target: 'serving', actions: 'endRouting' },
          },
        },
      },
    },
    fenced: {
      description:
        'Fenced (backout could not finish, or its restart check failed): ICSF shuts down (CSFM621I). It has left the group, refuses secure PKCS #11 work and acknowledges nothing; it comes back only by a restart and its restart check.',
      on: {
        update: { actions: 'refuseSecureWork' },
        restart: { target: 'restartCheck', actions: ['readClusterRecord', 'joinGroup'] },
      },
    },
    down: {
      description: 'Crashed or cut off from the group: no in-store copies, no service.',
      on: {
        restart: { target: 'restartCheck', actions: ['readClusterRecord', 'joinGroup'] },
      },
    },
    restartCheck: {
      description:
        'It reads the cluster record to learn the active data set, then checks its coprocessor against that header.',
      always: [
        {
          guard: and(['curMatchesActive', 'changeCommitted']),
          target: 'up.switched',
          actions: 'loadActive',
        },
        {
          guard: and(['curMatchesActive', 'changeRunning']),
          target: 'up.routing',
          actions: 'loadActive',
        },
        { guard: 'curMatchesActive', target: 'up.serving', actions: 'loadActive' },
        {
          guard: and(['nextMatchesActive', 'changeCommitted']),
          target: 'up.switched',
          actions: ['setMasterKey', 'loadActive'],
        },
        {
          guard: 'nextMatchesActive',
          target: 'up.serving',
          actions: ['setMasterKey', 'loadActive'],
        },
        { target: 'fenced', actions: ['learnActive', 'leaveGroup'] },
      ],
    },
  },
});

/** One line per event: the DESIGN.md or protocol.md sentence it models. */
export const memberEvents: Readonly<Record<MemberEvent['type'], string>> = {
  beginRouting:
    'The initiator asks it to finish the update in hand and route its updates to the initiator.',
  reload: 'The initiator asks it to build a staged copy from the target.',
  switch:
    'The initiator asks it to set its master key and make the target active and its staged copy live.',
  finish: 'The initiator ends routing: the record names the target active.',
  backout: 'The initiator backs out: drop the staged copy, end routing.',
  update:
    'A dynamic update request (create, update, destroy a token object; create or delete a token) reaches it; it reads the cluster record first.',
  liveUpdate: 'The writer of an update tells it to apply the update to its live copy.',
  fence: 'Backout could not finish: it must refuse secure work rather than run with mixed keys.',
  crash: 'It crashes or is partitioned out of the group.',
  restart: 'It restarts (or rejoins), with the cluster record it reads.',
  driverLost:
    'The member driving the change is lost and no member drives it any more; it reads the cluster record.',
};

/** One line per guard: the rule it enforces. */
export const memberGuards: Readonly<Record<string, string>> = {
  curMatchesActive:
    'The cur MKVP equals the header MKVP of the data set the record names: serve (KeyAgreement).',
  nextMatchesActive:
    'A committed new MKVP equals that header: set the master key first, then serve (KeyAgreement).',
  changeRunning: 'The record says running: rejoin the change routing updates to the initiator.',
  changeCommitted:
    'The record says committed: the target is active; rejoin as switched, waiting for finish.',
  changeUnderway:
    'An update taken while the record shows a change routes to the initiator, even before beginRouting arrives (SingleWriter).',
  settledOnItsDataSet:
    'The record says none and names its own active data set: it does its part of the step that settled it (switched: finish; otherwise backout).',
};
