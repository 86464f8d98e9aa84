// The statecharts of the coordinated TKDS change master key, and a one-line description of
// every state, event and guard (the DESIGN.md sentence each models), for the diagrams' README.
import type { AnyStateMachine } from 'xstate';
import { clusterEvents, clusterGuards, clusterMachine } from './cluster.ts';
import { allStates } from './definition.ts';
import { initiatorEvents, initiatorGuards, initiatorMachine } from './initiator.ts';
import { memberEvents, memberGuards, memberMachine } from './member.ts';

export interface Description {
  readonly machine: AnyStateMachine;
  readonly summary: string;
  /** State path -> its description. */
  readonly states: Readonly<Record<string, string>>;
  readonly events: Readonly<Record<string, string>>;
  readonly guards: Readonly<Record<string, string>>;
}

function described(
  machine: AnyStateMachine,
  events: Record<string, string>,
  guards: Record<string, string>,
): Description {
  const states = Object.fromEntries(allStates(machine).map((s) => [s.path, s.description ?? '']));
  return { machine, summary: machine.root.description ?? '', states, events, guards };
}

export const machines = {
  initiator: initiatorMachine,
  member: memberMachine,
  cluster: clusterMachine,
} as const;
export type MachineName = keyof typeof machines;

export const describe: Readonly<Record<MachineName, Description>> = {
  initiator: described(initiatorMachine, initiatorEvents, initiatorGuards),
  member: described(memberMachine, memberEvents, memberGuards),
  cluster: described(clusterMachine, clusterEvents, clusterGuards),
};

export { initiatorMachine, memberMachine, clusterMachine };
export * from './record.ts';
export {
  RETRY_BUDGET,
  REQUESTS,
  REFUSAL_REASONS,
  awaited,
  type InitiatorContext,
  type InitiatorEvent,
  type InitiatorInput,
} from './initiator.ts';
export type { MemberContext, MemberEvent, MemberInput } from './member.ts';
export {
  FAULT_BUDGET,
  applyClusterEvent,
  initialClusterContext,
  leafOf,
  type ClusterContext,
  type ClusterEvent,
  type Message,
  type Part,
} from './cluster.ts';
