// Races (issue 9): two operators starting a change at about the same time at different members,
// stale messages that arrive after the change moved on, and crashes and I/O errors at the steps
// where they hurt most. Each run is driven to its end checking every invariant after every step,
// and its trace must be accepted by the invariants oracle and the statechart oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Simulation,
  parseTrace,
  toNdjson,
  type PendingAction,
  type SimulateOptions,
} from '../impl/index.ts';
import { invariantsOracle, statechartOracle } from '../cli/oracles.ts';
import { assertInvariants, eventsOf } from './impl-support.ts';

const base: SimulateOptions = { seed: 9, dataSet: { tokens: 2, objects: 20 } };

/**
 * One action the way the seeded driver would take it, but deterministic and never one `held`:
 * the oldest due non-timer action, else the earliest due one. false when none is left to take.
 */
function stepHolding(sim: Simulation, held: (a: PendingAction) => boolean = () => false): boolean {
  const free = sim.pending().filter((a) => !held(a));
  if (free.length === 0) return false;
  const tick = sim.observe().tick;
  const due = free.filter((a) => a.kind !== 'timer' && a.due <= tick + 1);
  const next = due[0] ?? [...free].sort((a, b) => a.due - b.due || a.id - b.id)[0]!;
  sim.fire(next.id);
  return true;
}

/** Runs until `until` holds (or nothing but held actions is left), checking every invariant after every step. */
function run(
  sim: Simulation,
  held: (a: PendingAction) => boolean = () => false,
  until: () => boolean = () => false,
): void {
  for (let i = 0; !until(); i++) {
    assert.ok(i < 100_000, 'the run settles');
    if (!stepHolding(sim, held)) break;
    assertInvariants(sim.checkInvariants(), `after step ${i}`);
  }
}

/** The run is over: every invariant at the end, and both oracles accept its trace (as a reader gets it). */
function assertSettled(sim: Simulation): void {
  assertInvariants(sim.result().invariants, 'at the end (EventuallySettled included)');
  const lines = parseTrace(toNdjson(sim.trace));
  assert.deepEqual(invariantsOracle(lines), [], 'the invariants oracle');
  assert.deepEqual(statechartOracle(lines), [], 'the statechart oracle');
}

const work = (step: string, member: string) => (a: PendingAction) =>
  a.kind === 'work' && a.step === step && a.member === member;
const outcomeOf = (sim: Simulation, change: string) =>
  eventsOf(sim.trace, 'outcome').find((e) => e.change === change)?.outcome;
const memberView = (sim: Simulation, name: string) =>
  sim.observe().members.find((m) => m.name === name)!;

test('two initiators: a validation gone stale while another change completed is refused at beginRouting (changeRunning), never reverting active to the old data set', () => {
  const sim = new Simulation(base);
  assert.deepEqual(sim.startChange('SYSA'), []);
  assert.deepEqual(sim.startChange('SYSB'), [], 'SYSB validates while SYSA has not begun');
  // SYSB is held back until SYSA's change c1 completed
  run(sim, work('beginRouting', 'SYSB'), () => outcomeOf(sim, 'c1') === 'completed');
  run(sim);
  assert.equal(outcomeOf(sim, 'c2'), 'refused');
  const refused = eventsOf(sim.trace, 'step').find(
    (e) => e.actor === 'SYSB' && e.step === 'beginRouting' && e.phase === 'done',
  );
  assert.deepEqual(
    refused?.refusals?.map((r) => r.reason),
    ['changeRunning'],
  );
  const v = sim.observe();
  assert.deepEqual([v.record.active, v.record.change], ['CSF.TKDS.NEW', 'none']);
  assert.ok(v.members.every((m) => m.state === 'serving' && m.active === 'CSF.TKDS.NEW'));
  assert.ok(
    !eventsOf(sim.trace, 'record').some((e) => e.actor === 'SYSB'),
    'SYSB never writes the record',
  );
  assertSettled(sim);
});

