// `validate`: one scenario per refusal of DESIGN.md step 1 (and the archive name). A refusal
// names the member or data set and one reason code of docs/protocol.md, and nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Simulation,
  simulateChange,
  type SimulateOptions,
  type RefusalReason,
} from '../impl/index.ts';
import { assertInvariants, eventsOf } from './impl-support.ts';

function refused(
  options: SimulateOptions,
): { subject: string; reason: RefusalReason; message: string }[] {
  const r = simulateChange({ seed: 5, dataSet: { objects: 8 }, ...options });
  assert.equal(r.outcome, 'refused');
  assert.deepEqual(eventsOf(r.trace, 'write'), [], 'a refused change writes nothing');
  assert.deepEqual(eventsOf(r.trace, 'record'), []);
  assertInvariants(r.invariants);
  const done = eventsOf(r.trace, 'step').find((e) => e.step === 'validate' && e.phase === 'done')!;
  assert.deepEqual(
    done.refusals,
    r.refusals.map(({ subject, reason }) => ({ subject, reason })),
    'the trace carries the refusals',
  );
  return r.refusals;
}

const cases: [string, SimulateOptions, { subject: string; reason: RefusalReason; text: RegExp }][] =
  [
    [
      'a member below HCR77A0',
      { members: [{ name: 'SYSA' }, { name: 'SYSB', level: 'HCR7790' }] },
      { subject: 'SYSB', reason: 'levelBelowHCR77A0', text: /SYSB is at HCR7790, below HCR77A0/ },
    ],
    [
      'a member without an active coprocessor',
      { members: [{ name: 'SYSA' }, { name: 'SYSB', coprocessors: 2, activeCoprocessors: 0 }] },
      {
        subject: 'SYSB',
        reason: 'noActiveCoprocessor',
        text: /SYSB has no active Enterprise PKCS #11 coprocessor/,
      },
    ],
    [
      'new not committed',
      { members: [{ name: 'SYSA' }, { name: 'SYSB', newKey: 'uncommitted' }] },
      {
        subject: 'SYSB',
        reason: 'newNotCommitted',
        text: /SYSB: the new master key register is uncommitted/,
      },
    ],
    [
      'new empty',
      { members: [{ name: 'SYSA' }, { name: 'SYSB', newKey: 'empty' }] },
      { subject: 'SYSB', reason: 'newNotCommitted', text: /register is empty/ },
    ],
    [
      'new MKVPs differ',
      { members: [{ name: 'SYSA' }, { name: 'SYSB', newKey: 'differs' }] },
      {
        subject: 'SYSB',
        reason: 'newMkvpDiffers',
        text: /SYSB: new master key MKVP [0-9a-f]{32} differs from the initiator SYSA's [0-9a-f]{32}/,
      },
    ],
    [
      'target missing',
      { targetState: 'missing' },
      { subject: 'CSF.TKDS.NEW', reason: 'targetMissing', text: /CSF.TKDS.NEW does not exist/ },
    ],
    [
      'target not empty',
      { targetState: 'notEmpty' },
      {
        subject: 'CSF.TKDS.NEW',
        reason: 'targetNotEmpty',
        text: /CSF.TKDS.NEW is not empty \(1 records\)/,
      },
    ],
    [
      'target is the active one',
      { targetState: 'active' },
      { subject: 'CSF.TKDS', reason: 'targetIsActive', text: /CSF.TKDS is the active data set/ },
    ],
    [
      'a member not active',
      { members: [{ name: 'SYSA' }, { name: 'SYSB', started: false }, { name: 'SYSC' }] },
      { subject: 'SYSB', reason: 'memberNotActive', text: /SYSB is not active \(down\)/ },
    ],
    [
      'archive name exists',
      { archive: 'CSF.TKDS.NEW' },
      {
        subject: 'CSF.TKDS.NEW',
        reason: 'archiveExists',
        text: /archive name CSF.TKDS.NEW exists/,
      },
    ],
  ];

for (const [name, options, expected] of cases) {
  test(`validate refuses: ${name}`, () => {
    const rs = refused(options);
    assert.equal(rs.length, 1, JSON.stringify(rs));
    assert.equal(rs[0]!.subject, expected.subject);
    assert.equal(rs[0]!.reason, expected.reason);
    assert.match(rs[0]!.message, expected.text);
  });
}

