// `npm run statechart`: renders every machine FROM ITS DEFINITION (state nodes, `on` and
// `always` transitions, entry actions) to docs/statechart/<machine>.mmd (Mermaid
// stateDiagram-v2) and <machine>.svg (Graphviz DOT laid out by @viz-js/viz), and writes the
// README that explains them. Output is deterministic, so a test can compare it with the
// committed files.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { instance } from '@viz-js/viz';
import type { AnyStateMachine } from 'xstate';
import { statesOf, transitionsOf, type StateInfo, type TransitionInfo } from './definition.ts';
import { describe, machines, type Description, type MachineName } from './index.ts';

export const OUTPUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'statechart');
const ANY_STATE = 'any_state';

/** Transitions sorted by source and event; the definition order (the guards' priority) is kept within. */
function sortedTransitions(machine: AnyStateMachine): TransitionInfo[] {
  const all = transitionsOf(machine);
  return all
    .map((t, index) => ({ t, index }))
    .sort(
      (a, b) =>
        a.t.source.localeCompare(b.t.source) ||
        a.t.event.localeCompare(b.t.event) ||
        a.index - b.index,
    )
    .map(({ t }) => t);
}

/** `event [guard] / actions`; an unguarded alternative after guarded ones reads `[else]`. */
export function transitionLabel(t: TransitionInfo, all: readonly TransitionInfo[]): string {
  const siblings = all.filter((s) => s.source === t.source && s.event === t.event);
  const isElse = !t.guard && siblings.indexOf(t) > 0;
  const guard = t.guard ? ` [${t.guard}]` : isElse ? ' [else]' : '';
  const actions = t.actions.length ? ` / ${t.actions.join(', ')}` : '';
  return `${t.event}${guard}${actions}`;
}

function flatten(states: readonly StateInfo[]): StateInfo[] {
  return states.flatMap((s) => [s, ...flatten(s.children)]);
}

// ---- Mermaid ---------------------------------------------------------------------------

