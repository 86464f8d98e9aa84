// The model-based test paths as data (`tkds-cmk paths`, docs/mbt.md "The paths document"): the
// paths xstate/graph generates from a statechart (model/subjects.ts), each step the event and the
// statechart state it reaches, with the transitions it takes, named as the coverage figures name
// them (`initiator: reload on reloadAck -> ...`, model/definition.ts transitionsOf).
import type { AnyMachineSnapshot, AnyTransitionDefinition, EventObject, StateValue } from 'xstate';
import { clusterTakes } from '../model/cluster.ts';
import { transitionsOf } from '../model/definition.ts';
import { machines, type MachineName } from '../model/index.ts';
import { INIT_EVENT, step } from '../model/step.ts';
import { pathsOf, shortestPathsOf, type GeneratedPath } from '../model/subjects.ts';

export const PATHS_FORMAT = 'tkds-cmk-paths';
/**
 * 2: the cluster's context has `partitioned`, `rival`, `rivals`; its events duplicate, delay,
 * partition, heal, rivalStart. 3: its context has `unnoticed`; `crash` may carry `notice: "late"`
 * (a reader of 2 would play it as a crash noticed at once); the event notice.
 */
export const PATHS_VERSION = 3;
/** faults: the cluster statechart's transition-cover paths under the other faults (model/supply.ts clusterFaultSupply). */
export const PATH_SETS = ['cover', 'shortest', 'faults'] as const;
export type PathSet = (typeof PATH_SETS)[number];
export const MACHINE_NAMES = Object.keys(machines) as MachineName[];

export interface PathStep {
  /** The event (`{"type":"xstate.init"}` on the first step), with its typed fields. */
  readonly event: { readonly type: string; readonly [field: string]: unknown };
  /** The statechart state the event reaches: its value and its context. */
  readonly state: { readonly value: StateValue; readonly context: unknown };
  /** The transitions the step takes. */
  readonly takes: readonly string[];
}

export interface ExportedPath {
  readonly description: string;
  readonly steps: readonly PathStep[];
  /** Every transition the path takes (its steps' `takes`, once each). */
  readonly covers: readonly string[];
}

export interface PathsDocument {
  readonly format: typeof PATHS_FORMAT;
  readonly version: typeof PATHS_VERSION;
  readonly machine: MachineName;
  readonly set: PathSet;
  /** Every transition of the statecharts a step of this machine takes (the coverage's Y). */
  readonly transitions: readonly string[];
  readonly paths: readonly ExportedPath[];
}

/** The machines whose transitions a step counts: the cluster's steps take the parts' too (clusterTakes). */
const COUNTED: Readonly<Record<MachineName, readonly MachineName[]>> = {
  initiator: ['initiator'],
  member: ['member'],
  cluster: ['initiator', 'member', 'cluster'],
};

/** `machine: key` of every transition of every statechart, by its definition. */
const NAMES = new Map<AnyTransitionDefinition, string>(
  MACHINE_NAMES.flatMap((name) =>
    transitionsOf(machines[name]).map((t) => [t.definition, `${name}: ${t.key}`] as const),
  ),
);
const DEFINITIONS = new Map([...NAMES].map(([d, name]) => [name, d]));

export function transitionName(t: AnyTransitionDefinition): string {
  const name = NAMES.get(t);
  if (name === undefined) throw new Error(`a transition of no statechart: ${t.eventType}`);
  return name;
}

/** The definitions of named transitions (for model/coverage.ts transitionCoverage). */
export function definitionsOf(names: Iterable<string>): Set<AnyTransitionDefinition> {
  return new Set([...names].flatMap((n) => DEFINITIONS.get(n) ?? []));
}

/** What a step takes; steps recur across paths: remembered. */
const remembered = new Map<string, readonly string[]>();
function takes(
  machine: MachineName,
  from: AnyMachineSnapshot | undefined,
  event: EventObject,
): readonly string[] {
  if (!from) return step(machines[machine], undefined, INIT_EVENT).transitions.map(transitionName);
  const key = JSON.stringify([machine, from.value, from.context, event]);
  if (!remembered.has(key)) {
    const taken =
      machine === 'cluster'
        ? clusterTakes(from, event)
        : step(machines[machine], from, event).transitions;
    remembered.set(key, taken.map(transitionName));
  }
  return remembered.get(key)!;
}

