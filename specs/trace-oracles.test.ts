// The two trace oracles that `tkds-cmk conform` runs without TLC: checkTrace (impl/invariants.ts)
// and replayTrace (model/replay.ts). Valid traces of the implementation that they once rejected
// must pass; wrong traces, each made by mutating a real trace, must be rejected at their line,
// naming the DESIGN.md invariant (or the trace rule of docs/trace-format.md) they break.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkTrace,
  parseTrace,
  simulateChange,
  Simulation,
  toNdjson,
  type SimulateOptions,
  type TraceEvent,
} from '../impl/index.ts';
import { ReplayError, replayTrace, type TraceLine } from '../model/replay.ts';
import { parseFlags, runFlags, runOptions } from '../cli/options.ts';
import { StreamedOracles } from '../cli/oracles.ts';

/** A run of the implementation, its trace as a reader gets it (NDJSON, parsed back). */
function traceOf(options: SimulateOptions): TraceLine[] {
  return parseTrace(toNdjson(simulateChange(options).trace)) as unknown as TraceLine[];
}

/** The trace `tkds-cmk run ARGS --trace FILE` writes. */
function cliTrace(args: string): TraceLine[] {
  return traceOf(runOptions(parseFlags(args.split(' '), runFlags).values));
}

/** The trace with the retry budget of its header (docs/trace-format.md `header`) set to `retries`. */
function withHeader(lines: readonly TraceLine[], retries: number): TraceLine[] {
  assert.equal(lines[0]?.event, 'header');
  return [{ ...lines[0]!, retries }, ...lines.slice(1)];
}

/** The trace as a writer of format version 1 gave it: no header, seq from 1. */
function withoutHeader(lines: readonly TraceLine[]): TraceLine[] {
  return lines.slice(1).map((l) => ({ ...l, seq: l.seq - 1 }));
}

/** What conform reports from the two oracles: the invariants broken, and the replay's rejection. */
function verdict(lines: readonly TraceLine[]): {
  broken: string[];
  replay: ReplayError | null;
  state: string | undefined;
} {
  const broken = checkTrace(lines as unknown as TraceEvent[])
    .filter((r) => !r.ok)
    .map((r) => `${r.name} at line ${r.line}: ${r.detail}`);
  try {
    return { broken, replay: null, state: replayTrace(lines).initiator?.state };
  } catch (e) {
    if (!(e instanceof ReplayError)) throw e;
    return { broken, replay: e, state: undefined };
  }
}

function assertConforms(lines: readonly TraceLine[], endsIn?: string): void {
  const v = verdict(lines);
  assert.deepEqual(v.broken, [], 'checkTrace');
  assert.equal(v.replay?.message ?? null, null, 'replayTrace');
  if (endsIn) assert.equal(v.state, endsIn);
}

