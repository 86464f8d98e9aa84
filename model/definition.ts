// Reads a machine's definition (its state nodes, `on` and `always` transitions) into plain
// records with readable labels. The renderer and the coverage measure share this walk, so a
// diagram and a coverage line count the same transitions.
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

export interface StateInfo {
  /** Dotted path from the root, e.g. `beforeCommit.reload`. */
  readonly path: string;
  readonly key: string;
  readonly node: AnyStateNode;
  readonly kind: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** The path of the initial child of a compound state. */
  readonly initial: string | null;
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  readonly description: string | null;
  /** It has eventless transitions only: the machine never rests in it. */
  readonly transient: boolean;
  readonly children: readonly StateInfo[];
}

export interface TransitionInfo {
  /** Unique, readable name: `source on event [guard] -> target`. */
  readonly key: string;
  /** Path of the state node that owns the transition ('' for the root). */
  readonly source: string;
  /** The event type, or `always` for an eventless transition. */
  readonly event: string;
  readonly guard: string | null;
  /** Target paths; empty for a targetless transition (actions only, the state stays). */
  readonly targets: readonly string[];
  readonly actions: readonly string[];
  readonly definition: AnyTransitionDefinition;
}

export function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

/** `a && b`, `!a`, or the guard's name (with its static params); null when there is none. */
export function guardLabel(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const parts = (guard as { guards?: unknown[] }).guards;
    if (Array.isArray(parts)) {
      const labels = parts.map((g) => guardLabel(g) ?? '?');
      if (guard.name === 'not') return `!${labels[0]}`;
      return labels.join(guard.name === 'or' ? ' || ' : ' && ');
    }
    return guard.name || 'inline guard';
  }
  if (typeof guard === 'object' && 'type' in guard) return actionLabel(guard);
  return String(guard);
}

/** `name`, or `name(param, ...)` when its params are static. */
export function actionLabel(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'function')
    return (action as { type?: string }).type ?? action.name ?? 'inline action';
  if (typeof action === 'object' && action !== null && 'type' in action) {
    const { type, params } = action as { type: unknown; params?: unknown };
    if (params && typeof params === 'object')
      return `${String(type)}(${Object.values(params).map(String).join(', ')})`;
    return String(type);
  }
  return String(action);
}

function kindOf(node: AnyStateNode): StateInfo['kind'] {
  return node.type;
}

function childrenOf(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states) as AnyStateNode[];
}

function ownTransitions(node: AnyStateNode): AnyTransitionDefinition[] {
  const byEvent = [...node.transitions.values()].flat();
  return [...byEvent, ...(node.always ?? [])];
}

function stateInfo(node: AnyStateNode): StateInfo {
  const children = childrenOf(node).map(stateInfo);
  const transitions = ownTransitions(node);
  const initialTarget = node.type === 'compound' ? node.initial?.target?.[0] : undefined;
  return {
    path: pathOf(node),
    key: node.key,
    node,
    kind: kindOf(node),
    initial: initialTarget ? pathOf(initialTarget) : null,
    entry: node.entry.map(actionLabel),
    exit: node.exit.map(actionLabel),
    description: node.description ?? null,
    transient: transitions.length > 0 && transitions.every((t) => t.eventType === ''),
    children,
  };
}

/** The root's children, recursively, in definition order. */
export function statesOf(machine: AnyStateMachine): StateInfo[] {
  return childrenOf(machine.root).map(stateInfo);
}

/** Every state node but the root, flattened in definition order. */
export function allStates(machine: AnyStateMachine): StateInfo[] {
  const flat: StateInfo[] = [];
  const visit = (s: StateInfo) => {
    flat.push(s);
    s.children.forEach(visit);
  };
  statesOf(machine).forEach(visit);
  return flat;
}

/** Every transition of every state node (the root included), `always` included. */
export function transitionsOf(machine: AnyStateMachine): TransitionInfo[] {
  const nodes = [machine.root, ...allStates(machine).map((s) => s.node)];
  const seen = new Map<string, number>();
  return nodes.flatMap((node) =>
    ownTransitions(node).map((t) => {
      const source = pathOf(node);
      const event = t.eventType === '' ? 'always' : t.eventType;
      const guard = guardLabel(t.guard);
      const targets = (t.target ?? []).map((n: AnyStateNode) => pathOf(n));
      const base = `${source || machine.id} on ${event}${guard ? ` [${guard}]` : ''} -> ${targets.join(', ') || '(stays)'}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return {
        key: n === 1 ? base : `${base} #${n}`,
        source,
        event,
        guard,
        targets,
        actions: t.actions.map(actionLabel),
        definition: t,
      };
    }),
  );
}
