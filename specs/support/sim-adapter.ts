// The model-based tests' side of the adapter (driver/adapter.ts): a generated path run on the
// reference implementation in process, with a deliberate protocol bug if one is given, and every
// invariant of the implementation (state and trace forms) checked where the path ends.
import assert from 'node:assert/strict';
import type { Simulation } from '../../impl/index.ts';
import type { ClusterEvent } from '../../model/cluster.ts';
import type { GeneratedPath } from '../../model/subjects.ts';
import { runPath as runOnImplementation, type PathAdapter } from '../../driver/adapter.ts';
import { exportPath } from '../../driver/paths.ts';
import { SimulatedImplementation } from '../../driver/simulated.ts';

export { executedCoverage, TARGET } from '../../driver/adapter.ts';

/**
 * A deliberate protocol bug: a wrapper around the implementation (installed for one run and
 * removed after it) or a change to how the adapter drives it. Test-side only.
 */
export interface Bug {
  readonly name: string;
  readonly install?: () => () => void;
  /** Replaces the adapter's handling of an event; resolves true when it handled it. */
  readonly drive?: (adapter: PathAdapter, event: ClusterEvent, sim: Simulation) => Promise<boolean>;
}

/**
 * Runs one generated path of the cluster statechart on a fresh simulation (with a bug, if given);
 * rejects at the first step where they differ. With `executed` (and no bug), the transitions of
 * the steps the implementation was confirmed to agree with are added to it, those of a path cut
 * short by a failure included.
 */
export async function runPath(
  path: GeneratedPath,
  bug: Bug | null = null,
  executed?: Set<string>,
): Promise<void> {
  const impl = new SimulatedImplementation();
  const uninstall = bug?.install?.();
  try {
    await runOnImplementation(impl, exportPath('cluster', path), {
      ...(bug?.drive ? { override: (adapter, event) => bug.drive!(adapter, event, impl.sim) } : {}),
      ...(executed && !bug ? { executed } : {}),
    });
    // and every invariant of the implementation (state and trace forms) holds where the path
    // ends; SettledOutcome judges it when nothing is in flight there.
    const broken = impl.sim.checkInvariants().filter((r) => !r.ok);
    assert.deepEqual(broken, [], `invariants broken at the end of: ${path.description}`);
  } finally {
    uninstall?.();
  }
}
