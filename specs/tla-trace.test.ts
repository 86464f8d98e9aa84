// Trace validation (tla/TraceCMK.tla): traces of the reference implementation, fault-free and
// with faults, single and multi-member, are behaviours of CoordinatedCMK; a trace that breaks
// the protocol is rejected at the line where it leaves the spec. Without Java or the TLC jar the
// TLC tests fail with the reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, simulateChange, toNdjson, type SimulateOptions } from '../impl/index.ts';
import { eventsOf, stepHolding } from './impl-support.ts';
import { convertNdjson, TraceConversionError, TraceConverter } from '../tla/trace-to-tla.ts';
import { linesOf, validateTrace, violationOf, type TraceVerdict } from '../tla/trace.ts';
import { batchModules, declaredVariables, runBatch, validateBatch } from '../tla/trace-batch.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configNames, TLA_DIR, tlcJar } from '../tla/tlc-runner.ts';
import { INVARIANT_NAMES, parseTrace } from '../impl/index.ts';

const AB = [{ name: 'SYSA' }, { name: 'SYSB' }];
const ABC = [...AB, { name: 'SYSC' }];
const data = { tokens: 1, objects: 2 };

// The sample CI validates: fixed seeds, so each is one trace.
const SAMPLE: Record<string, SimulateOptions> = {
  'fault-free, 3 members, updates': {
    seed: 1,
    members: ABC,
    dataSet: { tokens: 2, objects: 3 },
    updates: { count: 5, every: 2 },
  },
  'fault-free, single system, updates': {
    seed: 11,
    members: [{ name: 'SYSA' }],
    dataSet: data,
    updates: { count: 4, every: 2 },
  },
  'initiator lost after commit: takeover rolls forward': {
    seed: 2,
    members: AB,
    dataSet: data,
    faults: [{ kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 3 }],
  },
  'initiator lost before commit: takeover backs out': {
    seed: 4,
    members: ABC,
    dataSet: data,
    faults: [{ kind: 'crash', member: 'SYSA', at: 'reencipher', restartAfter: 5 }],
  },
  'member lost before commit: backout': {
    seed: 3,
    members: ABC,
    dataSet: data,
    updates: { count: 3, every: 3 },
    faults: [{ kind: 'crash', member: 'SYSB', at: 'reload', restartAfter: 5 }],
  },
  'member partitioned after commit: it switches when it rejoins': {
    seed: 7,
    members: ABC,
    dataSet: data,
    faults: [{ kind: 'partition', member: 'SYSC', at: 'switch', restartAfter: 10 }],
  },
  'lost acknowledgement and duplicated request': {
    seed: 3,
    members: AB,
    dataSet: data,
    faults: [
      { kind: 'drop', message: 'reloadAck', count: 1 },
      { kind: 'duplicate', message: 'switch', count: 1 },
    ],
  },
  'delayed acknowledgement arrives after the retry': {
    seed: 8,
    members: AB,
    dataSet: data,
    faults: [{ kind: 'delay', message: 'reloadAck', count: 1 }],
  },
  'member expelled after its retries': {
    seed: 5,
    members: AB,
    dataSet: data,
    faults: [{ kind: 'drop', message: 'switch', count: 20 }],
  },
  'I/O error before commit: backout': {
    seed: 4,
    members: AB,
    dataSet: data,
    updates: { count: 3, every: 3 },
    faults: [{ kind: 'ioError', at: 'applyDelta' }],
  },
  'backout cannot finish: fence': {
    seed: 4,
    members: AB,
    dataSet: data,
    faults: [
      { kind: 'ioError', at: 'reencipher' },
      { kind: 'ioError', at: 'backout' },
    ],
  },
  'two backouts cannot finish: every member fenced (shut down)': {
    seed: 4,
    members: AB,
    dataSet: data,
    faults: [
      { kind: 'ioError', at: 'reencipher' },
      { kind: 'ioError', at: 'backout', count: 2 },
    ],
  },
  'a fence shuts a member down; a member that restarts takes the backout over and fences too': {
    seed: 5,
    members: ABC,
    dataSet: data,
    updates: { count: 3, every: 4 },
    faults: [
      { kind: 'crash', member: 'SYSC', at: 'reload', restartAfter: 30 },
      { kind: 'ioError', at: 'backout', count: 2 },
    ],
  },
  // found by the soak: the initiator acted (refused) after it went down
  'initiator lost while it validates': {
    seed: 11,
    members: [{ name: 'SYSA' }],
    dataSet: data,
    faults: [{ kind: 'crash', member: 'SYSA', at: 'validate', restartAfter: 50 }],
  },
  // found by the soak: a routed update resent after the change is the spec's ApplyRouted where it lands
  'a routed update resent after the change': {
    seed: 598734554,
    members: AB,
    dataSet: { tokens: 2, objects: 3 },
    updates: { count: 10, every: 3 },
    dynamicUpdates: false,
    faults: [{ kind: 'drop', message: 'routeUpdate', count: 2 }],
  },
  // found by the soak (then, a change that never began was backed out with requests, holding the
  // initiator's own updates meanwhile): now it ends at once, and the updates go on
  'a change whose record write failed, with updates at every member': {
    seed: 1218380964,
    members: [...ABC, { name: 'SYSD' }],
    initiator: 'SYSD',
    dataSet: { tokens: 4, objects: 20 },
    updates: { count: 5, every: 1 },
    faults: [
      { kind: 'ioError', at: 'beginRouting' },
      { kind: 'drop', message: 'fence', count: 4 },
    ],
  },
  // found by the soak (10,000 with TLC): a fence request dropped as it is sent, before the line of
  // the step that sends it (FenceOnIoError)
  'a fence request dropped as the initiator shuts down': {
    seed: 774391109,
    members: [...ABC, { name: 'SYSD' }, { name: 'SYSE' }],
    initiator: 'SYSC',
    dataSet: { tokens: 3, objects: 12 },
    updates: { count: 6, every: 2 },
    faults: [
      { kind: 'crash', member: 'SYSB', at: 'applyDelta', restartAfter: 48 },
      { kind: 'drop', message: 'fence', count: 1 },
      { kind: 'ioError', at: 'backout' },
    ],
  },
  // found by the soak (10,000 with TLC): a memberJoined notice the initiator takes after the member
  // left the group again; it sent that member the backout
  'a late memberJoined notice of a member that left again': {
    seed: 976441564,
    members: ABC,
    initiator: 'SYSB',
    dataSet: { tokens: 3, objects: 109, secureFraction: 0 },
    updates: { count: 14, every: 5 },
    dynamicUpdates: false,
    chunk: 31,
    faults: [
      { kind: 'partition', member: 'SYSC', at: 'reencipher', restartAfter: 3 },
      { kind: 'crash', member: 'SYSC', at: 'suspend', restartAfter: 18 },
      { kind: 'crash', member: 'SYSC', at: 'finish', restartAfter: 33 },
    ],
  },
  // found by the soak: a refused update whose answer was lost is refused again when resent, never written
  'a refusal answered again': {
    seed: 403126097,
    members: AB,
    dataSet: { tokens: 1, objects: 6 },
    updates: { count: 5, every: 6 },
    dynamicUpdates: false,
    faults: [{ kind: 'drop', message: 'updateResult', count: 3 }],
  },
  // found by the soak: a member down before the change began is not sent the backout when it is back
  'a member down before the change, back during its backout': {
    seed: 510747314,
    members: [...ABC, { name: 'SYSD' }, { name: 'SYSE' }],
    initiator: 'SYSD',
    dataSet: { tokens: 1, objects: 63 },
    updates: { count: 15, every: 5 },
    dynamicUpdates: false,
    faults: [
      { kind: 'duplicate', message: 'beginRoutingAck', count: 2 },
      { kind: 'crash', member: 'SYSB', at: 'beginRouting', restartAfter: 1 },
    ],
  },
  // finish's archive renames the target to the old name: later lines name it so
  'archive, with updates after finish': {
    seed: 18,
    members: ABC,
    dataSet: data,
    updates: { count: 20, every: 2 },
    archive: 'CSF.TKDS.OLD',
  },
  'archive by a takeover after commit': {
    seed: 18,
    members: ABC,
    dataSet: data,
    updates: { count: 10, every: 3 },
    archive: 'CSF.TKDS.OLD',
    faults: [{ kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 30 }],
  },
  'random message faults with updates': {
    seed: 21,
    members: ABC,
    dataSet: data,
    updates: { count: 4, every: 3 },
    faults: [{ kind: 'random', rate: 0.05, stopAfter: 4 }],
  },
};