test('two initiators: a coordinator that validated but never began does nothing on memberLost, and takes over the orphaned change as the first surviving member', () => {
  const sim = new Simulation(base);
  sim.startChange('SYSA');
  sim.startChange('SYSB');
  const heldB = work('beginRouting', 'SYSB');
  // SYSA's change c1 runs up to its reload, every member staged; then SYSA is lost for good
  run(sim, heldB, () => memberView(sim, 'SYSC').staged !== null);
  sim.crash('SYSA');
  run(sim, heldB);
  run(sim);
  assert.ok(
    !sim.trace.some(
      (e) => e.event === 'step' && e.actor === 'SYSB' && e.step === 'backout' && e.change === 'c2',
    ),
    'no backout of the change that never began',
  );
  assert.ok(
    !sim.trace.some((e) => e.event === 'send' && e.msg === 'backout' && e.change === 'c2'),
    'nothing sent for it',
  );
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from, e.change, e.then]),
    [['SYSB', 'SYSA', 'c1', 'backout']],
  );
  assert.equal(outcomeOf(sim, 'c1'), 'backedOut');
  assert.equal(outcomeOf(sim, 'c2'), 'refused');
  const v = sim.observe();
  assert.deepEqual([v.record.active, v.record.change], ['CSF.TKDS', 'none']);
  assert.ok(
    ['SYSB', 'SYSC'].every(
      (n) => memberView(sim, n).state === 'serving' && !memberView(sim, n).staged,
    ),
  );
  assertSettled(sim);
});

test("two initiators: a backout of one change never drops another change's staged copy", () => {
  // SYSC validated c2 first; SYSA begins c1 and all stage. A backout of c2 (the change that never
  // began) reaching SYSB while c1 runs must leave SYSB's staged copy of c1 alone.
  const sim = new Simulation({ ...base, faults: [{ kind: 'ioError', at: 'beginRouting' }] });
  sim.startChange('SYSC');
  sim.startChange('SYSA');
  const heldC2 = (a: PendingAction) =>
    a.kind === 'deliver' && a.message.type === 'backout' && a.message.change === 'c1';
  // c1 (SYSC) fails at beginRouting (I/O error on the record) and backs out; its backout messages
  // are held while c2 (SYSA) begins and stages everywhere
  run(sim, heldC2, () => ['SYSB', 'SYSC'].every((n) => memberView(sim, n).staged !== null));
  assert.equal(memberView(sim, 'SYSB').staged?.dataSet, 'CSF.TKDS.NEW');
  run(sim);
  assert.equal(outcomeOf(sim, 'c2'), 'completed');
  assert.ok(
    !eventsOf(sim.trace, 'backout').some((e) => e.change === 'c1' && e.actor === 'SYSB'),
    "SYSB does no part of c1's backout",
  );
  const v = sim.observe();
  assert.deepEqual([v.record.active, v.record.change], ['CSF.TKDS.NEW', 'none']);
  assertSettled(sim);
});

/** A case of the concurrent-initiators property (specs/impl-property.test.ts), run the same way. */
function race(
  options: SimulateOptions,
  initiators: readonly string[],
  after: readonly number[],
  schedule: 'random' | 'pct',
): Simulation {
  const sim = new Simulation({ ...options, schedule });
  const starts = initiators.map((at, i) => ({ at, step: i === 0 ? 0 : after[i - 1]! }));
  for (let steps = 0; ; steps++) {
    for (const s of starts) if (s.step === steps && memberView(sim, s.at).up) sim.startChange(s.at);
    if (!sim.step() && steps >= Math.max(...starts.map((s) => s.step))) break;
    assert.ok(steps < 50_000, 'the run settles');
    assertInvariants(sim.checkInvariants(), `after step ${steps}`);
  }
  return sim;
}

const small = (n: number, extra: SimulateOptions): SimulateOptions => ({
  seed: 1,
  members: ['SYSA', 'SYSB', 'SYSC', 'SYSD'].slice(0, n).map((name) => ({ name })),
  dataSet: { tokens: 1, objects: 0 },
  chunk: 3,
  ...extra,
});

test('found by the PCT property: after another change backed out, the record is as a stale validate read it; beginRouting refuses the target that backout marked unusable', () => {
  const sim = race(
    small(4, { faults: [{ kind: 'crash', member: 'SYSB', at: 'beginRouting', restartAfter: 1 }] }),
    ['SYSD', 'SYSA'],
    [0],
    'pct',
  );
  assert.equal(outcomeOf(sim, 'c2'), 'backedOut');
  assert.deepEqual(
    eventsOf(sim.trace, 'step')
      .filter((e) => e.change === 'c1' && e.step === 'beginRouting' && e.phase === 'done')
      .map((e) => e.refusals?.map((r) => r.reason)),
    [['targetNotEmpty']],
  );
  assertSettled(sim);
});

test('found by the property: updates held by a change that never began are routed to the change that began since, not written beside it (SingleWriter)', () => {
  const sim = race(
    small(3, {
      updates: { count: 6, every: 0 },
      faults: [{ kind: 'ioError', at: 'beginRouting' }],
    }),
    ['SYSC', 'SYSA'],
    [6],
    'random',
  );
  assertSettled(sim);
});
