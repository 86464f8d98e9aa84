// Model-based tests: every path generated from the cluster statechart runs on the reference
// implementation through one adapter (driver/adapter.ts), which asserts after every
// step that what the implementation shows (cluster record, registers and MKVPs, active data
// set, live and staged copies, the initiator's step, suspension, fencing) is what the model says.
// Coverage is counted as executed: the transitions of the initiator, member and cluster
// statecharts taken on steps the implementation was confirmed to agree with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { narrate, type ClusterContext } from '../model/cluster.ts';
import { pathsOf, shortestPathsOf, type GeneratedPath } from '../model/subjects.ts';
import { PROTOCOL_BUGS } from './support/protocol-bugs.ts';
import { executedCoverage, runPath, type Bug } from './support/sim-adapter.ts';

/** Every transition taken on the implementation by the paths run so far (without a bug). */
const executed = new Set<string>();
const ran = new Set<GeneratedPath>();
function run(path: GeneratedPath): Promise<void> {
  ran.add(path);
  return runPath(path, null, executed);
}

describe('model-based tests: the cluster statechart drives the implementation', () => {
  const paths = pathsOf('cluster');
  paths.forEach((path, i) => {
    const words = narrate(path.steps);
    it(`path ${i + 1} (${words.length} steps): ... ${words.slice(-2).join(', ')}`, async () => {
      await run(path);
    });
  });
  it('runs every generated path, with at least one step each', (t) => {
    assert.ok(paths.length >= 20);
    t.diagnostic(
      `transition-cover paths: ${paths.length}, ${paths.reduce((n, p) => n + p.steps.length - 1, 0)} steps`,
    );
  });

  it('a shortest path to every reachable state of the cluster statechart runs on the implementation too', async (t) => {
    const all = shortestPathsOf('cluster');
    const failures: string[] = [];
    for (const path of all) {
      await run(path).catch((e: Error) =>
        failures.push(`${narrate(path.steps).join(' / ')}\n  ${e.message.split('\n')[0]}`),
      );
    }
    t.diagnostic(
      `shortest paths: ${all.length}, ${all.reduce((n, p) => n + p.steps.length - 1, 0)} steps`,
    );
    assert.ok(all.length > 300);
    assert.deepEqual(
      failures.slice(0, 3),
      [],
      `${failures.length} of ${all.length} paths differ from the model`,
    );
  });

  it('the other faults (duplicate, delay, partition, a second initiator, a loss noticed late): their own path set runs on the implementation', async (t) => {
    const all = [...pathsOf('faults'), ...shortestPathsOf('faults')];
    const failures: string[] = [];
    for (const path of all) {
      await run(path).catch((e: Error) =>
        failures.push(`${narrate(path.steps).join(' / ')}\n  ${e.message.split('\n')[0]}`),
      );
    }
    const taken = new Set(all.flatMap((p) => p.steps.map((s) => s.event.type)));
    t.diagnostic(
      `faults paths: ${pathsOf('faults').length} cover, ${shortestPathsOf('faults').length} shortest, ${all.reduce((n, p) => n + p.steps.length - 1, 0)} steps`,
    );
    for (const kind of ['duplicate', 'delay', 'partition', 'heal', 'rivalStart', 'notice'])
      assert.ok(taken.has(kind), `no faults path takes ${kind}`);
    // a member back before the initiator heard it left: a restart between the crash and its notice
    assert.ok(
      all.some((p) =>
        p.steps.some(
          (s, i) =>
            s.event.type === 'restart' &&
            (p.steps[i - 1]!.state.context as ClusterContext).unnoticed.length > 0,
        ),
      ),
      'no faults path restarts a member whose loss is not noticed yet',
    );
    assert.deepEqual(
      failures.slice(0, 3),
      [],
      `${failures.length} of ${all.length} paths differ from the model`,
    );
  });

  it('executed transition coverage: every transition of the three statecharts is taken on the implementation', async (t) => {
    // paths no earlier test ran (a filtered run) run here; a path that fails counts up to its last agreeing step
    for (const path of [
      ...pathsOf('cluster'),
      ...shortestPathsOf('cluster'),
      ...pathsOf('faults'),
      ...shortestPathsOf('faults'),
    ])
      if (!ran.has(path)) await run(path).catch(() => {});
    const coverage = Object.entries(executedCoverage(executed));
    t.diagnostic(
      `executed transition coverage: ${coverage.map(([name, c]) => `${name} ${c.covered}/${c.total}`).join(', ')}`,
    );
    const missing = coverage.flatMap(([name, c]) => c.missing.map((key) => `${name}: ${key}`));
    assert.deepEqual(
      missing,
      [],
      `transitions never taken on the implementation:\n  ${missing.join('\n  ')}`,
    );
  });
});

describe('the generated paths catch deliberate protocol bugs', () => {
  /** The first generated path (transition-cover paths first, then shortest paths) that fails with the bug. */
  async function firstFailure(bug: Bug): Promise<{ path: string; error: string } | null> {
    for (const path of [...pathsOf('cluster'), ...shortestPathsOf('cluster')]) {
      const failure = await runPath(path, bug).then(
        () => null,
        (e: Error) => ({
          path: narrate(path.steps).join(' / '),
          error: e.message.split('\n').slice(0, 24).join('\n'),
        }),
      );
      if (failure) return failure;
    }
    return null;
  }

  for (const bug of PROTOCOL_BUGS) {
    it(`catches: ${bug.name}`, async (t) => {
      const failure = await firstFailure(bug);
      assert.ok(failure, `no generated path notices: ${bug.name}`);
      t.diagnostic(`caught on: ${failure.path.split(' / ').slice(-3).join(' / ')}`);
    });
  }

  it('and with no bug installed the same paths pass (the wrappers are removed after each run)', async () => {
    for (const path of pathsOf('cluster')) await runPath(path);
  });
});
