// The events (with payloads) the graph utilities try in each state: the environment of each
// statechart, bounded so that the graphs are finite and small (one dynamic update per path,
// every acknowledgement and loss for every member; a restart may read any record, a takeover
// reads the record the initiator wrote).
import { ACKS, type InitiatorContext, type InitiatorEvent } from './initiator.ts';
import type { MemberEvent } from './member.ts';
import { RECORD_READINGS } from './record.ts';
import { isUp, leafOf, type ClusterContext, type ClusterEvent } from './cluster.ts';

/** Dynamic updates per generated path. */
export const UPDATE_BOUND = 1;

export function initiatorSupply(context: InitiatorContext): InitiatorEvent[] {
  const others = context.cluster.filter((m) => m !== context.self);
  const survivors = others.filter((m) => !context.lost.includes(m));
  const updates = context.delta.length + context.waiting.length;
  return [
    { type: 'startChange' },
    { type: 'validated' },
    { type: 'refuse', member: others[0] ?? context.self, reason: 'newMkvpDiffers' },
    ...others.flatMap((member) => ACKS.map((type) => ({ type, member }))),
    { type: 'reencipherDone' },
    { type: 'applyDeltaDone', applied: context.delta },
    { type: 'commitDone' },
    ...(updates < UPDATE_BOUND
      ? [{ type: 'update' as const, id: `u${updates + 1}`, member: others[0] ?? context.self }]
      : []),
    { type: 'timeout' },
    ...others.flatMap((member) => [
      { type: 'memberLost' as const, member },
      { type: 'memberJoined' as const, member },
    ]),
    { type: 'ioError' },
    { type: 'crash' },
    // a takeover reads the record as the initiator durably wrote it
    { type: 'takeover', member: survivors[0] ?? others[0] ?? context.self, record: context.record },
  ];
}

export function memberSupply(): MemberEvent[] {
  return [
    { type: 'beginRouting' },
    { type: 'reload' },
    { type: 'switch' },
    { type: 'finish' },
    { type: 'backout' },
    ...RECORD_READINGS.slice(0, 2).map((record) => ({ type: 'update' as const, id: 'u1', record })),
    { type: 'liveUpdate', id: 'u1' },
    { type: 'fence' },
    { type: 'crash' },
    ...RECORD_READINGS.map((record) => ({ type: 'restart' as const, record })),
    // the driver lost once the record is back at none (after backout or finish)
    ...RECORD_READINGS.filter((record) => record.change === 'none').map((record) => ({
      type: 'driverLost' as const,
      record,
    })),
  ];
}

/**
 * The cluster's environment, bounded: messages are delivered in order (the first one in flight;
 * any one may still be dropped), a timeout only fires when nothing is in flight, and one member
 * (the first after the initiator) takes dynamic updates (a fenced member, too: it refuses them).
 * Faults are bounded by FAULT_BUDGET; an I/O error is tried where a step of the initiator writes
 * as one action (beginRouting's record write as validate passes, applyDelta, commit), alone or
 * failing the backout it leads to as well (the fence). Validation takes no time: nothing else
 * happens while the initiator validates.
 */
