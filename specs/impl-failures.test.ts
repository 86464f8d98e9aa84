// Failures (DESIGN.md "Failures"): members and initiators lost before and after commit, takeover,
// restart checks, I/O errors and fencing, dropped, duplicated, delayed and reordered messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Simulation,
  simulateChange,
  type MessageType,
  type SimulateOptions,
} from '../impl/index.ts';
import { replayTrace, type TraceLine } from '../model/replay.ts';
import {
  assertInvariants,
  assertSettled,
  eventsOf,
  kcvSummary,
  stepOrder,
} from './impl-support.ts';

const base: SimulateOptions = {
  seed: 21,
  dataSet: { tokens: 3, objects: 40 },
  updates: { count: 12, every: 3 },
};

/** Runs the seeded driver to the end, checking every invariant after every step. */
function runChecked(sim: Simulation): void {
  for (let i = 0; sim.step(); i++) {
    assert.ok(i < 100_000, 'the run settles');
    assertInvariants(sim.checkInvariants(), `after step ${i}`);
  }
  assertInvariants(sim.result().invariants, 'at the end');
}

test('a member lost before commit: backout; the cluster keeps the old data set and key; nothing acknowledged is lost', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'crash', member: 'SYSB', at: 'reload', restartAfter: 30 }],
  });
  sim.startChange();
  runChecked(sim);
  const r = sim.result();
  assert.equal(r.outcome, 'backedOut');
  assert.ok(stepOrder(r.trace).includes('backout'));
  const v = sim.observe();
  assert.equal(v.record.active, 'CSF.TKDS');
  assert.equal(v.record.change, 'none');
  assert.equal(
    v.dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.usable,
    false,
    'the target is marked unusable',
  );
  const oldMkvp = v.dataSets.find((d) => d.name === 'CSF.TKDS')!.mkvp;
  assert.ok(
    v.members.every(
      (m) => m.up && m.state === 'serving' && m.active === 'CSF.TKDS' && m.cur.mkvp === oldMkvp,
    ),
  );
  assert.equal(eventsOf(r.trace, 'restartCheck').find((e) => e.actor === 'SYSB')!.result, 'serve');
  assert.ok(r.counts.acked > 0);
  assert.equal(eventsOf(r.trace, 'switch').length, 0);
});

test('the initiator lost before commit: the first surviving member by name takes over and backs out', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'crash', member: 'SYSA', at: 'reencipher', restartAfter: 50 }],
  });
  sim.startChange();
  runChecked(sim);
  const r = sim.result();
  const t = eventsOf(r.trace, 'takeover');
  assert.deepEqual(
    t.map((e) => [e.actor, e.from, e.record, e.then]),
    [['SYSB', 'SYSA', 'running', 'backout']],
  );
  assert.equal(r.outcome, 'backedOut');
  assert.ok(
    eventsOf(r.trace, 'record').some(
      (e) => e.actor === 'SYSB' && e.initiator === 'SYSB' && e.to === 'running',
    ),
    'the record names the new initiator',
  );
  assert.equal(sim.observe().record.active, 'CSF.TKDS');
});

test('the initiator lost after commit: the takeover rolls forward and completes the change', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 40 }],
  });
  sim.startChange();
  runChecked(sim);
  const r = sim.result();
  assert.deepEqual(
    eventsOf(r.trace, 'takeover').map((e) => [e.actor, e.record, e.then]),
    [['SYSB', 'committed', 'rollForward']],
  );
  assert.equal(r.outcome, 'completed');
  assert.equal(eventsOf(r.trace, 'backout').length, 0);
  const v = sim.observe();
  assert.equal(v.record.active, 'CSF.TKDS.NEW');
  assert.ok(v.members.every((m) => m.up && m.active === 'CSF.TKDS.NEW' && m.state === 'serving'));
  assert.equal(
    eventsOf(r.trace, 'restartCheck').find((e) => e.actor === 'SYSA')!.result,
    'serve',
    'SYSA set its own key as its switch began, then went down',
  );
  const k = kcvSummary(r);
  assert.equal(k.equal, k.checked);
});

test('updates the lost initiator never answered are reported as of unknown outcome', () => {
  const sim = new Simulation({ seed: 22, dataSet: { objects: 10 } });
  sim.startChange();
  while (sim.observe().members[0]!.initiatorStep !== 'reencipher') assert.ok(sim.step());
  const id = sim.submitUpdate('SYSC', { op: 'createToken', token: 'INFLIGHT' });
  // deliver the arrival and the route, then lose the initiator before it answers
  sim.fire(sim.pending().find((p) => p.kind === 'arrival')!.id);
  assert.ok(
    sim
      .pending()
      .some(
        (p) =>
          p.kind === 'deliver' &&
          p.message.type === 'routeUpdate' &&
          p.message.from === 'SYSC' &&
          p.message.to === 'SYSA',
      ),
  );
  sim.crash('SYSA');
  runChecked(sim);
  const last = eventsOf(sim.trace, 'update')
    .filter((e) => e.id === id)
    .pop()!;
  assert.equal(last.phase, 'unknown');
  assert.match(last.reason!, /lost before answering/);
  assert.equal(sim.outcome, 'backedOut');
});

