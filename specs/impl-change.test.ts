// The coordinated change without faults: one scenario per sentence of the seed text
// (reference/seed-coordinated-tkds-cmk.txt), plus the archive and the determinism of a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, simulateChange, toNdjson } from '../impl/index.ts';
import { assertInvariants, eventsOf, HAPPY_STEPS, kcvSummary, stepOrder } from './impl-support.ts';

test('multi-member: the initiator drives every member through the eight steps; new key and new data set everywhere', () => {
  const r = simulateChange({ seed: 11, dataSet: { tokens: 3, objects: 60 } });
  assert.equal(r.outcome, 'completed');
  assertInvariants(r.invariants);
  assert.deepEqual(stepOrder(r.trace), HAPPY_STEPS);
  assert.ok(
    eventsOf(r.trace, 'step').every((e) => e.actor === 'SYSA'),
    'only the initiator runs steps',
  );
  for (const part of ['beginRouting', 'reload', 'switch', 'finish'] as const) {
    assert.deepEqual(
      eventsOf(r.trace, part)
        .map((e) => e.actor)
        .sort(),
      ['SYSA', 'SYSB', 'SYSC'],
      `${part}: every member does its part`,
    );
  }
  const newMkvp = eventsOf(r.trace, 'step').find(
    (e) => e.step === 'applyDelta' && e.phase === 'done',
  )!.mkvp;
  assert.ok(
    eventsOf(r.trace, 'switch').every((e) => e.cur === newMkvp && e.dataSet === 'CSF.TKDS.NEW'),
  );
  assert.equal(r.counts.records, 63);
  assert.equal(r.counts.rewrapped + r.counts.copied, 63);
  assert.ok(r.counts.rewrapped > 30);
  const k = kcvSummary(r);
  assert.equal(k.equal, k.checked);
  assert.equal(k.checked, r.counts.rewrapped);
});

test('the initiator re-enciphers before any member reloads, sets its own key at commit, then tells the others to switch', () => {
  const r = simulateChange({ seed: 12, dataSet: { objects: 20 } });
  const seqOf = (pred: (e: (typeof r.trace)[number]) => boolean) => r.trace.find(pred)!.seq;
  const reencDone = seqOf(
    (e) => e.event === 'step' && e.step === 'reencipher' && e.phase === 'done',
  );
  const firstReload = seqOf((e) => e.event === 'reload');
  const commitRecord = seqOf((e) => e.event === 'record' && e.to === 'committed');
  const initiatorSwitch = seqOf((e) => e.event === 'switch' && e.actor === 'SYSA');
  const otherSwitches = eventsOf(r.trace, 'switch')
    .filter((e) => e.actor !== 'SYSA')
    .map((e) => e.seq);
  const lastReload = Math.max(...eventsOf(r.trace, 'reload').map((e) => e.seq));
  assert.ok(reencDone < firstReload);
  assert.ok(lastReload < commitRecord, 'every member staged before the commit');
  assert.ok(commitRecord < initiatorSwitch, 'the cluster record is written first, durably');
  assert.ok(otherSwitches.every((s) => s > initiatorSwitch));
  assertInvariants(r.invariants);
});

test('single-system cluster: exactly the same steps', () => {
  const r = simulateChange({
    seed: 13,
    members: [{ name: 'SYS1' }],
    dataSet: { objects: 15 },
    updates: { count: 4, every: 2 },
  });
  assert.equal(r.outcome, 'completed');
  assert.deepEqual(stepOrder(r.trace), HAPPY_STEPS);
  assert.equal(r.counts.messages, 0);
  assert.equal(r.counts.acked, 4);
  assertInvariants(r.invariants);
});

test('routing: during the change, updates at other members are routed to and processed by the initiator', () => {
  const sim = new Simulation({ seed: 14, dataSet: { objects: 10 } });
  sim.startChange();
  // run until every member routes
  while (!sim.observe().members.every((m) => m.routing)) assert.ok(sim.step());
  assert.deepEqual(
    sim.observe().members.map((m) => m.state),
    ['routing', 'routing', 'routing'],
  );
  const id = sim.submitUpdate('SYSB', {
    op: 'createObject',
    token: 'TOKEN00',
    secure: true,
    label: 'routed',
  });
  sim.runUntilQuiet();
  const u = eventsOf(sim.trace, 'update').filter((e) => e.id === id);
  assert.deepEqual(u.map((e) => `${e.actor}:${e.phase}`).slice(0, 3), [
    'SYSB:request',
    'SYSB:route',
    'SYSA:apply',
  ]);
  assert.equal(
    u.find((e) => e.phase === 'apply')!.dataSet,
    'CSF.TKDS',
    'processed against the active data set',
  );
  assert.ok(
    u.some((e) => e.phase === 'apply' && e.dataSet === 'CSF.TKDS.NEW'),
    'and carried into the target by the delta',
  );
  assert.deepEqual(
    u.filter((e) => e.phase === 'ack').map((e) => e.actor),
    ['SYSB'],
    'acknowledged to the caller at SYSB',
  );
  const writers = new Set(eventsOf(sim.trace, 'write').map((e) => e.actor));
  assert.deepEqual([...writers], ['SYSA'], 'only the initiator writes during the change');
  assertInvariants(sim.checkInvariants());
});