const traceOf = (opts: SimulateOptions) => toNdjson(simulateChange(opts).trace);

/** The trace with its lines rewritten (`seq` renumbered), for the broken-trace tests. */
type Line = Record<string, unknown> & { seq: number; tick: number; event: string; actor: string };
function edit(ndjson: string, change: (lines: Line[]) => Line[]): string {
  const lines = ndjson
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  return (
    change(lines)
      .map((l, i) => JSON.stringify({ ...l, seq: i + 1 }))
      .join('\n') + '\n'
  );
}

/** The trace with a line's fields changed where `at` picks it. */
const changed = (nd: string, at: (l: Line) => boolean, fields: Record<string, unknown>) =>
  edit(nd, (ls) => ls.map((l) => (at(l) ? { ...l, ...fields } : l)));
const switchOfSYSB = (l: Line) => l.event === 'switch' && l.actor === 'SYSB';
const finishRecord = (l: Line) => l.event === 'record' && l.from === 'committed' && l.to === 'none';
/** A trace that breaks the protocol: every applyDelta line dropped. */
const withoutApplyDelta = (nd: string) =>
  edit(nd, (ls) => ls.filter((l) => !(l.event === 'step' && l.step === 'applyDelta')));

describe('the converter', () => {
  it('maps the example of docs/trace-format.md to one observation per spec action, members renamed in name order', () => {
    const steps = [
      'validate',
      'BeginRoutingByInitiator',
      'reencipher',
      'suspend',
      'applyDelta',
      'ReloadByInitiator',
      'commit',
      'SwitchByInitiator',
      'FinishByInitiator',
      'resume',
    ];
    const example = traceOf({
      seed: 1,
      members: [{ name: 'SYS1' }],
      dataSet: { tokens: 1, objects: 1 },
    });
    const c = convertNdjson(example);
    assert.deepEqual(
      c.observations.map((o) => o.ev),
      steps,
    );
    assert.deepEqual([...c.names], [['SYS1', 'SYSA']]);
    assert.ok(c.observations.every((o) => o.m === 'SYSA'));
    assert.match(c.module, /^TraceMembers == \{"SYSA"\}$/m);
    assert.match(c.module, new RegExp(`^TraceNumUpdates == 0$`, 'm'));
  });

  it('takes one observation from each line that names a spec action, named as the line names it (a copy delivered: duplicate first)', () => {
    for (const opts of Object.values(SAMPLE)) {
      const nd = traceOf(opts);
      const lines = nd
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Line);
      const named = lines.filter((l) => l.action !== undefined || l.copy === true);
      const observations = convertNdjson(nd).observations;
      assert.deepEqual(
        observations.map((o) => o.seq),
        named.flatMap((l) => (l.copy && l.action ? [l.seq, l.seq] : [l.seq])),
      );
      for (const o of observations) {
        const line = lines[o.seq - 1]!;
        assert.ok(
          o.ev === line.action || (o.ev === 'duplicate' && line.copy === true),
          `line ${o.seq}: ${o.ev}`,
        );
        if (o.ev === 'commit')
          assert.deepEqual([line.event, line.from, line.to], ['record', 'running', 'committed']);
      }
    }
  });

  it('writes TraceData as the lines come (TraceConverter): each observation once its line is fed, the same module as the whole trace gives', () => {
    for (const opts of Object.values(SAMPLE)) {
      const nd = traceOf(opts);
      let written = '';
      const converter = new TraceConverter((text) => (written += text));
      for (const e of parseTrace(nd)) {
        converter.feed(e);
        const last = converter.observations.at(-1);
        if (last?.seq === e.seq)
          assert.ok(
            written.includes(`[seq |-> ${e.seq}, ev |-> "${last.ev}", `),
            `line ${e.seq}: its observation is not written yet`,
          );
      }
      assert.doesNotMatch(written, /^TraceFaults ==/m, 'the constants come at the end');
      converter.finish();
      const whole = convertNdjson(nd);
      assert.equal(written, whole.module);
      assert.deepEqual(converter.observations, whole.observations);
    }
  });

  it('refuses a refusal the spec does not model, naming its line and reason', () => {
    const nd = traceOf({
      seed: 1,
      members: [{ name: 'SYSA' }, { name: 'SYSB', level: 'HCR7790' }],
      dataSet: data,
    });
    assert.throws(
      () => convertNdjson(nd),
      (e: unknown) =>
        e instanceof TraceConversionError &&
        e.line === 3 &&
        /levelBelowHCR77A0 is outside the spec/.test(e.message),
    );
  });

  it('refuses a member that does its part of a step without being asked', () => {
    const nd = edit(traceOf(SAMPLE['fault-free, 3 members, updates']!), (ls) =>
      ls.filter((l) => !(l.event === 'deliver' && l.msg === 'reload' && l.to === 'SYSB')),
    );
    assert.throws(
      () => convertNdjson(nd),
      /SYSB takes ReloadAtMember without a reload message delivered to it/,
    );
  });
});