test('a member down at commit restarts, sets its master key and switches in its restart check', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'crash', member: 'SYSC', at: 'switch', restartAfter: 60 }],
  });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  const rc = eventsOf(sim.trace, 'restartCheck').find((e) => e.actor === 'SYSC')!;
  assert.equal(rc.result, 'setMasterKey');
  assert.equal(rc.active, 'CSF.TKDS.NEW');
  const c = sim.observe().members.find((m) => m.name === 'SYSC')!;
  assert.equal(c.state, 'serving');
  assert.equal(c.cur.mkvp, rc.header);
});

test('a member restarted after commit whose new register no longer matches stays fenced', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'crash', member: 'SYSC', at: 'switch' }],
  });
  sim.startChange();
  sim.runUntilQuiet();
  assert.equal(sim.outcome, 'completed');
  sim.clearNew('SYSC');
  sim.restart('SYSC');
  runChecked(sim);
  const rc = eventsOf(sim.trace, 'restartCheck').find((e) => e.actor === 'SYSC')!;
  assert.equal(rc.result, 'fenced');
  const c = sim.observe().members.find((m) => m.name === 'SYSC')!;
  assert.equal(c.state, 'fenced');
  assert.throws(
    () => sim.keyCheckValue('SYSC', 'TOKEN00:00000001:O'),
    /fenced and refuses secure work/,
  );
  const id = sim.submitUpdate('SYSC', { op: 'createToken', token: 'NOPE' });
  sim.runUntilQuiet();
  assert.equal(
    eventsOf(sim.trace, 'update')
      .filter((e) => e.id === id)
      .pop()!.reason,
    'fenced',
  );
});

test('an I/O error in reencipher or at commit: backout, old data set and key', () => {
  for (const at of ['reencipher', 'applyDelta', 'commit'] as const) {
    const sim = new Simulation({ ...base, faults: [{ kind: 'ioError', at }] });
    sim.startChange();
    runChecked(sim);
    assert.equal(sim.outcome, 'backedOut', at);
    assert.equal(eventsOf(sim.trace, 'ioError')[0]!.step, at);
    assert.equal(sim.observe().record.active, 'CSF.TKDS');
  }
});

test('an I/O error in finish (after commit) is retried: no backout, the change completes', () => {
  const sim = new Simulation({ ...base, faults: [{ kind: 'ioError', at: 'finish' }] });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  assert.ok(eventsOf(sim.trace, 'step').some((e) => e.step === 'finish' && e.result === 'failed'));
});

test('the initiator lost after commit, an archive asked: the takeover finds the archive name in the cluster record and archives as the initiator would', () => {
  const sim = new Simulation({
    ...base,
    archive: 'CSF.TKDS.OLD',
    faults: [{ kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 40 }],
  });
  sim.startChange();
  runChecked(sim);
  const r = sim.result();
  assert.deepEqual(
    eventsOf(r.trace, 'takeover').map((e) => [e.actor, e.record]),
    [['SYSB', 'committed']],
  );
  assert.equal(r.outcome, 'completed');
  assert.deepEqual(
    eventsOf(r.trace, 'archive').map((e) => [e.actor, e.from, e.to, e.result]),
    [
      ['SYSB', 'CSF.TKDS', 'CSF.TKDS.OLD', 'ok'],
      ['SYSB', 'CSF.TKDS.NEW', 'CSF.TKDS', 'ok'],
    ],
  );
  const v = sim.observe();
  assert.equal(v.record.active, 'CSF.TKDS');
  assert.ok(v.members.every((m) => m.up && m.active === 'CSF.TKDS' && m.state === 'serving'));
});

/** A completed change with an archive asked, one write of finish's archive failing: the names at the end. */
function archiveWithIoError(op: 'rename' | 'record', dataSet: string) {
  const sim = new Simulation({
    ...base,
    archive: 'CSF.TKDS.OLD',
    faults: [{ kind: 'ioError', at: 'finish', op, dataSet }],
  });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'completed', 'the change is decided before the archive');
  const v = sim.observe();
  const mkvp = (name: string) => v.dataSets.find((d) => d.name === name)?.mkvp;
  assert.equal(mkvp(v.record.active), v.members[0]!.cur.mkvp, 'the record names the new data');
  assert.ok(v.members.every((m) => m.up && m.active === v.record.active));
  return {
    active: v.record.active,
    names: v.dataSets.map((d) => d.name),
    failed: eventsOf(sim.trace, 'archive')
      .filter((e) => e.result === 'failed')
      .map((e) => `${e.from} -> ${e.to}: ${e.reason}`),
  };
}

test('archive: an I/O error renaming the old data set keeps it under its name; the target stays active under its own', () => {
  const r = archiveWithIoError('rename', 'CSF.TKDS');
  assert.equal(r.active, 'CSF.TKDS.NEW');
  assert.deepEqual(r.names, ['CSF.TKDS', 'CSF.TKDS.NEW']);
  assert.deepEqual(r.failed, [
    'CSF.TKDS -> CSF.TKDS.OLD: I/O error: rename of data set CSF.TKDS by SYSA failed; CSF.TKDS is kept under its name',
  ]);
});

test('archive: an I/O error renaming the target leaves the old data set archived and the target active under its name', () => {
  const r = archiveWithIoError('rename', 'CSF.TKDS.NEW');
  assert.equal(r.active, 'CSF.TKDS.NEW');
  assert.deepEqual(r.names, ['CSF.TKDS.NEW', 'CSF.TKDS.OLD']);
  assert.match(r.failed.join(), /CSF.TKDS.NEW -> CSF.TKDS: .*CSF.TKDS.NEW stays active/);
});

