// Trace validation (tla/TraceCMK.tla): traces of the reference implementation, fault-free and
// with faults, single and multi-member, are behaviours of CoordinatedCMK; a trace that breaks
// the protocol is rejected at the line where it leaves the spec. Without Java or the TLC jar the
// TLC tests fail with the reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, simulateChange, toNdjson, type SimulateOptions } from '../impl/index.ts';
import { eventsOf, stepHolding } from './impl-support.ts';
import { convertNdjson, TraceConversionError } from '../tla/trace-to-tla.ts';
import { validateTrace, violationOf } from '../tla/trace.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configNames, TLA_DIR, tlcJar } from '../tla/tlc-runner.ts';
import { INVARIANT_NAMES } from '../impl/index.ts';

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
    const v = violationOf('NoLostUpdate', output, all, nd);
    assert.equal(v.taken, 5);
    assert.deepEqual([v.violated!.name, v.violated!.line], ['NoLostUpdate', all[4]!.seq]);
    assert.equal(JSON.parse(v.violated!.text).seq, all[4]!.seq);
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
    assert.match(v.stopped!.text, /"(msg|event)":"switch"/);
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
    const isSwitch = (l: Line) => l.event === 'switch' && l.actor === 'SYSB';
    const broken = edit(valid, (ls) =>
      ls.map((l) => (isSwitch(l) ? { ...l, dataSet: 'CSF.TKDS' } : l)),
    );
    rejectedAt(broken, isSwitch, 'SwitchAtMember');
  });

  it('a finish record naming the old data set', () => {
    const isFinish = (l: Line) => l.event === 'record' && l.from === 'committed' && l.to === 'none';
    const broken = edit(valid, (ls) =>
      ls.map((l) => (isFinish(l) ? { ...l, active: 'CSF.TKDS' } : l)),
    );
    rejectedAt(broken, isFinish, 'FinishByInitiator');
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
    const broken = edit(valid, (ls) =>
      ls.filter((l) => !(l.event === 'step' && l.step === 'applyDelta')),
    );
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