test('validate returns every refusal at once, each naming its member or data set', () => {
  const rs = refused({
    members: [
      { name: 'SYSA' },
      { name: 'SYSB', level: 'HCR7790', newKey: 'uncommitted' },
      { name: 'SYSC', started: false },
      { name: 'SYSD', newKey: 'differs' },
    ],
    targetState: 'notEmpty',
  });
  assert.deepEqual(
    rs.map((r) => `${r.subject}:${r.reason}`),
    [
      'SYSB:levelBelowHCR77A0',
      'SYSB:newNotCommitted',
      'SYSC:memberNotActive',
      'SYSD:newMkvpDiffers',
      'CSF.TKDS.NEW:targetNotEmpty',
    ],
  );
});

test('validate refuses a second change while one runs (changeRunning), and the first completes', () => {
  const sim = new Simulation({ seed: 6, dataSet: { objects: 8 } });
  assert.deepEqual(sim.startChange(), []);
  while (sim.observe().record.change !== 'running') assert.ok(sim.step());
  const second = sim.startChange('SYSB');
  assert.deepEqual(
    second.map((r) => `${r.subject}:${r.reason}`),
    ['SYSA:changeRunning', 'CSF.TKDS.NEW:targetNotEmpty'].slice(0, second.length),
  );
  assert.equal(second[0]!.reason, 'changeRunning');
  assert.match(second[0]!.message, /change c1 of CSF.TKDS to CSF.TKDS.NEW by SYSA is running/);
  sim.runUntilQuiet();
  assert.equal(sim.outcome, 'completed');
  assertInvariants(sim.checkInvariants());
});

test('two initiators that validate at once are separated by the compare-and-set of beginRouting', () => {
  const sim = new Simulation({ seed: 7, dataSet: { objects: 8 } });
  assert.deepEqual(sim.startChange('SYSA'), []);
  assert.deepEqual(sim.startChange('SYSB'), [], 'both pass validate: nothing has changed yet');
  sim.submitUpdate('SYSB', { op: 'createToken', token: 'RACE' });
  while (sim.step()) assertInvariants(sim.checkInvariants(), `at tick ${sim.observe().tick}`);
  const begins = eventsOf(sim.trace, 'step').filter(
    (e) => e.step === 'beginRouting' && e.phase === 'done',
  );
  assert.deepEqual(begins.map((e) => e.result).sort(), ['ok', 'refused']);
  const loser = begins.find((e) => e.result === 'refused')!;
  assert.equal(loser.refusals![0]!.reason, 'changeRunning');
  const outcomes = eventsOf(sim.trace, 'outcome')
    .map((e) => `${e.change}:${e.outcome}`)
    .sort();
  assert.equal(outcomes.length, 2);
  assert.ok(outcomes.includes(`${loser.change}:refused`));
  assertInvariants(sim.checkInvariants());
});

test('bad options are clear errors naming what was wrong', () => {
  assert.throws(
    () => new Simulation({ members: [{ name: 'SYSA' }, { name: 'SYSA' }] }),
    /member SYSA is listed twice/,
  );
  assert.throws(
    () => new Simulation({ members: [{ name: 'SYSA', level: '77A1' }] }),
    /level "77A1" is not an ICSF FMID/,
  );
  assert.throws(() => new Simulation({ initiator: 'SYSQ' }), /initiator SYSQ is not a member/);
  assert.throws(
    () => new Simulation({ faults: [{ kind: 'crash', member: 'SYSQ', at: 'reload' }] }),
    /no member named SYSQ/,
  );
  assert.throws(
    () => new Simulation({ faults: [{ kind: 'ioError', at: 'nowhere' as 'reload' }] }),
    /at must be a step name/,
  );
  assert.throws(() => new Simulation({ target: 'bad name' }), /target data set name "bad name"/);
  assert.throws(
    () => new Simulation({ members: [{ name: 'SYSA', activeCoprocessors: 3 }] }),
    /activeCoprocessors must be 0-1/,
  );
  assert.throws(
    () => new Simulation({ members: [{ name: 'SYSA', newKey: 'maybe' as 'empty' }] }),
    /newKey must be one of committed, uncommitted, differs, empty/,
  );
  assert.throws(
    () => new Simulation({ targetState: 'gone' as 'missing' }),
    /targetState must be one of empty, missing, notEmpty, active/,
  );
  assert.throws(
    () =>
      new Simulation({}).submitUpdate('SYSA', {
        op: 'destroyObject',
        handle: 'TOKEN00:00000000:T',
      }),
    /needs an object handle/,
  );
});