test('archive: an I/O error writing the record that names the renamed target: the target gets its name back and stays active', () => {
  const r = archiveWithIoError('record', 'CSF.TKDS.NEW');
  assert.equal(r.active, 'CSF.TKDS.NEW');
  assert.deepEqual(r.names, ['CSF.TKDS.NEW', 'CSF.TKDS.OLD']);
  assert.match(r.failed.join(), /record of the cluster record .* CSF.TKDS.NEW got its name back/);
});

test('backout that cannot finish fences the initiator (it shuts down); the first member in the group takes the backout over', () => {
  const sim = new Simulation({
    ...base,
    faults: [
      { kind: 'crash', member: 'SYSC', at: 'reload' },
      { kind: 'ioError', at: 'backout' },
    ],
  });
  sim.startChange();
  runChecked(sim);
  const v = sim.observe();
  assert.deepEqual(
    v.members.map((m) => [m.name, m.state]),
    [
      ['SYSA', 'fenced'],
      ['SYSB', 'serving'],
      ['SYSC', 'down'],
    ],
  );
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from, e.then]),
    [['SYSB', 'SYSA', 'backout']],
  );
  assert.deepEqual([v.record.change, v.record.active], ['none', 'CSF.TKDS']);
  assert.equal(sim.outcome, 'backedOut', "the takeover's backout wrote the record last");
  assert.ok(
    eventsOf(sim.trace, 'ignore').some((e) => e.actor === 'SYSB' && e.msg === 'fence'),
    'the fence reaches SYSB after its backout: late, ignored',
  );
  assert.throws(() => sim.keyCheckValue('SYSA', 'TOKEN00:00000001:O'), /fenced/);
  const fencedAt = eventsOf(sim.trace, 'fence').find((e) => e.actor === 'SYSA')!.seq;
  assert.ok(
    !eventsOf(sim.trace, 'deliver').some((e) => e.actor === 'SYSA' && e.seq > fencedAt),
    'nothing reaches a fenced member: it left the group',
  );
});

test('two backouts that cannot finish fence every member in the group; nothing is acknowledged', () => {
  const sim = new Simulation({
    ...base,
    faults: [
      { kind: 'crash', member: 'SYSC', at: 'reload' },
      { kind: 'ioError', at: 'backout', count: 2 },
    ],
  });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'fenced');
  const v = sim.observe();
  assert.deepEqual(
    v.members.map((m) => m.state),
    ['fenced', 'fenced', 'down'],
  );
  assert.equal(v.record.change, 'running', 'a member that restarts later takes the backout over');
  assert.deepEqual(
    eventsOf(sim.trace, 'fence').map((e) => [e.actor, e.action]),
    [
      ['SYSA', 'FenceOnIoError'],
      ['SYSB', 'FenceOnIoError'],
    ],
  );
  assert.equal(
    eventsOf(sim.trace, 'send').filter((e) => String(e.msg).startsWith('fenceAck')).length,
    0,
    'a fenced member acknowledges nothing',
  );
  assert.throws(() => sim.keyCheckValue('SYSB', 'TOKEN00:00000001:O'), /fenced/);
});

test('a member that never acknowledges switch is expelled after the retry budget, then rejoins on the new key', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'drop', message: 'switch', to: 'SYSC', count: 10 }],
  });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  const expelled = eventsOf(sim.trace, 'expel').map((e) => e.member);
  assert.equal(expelled.length, 1);
  assert.ok(eventsOf(sim.trace, 'timeout').filter((e) => e.step === 'switch').length >= 4);
  const rc = eventsOf(sim.trace, 'restartCheck').find((e) => e.actor === expelled[0]);
  assert.equal(rc?.result, 'setMasterKey', 'it never switched: its restart check sets the key');
  assert.ok(
    sim.observe().members.every((m) => m.state === 'serving' && m.active === 'CSF.TKDS.NEW'),
  );
});

test('a member that never acknowledges reload: backout before commit', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'drop', message: 'reloadAck', to: 'SYSA', count: 100 }],
  });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'backedOut');
  assert.match(
    eventsOf(sim.trace, 'step').find((e) => e.step === 'backout' && e.phase === 'start')!.reason!,
    /did not acknowledge reload after 3 retries/,
  );
});

test('a partitioned member is treated as gone: backout before commit; healed, it passes its restart check', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'partition', member: 'SYSB', at: 'applyDelta', restartAfter: 20 }],
  });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'backedOut');
  assert.deepEqual(
    eventsOf(sim.trace, 'heal').map((e) => e.member),
    ['SYSB'],
  );
  assert.equal(
    eventsOf(sim.trace, 'restartCheck').find((e) => e.actor === 'SYSB')!.result,
    'serve',
  );
});

test('the takeover member lost too: the next member by name takes over', () => {
  const sim = new Simulation({
    ...base,
    members: [{ name: 'SYSA' }, { name: 'SYSB' }, { name: 'SYSC' }, { name: 'SYSD' }],
    faults: [
      { kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 80 },
      { kind: 'crash', member: 'SYSB', at: 'takeover', restartAfter: 90 },
    ],
  });
  sim.startChange();
  runChecked(sim);
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => `${e.actor}<-${e.from}`),
    ['SYSB<-SYSA', 'SYSC<-SYSA'],
  );
  assert.equal(sim.outcome, 'completed');
});