export function exportPath(machine: MachineName, path: GeneratedPath): ExportedPath {
  let from: AnyMachineSnapshot | undefined;
  const steps = path.steps.map(({ event, state }): PathStep => {
    const taken = takes(machine, from, event);
    from = state;
    return { event, state: { value: state.value, context: state.context }, takes: taken };
  });
  return {
    description: path.description,
    steps,
    covers: [...new Set(steps.flatMap((s) => s.takes))],
  };
}

export function pathsDocument(machine: MachineName, set: PathSet): PathsDocument {
  if (set === 'faults' && machine !== 'cluster')
    throw new Error(`the faults set holds cluster paths, not ${machine} paths`);
  const generated =
    set === 'cover'
      ? pathsOf(machine)
      : set === 'shortest'
        ? shortestPathsOf(machine)
        : pathsOf('faults');
  return {
    format: PATHS_FORMAT,
    version: PATHS_VERSION,
    machine,
    set,
    transitions: COUNTED[machine].flatMap((m) =>
      transitionsOf(machines[m]).map((t) => `${m}: ${t.key}`),
    ),
    paths: generated.map((p) => exportPath(machine, p)),
  };
}

/** A paths document that is not of the documented shape: the message names the field. */
export class PathsFormatError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks that `json` has the documented shape (docs/mbt.md), naming the first field that does not. */
export function checkPathsDocument(json: unknown): PathsDocument {
  const bad = (where: string, what: string) => new PathsFormatError(`${where}: ${what}`);
  if (!isObject(json)) throw bad('the document', 'not a JSON object');
  if (json['format'] !== PATHS_FORMAT)
    throw bad('format', `expected "${PATHS_FORMAT}", found ${JSON.stringify(json['format'])}`);
  if (json['version'] !== PATHS_VERSION)
    throw bad(
      'version',
      `this tool reads version ${PATHS_VERSION}, found ${JSON.stringify(json['version'])}`,
    );
  const machine = json['machine'];
  if (!(MACHINE_NAMES as unknown[]).includes(machine))
    throw bad(
      'machine',
      `expected one of ${MACHINE_NAMES.join(', ')}, found ${JSON.stringify(machine)}`,
    );
  if (!(PATH_SETS as readonly unknown[]).includes(json['set']))
    throw bad(
      'set',
      `expected one of ${PATH_SETS.join(', ')}, found ${JSON.stringify(json['set'])}`,
    );
  const names = (where: string, v: unknown): string[] => {
    if (!Array.isArray(v) || v.some((n) => typeof n !== 'string'))
      throw bad(where, 'expected an array of transition names');
    return v as string[];
  };
  const known = new Set(names('transitions', json['transitions']));
  const paths = json['paths'];
  if (!Array.isArray(paths)) throw bad('paths', 'expected an array');
  paths.forEach((path: unknown, i) => {
    const at = `paths[${i}]`;
    if (!isObject(path)) throw bad(at, 'expected an object');
    if (typeof path['description'] !== 'string')
      throw bad(`${at}.description`, 'expected a string');
    const steps = path['steps'];
    if (!Array.isArray(steps) || steps.length === 0)
      throw bad(`${at}.steps`, 'expected a non-empty array');
    steps.forEach((s: unknown, j) => {
      const where = `${at}.steps[${j}]`;
      if (!isObject(s)) throw bad(where, 'expected an object');
      const event = s['event'];
      if (!isObject(event) || typeof event['type'] !== 'string')
        throw bad(`${where}.event`, 'expected an object with a string type');
      if ((j === 0) !== (event['type'] === INIT_EVENT.type))
        throw bad(
          `${where}.event.type`,
          `${INIT_EVENT.type} is the first step's event, and only its`,
        );
      const state = s['state'];
      if (!isObject(state) || !(typeof state['value'] === 'string' || isObject(state['value'])))
        throw bad(`${where}.state`, 'expected an object with a value (a string or an object)');
      if (!isObject(state['context'])) throw bad(`${where}.state.context`, 'expected an object');
      for (const t of names(`${where}.takes`, s['takes']))
        if (!known.has(t)) throw bad(`${where}.takes`, `'${t}' is not among the transitions`);
    });
    for (const t of names(`${at}.covers`, path['covers']))
      if (!known.has(t)) throw bad(`${at}.covers`, `'${t}' is not among the transitions`);
  });
  return json as unknown as PathsDocument;
}