export function clusterSupply(context: ClusterContext): ClusterEvent[] {
  const names = Object.keys(context.members);
  const step = leafOf(context.initiator.value);
  if (step === 'validate') {
    // validation takes no time, but a member may be lost before its verdict takes effect
    // (a member lost after the verdict: the change was validated, and it is only remembered)
    const crashes = names.map((member) => ({ type: 'crash' as const, member }));
    const verdictOpen = context.initiator.context.lost.length === 0;
    return [
      { type: 'validated' },
      ...(verdictOpen
        ? [
            {
              type: 'refuse' as const,
              member: names[names.length - 1]!,
              reason: 'newMkvpDiffers' as const,
            },
          ]
        : []),
      ...crashes,
      // beginRouting's record write fails: the change never begins
      { type: 'ioError' as const },
    ];
  }
  const [next] = context.network;
  return [
    { type: 'startChange' },
    { type: 'reencipherDone' },
    { type: 'applyDeltaDone' },
    { type: 'commitDone' },
    ...(next ? [{ ...next } as ClusterEvent] : [{ type: 'timeout' as const }]),
    ...(step === 'applyDelta' || step === 'commit'
      ? [{ type: 'ioError' as const }, { type: 'ioError' as const, backout: 'fails' as const }]
      : []),
    ...context.network.map((message) => ({ type: 'drop' as const, message })),
    ...names.flatMap((member) => [
      { type: 'crash' as const, member },
      { type: 'restart' as const, member },
    ]),
    { type: 'update', member: names[1] ?? names[0]! },
    { type: 'clearNew', member: names[1] ?? names[0]! },
    // a fenced member refuses secure work
    ...names
      .filter((member, i) => i !== 1 && context.members[member]!.value === 'fenced')
      .map((member) => ({ type: 'update' as const, member })),
  ];
}

/** The initiator's change runs and is not committed (DESIGN.md steps 2-6). */
const beforeCommit = (context: ClusterContext) => {
  const value = context.initiator.value;
  return typeof value === 'object' && 'beforeCommit' in value;
};

/** The faults clusterSupply injects (with the restart that follows a crash). */
/** Faults per path of the `faults` subject (within FAULT_BUDGET): two multiply its graph by 15. */
const NEW_FAULTS_PER_PATH = 1;
const FIRST_FAULTS: readonly string[] = ['drop', 'crash', 'restart', 'ioError'];

/**
 * The cluster's environment with the other faults, a path set of its own (the `faults` subject):
 * clusterSupply's protocol events and updates without its faults, and instead the first message in
 * flight duplicated, any other one delivered before it (delay), a member partitioned and healed,
 * and a second change started once, at the first member by name that is up and does not drive
 * this one. While both validate, the first one's record write comes next (the compare-and-set
 * separates them). Before commit, a member other than the initiator may crash with its loss
 * noticed late: until `notice` tells the initiator, only the member's restart may happen (its
 * restart check then reads the record running). One fault a path (NEW_FAULTS_PER_PATH).
 */
export function clusterFaultSupply(context: ClusterContext): ClusterEvent[] {
  if (context.rival?.value === 'validate') return [{ type: 'validated' }];
  // a loss noticed late: the member may restart before the initiator hears it left, and nothing
  // else happens meanwhile (the implementation's next step would find the loss on its own)
  if (context.unnoticed.length > 0)
    return context.unnoticed.flatMap((member) => [
      { type: 'notice' as const, member },
      { type: 'restart' as const, member },
    ]);
  const names = Object.keys(context.members);
  const self = context.initiator.context.self;
  const rival = names.find((m) => m !== self && isUp(context.members[m]!));
  const rivalStart = rival ? [{ type: 'rivalStart' as const, member: rival }] : [];
  const first = clusterSupply(context).filter((e) => !FIRST_FAULTS.includes(e.type));
  if (leafOf(context.initiator.value) === 'validate')
    return [...first, ...(context.initiator.context.lost.length === 0 ? rivalStart : [])];
  const [next] = context.network;
  const faults =
    context.faults < NEW_FAULTS_PER_PATH
      ? [
          ...(next ? [{ type: 'duplicate' as const, message: next }] : []),
          ...context.network.slice(1).map((message) => ({ type: 'delay' as const, message })),
          ...names
            .filter((m) => !context.partitioned.includes(m))
            .map((member) => ({ type: 'partition' as const, member })),
          // before commit, the initiator's notice of a member's loss may come late
          ...(beforeCommit(context)
            ? names
                .filter((m) => m !== self)
                .map((member) => ({ type: 'crash' as const, member, notice: 'late' as const }))
            : []),
        ]
      : [];
  return [
    ...first,
    ...faults,
    ...context.partitioned.map((member) => ({ type: 'heal' as const, member })),
    ...rivalStart,
  ];
}