test('a takeover after commit that cannot write the record reads it again before it tries again: it takes over only if it still must', () => {
  const AB = [{ name: 'SYSA' }, { name: 'SYSB' }];
  const takeovers = (sim: Simulation): string[] =>
    eventsOf(sim.trace, 'takeover').map((e) => `${e.actor}<-${e.from}`);
  const onNewKey = (sim: Simulation): void => {
    const header = sim.observe().dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.mkvp;
    assert.ok(
      sim
        .observe()
        .members.every(
          (m) => m.state === 'serving' && m.active === 'CSF.TKDS.NEW' && m.cur.mkvp === header,
        ),
    );
    assert.equal(eventsOf(sim.trace, 'fence').length, 0, 'nobody is fenced');
  };
  // SYSA is lost at finish; SYSB's takeover cannot write the record; SYSA comes back before SYSB
  // tries again and drives its change itself: SYSB, reading the record again, leaves it to SYSA.
  const back = new Simulation({
    ...base,
    members: AB,
    updates: undefined,
    faults: [
      { kind: 'partition', member: 'SYSA', at: 'finish', restartAfter: 14 },
      { kind: 'ioError', at: 'takeover' },
    ],
  });
  back.startChange();
  runChecked(back); // OneChangeAtATime after every step: never two members driving
  assert.equal(back.outcome, 'completed');
  assert.deepEqual(takeovers(back), ['SYSB<-SYSA', 'SYSA<-SYSA']);
  onNewKey(back);
  // SYSA stays away: the record still names it, so SYSB takes over when it tries again.
  const gone = new Simulation({
    ...base,
    members: AB,
    updates: undefined,
    faults: [
      { kind: 'partition', member: 'SYSA', at: 'finish' },
      { kind: 'ioError', at: 'takeover' },
    ],
  });
  gone.startChange();
  runChecked(gone);
  assert.equal(gone.outcome, 'completed');
  assert.deepEqual(takeovers(gone), ['SYSB<-SYSA', 'SYSB<-SYSA']);
  assert.deepEqual(
    gone.observe().members.map((m) => m.state),
    ['down', 'serving'],
  );
});

/** Steps the seeded driver (checking every invariant) until `ready` holds. */
function stepUntil(sim: Simulation, ready: () => boolean, what: string): void {
  for (let i = 0; !ready(); i++) {
    assert.ok(i < 100_000 && sim.step(), `the run reaches ${what}`);
    assertInvariants(sim.checkInvariants(), `after step ${i}`);
  }
}

/** The pending delivery of `msg` from `from` to `to`. */
function delivery(sim: Simulation, msg: MessageType, from: string, to: string): number {
  const p = sim
    .pending()
    .find(
      (a) =>
        a.kind === 'deliver' &&
        a.message.type === msg &&
        a.message.from === from &&
        a.message.to === to,
    );
  assert.ok(p, `a pending ${msg} ${from}->${to}`);
  return p.id;
}

const hasDelivery = (sim: Simulation, msg: MessageType, to: string): boolean =>
  sim.pending().some((a) => a.kind === 'deliver' && a.message.type === msg && a.message.to === to);

test('the initiator lost after finish wrote the record, before a member got finish: the member settles from the record', () => {
  const sim = new Simulation({ seed: 23, dataSet: { tokens: 2, objects: 12 } });
  sim.startChange();
  stepUntil(sim, () => hasDelivery(sim, 'finish', 'SYSC'), 'finish sent to SYSC');
  assert.deepEqual(
    [sim.observe().record.change, sim.observe().record.active],
    ['none', 'CSF.TKDS.NEW'],
    'finish wrote the record',
  );
  sim.drop(delivery(sim, 'finish', 'SYSA', 'SYSC'));
  sim.crash('SYSA'); // nobody takes over: the record says none
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  const c = sim.observe().members.find((m) => m.name === 'SYSC')!;
  const header = sim.observe().dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.mkvp;
  assert.deepEqual(
    [c.state, c.active, c.live?.dataSet, c.cur.mkvp, c.routing],
    ['serving', 'CSF.TKDS.NEW', 'CSF.TKDS.NEW', header, false],
  );
  assert.ok(
    !sim.trace.some((e) => e.event === 'deliver' && e.msg === 'finish' && e.to === 'SYSC'),
    'no finish reached SYSC',
  );
  const lost = sim.trace.findIndex(
    (e) => e.event === 'memberLost' && e.actor === 'SYSC' && e.member === 'SYSA',
  );
  const settled = sim.trace.findIndex((e) => e.event === 'finish' && e.actor === 'SYSC');
  assert.ok(
    lost >= 0 && settled > lost,
    'SYSC does its part of finish once it learns SYSA is lost',
  );
});

test('the member that took over lost after its finish wrote the record: the member waiting for finish settles from the record', () => {
  const sim = new Simulation({
    seed: 25,
    dataSet: { tokens: 2, objects: 12 },
    faults: [{ kind: 'crash', member: 'SYSA', at: 'switch' }],
  });
  sim.startChange();
  stepUntil(sim, () => hasDelivery(sim, 'finish', 'SYSC'), 'finish sent to SYSC');
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.then]),
    [['SYSB', 'rollForward']],
  );
  sim.drop(delivery(sim, 'finish', 'SYSB', 'SYSC'));
  sim.crash('SYSB');
  runChecked(sim);
  assert.equal(sim.outcome, 'completed');
  const c = sim.observe().members.find((m) => m.name === 'SYSC')!;
  assert.deepEqual([c.up, c.state, c.active], [true, 'serving', 'CSF.TKDS.NEW']);
  assert.ok(
    eventsOf(sim.trace, 'finish').some((e) => e.actor === 'SYSC'),
    'SYSC does its part of finish',
  );
});