test('updates processed while the initiator re-enciphers land in the target (the delta)', () => {
  const sim = new Simulation({ seed: 15, dataSet: { tokens: 2, objects: 80 }, chunk: 10 });
  sim.startChange();
  while (sim.observe().members[0]!.initiatorStep !== 'reencipher') assert.ok(sim.step());
  // the re-encipherment is under way: change records it has copied already and ones it has not
  const ids = [
    sim.submitUpdate('SYSC', { op: 'updateObject', handle: 'TOKEN00:00000001:O', label: 'early' }),
    sim.submitUpdate('SYSB', { op: 'destroyObject', handle: 'TOKEN01:00000002:O' }),
    sim.submitUpdate('SYSA', {
      op: 'createObject',
      token: 'TOKEN01',
      secure: false,
      label: 'fresh',
    }),
  ];
  sim.runUntilQuiet();
  assert.equal(sim.outcome, 'completed');
  const applies = eventsOf(sim.trace, 'update').filter((e) => e.phase === 'apply');
  for (const id of ids) {
    const mine = applies.filter((e) => e.id === id);
    assert.deepEqual(
      mine.map((e) => e.dataSet),
      ['CSF.TKDS', 'CSF.TKDS.NEW'],
      `${id}: in the active data set, then in the target by applyDelta`,
    );
    const applyDelta = sim.trace.find(
      (e) => e.event === 'step' && e.step === 'applyDelta' && e.phase === 'start',
    )!;
    assert.ok(mine[1]!.seq > applyDelta.seq);
  }
  assert.equal(sim.readObject('SYSB', 'TOKEN00:00000001:O').label, 'early');
  assert.throws(() => sim.readObject('SYSC', 'TOKEN01:00000002:O'), /no object/);
  assertInvariants(sim.checkInvariants());
});

test('the suspension: updates that arrive during it wait and are processed, after finish, against the new active data set', () => {
  const sim = new Simulation({ seed: 16, dataSet: { objects: 10 } });
  sim.startChange();
  while (!sim.observe().members[0]!.suspended) assert.ok(sim.step());
  const id = sim.submitUpdate('SYSC', {
    op: 'createObject',
    token: 'TOKEN01',
    secure: true,
    label: 'waited',
  });
  sim.runUntilQuiet();
  const u = eventsOf(sim.trace, 'update').filter((e) => e.id === id);
  assert.deepEqual(
    u.map((e) => e.phase),
    ['request', 'route', 'wait', 'apply', 'ack'],
  );
  assert.equal(u[3]!.dataSet, 'CSF.TKDS.NEW');
  const resume = sim.trace.find(
    (e) => e.event === 'step' && e.step === 'resume' && e.phase === 'start',
  )!;
  const finishRecord = sim.trace.find((e) => e.event === 'record' && e.from === 'committed')!;
  assert.ok(finishRecord.seq < resume.seq && resume.seq < u[3]!.seq);
  const r = sim.result();
  assert.equal(r.counts.waited, 1);
  assert.ok(r.suspension && r.suspension.endTick > r.suspension.startTick);
  assertInvariants(r.invariants);
});

test('the suspension with dynamic updates disallowed: requests fail at once with a clear reason', () => {
  const sim = new Simulation({ seed: 17, dataSet: { objects: 10 }, dynamicUpdates: false });
  sim.startChange();
  while (!sim.observe().members[0]!.suspended) assert.ok(sim.step());
  const id = sim.submitUpdate('SYSB', { op: 'createToken', token: 'LATE' });
  sim.runUntilQuiet();
  const last = eventsOf(sim.trace, 'update')
    .filter((e) => e.id === id)
    .pop()!;
  assert.equal(last.phase, 'fail');
  assert.equal(last.reason, 'dynamicUpdatesDisabled');
  assert.equal(sim.outcome, 'completed');
  assertInvariants(sim.checkInvariants());
});

