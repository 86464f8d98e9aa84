// The property of issue 3: random clusters (1-5 members), random data sets (0-200 objects of
// mixed kinds over several tokens), random concurrent updates, random faults and schedules:
// every invariant holds after every step, and the change settles once faults stop (crashed and
// partitioned members come back). A failure is printed by fast-check with its seed and the
// shrunk case, which replays with `new Simulation(options)`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulation, STEP_NAMES, MESSAGE_TYPES, toNdjson, type Fault, type SimulateOptions } from '../impl/index.ts';
import { assertInvariants, eventsOf, kcvSummary } from './impl-support.ts';

const NAMES = ['SYSA', 'SYSB', 'SYSC', 'SYSD', 'SYSE'];

const faultArb = (members: number): fc.Arbitrary<Fault> => fc.oneof(
  fc.record({ kind: fc.constantFrom('crash' as const, 'partition' as const), member: fc.constantFrom(...NAMES.slice(0, members)),
    at: fc.constantFrom(...STEP_NAMES, 'takeover' as const), restartAfter: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ kind: fc.constantFrom('drop' as const, 'duplicate' as const, 'delay' as const), message: fc.constantFrom(...MESSAGE_TYPES), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('ioError' as const), at: fc.constantFrom(...STEP_NAMES) }),
  fc.record({ kind: fc.constant('random' as const), rate: fc.double({ min: 0, max: 0.3, noNaN: true }), stopAfter: fc.integer({ min: 0, max: 250 }) }),
);

const optionsArb: fc.Arbitrary<SimulateOptions> = fc.integer({ min: 1, max: 5 }).chain((n) => fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 }),
  members: fc.constant(NAMES.slice(0, n).map((name) => ({ name }))),
  initiator: fc.constantFrom(...NAMES.slice(0, n)),
  dataSet: fc.record({ tokens: fc.integer({ min: 1, max: 5 }), objects: fc.integer({ min: 0, max: 200 }), secureFraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  updates: fc.record({ count: fc.integer({ min: 0, max: 15 }), every: fc.integer({ min: 0, max: 6 }) }),
  dynamicUpdates: fc.boolean(),
  chunk: fc.integer({ min: 3, max: 60 }),
  faults: fc.array(faultArb(n), { maxLength: 3 }),
}));

test('property: every invariant after every step; the change settles; KCVs equal, clear objects byte-identical, handles unique', () => {
  fc.assert(fc.property(optionsArb, (options) => {
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
    const downAtValidate = (options.faults ?? []).some((f) => (f.kind === 'crash' || f.kind === 'partition') && f.at === 'validate');
    assert.ok(['completed', 'backedOut', 'fenced', ...(downAtValidate ? ['refused'] : [])].includes(r.outcome), r.outcome);
    if (r.outcome === 'completed') {
      const k = kcvSummary(r);
      assert.equal(k.equal, k.checked, 'secure keys keep their key check values');
      assert.ok(eventsOf(r.trace, 'switch').length >= 1);
    }
    if (r.outcome === 'backedOut') assert.equal(sim.observe().record.active, options.active ?? 'CSF.TKDS');
  }), { numRuns: 300 });
});

test('property: determinism, same options, same NDJSON', () => {
  fc.assert(fc.property(optionsArb, (options) => {
    const run = (): string => {
      const sim = new Simulation(options);
      sim.startChange();
      sim.runUntilQuiet(50_000);
      return toNdjson(sim.trace);
    };
    assert.equal(run(), run());
  }), { numRuns: 15 });
});