test('the initiator lost after backout wrote the record, before a member got backout: the member settles from the record', () => {
  const sim = new Simulation({
    seed: 24,
    dataSet: { tokens: 2, objects: 12 },
    faults: [{ kind: 'ioError', at: 'commit' }],
  });
  sim.startChange();
  stepUntil(sim, () => hasDelivery(sim, 'backout', 'SYSC'), 'backout sent to SYSC');
  assert.deepEqual(
    [sim.observe().record.change, sim.observe().record.active],
    ['none', 'CSF.TKDS'],
    'backout wrote the record',
  );
  assert.equal(sim.observe().members.find((m) => m.name === 'SYSC')!.state, 'staged');
  sim.drop(delivery(sim, 'backout', 'SYSA', 'SYSC'));
  sim.crash('SYSA');
  runChecked(sim);
  assert.equal(sim.outcome, 'backedOut');
  const c = sim.observe().members.find((m) => m.name === 'SYSC')!;
  const header = sim.observe().dataSets.find((d) => d.name === 'CSF.TKDS')!.mkvp;
  assert.deepEqual(
    [c.state, c.active, c.live?.dataSet, c.staged, c.cur.mkvp],
    ['serving', 'CSF.TKDS', 'CSF.TKDS', null, header],
  );
  assert.ok(
    !sim.trace.some((e) => e.event === 'deliver' && e.msg === 'backout' && e.to === 'SYSC'),
    'no backout reached SYSC',
  );
  assert.ok(
    eventsOf(sim.trace, 'backout').some((e) => e.actor === 'SYSC'),
    'SYSC does its part of backout',
  );
});

test('a fenced change whose backout a restarted member takes over and completes: the outcome becomes backedOut', () => {
  const sim = new Simulation({
    ...base,
    updates: undefined,
    faults: [
      { kind: 'crash', member: 'SYSC', at: 'reload' },
      { kind: 'ioError', at: 'backout', count: 2 },
    ],
  });
  sim.startChange();
  runChecked(sim);
  assert.equal(sim.outcome, 'fenced', 'neither backout could write the record');
  assert.deepEqual(
    sim.observe().members.map((m) => m.state),
    ['fenced', 'fenced', 'down'],
  );
  sim.restart('SYSC'); // reads running; the initiator is out of the group: it takes over and backs out
  runChecked(sim);
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from, e.then]),
    [
      ['SYSB', 'SYSA', 'backout'],
      ['SYSC', 'SYSB', 'backout'],
    ],
  );
  // fenced until the operator restarts them: their restart check finds the old key
  for (const m of ['SYSA', 'SYSB']) sim.restart(m);
  runChecked(sim);
  const v = sim.observe();
  const oldMkvp = v.dataSets.find((d) => d.name === 'CSF.TKDS')!.mkvp;
  assert.deepEqual([v.record.change, v.record.active], ['none', 'CSF.TKDS']);
  assert.ok(
    v.members.every(
      (m) => m.state === 'serving' && m.active === 'CSF.TKDS' && m.cur.mkvp === oldMkvp,
    ),
  );
  assert.equal(sim.outcome, 'backedOut', "the takeover's backout wrote the record last");
  assert.equal(sim.result().outcome, 'backedOut');
  assert.deepEqual(
    eventsOf(sim.trace, 'outcome').map((e) => [e.actor, e.outcome]),
    [
      ['SYSA', 'fenced'],
      ['SYSC', 'backedOut'],
    ],
  );
});

test('a fence that reaches a member before it hears the initiator lost shuts it down; a member that restarts takes the backout over (EventuallySettled)', () => {
  const sim = new Simulation({
    ...base,
    updates: undefined,
    faults: [{ kind: 'ioError', at: 'backout' }],
  });
  sim.startChange();
  stepUntil(sim, () => hasDelivery(sim, 'reload', 'SYSB'), 'reload sent to SYSB');
  sim.crash('SYSC'); // SYSA backs out; its write fails: it fences and tells SYSB
  stepUntil(sim, () => hasDelivery(sim, 'fence', 'SYSB'), 'fence sent to SYSB');
  sim.fire(delivery(sim, 'fence', 'SYSA', 'SYSB'));
  runChecked(sim);
  assert.deepEqual(
    eventsOf(sim.trace, 'fence').map((e) => [e.actor, e.action]),
    [
      ['SYSA', 'FenceOnIoError'],
      ['SYSB', 'FenceAtMember'],
    ],
  );
  assert.equal(eventsOf(sim.trace, 'takeover').length, 0, 'no member is left in the group');
  assert.equal(sim.outcome, 'fenced');
  sim.restart('SYSC');
  runChecked(sim);
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from, e.then]),
    [['SYSC', 'SYSA', 'backout']],
  );
  const v = sim.observe();
  assert.deepEqual([v.record.change, v.record.active], ['none', 'CSF.TKDS']);
  assert.deepEqual(
    v.members.map((m) => m.state),
    ['fenced', 'fenced', 'serving'],
  );
  assert.equal(sim.outcome, 'backedOut');
});