describe('implementation traces are behaviours of CoordinatedCMK', () => {
  for (const [name, opts] of Object.entries(SAMPLE)) {
    it(name, () => {
      const v = validateTrace(tlcJar(), traceOf(opts));
      assert.ok(
        v.accepted,
        `rejected at trace line ${v.stopped?.line} (${v.stopped?.observation.ev}):\n${v.stopped?.text}`,
      );
      assert.equal(v.taken, v.observations);
    });
  }
});

describe('traces of the steps the spec added since', () => {
  it("two initiators: the stale one is refused at beginRouting after the other's backout marked the target unusable (targetNotEmpty)", () => {
    // SYSA and SYSB both validate; SYSA's change backs out (an I/O error at reencipher) while
    // SYSB's beginRouting waits; the record is then as SYSB's validate read it
    const sim = new Simulation({
      seed: 4,
      members: ABC,
      dataSet: data,
      faults: [{ kind: 'ioError', at: 'reencipher' }],
    });
    sim.startChange('SYSA');
    sim.startChange('SYSB');
    const heldB = (a: { kind: string; step?: string; member?: string }) =>
      a.kind === 'work' && a.step === 'beginRouting' && a.member === 'SYSB';
    const backedOut = () => sim.observe().members[0]!.initiatorStep === 'backedOut';
    for (let i = 0; !backedOut(); i++) assert.ok(i < 10_000 && stepHolding(sim, heldB));
    sim.runUntilQuiet();
    const refused = eventsOf(sim.trace, 'step').find(
      (e) => e.actor === 'SYSB' && e.step === 'beginRouting' && e.phase === 'done',
    );
    assert.deepEqual(
      [refused?.result, refused?.refusals?.map((r) => r.reason), refused?.action],
      ['refused', ['targetNotEmpty'], 'BeginRoutingByInitiator'],
    );
    const v = validateTrace(tlcJar(), toNdjson(sim.trace));
    assert.ok(v.accepted, `rejected at trace line ${v.stopped?.line}:\n${v.stopped?.text}`);
  });

  it('a member whose new register was cleared during the change refuses reload; the initiator backs out (clearNew, ReloadRefusedAtMember, ReloadRefusedByInitiator)', () => {
    const sim = new Simulation({ seed: 3, members: AB, dataSet: data });
    sim.startChange();
    for (let i = 0; sim.observe().record.change !== 'running'; i++)
      assert.ok(i < 10_000 && sim.step());
    sim.clearNew('SYSB');
    sim.runUntilQuiet();
    assert.equal(sim.outcome, 'backedOut');
    const nd = toNdjson(sim.trace);
    const actions = convertNdjson(nd).observations.map((o) => o.ev);
    for (const a of ['clearNew', 'ReloadRefusedAtMember', 'ReloadRefusedByInitiator'])
      assert.ok(actions.includes(a), a);
    assert.ok(
      actions.indexOf('ReloadRefusedByInitiator') < actions.indexOf('BackoutByInitiator'),
      'the initiator backs out on the refusal',
    );
    const v = validateTrace(tlcJar(), nd);
    assert.ok(v.accepted, `rejected at trace line ${v.stopped?.line}:\n${v.stopped?.text}`);
    assert.equal(v.taken, v.observations);
  });
});

