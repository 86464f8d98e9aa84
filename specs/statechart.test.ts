// The statecharts (model/): committed diagrams match their machines; generated paths cover
// every state and transition of each definition (coverage lines printed); the guards enforce
// the DESIGN.md rules on every reachable state of the graphs.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initialTransition, transition, type AnyMachineSnapshot, type EventObject } from 'xstate';
import {
  clusterMachine,
  isUp,
  leafOf,
  narrate,
  probedClusterEvent,
  type ClusterContext,
} from '../model/cluster.ts';
import { coverageLines, measure, type Graph } from '../model/coverage.ts';
import { transitionsOf } from '../model/definition.ts';
import { describe as described, machines } from '../model/index.ts';
import {
  awaited,
  initiatorMachine,
  type InitiatorContext,
  type InitiatorEvent,
} from '../model/initiator.ts';
import { memberMachine, type MemberContext } from '../model/member.ts';
import { headerKey, RECORD_READINGS, type RecordView } from '../model/record.ts';
import { OUTPUT_DIR, renderAll } from '../model/render.ts';
import { graphOf, pathsOf, SUBJECTS, type SubjectName } from '../model/subjects.ts';

type Snap = AnyMachineSnapshot;
type Name = SubjectName;

function edges(graph: Graph): { from: Snap; event: EventObject; to: Snap }[] {
  return Object.values(graph.adjacency).flatMap(({ state, transitions }) =>
    Object.values(transitions).map(({ event, state: to }) => ({ from: state, event, to })),
  );
}

const statesOfGraph = (graph: Graph) => Object.values(graph.adjacency).map((a) => a.state);
const initiatorOf = (s: Snap) => s.context as InitiatorContext;
const clusterOf = (s: Snap) => s.context as ClusterContext;
const leaf = (s: Snap) => leafOf(s.value);

function initiatorAfter(events: readonly InitiatorEvent[]): Snap {
  let [s] = initialTransition(initiatorMachine, {});
  for (const e of events) [s] = transition(initiatorMachine, s, e);
  return s;
}

/** The events that bring the initiator (SYSA; SYSB, SYSC) to a step, every member answering. */
const TO_STEP: Record<string, InitiatorEvent[]> = {};
TO_STEP.validate = [{ type: 'startChange' }];
TO_STEP.beginRouting = [...TO_STEP.validate, { type: 'validated' }];
TO_STEP.reencipher = [
  ...TO_STEP.beginRouting,
  { type: 'beginRoutingAck', member: 'SYSB' },
  { type: 'beginRoutingAck', member: 'SYSC' },
];
TO_STEP.applyDelta = [...TO_STEP.reencipher, { type: 'reencipherDone' }];
TO_STEP.reload = [...TO_STEP.applyDelta, { type: 'applyDeltaDone', applied: [] }];
TO_STEP.commit = [
  ...TO_STEP.reload,
  { type: 'reloadAck', member: 'SYSB' },
  { type: 'reloadAck', member: 'SYSC' },
];
TO_STEP.switch = [...TO_STEP.commit, { type: 'commitDone' }];
TO_STEP.finish = [
  ...TO_STEP.switch,
  { type: 'switchAck', member: 'SYSB' },
  { type: 'switchAck', member: 'SYSC' },
];

/** KeyAgreement for one member: serving, it runs under the key of its live copy and active header. */
function keyAgreement(m: MemberContext, state: string): string | null {
  if (state === 'down' || state === 'fenced' || state === 'restartCheck') return null;
  if (m.live !== m.active) return `live copy ${m.live} is not the active data set ${m.active}`;
  if (m.cur !== headerKey(m.active))
    return `cur MKVP is the ${m.cur} key but the ${m.active} header carries the ${headerKey(m.active)} key`;
  return null;
}