test('a fenced member takes no part in a beginRouting that reaches it late', () => {
  // beginRouting is on its way to SYSB when SYSC is lost; the backout cannot write and fences;
  // the fence reaches SYSB first. The record still says running, but SYSB is fenced: it does nothing.
  const sim = new Simulation({
    ...base,
    updates: undefined,
    faults: [{ kind: 'ioError', at: 'backout' }],
  });
  sim.startChange();
  sim.fire(sim.pending().find((a) => a.label.startsWith('beginRouting SYSA '))!.id);
  sim.crash('SYSC');
  sim.fire(sim.pending().find((a) => a.label.startsWith('notify memberLost SYSC -> SYSA '))!.id);
  sim.fire(delivery(sim, 'fence', 'SYSA', 'SYSB'));
  assert.equal(sim.observe().record.change, 'running');
  sim.fire(delivery(sim, 'beginRouting', 'SYSA', 'SYSB'));
  runChecked(sim);
  const b = sim.observe().members.find((m) => m.name === 'SYSB')!;
  assert.deepEqual([b.state, b.routing], ['fenced', false]);
  assert.deepEqual(
    eventsOf(sim.trace, 'beginRouting').map((e) => e.actor),
    ['SYSA'],
    'SYSB never does its part',
  );
  assert.ok(
    !eventsOf(sim.trace, 'send').some((e) => e.msg === 'beginRoutingAck'),
    'nor acknowledges it',
  );
  assert.equal(
    replayTrace(sim.trace as unknown as TraceLine[]).initiator?.state,
    'fenced',
    'the statechart replays the trace',
  );
});

test('an I/O error writing the record at beginRouting: the change never began, so it ends backed out at once: nothing to undo, no one to tell, no one fenced', () => {
  const sim = new Simulation({
    ...base,
    updates: undefined,
    faults: [
      { kind: 'ioError', at: 'beginRouting' },
      { kind: 'ioError', at: 'backout' },
    ],
  });
  sim.startChange();
  runChecked(sim);
  assert.deepEqual(
    eventsOf(sim.trace, 'ioError').map((e) => [e.op, e.step]),
    [['record', 'beginRouting']],
    'the backout writes nothing',
  );
  assert.equal(sim.outcome, 'backedOut');
  const v = sim.observe();
  assert.deepEqual([v.record.change, v.record.active], ['none', 'CSF.TKDS']);
  assert.ok(v.members.every((m) => m.state === 'serving' && m.active === 'CSF.TKDS'));
  assert.equal(
    v.dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.usable,
    true,
    'the untouched target stays usable',
  );
  assert.equal(eventsOf(sim.trace, 'fence').length, 0);
  assert.equal(eventsOf(sim.trace, 'send').length, 0, 'no member is told anything');
});

const ALL: MessageType[] = [
  'beginRouting',
  'beginRoutingAck',
  'routeUpdate',
  'updateResult',
  'liveUpdate',
  'liveUpdateAck',
  'reload',
  'reloadAck',
  'switch',
  'switchAck',
  'finish',
  'finishAck',
];

test('duplicated messages do no harm: every handler is idempotent', () => {
  const r = simulateChange({
    ...base,
    faults: ALL.map((message) => ({ kind: 'duplicate' as const, message, count: 3 })),
  });
  assert.equal(r.outcome, 'completed');
  assert.ok(r.counts.duplicated >= 20);
  assertInvariants(r.invariants);
  for (const part of ['reload', 'switch', 'finish'] as const) {
    assert.deepEqual(
      eventsOf(r.trace, part)
        .map((e) => e.actor)
        .sort(),
      ['SYSA', 'SYSB', 'SYSC'],
      `${part} done once per member`,
    );
  }
  const applies = eventsOf(r.trace, 'update').filter(
    (e) => e.phase === 'apply' && e.dataSet === 'CSF.TKDS',
  );
  assert.equal(new Set(applies.map((e) => e.id)).size, applies.length, 'no update applied twice');
});

test('dropped and delayed messages are resent after a timeout; the change completes', () => {
  const r = simulateChange({
    ...base,
    faults: [
      { kind: 'drop', message: 'beginRouting', count: 1 },
      { kind: 'delay', message: 'reloadAck', count: 2 },
      { kind: 'drop', message: 'finish', count: 2 },
      { kind: 'drop', message: 'routeUpdate', count: 2 },
      { kind: 'drop', message: 'updateResult', count: 2 },
      { kind: 'drop', message: 'liveUpdate', count: 2 },
    ],
  });
  assert.equal(r.outcome, 'completed');
  assert.ok(eventsOf(r.trace, 'timeout').length >= 2);
  assertInvariants(r.invariants);
});

test('reordered messages (manual schedule: newest first) do no harm', () => {
  const sim = new Simulation({ ...base });
  sim.startChange();
  for (let i = 0; i < 100_000; i++) {
    const p = sim.pending();
    if (p.length === 0) break;
    const deliveries = p.filter((a) => a.kind === 'deliver');
    sim.fire(
      (deliveries.length ? deliveries : p)[(deliveries.length ? deliveries : p).length - 1]!.id,
    );
    assertInvariants(sim.checkInvariants(), `after step ${i}`);
  }
  assert.equal(sim.outcome, 'completed');
  assertInvariants(sim.result().invariants);
});

test('random message faults, many seeds: every run settles with every invariant holding', () => {
  for (let seed = 1; seed <= 25; seed++) {
    const r = simulateChange({
      seed,
      dataSet: { objects: 30 },
      updates: { count: 10, every: 4 },
      faults: [{ kind: 'random', rate: 0.2, stopAfter: 150 }],
    });
    assertInvariants(r.invariants, `seed ${seed}`);
    assert.ok(['completed', 'backedOut'].includes(r.outcome), `seed ${seed}: ${r.outcome}`);
  }
});

