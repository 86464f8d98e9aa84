// The property of issue 3: random clusters (1-5 members), random data sets (0-200 objects of
// mixed kinds over several tokens), random concurrent updates, random faults and schedules:
// every invariant holds after every step, and the change settles once faults stop (crashed and
// partitioned members come back). A failure is printed by fast-check with its seed and the
// shrunk case, which replays with `new Simulation(options)`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulation, toNdjson } from '../impl/index.ts';
import { optionsArb } from './support/arbitraries.ts';
import { assertInvariants, eventsOf, kcvSummary } from './impl-support.ts';

test('property: every invariant after every step; the change settles; KCVs equal, clear objects byte-identical, handles unique', () => {
  fc.assert(
    fc.property(optionsArb, (options) => {
      const sim = new Simulation(options);
      sim.startChange();
      let steps = 0;
      while (sim.step()) {
        steps++;
        if (steps > 50_000) throw new Error('the run did not settle in 50000 steps');
        assertInvariants(sim.checkInvariants(), `after step ${steps}`);
      }
      const r = sim.result();
      assertInvariants(r.invariants, 'at the end (EventuallySettled included)');
      const downAtValidate = (options.faults ?? []).some(
        (f) => (f.kind === 'crash' || f.kind === 'partition') && f.at === 'validate',
      );
      assert.ok(
        ['completed', 'backedOut', 'fenced', ...(downAtValidate ? ['refused'] : [])].includes(
          r.outcome,
        ),
        r.outcome,
      );
      if (r.outcome === 'completed') {
        const k = kcvSummary(r);
        assert.equal(k.equal, k.checked, 'secure keys keep their key check values');
        assert.ok(eventsOf(r.trace, 'switch').length >= 1);
      }
      if (r.outcome === 'backedOut')
        assert.equal(sim.observe().record.active, options.active ?? 'CSF.TKDS');
    }),
    { numRuns: 300 },
  );
});

test('property: determinism, same options, same NDJSON', () => {
  fc.assert(
    fc.property(optionsArb, (options) => {
      const run = (): string => {
        const sim = new Simulation(options);
        sim.startChange();
        sim.runUntilQuiet(50_000);
        return toNdjson(sim.trace);
      };
      assert.equal(run(), run());
    }),
    { numRuns: 15 },
  );
});