test('archive, as ICSF does it: the old data set gets the archive name, the new one the TKDS name the members are set up with', () => {
  const sim = new Simulation({
    seed: 18,
    dataSet: { objects: 12 },
    updates: { count: 40, every: 4 },
    archive: 'CSF.TKDS.OLD',
  });
  sim.startChange();
  assert.equal(sim.observe().record.archive, undefined, 'the record carries it from beginRouting');
  while (sim.observe().record.change !== 'running') assert.ok(sim.step());
  assert.equal(sim.observe().record.archive, 'CSF.TKDS.OLD');
  while (sim.observe().record.change !== 'committed') assert.ok(sim.step());
  const before = sim.observe().dataSets;
  const old = before.find((d) => d.name === 'CSF.TKDS')!;
  const target = before.find((d) => d.name === 'CSF.TKDS.NEW')!;
  for (let i = 0; sim.step(); i++) {
    assert.ok(i < 100_000, 'the run settles');
    assertInvariants(sim.checkInvariants(), `after step ${i}`);
  }
  const r = sim.result();
  assert.equal(r.outcome, 'completed');
  assertInvariants(r.invariants);
  const v = sim.observe();
  assert.equal(v.record.active, 'CSF.TKDS', 'the record names the new data set by the TKDS name');
  assert.deepEqual(
    v.dataSets.map((d) => d.name),
    ['CSF.TKDS', 'CSF.TKDS.OLD'],
  );
  const archived = v.dataSets.find((d) => d.name === 'CSF.TKDS.OLD')!;
  assert.deepEqual(
    [archived.mkvp, archived.records],
    [old.mkvp, old.records],
    'the archive is the old data set as the commit left it',
  );
  const now = v.dataSets.find((d) => d.name === 'CSF.TKDS')!;
  assert.equal(now.mkvp, target.mkvp, 'the TKDS name holds the new data set, under the new key');
  assert.notEqual(now.mkvp, old.mkvp);
  for (const m of v.members)
    assert.deepEqual([m.active, m.live?.dataSet, m.cur.mkvp], ['CSF.TKDS', 'CSF.TKDS', now.mkvp]);
  assert.deepEqual(
    eventsOf(r.trace, 'archive').map((e) => [e.from, e.to, e.result]),
    [
      ['CSF.TKDS', 'CSF.TKDS.OLD', 'ok'],
      ['CSF.TKDS.NEW', 'CSF.TKDS', 'ok'],
    ],
  );
  const finishRecord = r.trace.find((e) => e.event === 'record' && e.to === 'none')!;
  assert.ok(
    eventsOf(r.trace, 'archive')[0]!.seq > finishRecord.seq,
    'after the record names the target',
  );
  const updatesAfter = eventsOf(r.trace, 'update').filter(
    (e) => e.phase === 'apply' && e.seq > finishRecord.seq,
  );
  assert.ok(updatesAfter.length > 0, 'updates after finish');
  assert.ok(
    updatesAfter.every((e) => e.dataSet === 'CSF.TKDS'),
    'go to the new data set by its new name',
  );
});

test('determinism: the same seed gives the same trace byte for byte; another seed another schedule', () => {
  const opts = {
    seed: 99,
    dataSet: { objects: 40 },
    updates: { count: 10, every: 2 },
    faults: [{ kind: 'random' as const, rate: 0.1, stopAfter: 80 }],
  };
  const a = toNdjson(simulateChange(opts).trace);
  const b = toNdjson(simulateChange(opts).trace);
  assert.equal(a, b);
  assert.notEqual(toNdjson(simulateChange({ ...opts, seed: 100 }).trace), a);
});

test('requests served from the live copy: key check values before and after the change are equal', () => {
  const sim = new Simulation({ seed: 19, dataSet: { objects: 25, secureFraction: 1 } });
  const handles = ['TOKEN00:00000001:O', 'TOKEN01:00000001:O', 'TOKEN02:00000001:O'];
  const before = handles.map((h) => sim.keyCheckValue('SYSB', h));
  sim.startChange();
  sim.runUntilQuiet();
  assert.deepEqual(
    handles.map((h) => sim.keyCheckValue('SYSC', h)),
    before,
  );
  const v = sim.observe();
  assert.ok(
    v.members.every(
      (m) =>
        m.cur.mkvp === v.dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.mkvp &&
        m.new.status === 'empty',
    ),
  );
});