/**
 * Updates written after their caller was told `unknown` (a silent second write): any apply then,
 * except `applyDelta` carrying an earlier write to the target; and any update applied twice to one data set.
 */
function lateWrites(sim: Simulation): string[] {
  const told = new Set<string>();
  const applied = new Set<string>();
  const late: string[] = [];
  let inDelta = false;
  for (const e of sim.trace) {
    if (e.event === 'step' && e.step === 'applyDelta') inDelta = e.phase === 'start';
    if (e.event !== 'update') continue;
    if (e.phase === 'unknown') told.add(e.id);
    if (e.phase !== 'apply') continue;
    const where = `${e.id} in ${e.dataSet}`;
    if (applied.has(where) || (told.has(e.id) && !inDelta)) late.push(where);
    applied.add(where);
  }
  return late;
}

test("an update reported unknown is never applied later: a resend delayed past the initiator's crash and restart is not written again", () => {
  // u5 is routed to SYSB and written; its result is dropped; SYSA resends (delayed); SYSB crashes
  // at switch, restarts and takes over; SYSA reports u5 unknown; the resend then reaches SYSB.
  const sim = new Simulation({
    seed: 1757977864,
    members: [{ name: 'SYSA' }, { name: 'SYSB' }, { name: 'SYSC' }],
    initiator: 'SYSB',
    dataSet: { tokens: 1, objects: 0, secureFraction: 0 },
    updates: { count: 8, every: 1 },
    dynamicUpdates: false,
    chunk: 3,
    faults: [
      { kind: 'crash', member: 'SYSB', at: 'switch', restartAfter: 1 },
      { kind: 'random', rate: 0.2940674524288625, stopAfter: 74 },
    ],
  });
  sim.startChange();
  runChecked(sim);
  const u5 = eventsOf(sim.trace, 'update').filter((e) => e.id === 'u5');
  assert.ok(
    u5.some((e) => e.phase === 'unknown'),
    'u5 is reported unknown',
  );
  assert.ok(
    eventsOf(sim.trace, 'deliver').some(
      (e) =>
        e.msg === 'routeUpdate' &&
        e.update === 'u5' &&
        e.tick > u5.find((x) => x.phase === 'unknown')!.tick,
    ),
    'a resend of u5 reaches SYSB after that',
  );
  assert.deepEqual(lateWrites(sim), []);
  assert.equal(sim.result().outcome, 'completed');
});

test('an update whose origin crashes is reported unknown there and never written: neither a routed request in flight nor one held by the suspension', () => {
  for (const held of [false, true]) {
    const sim = new Simulation({ seed: 26, dataSet: { tokens: 2, objects: 12 } });
    sim.startChange();
    stepUntil(
      sim,
      () => sim.observe().members.find((m) => m.name === 'SYSA')!.suspended,
      'the suspension',
    );
    const id = sim.submitUpdate('SYSC', { op: 'createToken', token: 'LATE' });
    const routed = (): boolean =>
      eventsOf(sim.trace, 'update').some((e) => e.id === id && e.phase === 'route');
    const waits = (): boolean =>
      eventsOf(sim.trace, 'update').some((e) => e.id === id && e.phase === 'wait');
    stepUntil(
      sim,
      held ? waits : () => routed() && hasDelivery(sim, 'routeUpdate', 'SYSA'),
      held ? 'the update held at SYSA' : 'the update routed to SYSA',
    );
    assert.equal(waits(), held);
    sim.crash('SYSC');
    sim.restart('SYSC');
    runChecked(sim);
    const phases = eventsOf(sim.trace, 'update')
      .filter((e) => e.id === id)
      .map((e) => e.phase);
    assert.ok(phases.includes('unknown'), `${id} is reported unknown at SYSC`);
    assert.ok(!phases.includes('apply'), `${id} is never written (${phases.join(', ')})`);
    assert.deepEqual(lateWrites(sim), []);
  }
});

// ---- fixed scenarios of issue 9: each run checked after every step, its trace by all three oracles ----

test("an I/O error on a routed update's write: the update is refused, nothing of it is written, the change goes on", () => {
  const sim = new Simulation({
    seed: 27,
    dataSet: { tokens: 2, objects: 120 },
    chunk: 10,
    // the write of an update to the active data set at reencipher (reencipher itself writes the target)
    faults: [{ kind: 'ioError', at: 'reencipher', op: 'put', dataSet: 'CSF.TKDS' }],
  });
  sim.startChange();
  stepUntil(
    sim,
    () => sim.observe().members[0]!.initiatorStep === 'reencipher',
    'the re-encipherment',
  );
  const id = sim.submitUpdate('SYSB', { op: 'createToken', token: 'FAILING' });
  runChecked(sim);
  const phases = eventsOf(sim.trace, 'update').filter((e) => e.id === id);
  assert.deepEqual(
    phases.map((e) => [e.actor, e.phase, e.reason]),
    [
      ['SYSB', 'request', undefined],
      ['SYSB', 'route', undefined],
      ['SYSB', 'fail', 'ioError'],
    ],
    'refused at its origin, never applied',
  );
  assert.deepEqual(
    eventsOf(sim.trace, 'ioError').map((e) => [e.actor, e.op, e.dataSet, e.step]),
    [['SYSA', 'put', 'CSF.TKDS', 'reencipher']],
  );
  assert.ok(
    !eventsOf(sim.trace, 'write').some((e) => e.update === id),
    'no write of the update reached a data set',
  );
  assert.equal(sim.outcome, 'completed', 'the change goes on');
  assert.ok(
    eventsOf(sim.trace, 'send').some(
      (e) => e.msg === 'updateResult' && e.update === id && e.action === 'ApplyRefused',
    ),
    "the spec's ApplyRefused",
  );
  assertSettled(sim);
});