describe('a member lost after finish wrote the record', () => {
  it('counts as lost: the initiator, still awaiting finishAcks, tells it again when it rejoins, and TLC accepts the trace', () => {
    const sim = new Simulation({ seed: 3, members: ABC, dataSet: data });
    sim.startChange();
    const finished = () =>
      eventsOf(sim.trace, 'record').some((e) => e.action === 'FinishByInitiator');
    for (let i = 0; !finished(); i++) assert.ok(i < 10_000 && sim.step());
    sim.crash('SYSC');
    sim.restart('SYSC');
    // SYSC's restart check and the group's notices (lost, then joined) come before the finishAcks
    const next = () =>
      sim.pending().find((a) => a.kind === 'notify' || (a.kind === 'work' && a.member === 'SYSC'));
    for (let a = next(), i = 0; a; a = next(), i++) {
      assert.ok(i < 100);
      sim.fire(a.id);
    }
    sim.runUntilQuiet();
    assert.equal(sim.outcome, 'completed');
    const resent = eventsOf(sim.trace, 'send').find(
      (e) => e.action === 'memberJoined' && e.to === 'SYSC',
    );
    assert.equal(resent?.msg, 'finish');
    const v = validateTrace(tlcJar(), toNdjson(sim.trace));
    assert.ok(v.accepted, `rejected at trace line ${v.stopped?.line}:\n${v.stopped?.text}`);
  });
});

