// Graph coverage of a statechart: which of its defined transitions (and state nodes) a set of
// paths takes (X), against every transition and state node of its definition (Y). A transition
// is identified by its definition object (transitionsOf gives each its readable key).
import type {
  AnyMachineSnapshot,
  AnyStateMachine,
  AnyTransitionDefinition,
  EventObject,
} from 'xstate';
import {
  getAdjacencyMap,
  serializeSnapshot,
  type StatePath,
  type TraversalOptions,
} from 'xstate/graph';
import { allStates, transitionsOf } from './definition.ts';
import { INIT_EVENT, step } from './step.ts';

type Snap = AnyMachineSnapshot;

export interface Coverage {
  readonly states: {
    readonly covered: number;
    readonly total: number;
    readonly missing: readonly string[];
  };
  readonly transitions: {
    readonly covered: number;
    readonly total: number;
    readonly missing: readonly string[];
  };
}

/** A path as the test model gives it: steps of (event, state reached), from `xstate.init`. */
export interface Walk<S> {
  readonly steps: readonly { readonly event: EventObject; readonly state: S }[];
}

/** Coverage of the machine's definition (Y) by the paths (X). */
export function measure(
  machine: AnyStateMachine,
  paths: readonly Walk<Snap>[],
  input?: unknown,
): Coverage {
  const states = allStates(machine).map((s) => s.path);
  const taken = new Set<AnyTransitionDefinition>();
  const visited = new Set<string>();
  for (const path of paths) {
    let previous: Snap | undefined;
    for (const { event, state } of path.steps) {
      const result = step(machine, previous, event, input);
      result.transitions.forEach((t) => taken.add(t));
      result.visited.forEach((v) => visited.add(v));
      previous = state;
    }
  }
  const missingStates = states.filter((s) => !visited.has(s));
  return {
    states: {
      covered: states.length - missingStates.length,
      total: states.length,
      missing: missingStates,
    },
    transitions: transitionCoverage(machine, taken),
  };
}

/** Which transitions of the machine's definition (Y) are among those taken (X), by definition identity. */
export function transitionCoverage(
  machine: AnyStateMachine,
  taken: ReadonlySet<unknown>,
): Coverage['transitions'] {
  const defined = transitionsOf(machine);
  const missing = defined.filter((t) => !taken.has(t.definition)).map((t) => t.key);
  return { covered: defined.length - missing.length, total: defined.length, missing };
}

export function coverageLines(name: string, coverage: Coverage): string[] {
  return [
    `${name} state coverage: ${coverage.states.covered}/${coverage.states.total}`,
    `${name} transition coverage: ${coverage.transitions.covered}/${coverage.transitions.total}`,
  ];
}

export type Edge = { readonly event: EventObject; readonly state: Snap };

/** The reachable graph of a machine under the events supplied, keyed by serialized snapshot. */
export interface Graph {
  readonly adjacency: Readonly<
    Record<string, { readonly state: Snap; readonly transitions: Readonly<Record<string, Edge>> }>
  >;
  /** Serialized states, breadth-first from the initial one. */
  readonly order: readonly string[];
  /** The steps of a shortest path to a state, from `xstate.init`. */
  walkTo(key: string): Edge[];
}

export function explore(
  machine: AnyStateMachine,
  options: TraversalOptions<Snap, EventObject, unknown>,
): Graph {
  const adjacency = getAdjacencyMap(machine, {
    ...options,
    serializeState: serializeSnapshot,
  } as never) as Graph['adjacency'];
  const first = Object.keys(adjacency)[0]!;
  const parent = new Map<string, { from: string; event: EventObject } | null>([[first, null]]);
  const order = [first];
  for (let i = 0; i < order.length; i++) {
    for (const { event, state } of Object.values(adjacency[order[i]!]!.transitions)) {
      const key = serializeSnapshot(state);
      if (!parent.has(key)) {
        parent.set(key, { from: order[i]!, event });
        order.push(key);
      }
    }
  }
  const walkTo = (key: string): Edge[] => {
    const link = parent.get(key);
    const here = { state: adjacency[key]!.state };
    return link
      ? [...walkTo(link.from), { event: link.event, ...here }]
      : [{ event: INIT_EVENT, ...here }];
  };
  return { adjacency, order, walkTo };
}

/** What a step takes that coverage counts; by default the transitions of the machine itself. */
export type Takes = (from: Snap, event: EventObject) => Iterable<unknown>;

/**
 * A path generator for `TestModel.getPaths`: a shortest path to each state from which an edge
 * takes something no earlier path took, extended by that edge. Together the paths take every
 * reachable transition of the definition (or whatever `takes` counts).
 */
export function transitionCover(machine: AnyStateMachine, takes?: Takes) {
  return (
    _logic: unknown,
    options: TraversalOptions<Snap, EventObject, unknown>,
  ): StatePath<Snap, EventObject>[] => {
    const graph = explore(machine, options);
    const counted: Takes =
      takes ?? ((from, event) => step(machine, from, event, options.input).transitions);
    const taken = new Set<unknown>(
      takes ? [] : step(machine, undefined, INIT_EVENT, options.input).transitions,
    );
    const paths: StatePath<Snap, EventObject>[] = [];
    for (const key of graph.order) {
      const from = graph.adjacency[key]!.state;
      for (const { event, state } of Object.values(graph.adjacency[key]!.transitions)) {
        // a step that enables no transition for its event takes none at all
        if (machine.getTransitionData(from as never, event as never).length === 0) continue;
        const fresh = [...counted(from, event)].filter((t) => !taken.has(t));
        if (fresh.length > 0) {
          fresh.forEach((t) => taken.add(t));
          const steps = [...graph.walkTo(key), { event, state }];
          paths.push({ state, steps, weight: steps.length - 1 });
        }
      }
    }
    return paths;
  };
}
