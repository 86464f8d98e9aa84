// One step of a statechart, observed: the snapshot it reaches, the transitions it takes
// (eventless ones included) and the named actions it runs, all read from the actor's own
// inspection events, so nothing here re-implements XState's transition selection.
import {
  createActor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyTransitionDefinition,
  type EventObject,
} from 'xstate';
import { pathOf } from './definition.ts';

export const INIT_EVENT = { type: 'xstate.init' } as const;

/** A named action the step ran, with its resolved params (an effect for the cluster view). */
export interface Effect {
  readonly type: string;
  readonly params?: unknown;
}

export interface StepResult {
  readonly next: AnyMachineSnapshot;
  readonly transitions: readonly AnyTransitionDefinition[];
  /** Paths of every state node active after any microstep of the step (transient ones too). */
  readonly visited: readonly string[];
  readonly effects: readonly Effect[];
}

/** Runs one event from a snapshot (or the initial step, for INIT_EVENT) and observes it. */
export function step(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot | undefined,
  event: EventObject,
  input?: unknown,
): StepResult {
  const initial = event.type === INIT_EVENT.type || snapshot === undefined;
  const transitions: AnyTransitionDefinition[] = [];
  const visited = new Set<string>();
  const effects: Effect[] = [];
  let started = false;
  const actor = createActor(machine, {
    ...(initial ? {} : { snapshot }),
    input,
    inspect: (ev) => {
      if (ev.type === '@xstate.action' && started)
        effects.push({ type: ev.action.type, params: ev.action.params });
      const observed =
        ev.type === '@xstate.microstep' || (initial && ev.type === '@xstate.snapshot');
      if (!observed || (!initial && !started)) return;
      if (ev.type === '@xstate.microstep') transitions.push(...ev._transitions);
      for (const node of (ev.snapshot as AnyMachineSnapshot)._nodes)
        if (node.path.length) visited.add(pathOf(node));
    },
  });
  if (initial) started = true;
  actor.start();
  started = true;
  if (!initial) actor.send(event);
  const next = actor.getSnapshot() as AnyMachineSnapshot;
  actor.stop();
  return { next, transitions, visited: [...visited], effects };
}
