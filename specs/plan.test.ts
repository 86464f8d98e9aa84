// `Simulation.plan`: a dry run of `validate` that reports what the change would do and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, type SimulateOptions } from '../impl/index.ts';

const refused: SimulateOptions = {
  members: [
    { name: 'SYSA' },
    { name: 'SYSB', level: 'HCR7790' },
    { name: 'SYSC', newKey: 'differs' },
  ],
  dataSet: { tokens: 2, objects: 30, secureFraction: 0.5 },
  targetState: 'notEmpty',
};

test('plan changes nothing: the view and the trace are as they were', () => {
  const sim = new Simulation(refused);
  const before = JSON.stringify(sim.observe());
  const events = sim.trace.length;
  sim.plan();
  assert.equal(JSON.stringify(sim.observe()), before);
  assert.equal(sim.trace.length, events);
});

test('plan gives the same refusals as the validate that startChange runs', () => {
  const planned = new Simulation(refused).plan().refusals;
  assert.deepEqual(
    planned.map((r) => `${r.subject} ${r.reason}`),
    ['SYSB levelBelowHCR77A0', 'SYSC newMkvpDiffers', 'CSF.TKDS.NEW targetNotEmpty'],
  );
  assert.deepEqual(new Simulation(refused).startChange(), planned);
});

test('plan counts the records a change would rewrap and copy', () => {
  const p = new Simulation({ dataSet: { tokens: 3, objects: 40, secureFraction: 0.5 } }).plan();
  assert.equal(p.refusals.length, 0);
  assert.equal(p.records.tokens, 3);
  assert.equal(p.records.secure + p.records.clear, 40);
  assert.ok(p.records.secure > 0 && p.records.clear > 0);
  assert.equal(p.records.total, 43);
  assert.deepEqual(p.steps, [
    'validate',
    'beginRouting',
    'reencipher',
    'suspend',
    'applyDelta',
    'reload',
    'commit',
    'switch',
    'finish',
    'resume',
  ]);
});