describe('valid traces the oracles once rejected', () => {
  it("an archive: finish renames the target to the old data set's name, and later lines name it so", () => {
    const lines = traceOf({
      seed: 18,
      dataSet: { objects: 12 },
      updates: { count: 20, every: 2 },
      archive: 'CSF.TKDS.OLD',
    });
    assert.ok(lines.some((l) => l.event === 'write' && l.op === 'rename' && l.to === 'CSF.TKDS'));
    assertConforms(lines, 'completed');
  });

  it("the README's first example: the member lost in the tick its reload starts, two members (backout with nobody to wait for)", () => {
    const lines = cliTrace('--members SYSA,SYSB --objects 500 --fault crash:SYSB@reload');
    const crash = lines.findIndex((l) => l.event === 'crash' && l.member === 'SYSB');
    assert.equal(
      lines[crash + 1]?.step,
      'backout',
      'the backout starts right after the crash, before memberLost',
    );
    assertConforms(withHeader(lines, 3), 'backedOut');
  });

  it('the initiator SYSD lost while it validates: the statechart knows the cluster from the header, before validate names it (found by the soak)', () => {
    const members = ['SYSA', 'SYSB', 'SYSC', 'SYSD'].map((name) => ({ name }));
    assertConforms(
      traceOf({
        seed: 1414441764,
        members,
        initiator: 'SYSD',
        dataSet: { tokens: 5, objects: 60 },
        faults: [{ kind: 'crash', member: 'SYSD', at: 'validate', restartAfter: 20 }],
      }),
    );
  });

  it('a member lost as beginRouting starts, two members: backout at once', () => {
    assertConforms(
      withHeader(
        traceOf({
          seed: 18,
          members: [{ name: 'SYSA' }, { name: 'SYSB' }],
          dataSet: { tokens: 2, objects: 20 },
          faults: [{ kind: 'crash', member: 'SYSB', at: 'beginRouting', restartAfter: 11 }],
        }),
        3,
      ),
      'backedOut',
    );
  });

  for (const at of ['switch', 'finish'] as const) {
    for (const restart of [0, 1, 5, 12, 40]) {
      it(`a single-system cluster crashing at ${at} and restarting ${restart} ticks later rolls forward`, () => {
        const lines = cliTrace(
          `--members SYSA --objects 60 --updates 10 --fault crash:SYSA@${at}+restart=${restart}`,
        );
        assert.ok(
          lines.some((l) => l.event === 'takeover' && l.actor === 'SYSA'),
          'SYSA takes its own change over when it restarts',
        );
        assertConforms(withHeader(lines, 3), 'completed');
      });
    }
  }

  it('a single-system cluster crashing as its backout starts (an I/O error in reencipher) backs out when it restarts', () => {
    const lines = traceOf({
      seed: 81,
      members: [{ name: 'SYSA' }],
      dataSet: { tokens: 2, objects: 20 },
      faults: [
        { kind: 'ioError', at: 'reencipher' },
        { kind: 'crash', member: 'SYSA', at: 'backout', restartAfter: 10 },
      ],
    });
    assertConforms(withHeader(lines, 3), 'backedOut');
  });

  it('a takeover that cannot write the record: before commit it fences, and the lost initiator backs out when it returns', () => {
    const lines = traceOf({
      seed: 172,
      members: [{ name: 'SYSA' }, { name: 'SYSB' }],
      dataSet: { tokens: 2, objects: 20 },
      faults: [
        { kind: 'ioError', at: 'takeover' },
        { kind: 'crash', member: 'SYSA', at: 'reencipher', restartAfter: 18 },
      ],
    });
    assert.ok(lines.some((l) => l.event === 'fence' && l.actor === 'SYSB'));
    assertConforms(withHeader(lines, 3), 'backedOut');
  });

  it('a takeover that cannot write the record after commit tries again; the lost initiator may take it back first', () => {
    const lines = traceOf({
      seed: 2804,
      members: [{ name: 'SYSA' }, { name: 'SYSB' }],
      dataSet: { tokens: 2, objects: 20 },
      faults: [
        { kind: 'partition', member: 'SYSA', at: 'finish', restartAfter: 14 },
        { kind: 'ioError', at: 'takeover' },
      ],
    });
    assert.deepEqual(
      lines.filter((l) => l.event === 'takeover').map((l) => l.actor),
      ['SYSB', 'SYSA'],
      'SYSB, then SYSA: SYSB, reading the record again, leaves the change to SYSA',
    );
    assertConforms(withHeader(lines, 1), 'completed');
  });

  it('a fenced member shuts down: it acknowledges nothing and nothing reaches it', () => {
    const lines = traceOf({
      seed: 1027,
      members: [{ name: 'SYSA' }, { name: 'SYSB' }],
      dataSet: { tokens: 2, objects: 20 },
      faults: [
        { kind: 'ioError', at: 'reencipher' },
        { kind: 'ioError', at: 'backout', count: 2 },
      ],
    });
    const fenced = lines.filter((l) => l.event === 'fence').map((l) => l.actor);
    assert.deepEqual(fenced, ['SYSA', 'SYSB']);
    assert.ok(!lines.some((l) => l.event === 'timeout' || /^fenceAck/.test(String(l.msg))));
    assertConforms(withHeader(lines, 3), 'fenced');
  });
});