describe('statechart diagrams', () => {
  it('the committed diagrams and README match the machines (else: run npm run statechart)', async () => {
    const rendered = await renderAll();
    assert.deepEqual([...rendered.keys()].sort(), [
      'README.md',
      'cluster.mmd',
      'cluster.svg',
      'initiator.mmd',
      'initiator.svg',
      'member.mmd',
      'member.svg',
    ]);
    for (const [file, content] of rendered) {
      const committed = await readFile(join(OUTPUT_DIR, file), 'utf8').catch(() => null);
      assert.ok(committed !== null, `docs/statechart/${file} is missing: run npm run statechart`);
      if (committed !== content)
        assert.fail(
          `docs/statechart/${file} is stale, it no longer matches its machine: run npm run statechart`,
        );
    }
  });

  it('draws every transition of the definition, the eventless ones included, with its guard', async () => {
    const rendered = await renderAll();
    for (const [name, machine] of Object.entries(machines)) {
      const mermaid = rendered.get(`${name}.mmd`)!;
      const arrows = mermaid.split('\n').filter((l) => / --> /.test(l) && !l.includes('[*]'));
      const expected = transitionsOf(machine).reduce(
        (n, t) => n + Math.max(1, t.targets.length),
        0,
      );
      assert.equal(
        arrows.length,
        expected,
        `${name}.mmd has ${arrows.length} arrows for ${expected} transitions`,
      );
      for (const t of transitionsOf(machine).filter((t) => t.event === 'always' && t.guard)) {
        assert.ok(
          arrows.some((a) => a.includes(`: always [${t.guard}]`)),
          `${name}.mmd lacks the eventless transition ${t.key}`,
        );
      }
      const svg = rendered.get(`${name}.svg`)!;
      assert.match(svg, /^<\?xml/);
      for (const t of transitionsOf(machine))
        if (t.guard)
          assert.ok(
            svg.includes(t.guard.replace(/&/g, '&amp;')),
            `${name}.svg lacks guard ${t.guard}`,
          );
    }
  });

  it('describes every state, event and guard of every machine in one line', () => {
    for (const [name, d] of Object.entries(described)) {
      for (const [state, text] of Object.entries(d.states))
        assert.ok(text.length > 10, `${name} state ${state} has no description`);
      const events = new Set(
        transitionsOf(d.machine)
          .map((t) => t.event)
          .filter((e) => e !== 'always'),
      );
      assert.deepEqual(
        [...events].sort(),
        Object.keys(d.events).sort(),
        `${name}: described events differ from the events its transitions handle`,
      );
      const guards = new Set(
        transitionsOf(d.machine).flatMap((t) =>
          t.guard ? t.guard.split(' && ').map((g) => g.replace(/\(.*\)$/, '')) : [],
        ),
      );
      assert.deepEqual(
        [...guards].sort(),
        Object.keys(d.guards).sort(),
        `${name}: described guards differ from the guards it uses`,
      );
    }
  });
});