const mermaidId = (path: string) => (path === '' ? ANY_STATE : path.replace(/\./g, '_'));
const mermaidText = (text: string) => text.replace(/[;#]/g, ',');

function mermaidState(s: StateInfo, indent: string): string[] {
  const id = mermaidId(s.path);
  const lines: string[] = [];
  if (s.kind === 'compound') {
    lines.push(`${indent}state ${id} {`);
    lines.push(`${indent}  [*] --> ${mermaidId(s.initial ?? '')}`);
    s.children.forEach((c) => lines.push(...mermaidState(c, `${indent}  `)));
    lines.push(`${indent}}`);
  } else if (id !== s.key) {
    lines.push(`${indent}state "${s.key}" as ${id}`);
  }
  if (s.entry.length) lines.push(`${indent}${id} : entry / ${mermaidText(s.entry.join(', '))}`);
  if (s.exit.length) lines.push(`${indent}${id} : exit / ${mermaidText(s.exit.join(', '))}`);
  if (s.transient) lines.push(`${indent}${id} : transient, never rests here`);
  return lines;
}

export function toMermaid(name: string, machine: AnyStateMachine): string {
  const states = statesOf(machine);
  const transitions = sortedTransitions(machine);
  const lines = [
    `%% The ${name} statechart, rendered from model/ by npm run statechart. Do not edit.`,
    'stateDiagram-v2',
  ];
  if (transitions.some((t) => t.source === '')) lines.push(`  state "any state" as ${ANY_STATE}`);
  const initial = machine.root.initial?.target?.[0];
  if (initial) lines.push(`  [*] --> ${mermaidId(initial.path.join('.'))}`);
  states.forEach((s) => lines.push(...mermaidState(s, '  ')));
  flatten(states)
    .filter((s) => s.kind === 'final')
    .forEach((s) => lines.push(`  ${mermaidId(s.path)} --> [*]`));
  for (const t of transitions) {
    const targets = t.targets.length ? t.targets : [t.source];
    for (const target of targets)
      lines.push(
        `  ${mermaidId(t.source)} --> ${mermaidId(target)} : ${mermaidText(transitionLabel(t, transitions))}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

// ---- Graphviz DOT ----------------------------------------------------------------------

const dotId = (path: string) => `"${path === '' ? ANY_STATE : path}"`;
const dotText = (text: string) => text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const startOf = (path: string) => `"${path === '' ? '' : `${path}.`}[*]"`;

function dotState(s: StateInfo, indent: string): string[] {
  if (s.kind === 'compound') {
    return [
      `${indent}subgraph "cluster_${s.path}" {`,
      `${indent}  label="${dotText(s.key)}"; style="rounded"; color="gray40"; fontname="Helvetica"; fontsize=13;`,
      `${indent}  ${startOf(s.path)} [shape=point, width=0.12, label=""];`,
      ...s.children.flatMap((c) => dotState(c, `${indent}  `)),
      `${indent}}`,
    ];
  }
  const lines = [
    s.key,
    ...(s.entry.length ? [`entry / ${s.entry.join(', ')}`] : []),
    ...(s.exit.length ? [`exit / ${s.exit.join(', ')}`] : []),
  ];
  const attrs = [`label="${lines.map(dotText).join('\\n')}"`];
  if (s.kind === 'final') attrs.push('peripheries=2');
  if (s.transient) attrs.push('style="rounded,dashed"');
  return [`${indent}${dotId(s.path)} [${attrs.join(', ')}];`];
}

export function toDot(name: string, machine: AnyStateMachine): string {
  const states = statesOf(machine);
  const byPath = new Map(flatten(states).map((s) => [s.path, s]));
  const transitions = sortedTransitions(machine);
  const end = (path: string, side: 'tail' | 'head'): { node: string; attr: string | null } => {
    const s = byPath.get(path);
    if (s?.kind !== 'compound') return { node: dotId(path), attr: null };
    return {
      node: startOf(path),
      attr: `${side === 'tail' ? 'ltail' : 'lhead'}="cluster_${path}"`,
    };
  };
  const lines = [
    `// The ${name} statechart, rendered from model/ by npm run statechart. Do not edit.`,
    `digraph "${name}" {`,
    `  graph [compound=true, rankdir=TB, fontname="Helvetica", label="${name}", labelloc=t, fontsize=18, nodesep=0.4, ranksep=0.5];`,
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
    `  ${startOf('')} [shape=point, width=0.15, label=""];`,
  ];
  if (transitions.some((t) => t.source === ''))
    lines.push(`  ${dotId('')} [label="any state", shape=note];`);
  states.forEach((s) => lines.push(...dotState(s, '  ')));
  const initial = machine.root.initial?.target?.[0];
  if (initial) lines.push(`  ${startOf('')} -> ${end(initial.path.join('.'), 'head').node};`);
  flatten(states)
    .filter((s) => s.kind === 'compound' && s.initial)
    .forEach((s) => lines.push(`  ${startOf(s.path)} -> ${dotId(s.initial!)};`));
  // transitions between the same two nodes share one arrow, a label line each, so none overlap
  const arrows = new Map<string, { head: string; attrs: string[]; labels: string[] }>();
  for (const t of transitions) {
    const from = end(t.source, 'tail');
    for (const target of t.targets.length ? t.targets : [t.source]) {
      const to = t.targets.length ? end(target, 'head') : from;
      // a frame is only clipped at when the arrow leaves (or enters) it
      const inside = (a: string, b: string) => a.startsWith(`${b}.`);
      const loop = to === from;
      const tail = loop || inside(target, t.source) ? null : from.attr;
      const head = loop || inside(t.source, target) ? null : to.attr;
      const attrs = [tail, head, t.event === 'always' ? 'style=dashed' : null].filter(
        (a): a is string => a !== null,
      );
      const key = `${from.node} -> ${to.node} ${attrs.join(' ')}`;
      const arrow = arrows.get(key) ?? { head: `${from.node} -> ${to.node}`, attrs, labels: [] };
      arrow.labels.push(dotText(transitionLabel(t, transitions)));
      arrows.set(key, arrow);
    }
  }
  for (const { head, attrs, labels } of arrows.values()) {
    const label = labels.length === 1 ? labels[0] : `${labels.join('\\l')}\\l`;
    lines.push(`  ${head} [${[`label="${label}"`, ...attrs].join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

// ---- README ----------------------------------------------------------------------------

const HOW_TO_READ = `# The statecharts

The diagrams on this page are drawn by \`npm run statechart\` from the XState v5 machines in
\`model/\` (from their definitions: every state node, every \`on\` and \`always\` transition), as
SVG (Graphviz) and as Mermaid source. Do not edit these files: a test re-renders them and fails,
saying "run npm run statechart", when one no longer matches its machine. The names are those of
\`docs/protocol.md\` and \`DESIGN.md\`: a state is a step, an event is a message or an
environment event, a guard is named after the rule it enforces.

## How to read the diagrams

- A rounded box is a state. \`entry / a, b\` lists the actions run, in order, on entering it.
- A frame is a compound state: a transition drawn from its frame applies in every state inside
  it, unless the inner state handles that event itself; the dot inside marks where it starts.
- An arrow is a transition, labelled \`event [guard] / actions\`: the event that triggers it, the
  guard that must hold, the actions it runs in order. Where one event has several arrows from a
  state, the first whose guard holds wins (the order of the source); \`[else]\` marks the branch
  taken when none of the guards before it holds.
- \`always\` (a dashed arrow) is an eventless transition, taken as soon as its guard holds. A
  dashed box is transient: the machine passes through it and never waits there.
- An arrow that loops back to its state changes only the context (acknowledgements, retries,
  the delta) or runs actions; the state stays.
- A double border is an outcome (a final state).
- The note "any state" carries transitions that every state has, unless it handles the event.
- Actions that end in an effect (a message sent, a data set written) do nothing in the
  statechart itself; the cluster view (\`model/cluster.ts\`) carries them out: \`send(reload)\`
  sends reload to every member still awaited, \`sendToJoined(switch)\` to the member that just
  rejoined, \`acknowledge(reload)\` answers it, \`stageSelf\` and the other \`...Self\` actions
  are the initiator's own part of a step.

## How the statecharts are checked

- \`specs/statechart.test.ts\`: these files match the machines; paths generated with
  \`xstate/graph\` take every state and every transition of each definition (\`always\` included;
  the test prints \`state coverage\` and \`transition coverage\` per machine). These figures
  count GENERATED paths, each machine's own (initiator 55/55, member 31/31, cluster 31/31); they
  say nothing about the implementation. The test also prints which initiator and member
  transitions the cluster view's paths take (\`cluster exercises ...\`). The guards' rules
  (StagedBeforeSwitch, NoEarlyActivation, NoBackoutAfterCommit, KeyAgreement, SettledOutcome)
  hold on every reachable state and edge of the graphs.
- \`specs/statechart-mbt.test.ts\`: the cluster view's generated paths (a transition cover and a
  shortest path to every reachable state) run on the reference implementation through one
  adapter (\`driver/adapter.ts\`) that compares what it shows with the model after every
  step; ten deliberate protocol bugs are each caught by them. It prints the coverage AS EXECUTED
  ON THE IMPLEMENTATION, \`executed transition coverage: initiator X/Y, member X/Y, cluster X/Y\`:
  a transition counts once the implementation, driven through a step that takes it, showed what
  the model says (initiator 55/55, member 31/31, cluster 39/39, over the cover, faults and
  shortest paths). The test requires 100%: a transition never executed fails it, by name.
- \`specs/statechart-replay.test.ts\`: implementation traces replayed through the statecharts
  (\`model/replay.ts\`); corrupted traces are rejected with the line, the actor, the state and the
  broken rule.
`;

function readmeSection(name: MachineName, d: Description): string {
  const states = Object.entries(d.states).map(([path, text]) => `**${path}**: ${text}`);
  const events = Object.entries(d.events).map(([event, text]) => `| \`${event}\` | ${text} |`);
  const guards = Object.entries(d.guards).map(([guard, text]) => `| \`${guard}\` | ${text} |`);
  return [
    `## ${name}`,
    '',
    `![${name} statechart](${name}.svg)`,
    '',
    `${d.summary} Mermaid source: [${name}.mmd](${name}.mmd).`,
    '',
    '### States',
    '',
    states.join('\n\n'),
    '',
    '### Events',
    '',
    '| event | what it models |',
    '|---|---|',
    ...events,
    '',
    '### Guards',
    '',
    '| guard | the rule |',
    '|---|---|',
    ...guards,
    '',
  ].join('\n');
}

export function toReadme(): string {
  const sections = (Object.keys(machines) as MachineName[]).map((name) =>
    readmeSection(name, describe[name]),
  );
  return [HOW_TO_READ, ...sections].join('\n');
}

/** Every file of docs/statechart/, by name, rendered in memory. */
export async function renderAll(): Promise<Map<string, string>> {
  const viz = await instance();
  const files = new Map<string, string>();
  for (const [name, machine] of Object.entries(machines)) {
    files.set(`${name}.mmd`, toMermaid(name, machine));
    files.set(
      `${name}.svg`,
      viz.renderString(toDot(name, machine), { format: 'svg', engine: 'dot' }),
    );
  }
  files.set('README.md', toReadme());
  return files;
}

/** Renders every file into `dir` (docs/statechart/ by default); returns the paths written. */
export async function writeAll(dir = OUTPUT_DIR): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, content] of await renderAll()) {
    await writeFile(join(dir, file), content);
    written.push(join(dir, file));
  }
  return written;
}

async function main(): Promise<void> {
  for (const path of await writeAll()) console.log(`wrote ${relative(process.cwd(), path)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
