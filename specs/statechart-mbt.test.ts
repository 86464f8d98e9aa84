// Model-based tests: every path generated from the cluster statechart runs on the reference
// implementation through one adapter (specs/support/sim-adapter.ts), which asserts after every
// step that what the implementation shows (cluster record, registers and MKVPs, active data
// set, live and staged copies, the initiator's step, suspension, fencing) is what the model says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MESSAGE_TYPES, narrate, type ClusterContext, type ClusterEvent } from '../model/cluster.ts';
import { pathsOf, type GeneratedPath } from '../model/subjects.ts';
import { SimAdapter, type Bug } from './support/sim-adapter.ts';

const EVENT_TYPES = ['startChange', 'validated', 'refuse', 'reencipherDone', 'applyDeltaDone', 'commitDone', 'timeout', 'ioError', 'drop', 'crash', 'restart', 'update', ...MESSAGE_TYPES];

/** Runs one generated path on a fresh simulation; rejects at the first step where they differ. */
export async function runPath(path: GeneratedPath, bug: Bug | null = null): Promise<void> {
  const steps = path.steps.map((s) => ({ event: s.event as ClusterEvent, state: { context: s.state.context as ClusterContext } }));
  const adapter = new SimAdapter(steps, bug);
  const uninstall = bug?.install?.();
  try {
    await path.test({
      events: Object.fromEntries(EVENT_TYPES.map((type) => [type, (step) => adapter.exec(step.event as ClusterEvent, step.state.context as ClusterContext)])),
      states: { '*': (state) => adapter.check(state.context as ClusterContext) },
    });
  } finally {
    uninstall?.();
  }
}

describe('model-based tests: the cluster statechart drives the implementation', () => {
  const paths = pathsOf('cluster');
  paths.forEach((path, i) => {
    const words = narrate(path.steps);
    it(`path ${i + 1} (${words.length} steps): ... ${words.slice(-2).join(', ')}`, async () => {
      await runPath(path);
    });
  });
  it('runs every generated path, with at least one step each', (t) => {
    assert.ok(paths.length >= 20);
    t.diagnostic(`${paths.length} paths, ${paths.reduce((n, p) => n + p.steps.length - 1, 0)} steps`);
  });
});
