// Every coprocessor of a member, and phase 1's register check (DESIGN.md "member", steps 1, 5-7
// and the restart check): validate refuses when any active coprocessor's `new` is not committed
// or differs; switch, commit and restartCheck set the master key on every active coprocessor or
// fence; a member whose `new` changed after validate refuses reload, so the change backs out
// before commit; KeyAgreement checks every active coprocessor's `cur`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, type MemberSpec, type SimulateOptions } from '../impl/index.ts';
import { replayTrace, type TraceLine } from '../model/replay.ts';
import { assertInvariants, eventsOf } from './impl-support.ts';

const OLD = 'CSF.TKDS';
const NEW = 'CSF.TKDS.NEW';
const base: SimulateOptions = {
  seed: 41,
  dataSet: { tokens: 2, objects: 24 },
  updates: { count: 8, every: 3 },
};
const withCps =
  (n: number, extra: Partial<MemberSpec> = {}) =>
  (name: string): MemberSpec => ({ name, coprocessors: n, ...extra });

/** Runs the seeded driver to the end, checking every invariant (KeyAgreement included) after every step. */
function runChecked(sim: Simulation): void {
  for (let i = 0; sim.step(); i++) {
    assert.ok(i < 100_000, 'the run settles');
    assertInvariants(sim.checkInvariants(), `after step ${i}`);
  }
  assertInvariants(sim.result().invariants, 'at the end');
}

function stepUntil(sim: Simulation, ready: () => boolean, what: string): void {
  for (let i = 0; !ready(); i++) {
    assert.ok(i < 100_000 && sim.step(), `the run reaches ${what}`);
    assertInvariants(sim.checkInvariants(), `after step ${i}`);
  }
}

const headerOf = (sim: Simulation, dataSet: string): string =>
  sim.observe().dataSets.find((d) => d.name === dataSet)!.mkvp!;
const member = (sim: Simulation, name: string) =>
  sim.observe().members.find((m) => m.name === name)!;
/** The cur MKVP of each of a member's coprocessors, by serial. */
const curs = (sim: Simulation, name: string): Record<string, string | null> =>
  Object.fromEntries(member(sim, name).coprocessors.map((c) => [c.serial, c.cur.mkvp]));
const backoutStart = (sim: Simulation) =>
  eventsOf(sim.trace, 'step').find((e) => e.step === 'backout' && e.phase === 'start')!;

/** Backed out: the record on the old data set, every member up serving it under the old key (every coprocessor), nobody fenced. */
function assertBackedOutCleanly(sim: Simulation): void {
  assert.equal(sim.outcome, 'backedOut');
  const v = sim.observe();
  const old = headerOf(sim, OLD);
  assert.deepEqual([v.record.change, v.record.active], ['none', OLD]);
  for (const m of v.members) {
    assert.deepEqual([m.up, m.state, m.active], [true, 'serving', OLD], m.name);
    assert.ok(
      m.coprocessors.filter((c) => c.active).every((c) => c.cur.mkvp === old),
      `${m.name}: every coprocessor on the old key`,
    );
  }
  assert.equal(eventsOf(sim.trace, 'fence').length, 0, 'nobody is fenced');
  assert.equal(eventsOf(sim.trace, 'switch').length, 0, 'nobody switched');
  assert.equal(
    replayTrace(sim.trace as unknown as TraceLine[]).initiator?.state,
    'backedOut',
    'the statechart replays the trace',
  );
}

test('two and three coprocessors per member: every active one gets the new master key; an inactive one is left alone', () => {
  const sim = new Simulation({
    ...base,
    members: [
      withCps(2)('SYSA'),
      withCps(2)('SYSB'),
      withCps(3, { activeCoprocessors: 2 })('SYSC'),
    ],
  });
  const old = headerOf(sim, OLD);
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  const next = headerOf(sim, NEW);
  assert.deepEqual(curs(sim, 'SYSA'), { 'SYSA.CP0': next, 'SYSA.CP1': next });
  assert.deepEqual(curs(sim, 'SYSB'), { 'SYSB.CP0': next, 'SYSB.CP1': next });
  assert.deepEqual(
    curs(sim, 'SYSC'),
    { 'SYSC.CP0': next, 'SYSC.CP1': next, 'SYSC.CP2': old },
    'the inactive SYSC.CP2 keeps its registers',
  );
});