describe('statechart graph coverage', () => {
  // the cluster statechart's paths are two sets: its first faults (cluster) and the others (faults)
  const setsOf = (name: Name): Name[] =>
    name === 'faults' ? [] : name === 'cluster' ? ['cluster', 'faults'] : [name];
  for (const name of Object.keys(SUBJECTS) as Name[]) {
    if (setsOf(name).length === 0) continue;
    it(`${name}: generated paths take every state and transition of the definition`, (t) => {
      const { machine } = SUBJECTS[name];
      const coverage = measure(machine, setsOf(name).flatMap(pathsOf));
      for (const line of coverageLines(name, coverage)) {
        t.diagnostic(line);
      }
      assert.equal(coverage.transitions.total, transitionsOf(machine).length);
      assert.deepEqual(
        coverage.states.missing,
        [],
        `${name}: states no generated path reaches: ${coverage.states.missing.join('; ')}`,
      );
      assert.deepEqual(
        coverage.transitions.missing,
        [],
        `${name}: transitions no generated path takes: ${coverage.transitions.missing.join('; ')}`,
      );
    });
  }

  it('counts Y from the raw definition: every `on` and `always` transition of every state node', () => {
    const count = (config: Record<string, unknown>): number => {
      const on = Object.values((config.on ?? {}) as Record<string, unknown>).reduce<number>(
        (n, t) => n + (Array.isArray(t) ? t.length : 1),
        0,
      );
      const always = config.always ? (Array.isArray(config.always) ? config.always.length : 1) : 0;
      const children = Object.values(
        (config.states ?? {}) as Record<string, Record<string, unknown>>,
      ).reduce((n, c) => n + count(c), 0);
      return on + always + children;
    };
    for (const machine of Object.values(machines)) {
      assert.equal(
        transitionsOf(machine).length,
        count(machine.config as Record<string, unknown>),
        machine.id,
      );
    }
    assert.equal(transitionsOf(initiatorMachine).filter((t) => t.event === 'always').length, 8);
    assert.equal(transitionsOf(memberMachine).filter((t) => t.event === 'always').length, 6);
  });

  it('reports the transitions a smaller set of paths leaves out', () => {
    const shortest = pathsOf('initiator').reduce((a, b) =>
      b.steps.length < a.steps.length ? b : a,
    );
    const partial = measure(initiatorMachine, [shortest]);
    assert.ok(
      partial.transitions.covered > 0 && partial.transitions.covered < partial.transitions.total,
    );
    assert.ok(
      partial.transitions.missing.includes(
        'beforeCommit.applyDelta on applyDeltaDone [wholeDeltaApplied] -> beforeCommit.reload',
      ),
    );
  });

  it('cluster: the paths also exercise the parts, as a path can say "SYSB lost during reload"', (t) => {
    // What the composed cluster never does, and why; anything else left out is a failure.
    const notInCluster: Record<string, string> = {
      // (a duplicated beginRoutingAck or reloadAck of the faults set arrives once the step is over)
      'initiator on switchAck -> (stays)':
        'acknowledgements of an earlier step are dropped when the next request goes out',
      'up.serving on liveUpdate -> (stays)':
        "the cluster view leaves out the writer's liveUpdate messages",
      'up.routing on liveUpdate -> (stays)': 'as above',
    };
    const seen = new Set<unknown>();
    // both path sets of the cluster statechart (a restart that reads running comes from the faults set)
    for (const path of [...pathsOf('cluster'), ...pathsOf('faults')]) {
      path.steps
        .slice(1)
        .forEach((s, i) =>
          probedClusterEvent((ts) => ts.forEach((x) => seen.add(x)))(
            clusterOf(path.steps[i]!.state),
            s.event as never,
          ),
        );
    }
    const left: string[] = [];
    for (const [name, machine] of [
      ['initiator', initiatorMachine],
      ['member', memberMachine],
    ] as const) {
      const all = transitionsOf(machine);
      const taken = all.filter((x) => seen.has(x.definition));
      t.diagnostic(`cluster exercises ${name} transitions: ${taken.length}/${all.length}`);
      left.push(...all.filter((x) => !seen.has(x.definition)).map((x) => x.key));
    }
    assert.deepEqual(left.sort(), Object.keys(notInCluster).sort());
  });

  it('every generated path replays through its machine with the invariants holding at each step', async () => {
    const check: Record<Name, (s: Snap) => void> = {
      initiator: (s) => {
        const c = initiatorOf(s);
        if (s.matches('backout')) assert.equal(c.record.change, 'none');
        if (s.matches({ rollForward: 'switch' })) assert.equal(c.record.change, 'committed');
        if (s.matches({ beforeCommit: 'commit' })) assert.equal(c.record.change, 'running');
      },
      member: (s) => assert.equal(keyAgreement(s.context as MemberContext, leaf(s)), null),
      cluster: (s) => {
        for (const [name, part] of Object.entries(clusterOf(s).members))
          assert.equal(keyAgreement(part.context, leafOf(part.value)), null, name);
      },
      faults: (s) => check.cluster(s),
    };
    for (const name of Object.keys(SUBJECTS) as Name[]) {
      for (const path of pathsOf(name)) await path.test({ states: { '*': check[name] } });
    }
  });
});

