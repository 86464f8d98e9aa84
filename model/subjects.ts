// The three statecharts with the environment each is explored under, and the paths the test
// model generates for them (shared by the graph tests and the model-based tests).
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { clusterMachine, clusterTakes, type ClusterContext } from './cluster.ts';
import { explore, transitionCover, type Graph, type Takes } from './coverage.ts';
import { initiatorMachine, type InitiatorContext } from './initiator.ts';
import { memberMachine } from './member.ts';
import { clusterFaultSupply, clusterSupply, initiatorSupply, memberSupply } from './supply.ts';

export interface Subject {
  readonly machine: AnyStateMachine;
  readonly events: (snapshot: AnyMachineSnapshot) => readonly EventObject[];
  readonly takes?: Takes;
}

export const SUBJECTS = {
  initiator: {
    machine: initiatorMachine,
    events: (s) => initiatorSupply(s.context as InitiatorContext),
  },
  member: { machine: memberMachine, events: () => memberSupply() },
  cluster: {
    machine: clusterMachine,
    events: (s) => clusterSupply(s.context as ClusterContext),
    takes: clusterTakes as Takes,
  },
  /** The cluster statechart under the other faults (duplicate, delay, partition, a second initiator). */
  faults: {
    machine: clusterMachine,
    events: (s) => clusterFaultSupply(s.context as ClusterContext),
    takes: clusterTakes as Takes,
  },
} as const satisfies Record<string, Subject>;
export type SubjectName = keyof typeof SUBJECTS;

/** A generated path: from `xstate.init`, each step the event and the state it reaches. */
export interface GeneratedPath {
  readonly steps: readonly { readonly event: EventObject; readonly state: AnyMachineSnapshot }[];
  readonly description: string;
  test(params: {
    events?: Record<
      string,
      (step: { event: EventObject; state: AnyMachineSnapshot }) => void | Promise<void>
    >;
    states?: Record<string, (state: AnyMachineSnapshot) => void | Promise<void>>;
  }): Promise<unknown>;
}

/**
 * Only the events the environment supplies: the graph utilities otherwise add a bare event
 * (no payload) of every type the current state handles.
 */
function supplied(subject: Subject): (snapshot: AnyMachineSnapshot, event: EventObject) => boolean {
  return (snapshot, event) => {
    const key = JSON.stringify(event);
    return subject.events(snapshot).some((e) => JSON.stringify(e) === key);
  };
}

const generated = new Map<SubjectName, GeneratedPath[]>();
const graphs = new Map<SubjectName, Graph>();

/** The paths `createTestModel` generates with the transition-cover generator (computed once). */
export function pathsOf(name: SubjectName): GeneratedPath[] {
  if (!generated.has(name)) {
    const subject: Subject = SUBJECTS[name];
    const model = createTestModel(subject.machine, {
      events: subject.events as never,
      filterEvents: supplied(subject) as never,
    });
    generated.set(
      name,
      model.getPaths(
        transitionCover(subject.machine, subject.takes) as never,
      ) as unknown as GeneratedPath[],
    );
  }
  return generated.get(name)!;
}

const shortest = new Map<SubjectName, GeneratedPath[]>();

/** A shortest path to every reachable state (the ones that are a prefix of another left out). */
export function shortestPathsOf(name: SubjectName): GeneratedPath[] {
  if (!shortest.has(name)) {
    const subject: Subject = SUBJECTS[name];
    const model = createTestModel(subject.machine, {
      events: subject.events as never,
      filterEvents: supplied(subject) as never,
    });
    shortest.set(name, model.getShortestPaths() as unknown as GeneratedPath[]);
  }
  return shortest.get(name)!;
}

/** Every reachable state and edge of a statechart under its environment (computed once). */
export function graphOf(name: SubjectName): Graph {
  if (!graphs.has(name))
    graphs.set(
      name,
      explore(SUBJECTS[name].machine, {
        events: SUBJECTS[name].events as never,
        filterEvents: supplied(SUBJECTS[name]) as never,
      }),
    );
  return graphs.get(name)!;
}