describe('a message sent to a member outside the group', () => {
  it('is lost at once to the spec: its drop later is no spec action, and TLC accepts the trace', () => {
    // SYSB takes beginRouting after its initiator SYSA crashed; its acknowledgement to SYSA is
    // then dropped (the spec's Answer sends nothing to a member outside the group)
    const sim = new Simulation({ seed: 3, members: AB, dataSet: data });
    sim.startChange();
    const pending = (type: string) =>
      sim.pending().find((a) => a.kind === 'deliver' && a.message.type === type);
    for (let i = 0; !pending('beginRouting'); i++) assert.ok(i < 100 && sim.step());
    sim.crash('SYSA');
    sim.fire(pending('beginRouting')!.id);
    sim.drop(pending('beginRoutingAck')!.id);
    sim.runUntilQuiet();
    const drop = eventsOf(sim.trace, 'drop').find((e) => e.msg === 'beginRoutingAck');
    assert.deepEqual([drop?.to, drop?.action], ['SYSA', undefined]);
    const v = validateTrace(tlcJar(), toNdjson(sim.trace));
    assert.ok(v.accepted, `rejected at trace line ${v.stopped?.line}:\n${v.stopped?.text}`);
  });
});

describe('a member whose new register holds another key (OtherNew)', () => {
  const sim = new Simulation({
    seed: 5,
    members: [...AB, { name: 'SYSC', newKey: 'differs' }],
    dataSet: data,
  });
  const refusals = sim.startChange().map((r) => r.reason);
  sim.runUntilQuiet();
  const nd = toNdjson(sim.trace);

  it("is the spec's OtherNew, its key OtherKey; the key most members hold is NewKey", () => {
    assert.deepEqual(refusals, ['newMkvpDiffers']);
    const constants = new Map(convertNdjson(nd).data);
    assert.equal(constants.get('TraceOtherNew'), '{"SYSC"}');
    assert.equal(constants.get('TraceUncommittedNew'), '{}');
  });

  it("validate refuses it (newMkvpDiffers): the trace starts in the spec's Init and is a behaviour", () => {
    const v = validateTrace(tlcJar(), nd);
    assert.ok(v.accepted, `rejected at trace line ${v.stopped?.line}:\n${v.stopped?.text}`);
    assert.equal(v.taken, v.observations);
    assert.ok(v.observations > 0);
  });
});

describe('trace validation checks the invariants and properties on the way', () => {
  it('models/trace.cfg checks every DESIGN invariant and safety property, and the refinement', () => {
    const cfg = readFileSync(join(TLA_DIR, 'models/trace.cfg'), 'utf8');
    const checked = [...configNames(cfg, 'INVARIANT'), ...configNames(cfg, 'PROPERTY')];
    for (const name of [
      ...INVARIANT_NAMES.filter((n) => n !== 'EventuallySettled'),
      'RefinesChangeMasterKey',
    ])
      assert.ok(checked.includes(name), name);
  });

  it('a broken one is named at the observation that leads to the state that breaks it', () => {
    const nd = traceOf(SAMPLE['fault-free, 3 members, updates']!);
    const all = convertNdjson(nd).observations;
    // TLC prints the behaviour up to the breaking state: Init and one state per observation taken
    const output = [
      'Error: Invariant NoLostUpdate is violated.',
      ...Array.from({ length: 6 }, (_, i) => `State ${i + 1}: <...>`),
    ].join('\n');
    const v = violationOf('NoLostUpdate', output, all, linesOf(nd));
    assert.equal(v.taken, 5);
    assert.deepEqual([v.violated!.name, v.violated!.line], ['NoLostUpdate', all[4]!.seq]);
    assert.equal(JSON.parse(v.violated!.text!).seq, all[4]!.seq);
  });
});