test("validate refuses when any active coprocessor's new register is not committed or differs, naming the member and the coprocessor", () => {
  const sim = new Simulation({ ...base, members: ['SYSA', 'SYSB', 'SYSC'].map(withCps(3)) });
  sim.loadOtherNew('SYSA', { coprocessor: 1, commit: false });
  sim.loadOtherNew('SYSB', { coprocessor: 2 });
  sim.clearNew('SYSC', 1);
  const refusals = sim.startChange();
  assert.deepEqual(
    refusals.map((r) => `${r.subject}:${r.reason}`),
    ['SYSA:newNotCommitted', 'SYSB:newMkvpDiffers', 'SYSC:newNotCommitted'],
  );
  assert.match(
    refusals[0]!.message,
    /^SYSA: the new master key register is uncommitted \(2 parts\) on coprocessor SYSA\.CP1, not committed$/,
  );
  assert.match(
    refusals[1]!.message,
    /^SYSB: new master key MKVP [0-9a-f]{32} differs from the initiator SYSA's [0-9a-f]{32} on coprocessor SYSB\.CP2$/,
  );
  assert.match(
    refusals[2]!.message,
    /^SYSC: the new master key register is empty on coprocessor SYSC\.CP1, not committed$/,
  );
  assert.equal(sim.outcome, 'refused');
  assert.equal(eventsOf(sim.trace, 'record').length, 0, 'nothing changes');
  // an inactive coprocessor is not asked: the same cluster with SYSB.CP2 inactive and the others fixed validates
  const ok = new Simulation({
    ...base,
    members: [
      withCps(3)('SYSA'),
      withCps(3, { activeCoprocessors: 2 })('SYSB'),
      withCps(2)('SYSC'),
    ],
  });
  assert.deepEqual(ok.startChange(), []);
  assert.throws(() => ok.clearNew('SYSB', 3), /SYSB has no coprocessor 3 \(it has 3, from 0\)/);
});

test('switch at a member: one coprocessor whose new no longer matches the target fences the member, and no coprocessor of it is set', () => {
  const sim = new Simulation({ ...base, members: ['SYSA', 'SYSB', 'SYSC'].map(withCps(2)) });
  const old = headerOf(sim, OLD);
  sim.startChange();
  stepUntil(sim, () => sim.observe().record.change === 'committed', 'commit');
  sim.loadOtherNew('SYSC', { coprocessor: 1 }); // after its reload acknowledged: too late to back out
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  const fence = eventsOf(sim.trace, 'fence').find((e) => e.actor === 'SYSC');
  assert.match(
    fence?.reason ?? '',
    /cannot switch to CSF\.TKDS\.NEW: coprocessor SYSC\.CP1: new master key MKVP [0-9a-f]{32} differs from the header MKVP/,
  );
  assert.equal(member(sim, 'SYSC').state, 'fenced');
  assert.deepEqual(curs(sim, 'SYSC'), { 'SYSC.CP0': old, 'SYSC.CP1': old });
  const next = headerOf(sim, NEW);
  for (const m of ['SYSA', 'SYSB'])
    assert.ok(
      Object.values(curs(sim, m)).every((c) => c === next),
      m,
    );
});

test('restartCheck: every active coprocessor is set, or the member stays fenced naming the one that cannot be', () => {
  const sim = new Simulation({
    ...base,
    members: ['SYSA', 'SYSB', 'SYSC'].map(withCps(2)),
    faults: [
      { kind: 'crash', member: 'SYSB', at: 'switch' },
      { kind: 'crash', member: 'SYSC', at: 'switch' },
    ],
  });
  const old = headerOf(sim, OLD);
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  const next = headerOf(sim, NEW);
  sim.clearNew('SYSC', 1);
  sim.restart('SYSB');
  sim.restart('SYSC');
  runChecked(sim);
  const rc = (name: string) => eventsOf(sim.trace, 'restartCheck').find((e) => e.actor === name)!;
  assert.equal(rc('SYSB').result, 'setMasterKey');
  assert.deepEqual(curs(sim, 'SYSB'), { 'SYSB.CP0': next, 'SYSB.CP1': next });
  assert.equal(rc('SYSC').result, 'fenced');
  assert.match(
    rc('SYSC').reason!,
    /^coprocessor SYSC\.CP1: the new master key register is empty, and cur is not the header MKVP [0-9a-f]{32} of CSF\.TKDS\.NEW$/,
  );
  assert.deepEqual(
    curs(sim, 'SYSC'),
    { 'SYSC.CP0': old, 'SYSC.CP1': old },
    'SYSC.CP0 could have been set, but is not',
  );
});

