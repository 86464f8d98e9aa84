// Races (issue 9): two operators starting a change at about the same time at different members,
// and stale messages that arrive after the change moved on. Each run is driven to its end checking
// every invariant after every step, and its trace must be accepted by all three oracles
// (invariants, statechart, TLC).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Simulation,
  type MessageType,
  type PendingAction,
  type SimulateOptions,
  type TraceEvent,
} from '../impl/index.ts';
import { assertInvariants, assertSettled, eventsOf, stepHolding } from './impl-support.ts';

const base: SimulateOptions = { seed: 9, dataSet: { tokens: 2, objects: 20 } };

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

test('two initiators: a initiator that validated but never began does nothing on memberLost, and takes over the orphaned change as the first surviving member', () => {
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

test('two initiators: a change whose beginRouting write failed never began: it tells no member anything, and the change that began meanwhile completes untouched', () => {
  // SYSC validated c1 first, SYSA c2; c1's record write fails (an I/O error), so c1 never began
  const sim = new Simulation({ ...base, faults: [{ kind: 'ioError', at: 'beginRouting' }] });
  sim.startChange('SYSC');
  sim.startChange('SYSA');
  run(sim);
  assert.equal(outcomeOf(sim, 'c1'), 'backedOut');
  assert.equal(outcomeOf(sim, 'c2'), 'completed');
  assert.ok(
    !eventsOf(sim.trace, 'send').some((e) => e.change === 'c1'),
    'nothing is sent for a change that never began',
  );
  assert.ok(!eventsOf(sim.trace, 'backout').some((e) => e.change === 'c1'));
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

test('found by the property: a change whose beginRouting write failed holds no update; the change that began since takes them (SingleWriter)', () => {
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

// ---- stale messages: a request held back while the change moves on, then delivered ----

const pendingDelivery = (sim: Simulation, type: MessageType, from: string, to: string) =>
  sim
    .pending()
    .find(
      (a) =>
        a.kind === 'deliver' &&
        a.message.type === type &&
        a.message.from === from &&
        a.message.to === to,
    );

/**
 * The first `type` request from SYSA to SYSC is held back (SYSA times out and sends it again)
 * until `movedOn` holds; then it is delivered. The trace lines of that delivery.
 */
function deliverStale(sim: Simulation, type: MessageType, movedOn: () => boolean): TraceEvent[] {
  run(sim, undefined, () => pendingDelivery(sim, type, 'SYSA', 'SYSC') !== undefined);
  const held = pendingDelivery(sim, type, 'SYSA', 'SYSC')!.id;
  run(sim, (a) => a.id === held, movedOn);
  assert.ok(movedOn(), `the change moved on before the held ${type} is delivered`);
  const from = sim.trace.length;
  sim.fire(held);
  assertInvariants(sim.checkInvariants(), `after the stale ${type}`);
  const lines = sim.trace.slice(from);
  assert.equal(lines[0]?.event, 'deliver');
  assert.equal(lines[0]?.event === 'deliver' && lines[0].copy, true, 'the spec sees a late copy');
  return lines;
}

/** The stale request is read and ignored: an ignore line, no part of SYSC's, nothing sent. */
function assertIgnored(lines: readonly TraceEvent[], type: MessageType): void {
  assert.deepEqual(
    lines.slice(1).map((e) => [e.event, e.actor, e.event === 'ignore' ? e.msg : null]),
    [['ignore', 'SYSC', type]],
  );
}

/** The stale request is acknowledged again without acting: its ack sent again (the spec action its part is), no part line. */
function assertAckedAgain(lines: readonly TraceEvent[], type: MessageType, action: string): void {
  assert.deepEqual(
    lines
      .slice(1)
      .map((e) => [
        e.event,
        e.actor,
        e.event === 'send' ? e.msg : null,
        (e as { action?: string }).action,
      ]),
    [['send', 'SYSC', `${type}Ack`, action]],
  );
}

const three: SimulateOptions = { seed: 9, dataSet: { tokens: 1, objects: 6 } };

/** SYSA's change c1 has ended: resume done, every member finished. */
const ended = (sim: Simulation, step: 'completed' | 'backedOut') => () =>
  memberView(sim, 'SYSA').initiatorStep === step;

test('a stale beginRouting delivered after the change completed is ignored: the member does not route again', () => {
  const sim = new Simulation(three);
  sim.startChange();
  const completed = ended(sim, 'completed');
  const lines = deliverStale(sim, 'beginRouting', completed);
  assertIgnored(lines, 'beginRouting');
  const c = memberView(sim, 'SYSC');
  assert.deepEqual([c.state, c.routing, c.active], ['serving', false, 'CSF.TKDS.NEW']);
  run(sim);
  assertSettled(sim);
});

test('a stale reload delivered after commit is ignored: the switched member stages nothing', () => {
  const sim = new Simulation(three);
  sim.startChange();
  const lines = deliverStale(sim, 'reload', () => memberView(sim, 'SYSC').state === 'switched');
  assert.equal(sim.observe().record.change, 'committed');
  assertIgnored(lines, 'reload');
  const c = memberView(sim, 'SYSC');
  assert.deepEqual([c.state, c.staged, c.active], ['switched', null, 'CSF.TKDS.NEW']);
  run(sim);
  assert.equal(outcomeOf(sim, 'c1'), 'completed');
  assertSettled(sim);
});

test('a stale switch delivered after finish is ignored: the member switches once', () => {
  const sim = new Simulation(three);
  sim.startChange();
  const completed = ended(sim, 'completed');
  const lines = deliverStale(sim, 'switch', completed);
  assertIgnored(lines, 'switch');
  assert.equal(eventsOf(sim.trace, 'switch').filter((e) => e.actor === 'SYSC').length, 1);
  run(sim);
  assert.ok(sim.observe().members.every((m) => m.state === 'serving' && !m.routing));
  assertSettled(sim);
});

test('a stale finish delivered after the change completed is acknowledged again, without acting', () => {
  const sim = new Simulation(three);
  sim.startChange();
  const completed = ended(sim, 'completed');
  const lines = deliverStale(sim, 'finish', completed);
  assertAckedAgain(lines, 'finish', 'FinishAtMember');
  assert.equal(eventsOf(sim.trace, 'finish').filter((e) => e.actor === 'SYSC').length, 1);
  run(sim);
  const c = memberView(sim, 'SYSC');
  assert.deepEqual([c.state, c.routing, c.active], ['serving', false, 'CSF.TKDS.NEW']);
  assertSettled(sim);
});

test('a stale backout delivered after the backout ended is acknowledged again, without acting', () => {
  const sim = new Simulation({ ...three, faults: [{ kind: 'ioError', at: 'applyDelta' }] });
  sim.startChange();
  const lines = deliverStale(sim, 'backout', ended(sim, 'backedOut'));
  assertAckedAgain(lines, 'backout', 'BackoutAtMember');
  assert.equal(eventsOf(sim.trace, 'backout').filter((e) => e.actor === 'SYSC').length, 1);
  run(sim);
  assert.equal(outcomeOf(sim, 'c1'), 'backedOut');
  const c = memberView(sim, 'SYSC');
  assert.deepEqual([c.state, c.staged, c.active], ['serving', null, 'CSF.TKDS']);
  assertSettled(sim);
});