describe('traces that break the protocol are rejected where they leave it', () => {
  const valid = traceOf(SAMPLE['fault-free, 3 members, updates']!);

  it('a switch moved before the last reload acknowledgement', () => {
    let moved: number[] = [];
    const broken = edit(valid, (ls) => {
      const lastReloadAck = ls.findLastIndex((l) => l.event === 'deliver' && l.msg === 'reloadAck');
      const sw = ls.find((l) => l.event === 'switch' && l.actor !== 'SYSA')!;
      // the member's whole action: the switch delivered, its part done, its acknowledgement sent
      const action = ls.filter((l) => l.tick === sw.tick && l.actor === sw.actor);
      const rest = ls.filter((l) => !action.includes(l));
      const at = rest.indexOf(ls[lastReloadAck]!);
      rest.splice(at, 0, ...action.map((l) => ({ ...l, tick: rest[at - 1]!.tick })));
      moved = action.map((_, i) => at + 1 + i);
      return rest;
    });
    const v = validateTrace(tlcJar(), broken);
    assert.equal(v.accepted, false);
    assert.ok(
      moved.includes(v.stopped!.line),
      `stopped at line ${v.stopped!.line}, not in the moved lines ${moved}`,
    );
    assert.match(v.stopped!.text!, /"(msg|event)":"switch"/);
  });

  /** TLC rejects the trace at the first line `at` picks, taking it as the action it names. */
  function rejectedAt(broken: string, at: (l: Line) => boolean, action: string): void {
    const line = broken
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .find(at)!;
    const v = validateTrace(tlcJar(), broken);
    assert.equal(v.accepted, false);
    assert.equal(v.stopped?.line, line.seq);
    assert.equal(v.stopped?.observation.ev, action);
  }

  it('a member switching to the old data set', () => {
    const broken = changed(valid, switchOfSYSB, { dataSet: 'CSF.TKDS' });
    rejectedAt(broken, switchOfSYSB, 'SwitchAtMember');
  });

  it('a finish record naming the old data set', () => {
    const broken = changed(valid, finishRecord, { active: 'CSF.TKDS' });
    rejectedAt(broken, finishRecord, 'FinishByInitiator');
  });

  it('every MKVP relabelled so that the key never changed', () => {
    const header = JSON.parse(valid.split('\n')[0]!) as { members: { cur: string; new: string }[] };
    const [oldKey, newKey] = [header.members[0]!.cur, header.members[0]!.new];
    const broken = valid.replaceAll(newKey, oldKey);
    rejectedAt(
      broken,
      (l) => l.event === 'step' && l.step === 'applyDelta' && l.phase === 'done',
      'applyDelta',
    );
  });

  it("a header that starts outside the spec's Init", () => {
    const broken = edit(valid, (ls) =>
      ls.map((l, i) => (i === 0 ? { ...l, record: 'running' } : l)),
    );
    assert.throws(
      () => convertNdjson(broken),
      (e: unknown) =>
        e instanceof TraceConversionError &&
        e.line === 1 &&
        /outside the spec's Init: the cluster record shows a change running/.test(e.message),
    );
  });

  it('an applyDelta dropped', () => {
    const broken = withoutApplyDelta(valid);
    const reload = broken
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .find((l) => l.event === 'reload' && l.actor === 'SYSA')!;
    const v = validateTrace(tlcJar(), broken);
    assert.equal(v.accepted, false);
    assert.equal(v.stopped?.line, reload.seq);
    assert.equal(v.stopped?.observation.ev, 'ReloadByInitiator');
  });
});