describe('the retry budget comes from the header line', () => {
  // The CLI has no flag for it: every `tkds-cmk run` resends 3 times (timing.retries, the default);
  // only the Simulation API sets another budget.
  for (const retries of [2, 3]) {
    it(`budget ${retries}: reload to SYSB dropped ${retries} times, the initiator resends ${retries} times and commits`, () => {
      const lines = traceOf({
        seed: 30 + retries,
        dataSet: { tokens: 2, objects: 10 },
        faults: [{ kind: 'drop', message: 'reload', to: 'SYSB', count: retries }],
        timing: { retries },
      });
      const timeouts = lines.filter((l) => l.event === 'timeout' && l.step === 'reload');
      assert.deepEqual(
        timeouts.map((l) => l.retry),
        Array.from({ length: retries }, (_, i) => i + 1),
      );
      assertConforms(withHeader(lines, retries), 'completed');
      // the header wins over the option, and a smaller budget rejects the resend after the last one it allows
      assert.equal(
        replayTrace(withHeader(lines, retries), { retryBudget: retries - 1 }).initiator?.state,
        'completed',
      );
      const short = verdict(withHeader(lines, retries - 1)).replay;
      assert.ok(short, `a budget of ${retries - 1} cannot explain ${retries} resends`);
      assert.ok(short.line > timeouts[retries - 1]!.seq, short.message);
    });
  }

  it('without a header, ReplayOptions.retryBudget, else 1', () => {
    const lines = withoutHeader(
      traceOf({
        seed: 32,
        dataSet: { tokens: 2, objects: 10 },
        faults: [{ kind: 'drop', message: 'reload', to: 'SYSC', count: 2 }],
        timing: { retries: 2 },
      }),
    );
    assert.equal(replayTrace(lines, { retryBudget: 2 }).initiator?.state, 'completed');
    assert.throws(() => replayTrace(lines), ReplayError);
  });

  it('checkTrace skips the header; a header that is not the first line, or a bad budget, is an error naming the line', () => {
    const lines = withHeader(traceOf({ seed: 1, dataSet: { tokens: 2, objects: 5 } }), 1);
    assert.ok(checkTrace(lines as unknown as TraceEvent[]).every((r) => r.ok));
    assert.throws(
      () => replayTrace([lines[1]!, { ...lines[0]!, seq: 2 }]),
      /^Error: trace line 2: a header must be the first line of the trace$/,
    );
    assert.throws(
      () => replayTrace([{ ...lines[0]!, retries: -1 }]),
      /^Error: trace line 1: header.retries must be a non-negative integer, got -1$/,
    );
  });
});

/** The trace with `edit` applied, renumbered (seq 1, 2, ... as a writer would). */
function mutate(lines: readonly TraceLine[], edit: (copy: TraceLine[]) => void): TraceLine[] {
  const copy = lines.map((l) => ({ ...l }));
  edit(copy);
  return copy.map((l, i) => ({ ...l, seq: i + 1 }));
}

/** The index of the only line matching `test` (or the first, with `first`). */
function find(
  lines: readonly TraceLine[],
  what: string,
  test: (l: TraceLine) => boolean,
  first = false,
): number {
  const at = lines.flatMap((l, i) => (test(l) ? [i] : []));
  assert.ok(at.length === 1 || (first && at.length > 1), `${at.length} lines are ${what}`);
  return at[0]!;
}

/** checkTrace names `rule` first at `line`; replay rejects at `line` too when `replay` says under which rule. */
function assertRejected(
  lines: readonly TraceLine[],
  rule: string,
  line: TraceLine,
  replay?: { rule: string; state: string },
): void {
  const results = checkTrace(lines as unknown as TraceEvent[]);
  const r = results.find((x) => x.name === rule);
  assert.ok(r, `no result named ${rule}`);
  assert.equal(r.ok, false, `${rule} holds on the wrong trace`);
  assert.equal(r.line, line.seq, r.detail);
  // conform's oracles, fed a line at a time, holding none: the same line, and its actor
  const streamed = new StreamedOracles();
  for (const l of lines) streamed.feed(l as unknown as TraceEvent);
  const [invariants, statechart] = streamed.finish();
  const s = invariants!.violations.find((x) => x.rule === rule);
  assert.deepEqual([s?.line, s?.actor], [line.seq, line.actor], `streamed ${rule}`);
  const v = verdict(lines);
  assert.equal(statechart!.violations[0]?.line, v.replay?.line, 'streamed statechart');
  if (!replay) return;
  assert.ok(v.replay, 'the statechart replay accepts the wrong trace');
  assert.equal(v.replay.line, line.seq, v.replay.message);
  assert.equal(v.replay.rule, replay.rule, v.replay.message);
  assert.equal(v.replay.state, replay.state, v.replay.message);
}