test('SYSA (the initiator) and SYSC crash at switch: SYSB takes over and rolls forward; both restart on the new key', () => {
  const sim = new Simulation({
    ...base,
    faults: [
      { kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 40 },
      { kind: 'crash', member: 'SYSC', at: 'switch', restartAfter: 60 },
    ],
  });
  sim.startChange();
  runChecked(sim);
  assert.deepEqual(
    eventsOf(sim.trace, 'crash').map((e) => e.member),
    ['SYSA', 'SYSC'],
  );
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from, e.record, e.then]),
    [['SYSB', 'SYSA', 'committed', 'rollForward']],
  );
  assert.equal(sim.outcome, 'completed');
  assert.equal(eventsOf(sim.trace, 'backout').length, 0, 'no backout after commit');
  assert.deepEqual(
    eventsOf(sim.trace, 'restartCheck').map((e) => [e.actor, e.active, e.result]),
    [
      ['SYSA', 'CSF.TKDS.NEW', 'serve'], // it set its own key as its switch began
      ['SYSC', 'CSF.TKDS.NEW', 'setMasterKey'], // it never switched
    ],
  );
  const v = sim.observe();
  const header = v.dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.mkvp;
  assert.deepEqual([v.record.active, v.record.change], ['CSF.TKDS.NEW', 'none']);
  assert.ok(
    v.members.every(
      (m) => m.up && m.state === 'serving' && m.active === 'CSF.TKDS.NEW' && m.cur.mkvp === header,
    ),
  );
  const k = kcvSummary(sim.result());
  assert.equal(k.equal, k.checked);
  assertSettled(sim);
});

test('the initiator crashes at commit before its record write: the takeover backs out', () => {
  const sim = new Simulation({
    ...base,
    faults: [{ kind: 'crash', member: 'SYSA', at: 'commit', restartAfter: 40 }],
  });
  sim.startChange();
  runChecked(sim);
  assert.ok(
    !eventsOf(sim.trace, 'record').some((e) => e.to === 'committed'),
    'the record never went to committed',
  );
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from, e.record, e.then]),
    [['SYSB', 'SYSA', 'running', 'backout']],
  );
  assert.equal(sim.outcome, 'backedOut');
  const v = sim.observe();
  const oldMkvp = v.dataSets.find((d) => d.name === 'CSF.TKDS')!.mkvp;
  assert.deepEqual([v.record.active, v.record.change], ['CSF.TKDS', 'none']);
  assert.equal(v.dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.usable, false);
  assert.ok(
    v.members.every(
      (m) => m.up && m.state === 'serving' && m.active === 'CSF.TKDS' && m.cur.mkvp === oldMkvp,
    ),
  );
  assertSettled(sim);
});

test('the initiator crashes at commit after its record write: the takeover rolls forward', () => {
  const sim = new Simulation(base);
  sim.startChange();
  stepUntil(sim, () => sim.observe().record.change === 'committed', 'the commit record');
  sim.crash('SYSA');
  runChecked(sim);
  assert.deepEqual(
    eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from, e.record, e.then]),
    [['SYSB', 'SYSA', 'committed', 'rollForward']],
  );
  assert.equal(sim.outcome, 'completed');
  assert.equal(eventsOf(sim.trace, 'backout').length, 0, 'no backout after commit');
  sim.restart('SYSA');
  runChecked(sim);
  assert.equal(
    eventsOf(sim.trace, 'restartCheck').find((e) => e.actor === 'SYSA')?.result,
    'setMasterKey',
    'SYSA wrote the commit record and went down before its own switch: it sets its key at restart',
  );
  const v = sim.observe();
  const header = v.dataSets.find((d) => d.name === 'CSF.TKDS.NEW')!.mkvp;
  assert.deepEqual([v.record.active, v.record.change], ['CSF.TKDS.NEW', 'none']);
  assert.ok(
    v.members.every(
      (m) => m.up && m.state === 'serving' && m.active === 'CSF.TKDS.NEW' && m.cur.mkvp === header,
    ),
  );
  assertSettled(sim);
});

test('an initiator cut off and back at once: the group reported it lost, so the first member by name takes its change over, not the initiator itself', () => {
  for (const [at, outcome] of [
    ['reencipher', 'backedOut'],
    ['switch', 'completed'],
  ] as const) {
    const sim = new Simulation({
      ...base,
      members: [{ name: 'SYSA' }, { name: 'SYSB' }, { name: 'SYSC' }],
      initiator: 'SYSB',
      faults: [{ kind: 'partition', member: 'SYSB', at, restartAfter: 0 }],
    });
    sim.startChange();
    runChecked(sim);
    assert.deepEqual(
      eventsOf(sim.trace, 'takeover').map((e) => [e.actor, e.from]),
      [['SYSA', 'SYSB']],
      at,
    );
    assert.equal(sim.outcome, outcome, at);
    assertSettled(sim);
  }
});