test('phase 1: a member whose new register is cleared during reencipher refuses reload; the change backs out before commit, nobody fenced', () => {
  const sim = new Simulation({ ...base });
  sim.startChange();
  stepUntil(sim, () => member(sim, 'SYSA').initiatorStep === 'reencipher', 'reencipher');
  sim.clearNew('SYSB');
  runChecked(sim);
  assertBackedOutCleanly(sim);
  const refused = eventsOf(sim.trace, 'reloadRefused');
  assert.deepEqual(
    refused.map((e) => [e.actor, e.dataSet, e.refusal]),
    [['SYSB', NEW, 'newNotCommitted']],
  );
  assert.equal(refused[0]!.mkvp, headerOf(sim, NEW));
  assert.match(refused[0]!.reason, /coprocessor SYSB\.CP0: the new master key register is empty/);
  assert.ok(
    !eventsOf(sim.trace, 'send').some((e) => e.from === 'SYSB' && e.msg === 'reloadAck'),
    'SYSB does not acknowledge reload',
  );
  assert.ok(!eventsOf(sim.trace, 'reload').some((e) => e.actor === 'SYSB'), 'nor stages');
  const start = backoutStart(sim);
  assert.match(start.reason!, /^SYSB refused reload: coprocessor SYSB\.CP0/);
  assert.deepEqual(start.refusals, [{ subject: 'SYSB', reason: 'newNotCommitted' }]);
  assert.ok(!eventsOf(sim.trace, 'record').some((e) => e.to === 'committed'), 'never committed');
});

test('phase 1: one coprocessor of a member reloaded with another key, its refusal dropped once: resent, refused again, backed out', () => {
  const sim = new Simulation({
    ...base,
    members: ['SYSA', 'SYSB', 'SYSC'].map(withCps(2)),
    faults: [{ kind: 'drop', message: 'reloadRefused', count: 1 }],
  });
  sim.startChange();
  stepUntil(sim, () => member(sim, 'SYSA').initiatorStep === 'reencipher', 'reencipher');
  sim.loadOtherNew('SYSC', { coprocessor: 1 });
  runChecked(sim);
  assertBackedOutCleanly(sim);
  const refused = eventsOf(sim.trace, 'reloadRefused');
  assert.deepEqual(
    refused.map((e) => [e.actor, e.refusal]),
    [
      ['SYSC', 'newMkvpDiffers'],
      ['SYSC', 'newMkvpDiffers'],
    ],
  );
  assert.match(
    refused[0]!.reason,
    /coprocessor SYSC\.CP1: new master key MKVP [0-9a-f]{32} differs from the header MKVP/,
  );
  assert.ok(
    eventsOf(sim.trace, 'timeout').some((e) => e.step === 'reload'),
    'the dropped refusal: reload is resent',
  );
});

test('commit: the initiator whose coprocessor can no longer switch backs out before the point of no return', () => {
  const sim = new Simulation({ ...base, members: ['SYSA', 'SYSB', 'SYSC'].map(withCps(2)) });
  sim.startChange();
  stepUntil(sim, () => sim.pending().some((a) => a.label.startsWith('commit SYSA ')), 'commit');
  sim.loadOtherNew('SYSA', { coprocessor: 1 });
  runChecked(sim);
  assertBackedOutCleanly(sim);
  const start = backoutStart(sim);
  assert.match(
    start.reason!,
    /^SYSA cannot switch to CSF\.TKDS\.NEW: coprocessor SYSA\.CP1: new master key MKVP/,
  );
  assert.deepEqual(start.refusals, [{ subject: 'SYSA', reason: 'newMkvpDiffers' }]);
});