describe('wrong traces, made from real ones, are rejected at their line', () => {
  // three members, updates routed to the initiator, completed
  const good = traceOf({
    seed: 2,
    dataSet: { tokens: 2, objects: 5 },
    chunk: 2,
    updates: { count: 6, every: 2 },
  });
  const target = good.find(
    (l) => l.event === 'step' && l.step === 'validate' && l.phase === 'done',
  )!.target as string;
  const old = good.find((l) => l.event === 'step' && l.step === 'validate' && l.phase === 'done')!
    .active as string;

  it('the real trace conforms', () => assertConforms(good, 'completed'));

  it('an update acknowledged before it is applied (its apply comes later, or never): NoLostUpdate', () => {
    const ack = find(good, 'the first ack', (l) => l.event === 'update' && l.phase === 'ack', true);
    const id = good[ack]!.id;
    const apply = find(
      good,
      `the first apply of ${id}`,
      (l) => l.event === 'update' && l.phase === 'apply' && l.id === id,
      true,
    );
    const later = mutate(good, (c) => {
      const [a] = c.splice(apply, 1);
      c.splice(ack, 0, a!);
    });
    assertRejected(later, 'NoLostUpdate', later[ack - 1]!);
    const never = mutate(good, (c) => c.splice(apply, 1));
    assertRejected(never, 'NoLostUpdate', never[ack - 1]!);
  });

  it('a routed update acknowledged at its origin with no answer from the initiator: AckAfterAnswer', () => {
    const answer = find(
      good,
      'the first updateResult delivered',
      (l) => l.event === 'deliver' && l.msg === 'updateResult',
      true,
    );
    const { update, actor } = good[answer]!;
    assert.ok(
      good.some(
        (l) => l.event === 'update' && l.phase === 'route' && l.id === update && l.actor === actor,
      ),
      'the update was routed by its origin',
    );
    const wrong = mutate(good, (c) => c.splice(answer, 1));
    const ack = find(
      wrong,
      `the ack of ${update}`,
      (l) => l.event === 'update' && l.phase === 'ack' && l.id === update,
    );
    assertRejected(wrong, 'AckAfterAnswer', wrong[ack]!);
  });

  it('a finishAck from a member that did not do its part of finish: AckAfterPart', () => {
    const wrong = mutate(good, (c) =>
      c.splice(
        find(c, "SYSB's finish", (l) => l.event === 'finish' && l.actor === 'SYSB'),
        1,
      ),
    );
    const ack = find(
      wrong,
      "SYSB's finishAck",
      (l) => l.event === 'send' && l.msg === 'finishAck' && l.actor === 'SYSB',
    );
    assertRejected(wrong, 'AckAfterPart', wrong[ack]!, { rule: 'statechart', state: 'switched' });
  });

  it('a second, contradictory outcome: completed then backedOut is NoBackoutAfterCommit, backedOut then completed OneOutcome', () => {
    const decided = find(good, 'the outcome', (l) => l.event === 'outcome');
    const wrong = mutate(good, (c) =>
      c.splice(decided + 1, 0, { ...c[decided]!, outcome: 'backedOut' }),
    );
    assertRejected(wrong, 'NoBackoutAfterCommit', wrong[decided + 1]!, {
      rule: 'NoBackoutAfterCommit',
      state: 'finish',
    });

    const backedOut = traceOf({
      seed: 5,
      dataSet: { tokens: 2, objects: 5 },
      faults: [{ kind: 'crash', member: 'SYSB', at: 'reload', restartAfter: 5 }],
    });
    const first = find(
      backedOut,
      'the outcome',
      (l) => l.event === 'outcome' && l.outcome === 'backedOut',
    );
    const twice = mutate(backedOut, (c) =>
      c.splice(first + 1, 0, { ...c[first]!, outcome: 'completed' }),
    );
    assertRejected(twice, 'OneOutcome', twice[first + 1]!, {
      rule: 'statechart',
      state: 'backout',
    });
  });

  it('a fenced outcome that a takeover backs out has two outcome lines, and conforms', () => {
    const fenced = traceOf({
      seed: 172,
      members: [{ name: 'SYSA' }, { name: 'SYSB' }],
      dataSet: { tokens: 2, objects: 20 },
      faults: [
        { kind: 'ioError', at: 'takeover' },
        { kind: 'crash', member: 'SYSA', at: 'reencipher', restartAfter: 18 },
      ],
    });
    assert.deepEqual(
      fenced.filter((l) => l.event === 'outcome').map((l) => l.outcome),
      ['fenced', 'backedOut'],
    );
    assertConforms(fenced, 'backedOut');
  });

  it("the target's new header never written, yet the change completes: NoEarlyActivation", () => {
    const wrong = mutate(good, (c) =>
      c.splice(
        find(
          c,
          'the header write of the target',
          (l) => l.event === 'write' && l.op === 'header' && l.dataSet === target,
        ),
        1,
      ),
    );
    const done = find(
      wrong,
      'applyDelta done',
      (l) => l.event === 'step' && l.step === 'applyDelta' && l.phase === 'done',
    );
    assertRejected(wrong, 'NoEarlyActivation', wrong[done]!, {
      rule: 'NoEarlyActivation',
      state: 'applyDelta',
    });
  });

  it('a member switching to the old data set: SwitchToTarget', () => {
    const wrong = mutate(good, (c) => {
      const i = find(c, "SYSB's switch", (l) => l.event === 'switch' && l.actor === 'SYSB');
      c[i] = { ...c[i]!, dataSet: old };
    });
    const sw = find(wrong, "SYSB's switch", (l) => l.event === 'switch' && l.actor === 'SYSB');
    assertRejected(wrong, 'SwitchToTarget', wrong[sw]!, { rule: 'statechart', state: 'staged' });
  });

  it('the finish record naming the old data set active: NoBackoutAfterCommit', () => {
    const wrong = mutate(good, (c) => {
      const i = find(
        c,
        'the finish record',
        (l) => l.event === 'record' && l.from === 'committed' && l.to === 'none',
      );
      c[i] = { ...c[i]!, active: old };
    });
    const rec = find(
      wrong,
      'the finish record',
      (l) => l.event === 'record' && l.from === 'committed' && l.to === 'none',
    );
    assertRejected(wrong, 'NoBackoutAfterCommit', wrong[rec]!, {
      rule: 'NoBackoutAfterCommit',
      state: 'finish',
    });
  });

  it('every MKVP relabelled so that the key never changed: KeyAgreement at the target header write', () => {
    const { members } = good[0] as unknown as { members: { cur: string; new: string }[] };
    const [oldKey, newKey] = [members[0]!.cur, members[0]!.new];
    const wrong = JSON.parse(JSON.stringify(good).replaceAll(newKey, oldKey)) as TraceLine[];
    const header = find(
      wrong,
      'the header write of the target',
      (l) => l.event === 'write' && l.op === 'header' && l.dataSet === target,
    );
    assertRejected(wrong, 'KeyAgreement', wrong[header]!);
  });
});