describe('statechart rules (guards) on the reachable graphs', () => {
  it('StagedBeforeSwitch: commit is reachable only once every member that is up acknowledged reload', () => {
    const intoCommit = edges(graphOf('initiator')).filter(
      (e) =>
        !e.from.matches({ beforeCommit: 'commit' }) && e.to.matches({ beforeCommit: 'commit' }),
    );
    assert.ok(intoCommit.length > 0);
    for (const { from, to } of intoCommit) {
      assert.ok(
        from.matches({ beforeCommit: 'reload' }),
        `commit entered from ${JSON.stringify(from.value)}`,
      );
      assert.deepEqual(awaited(initiatorOf(to)), [], JSON.stringify(initiatorOf(to)));
    }
    const oneStaged = initiatorAfter([...TO_STEP.reload!, { type: 'reloadAck', member: 'SYSB' }]);
    assert.ok(oneStaged.matches({ beforeCommit: 'reload' }), 'SYSC has not staged: no commit');
    assert.ok(initiatorAfter(TO_STEP.commit!).matches({ beforeCommit: 'commit' }));
    // across the cluster: while any member runs switched, none is still routing or on the old data set
    const clusterStates = statesOfGraph(graphOf('cluster'));
    let witnessed = 0;
    for (const s of clusterStates) {
      const parts = Object.entries(clusterOf(s).members);
      if (!parts.some(([, p]) => leafOf(p.value) === 'switched')) continue;
      witnessed++;
      for (const [name, p] of parts) {
        assert.notEqual(
          leafOf(p.value),
          'routing',
          `${name} routing while another member switched`,
        );
        if (leafOf(p.value) === 'serving')
          assert.equal(
            p.context.active,
            'target',
            `${name} serves the old data set while another switched`,
          );
      }
    }
    assert.ok(witnessed > 0);
    // a member cannot switch without its own staged copy
    const [routing] = transition(
      memberMachine,
      transition(memberMachine, initialTransition(memberMachine, {})[0], {
        type: 'beginRouting',
      })[0],
      { type: 'switch' },
    );
    assert.equal(leaf(routing), 'routing');
  });

  it('NoBackoutAfterCommit: no edge of any graph leads from a committed change to backout', () => {
    let committedEdges = 0;
    for (const { from, event, to } of edges(graphOf('initiator'))) {
      if (initiatorOf(from).record.change !== 'committed' && !from.matches('rollForward')) continue;
      committedEdges++;
      assert.ok(
        !to.matches('backout') && !to.matches('backedOut'),
        `${JSON.stringify(from.value)} --${event.type}--> ${JSON.stringify(to.value)}`,
      );
    }
    assert.ok(committedEdges > 100);
    for (const { from, event, to } of edges(graphOf('cluster'))) {
      if (clusterOf(from).initiator.context.record.change !== 'committed') continue;
      assert.ok(
        !['backout', 'backedOut'].includes(leafOf(clusterOf(to).initiator.value)),
        `cluster: ${event.type} led from committed to backout`,
      );
    }
    // along every generated path: once committed, never backout
    for (const path of [...pathsOf('initiator'), ...pathsOf('cluster')]) {
      let committed = false;
      for (const { state } of path.steps) {
        const c =
          'initiator' in state.context
            ? clusterOf(state).initiator
            : { value: state.value, context: initiatorOf(state) };
        committed ||= c.context.record.change === 'committed';
        if (committed) assert.ok(!['backout', 'backedOut'].includes(leafOf(c.value)));
      }
    }
    // a member that switched takes no backout
    const switched = [
      { type: 'beginRouting' },
      { type: 'reload' },
      { type: 'switch' },
      { type: 'backout' },
    ] as const;
    let m = initialTransition(memberMachine, {})[0];
    for (const e of switched) [m] = transition(memberMachine, m, e);
    assert.equal(leaf(m), 'switched');
  });

  it('NoEarlyActivation: the delta is applied before reload, and the target is active nowhere before', () => {
    for (const s of statesOfGraph(graphOf('initiator'))) {
      if (s.matches({ beforeCommit: 'reload' }) || s.matches('rollForward'))
        assert.ok(initiatorOf(s).deltaApplied, JSON.stringify(s.value));
    }
    let staged = 0;
    for (const s of statesOfGraph(graphOf('cluster'))) {
      const { initiator, members } = clusterOf(s);
      for (const [name, p] of Object.entries(members)) {
        if (p.context.active !== 'target' && !p.context.staged) continue;
        staged++;
        assert.ok(
          initiator.context.deltaApplied,
          `${name} holds the target before the delta was applied`,
        );
      }
    }
    assert.ok(staged > 0);
    // the whole delta: an applyDeltaDone that misses a routed update does not lead to reload
    const withUpdate = [
      ...TO_STEP.reencipher!,
      { type: 'update', id: 'u1', member: 'SYSB' },
      { type: 'reencipherDone' },
    ] as InitiatorEvent[];
    assert.ok(
      initiatorAfter([...withUpdate, { type: 'applyDeltaDone', applied: [] }]).matches({
        beforeCommit: 'applyDelta',
      }),
    );
    assert.ok(
      initiatorAfter([...withUpdate, { type: 'applyDeltaDone', applied: ['u1'] }]).matches({
        beforeCommit: 'reload',
      }),
    );
  });

  it('updates: routed before the suspension go to the delta, from the suspension on they wait', () => {
    const routed = initiatorAfter([
      ...TO_STEP.reencipher!,
      { type: 'update', id: 'u1', member: 'SYSB' },
    ]);
    assert.deepEqual([initiatorOf(routed).delta, initiatorOf(routed).waiting], [['u1'], []]);
    for (const step of ['applyDelta', 'reload', 'switch', 'finish'] as const) {
      const held = initiatorAfter([
        ...TO_STEP[step]!,
        { type: 'update', id: 'u2', member: 'SYSC' },
      ]);
      assert.deepEqual([initiatorOf(held).delta, initiatorOf(held).waiting], [[], ['u2']], step);
    }
  });

  it('retriesLeft: a silent member gets the request again, then counts as lost (backout before commit)', () => {
    const once = initiatorAfter([
      ...TO_STEP.beginRouting!,
      { type: 'beginRoutingAck', member: 'SYSB' },
      { type: 'timeout' },
    ]);
    assert.ok(once.matches({ beforeCommit: 'beginRouting' }));
    assert.equal(initiatorOf(once).retries, 1);
    const twice = transition(initiatorMachine, once, { type: 'timeout' })[0];
    assert.ok(twice.matches('backout'));
    // the silent member is still asked to back out; silent again after the budget, it is expelled
    assert.deepEqual(awaited(initiatorOf(twice)), ['SYSB', 'SYSC']);
    const backedOut = [
      { type: 'backoutAck', member: 'SYSB' },
      { type: 'timeout' },
      { type: 'timeout' },
    ] as InitiatorEvent[];
    const end = backedOut.reduce((s, e) => transition(initiatorMachine, s, e)[0], twice);
    assert.ok(end.matches('backedOut'));
    assert.deepEqual(initiatorOf(end).lost, ['SYSC']);
    // after commit the silent member is expelled instead, and switch goes on
    const switching = initiatorAfter([
      ...TO_STEP.switch!,
      { type: 'switchAck', member: 'SYSB' },
      { type: 'timeout' },
      { type: 'timeout' },
    ]);
    assert.ok(switching.matches({ rollForward: 'finish' }));
    assert.deepEqual(initiatorOf(switching).lost, ['SYSC']);
  });

  it('takeover: the cluster record decides between backout and roll-forward', () => {
    // lost at finish, after the record write that names the target active: nothing to take over
    const expected: Record<string, string> = {
      beginRouting: 'backout',
      reload: 'backout',
      commit: 'backout',
      switch: 'switch',
      finish: 'down',
    };
    for (const [step, after] of Object.entries(expected)) {
      const down = initiatorAfter([...TO_STEP[step]!, { type: 'crash' }]);
      assert.equal(leaf(down), 'down', step);
      const taken = transition(initiatorMachine, down, {
        type: 'takeover',
        member: 'SYSB',
        record: initiatorOf(down).record,
      })[0];
      assert.equal(leaf(taken), after, `initiator lost at ${step}`);
      assert.equal(initiatorOf(taken).self, after === 'down' ? 'SYSA' : 'SYSB');
    }
  });

  it('restart check: serve, set the master key first, or stay fenced, by the record and the registers', () => {
    const restart = (cur: 'old' | 'new', next: 'new' | null, record: RecordView) => {
      let m = initialTransition(memberMachine, { cur, next })[0];
      [m] = transition(memberMachine, m, { type: 'crash' });
      [m] = transition(memberMachine, m, { type: 'restart', record });
      return m;
    };
    const [none, running, committed, finished] = RECORD_READINGS;
    const cases: [
      cur: 'old' | 'new',
      next: 'new' | null,
      RecordView,
      state: string,
      curAfter: string,
    ][] = [
      ['old', 'new', none!, 'serving', 'old'],
      ['old', 'new', running!, 'routing', 'old'],
      ['old', 'new', committed!, 'switched', 'new'],
      ['old', 'new', finished!, 'serving', 'new'],
      ['new', null, committed!, 'switched', 'new'],
      ['new', null, finished!, 'serving', 'new'],
      ['new', null, none!, 'fenced', 'new'],
      ['new', null, running!, 'fenced', 'new'],
    ];
    for (const [cur, next, record, state, curAfter] of cases) {
      const m = restart(cur, next, record);
      const label = `cur ${cur}, new ${next}, record ${record.change}/${record.active}`;
      assert.equal(leaf(m), state, label);
      assert.equal((m.context as MemberContext).cur, curAfter, label);
      assert.equal(keyAgreement(m.context as MemberContext, leaf(m)), null, label);
    }
  });

  it("KeyAgreement: every serving member of every reachable state runs under its copy's key", () => {
    for (const s of statesOfGraph(graphOf('member')))
      assert.equal(keyAgreement(s.context as MemberContext, leaf(s)), null);
    for (const s of statesOfGraph(graphOf('cluster'))) {
      for (const [name, p] of Object.entries(clusterOf(s).members))
        assert.equal(keyAgreement(p.context, leafOf(p.value)), null, name);
    }
  });

  it('SettledOutcome: at each outcome every member that is up agrees with it and with the record', () => {
    const seen = new Set<string>();
    for (const s of statesOfGraph(graphOf('cluster'))) {
      const outcome = leaf(s);
      if (!['completed', 'backedOut'].includes(outcome)) continue;
      seen.add(outcome);
      const { initiator, members } = clusterOf(s);
      const expected =
        outcome === 'completed' ? { active: 'target', cur: 'new' } : { active: 'old', cur: 'old' };
      assert.deepEqual(
        initiator.context.record,
        { change: 'none', active: expected.active },
        outcome,
      );
      for (const [name, p] of Object.entries(members)) {
        if (!isUp(p)) continue;
        assert.notEqual(leafOf(p.value), 'fenced', `${name} at ${outcome}`);
        assert.deepEqual(
          { active: p.context.active, live: p.context.live, cur: p.context.cur },
          { ...expected, live: expected.active },
          `${name} at ${outcome}`,
        );
      }
    }
    assert.deepEqual([...seen].sort(), ['backedOut', 'completed']);
  });

  it('cluster paths in words: SYSB lost during reload backs out; lost during switch, it catches up', () => {
    const graph = graphOf('cluster');
    const find = (step: string) => {
      for (const key of graph.order) {
        const from = graph.adjacency[key]!;
        if (
          leafOf(clusterOf(from.state).initiator.value) !== step ||
          clusterOf(from.state).faults > 0
        )
          continue;
        const edge = Object.values(from.transitions).find(
          (e) => e.event.type === 'crash' && (e.event as { member?: string }).member === 'SYSB',
        );
        if (edge) return [...graph.walkTo(key), edge];
      }
      assert.fail(`no path loses SYSB at ${step}`);
    };
    const duringReload = find('reload');
    const words = narrate(duringReload);
    assert.equal(words[words.length - 1], 'crash SYSB at reload -> backout');
    const duringSwitch = find('switch');
    assert.equal(narrate(duringSwitch).at(-1), 'crash SYSB at switch');
    // the change completes without SYSB; when it restarts it sets its master key and serves the target
    let s = duringSwitch.at(-1)!.state;
    for (let i = 0; i < 20 && leaf(s) === 'change'; i++) {
      const next = clusterOf(s).network[0];
      [s] = transition(clusterMachine, s, next ? ({ ...next } as never) : { type: 'timeout' });
    }
    assert.equal(leaf(s), 'completed');
    [s] = transition(clusterMachine, s, { type: 'restart', member: 'SYSB' });
    const sysb = clusterOf(s).members.SYSB!;
    assert.deepEqual(
      [leafOf(sysb.value), sysb.context.cur, sysb.context.active],
      ['serving', 'new', 'target'],
    );
  });
});