describe('many traces in one TLC run (tla/trace-batch.ts)', () => {
  const valid = traceOf(SAMPLE['fault-free, 3 members, updates']!);
  const accepted = [
    'fault-free, single system, updates',
    'initiator lost after commit: takeover rolls forward',
    'lost acknowledgement and duplicated request',
    'a fence shuts a member down; a member that restarts takes the backout over and fences too',
    'archive, with updates after finish',
  ].map((name) => traceOf(SAMPLE[name]!));
  const broken = [
    changed(valid, switchOfSYSB, { dataSet: 'CSF.TKDS' }),
    withoutApplyDelta(valid),
    changed(valid, finishRecord, { active: 'CSF.TKDS' }),
  ];
  // mixed: broken traces between accepted ones
  const mixed = [accepted[0]!, broken[0]!, ...accepted.slice(1, 3), broken[1]!, broken[2]!];
  mixed.push(...accepted.slice(3));
  const withoutSeconds = (v: TraceVerdict) => ({ ...v, seconds: 0 });

  it('the batch run itself takes every accepted trace to its end, and no broken one', () => {
    const run = runBatch(tlcJar(), mixed.map(convertNdjson));
    assert.equal(run.stopped, false);
    const expected = mixed.flatMap((nd, i) => (broken.includes(nd) ? [] : [i + 1]));
    assert.deepEqual(
      [...run.accepted].sort((a, b) => a - b),
      expected,
    );
  });

  it('gives each trace the verdict of the single check: a broken one rejected at the same line', () => {
    const batch = validateBatch(tlcJar(), mixed);
    const single = mixed.map((nd) => validateTrace(tlcJar(), nd));
    assert.deepEqual(batch.map(withoutSeconds), single.map(withoutSeconds));
    assert.deepEqual(
      batch.map((v) => v.accepted),
      mixed.map((nd) => !broken.includes(nd)),
    );
    assert.deepEqual(
      batch.filter((v) => !v.accepted).map((v) => v.stopped!.observation.ev),
      ['SwitchAtMember', 'ReloadByInitiator', 'FinishByInitiator'],
    );
  });

  it('checks many traces `size` at a time, one TLC run each (some 2,000 in one run exhaust its heap)', () => {
    const good = mixed.filter((nd) => !broken.includes(nd)).slice(0, 5);
    const verdicts = validateBatch(tlcJar(), good, 2);
    assert.deepEqual(
      verdicts.map((v) => v.accepted),
      good.map(() => true),
    );
    // each trace gets its share of its own run's time: three runs (2, 2 and 1 traces)
    assert.equal(new Set(verdicts.map((v) => v.seconds)).size, 3);
  });

  it("checks models/trace.cfg's invariants per trace, and refuses a config whose properties it does not check", () => {
    const cfg = readFileSync(join(TLA_DIR, 'models/trace.cfg'), 'utf8');
    const b = batchModules([convertNdjson(valid), convertNdjson(accepted[0]!)], cfg);
    assert.equal(
      configNames(b.config.text, 'INVARIANT').join(),
      configNames(cfg, 'INVARIANT').join(),
    );
    for (const inv of configNames(cfg, 'INVARIANT'))
      assert.match(
        b.files['TraceBatch.tla']!,
        new RegExp(`^${inv} == CASE tr = 1 -> T1!${inv}\\n +\\[\\] tr = 2 -> T2!${inv}$`, 'm'),
      );
    assert.throws(
      () =>
        batchModules([convertNdjson(valid)], cfg.replace('PROPERTY', 'PROPERTY EventuallySettled')),
      /checks the properties EventuallySettled, StagedBeforeSwitch, .* but a batch checks StagedBeforeSwitch, NoBackoutAfterCommit, RefinesChangeMasterKey/,
    );
  });

  it("checks each trace's constants against the spec's ASSUME, which TLC leaves out in an instance", () => {
    const c = convertNdjson(valid);
    const refusedUnknown = c.data.map(([name, expr]): [string, string] =>
      name === 'TraceRefusedUpdates' ? [name, '{99}'] : [name, expr],
    );
    const run = runBatch(tlcJar(), [convertNdjson(accepted[0]!), { ...c, data: refusedUnknown }]);
    assert.equal(run.stopped, true);
  });

  it("declares the spec's variables", () => {
    const text = readFileSync(join(TLA_DIR, 'CoordinatedCMK.tla'), 'utf8');
    const vars = declaredVariables(text);
    assert.equal(vars[0], 'mstate');
    assert.equal(vars.at(-1), 'faults');
    assert.ok(vars.includes('newCommitted') && vars.includes('sent'));
    assert.deepEqual(declaredVariables(readFileSync(join(TLA_DIR, 'TraceCMK.tla'), 'utf8')), [
      'cursor',
    ]);
  });
});