describe('the replay takes a line by the spec action it names', () => {
  /** SYSA lost right after finish wrote the record, its finish to SYSC dropped: SYSC settles from the record. */
  function settledFromRecord(): TraceLine[] {
    const sim = new Simulation({ seed: 23, dataSet: { tokens: 2, objects: 12 } });
    sim.startChange();
    const finishToSysc = () =>
      sim
        .pending()
        .find(
          (a) => a.kind === 'deliver' && a.message.type === 'finish' && a.message.to === 'SYSC',
        );
    for (let i = 0; i < 10_000 && !finishToSysc(); i++) sim.step();
    sim.drop(finishToSysc()!.id);
    sim.crash('SYSA');
    sim.runUntilQuiet(10_000);
    return parseTrace(toNdjson(sim.trace)) as unknown as TraceLine[];
  }

  it("a member's part settled from the record (FinishFromRecord) is the statechart's driverLost, and conforms", () => {
    const lines = settledFromRecord();
    find(
      lines,
      "SYSC's finish from the record",
      (l) => l.action === 'FinishFromRecord' && l.actor === 'SYSC' && l.actor === 'SYSC',
    );
    assertConforms(lines);
  });

  it('the same part settled from the record while the record still shows the change committed is rejected', () => {
    const lines = settledFromRecord();
    const wrong = mutate(lines, (c) => {
      const part = find(
        c,
        "SYSC's finish from the record",
        (l) => l.action === 'FinishFromRecord' && l.actor === 'SYSC',
      );
      const record = find(
        c,
        'the finish record',
        (l) => l.event === 'record' && l.from === 'committed' && l.to === 'none',
      );
      const [line] = c.splice(part, 1);
      c.splice(record, 0, { ...line!, tick: c[record - 1]!.tick });
    });
    const at = find(
      wrong,
      "SYSC's finish from the record",
      (l) => l.action === 'FinishFromRecord' && l.actor === 'SYSC',
    );
    const v = verdict(wrong);
    assert.ok(
      v.replay,
      'the replay accepts a member settling from a record that does not settle the change',
    );
    assert.equal(v.replay.line, wrong[at]!.seq, v.replay.message);
  });
});
