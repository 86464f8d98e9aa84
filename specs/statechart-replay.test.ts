// Trace replay: the implementation's traces, read back from NDJSON, replayed through the
// statecharts as an oracle (model/replay.ts); and deliberately corrupted traces, each rejected
// with the line, the actor, the state and the DESIGN.md rule it breaks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  parseTrace,
  Simulation,
  simulateChange,
  toNdjson,
  type Fault,
  type SimulateOptions,
} from '../impl/index.ts';
import { ReplayError, replayTrace, type BrokenRule, type TraceLine } from '../model/replay.ts';
import { STEP_NAMES } from '../impl/vocabulary.ts';

const RETRIES = 3; // the implementation's default timing.retries

/** A run of the implementation, its trace as a reader gets it (NDJSON, parsed back). */
function traceOf(options: SimulateOptions): { outcome: string; lines: TraceLine[] } {
  const result = simulateChange({ dataSet: { tokens: 2, objects: 5 }, chunk: 2, ...options });
  return {
    outcome: result.outcome,
    lines: parseTrace(toNdjson(result.trace)) as unknown as TraceLine[],
  };
}

const ENDS_AT: Record<string, string> = {
  completed: 'completed',
  backedOut: 'backedOut',
  fenced: 'fenced',
  refused: 'refused',
};

const SCENARIOS: Record<string, SimulateOptions> = {
  'a change with no fault': { seed: 1 },
  'updates routed, held and resumed': { seed: 2, updates: { count: 6, every: 2 } },
  'the initiator lost at switch: the first survivor rolls forward': {
    seed: 3,
    updates: { count: 2, every: 3 },
    faults: [{ kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 5 }],
  },
  'the initiator lost at reload: the first survivor backs out': {
    seed: 4,
    faults: [{ kind: 'crash', member: 'SYSA', at: 'reload', restartAfter: 5 }],
  },
  'a member lost at reload: backout': {
    seed: 5,
    faults: [{ kind: 'crash', member: 'SYSB', at: 'reload', restartAfter: 5 }],
  },
  'a member lost at switch: roll forward, it switches as it restarts': {
    seed: 6,
    faults: [{ kind: 'crash', member: 'SYSB', at: 'switch', restartAfter: 5 }],
  },
  'an I/O error in applyDelta: backout': {
    seed: 7,
    faults: [{ kind: 'ioError', at: 'applyDelta' }],
  },
  'an I/O error writing the commit record: backout': {
    seed: 8,
    faults: [{ kind: 'ioError', at: 'commit' }],
  },
  'backout cannot finish: fenced': {
    seed: 9,
    faults: [
      { kind: 'crash', member: 'SYSC', at: 'reload' },
      { kind: 'ioError', at: 'backout' },
    ],
  },
  'acknowledgements dropped, requests duplicated and delayed': {
    seed: 10,
    faults: [
      { kind: 'drop', message: 'reloadAck', count: 2 },
      { kind: 'duplicate', message: 'switch', count: 2 },
      { kind: 'delay', message: 'beginRoutingAck' },
    ],
  },
  'a single-system cluster': { seed: 11, members: [{ name: 'SYS1' }] },
  'a refusal': { seed: 12, members: [{ name: 'SYSA' }, { name: 'SYSB', level: 'HCR7790' }] },
};

describe('trace replay: implementation traces through the statecharts', () => {
  for (const [name, options] of Object.entries(SCENARIOS)) {
    it(`accepts: ${name}`, () => {
      const { outcome, lines } = traceOf(options);
      const result = replayTrace(lines, { retryBudget: RETRIES });
      assert.equal(result.initiator?.state, ENDS_AT[outcome], `outcome ${outcome}`);
      assert.ok(result.moves >= (outcome === 'refused' ? 2 : 8), `only ${result.moves} moves`);
    });
  }

  it('accepts the traces of random runs (faults, schedules, updates)', () => {
    const member = fc.constantFrom('SYSA', 'SYSB', 'SYSC');
    const fault: fc.Arbitrary<Fault> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('crash' as const, 'partition' as const),
        member,
        at: fc.constantFrom(...STEP_NAMES),
        restartAfter: fc.integer({ min: 0, max: 30 }),
      }),
      fc.record({
        kind: fc.constantFrom('drop' as const, 'duplicate' as const, 'delay' as const),
        message: fc.constantFrom(
          'beginRoutingAck' as const,
          'reload' as const,
          'reloadAck' as const,
          'switch' as const,
          'switchAck' as const,
          'finish' as const,
          'finishAck' as const,
          'backout' as const,
          'backoutAck' as const,
          'routeUpdate' as const,
        ),
        count: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        kind: fc.constant('ioError' as const),
        at: fc.constantFrom(
          'reencipher' as const,
          'applyDelta' as const,
          'commit' as const,
          'finish' as const,
          'backout' as const,
        ),
      }),
      fc.record({
        kind: fc.constant('random' as const),
        rate: fc.double({ min: 0, max: 0.4, noNaN: true }),
        stopAfter: fc.integer({ min: 0, max: 80 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fault, { maxLength: 3 }),
        fc.integer({ min: 0, max: 5 }),
        (seed, faults, count) => {
          const { lines } = traceOf({ seed, faults, updates: { count, every: 2 } });
          const result = replayTrace(lines, { retryBudget: RETRIES });
          // the run may stop anywhere (an initiator lost with nobody to take over); a fenced change a
          // member took over later ends backed out
          assert.ok(
            [
              'completed',
              'backedOut',
              'fenced',
              'refused',
              'down',
              'backout',
              'switch',
              'finish',
            ].includes(result.initiator?.state ?? ''),
            JSON.stringify(result),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a member lost after validate, then beginRouting's record write fails: the change never began, backed out at once", () => {
    const sim = new Simulation({
      seed: 1,
      dataSet: { tokens: 1, objects: 2 },
      faults: [{ kind: 'ioError', at: 'beginRouting' }],
    });
    sim.startChange();
    sim.crash('SYSC');
    // the group's notice reaches the initiator before its beginRouting
    for (let a = sim.pending().find((x) => x.kind === 'notify'); a;) {
      sim.fire(a.id);
      a = sim.pending().find((x) => x.kind === 'notify');
    }
    sim.runUntilQuiet();
    assert.equal(sim.outcome, 'backedOut');
    const lines = parseTrace(toNdjson(sim.trace)) as unknown as TraceLine[];
    const lost = indexOf(lines, (l) => l.event === 'memberLost', 'memberLost');
    const failed = indexOf(
      lines,
      (l) => l.step === 'beginRouting' && l.result === 'failed',
      'failed write',
    );
    assert.ok(lost < failed);
    assert.equal(replayTrace(lines).initiator?.state, 'backedOut');
  });
});

/** The first line index matching `test`. */
function indexOf(
  lines: readonly TraceLine[],
  test: (l: TraceLine) => boolean,
  what: string,
): number {
  const i = lines.findIndex(test);
  assert.ok(i >= 0, `the trace has no ${what}`);
  return i;
}

function rejects(
  lines: readonly TraceLine[],
  rule: BrokenRule,
  line: TraceLine,
  state: string,
): ReplayError {
  let error: unknown = null;
  try {
    replayTrace(lines, { retryBudget: RETRIES });
  } catch (e) {
    error = e;
  }
  assert.ok(
    error instanceof ReplayError,
    `the corrupted trace was accepted (or failed otherwise: ${String(error)})`,
  );
  assert.equal(error.rule, rule, error.message);
  assert.equal(error.line, line.seq, error.message);
  assert.equal(error.actor, line.actor);
  assert.equal(error.state, state);
  assert.match(
    error.message,
    new RegExp(`^trace line ${line.seq}: ${line.actor} .* in state ${state}: breaks ${rule}$`),
  );
  return error;
}

describe('trace replay: corrupted traces are rejected, naming the broken rule', () => {
  const good = traceOf({ seed: 21 }).lines;

  it('switch before every member staged (a reloadAck that never came): StagedBeforeSwitch', () => {
    const ack = indexOf(
      good,
      (l) => l.event === 'deliver' && l.msg === 'reloadAck' && l.from === 'SYSC',
      'reloadAck from SYSC',
    );
    const corrupted = good.filter((_, i) => i !== ack);
    const reloadDone = corrupted.find(
      (l) => l.event === 'step' && l.step === 'reload' && l.phase === 'done',
    )!;
    rejects(corrupted, 'StagedBeforeSwitch', reloadDone, 'reload');
  });

  it("a member's switch before the commit: StagedBeforeSwitch", () => {
    const commit = indexOf(
      good,
      (l) => l.event === 'record' && l.to === 'committed',
      'commit record',
    );
    const sysb = indexOf(good, (l) => l.event === 'switch' && l.actor === 'SYSB', 'switch of SYSB');
    const corrupted = [
      ...good.slice(0, commit),
      good[sysb]!,
      ...good.slice(commit).filter((_, i) => i + commit !== sysb),
    ];
    rejects(corrupted, 'StagedBeforeSwitch', good[sysb]!, 'staged');
  });

  it('the delta not applied before reload: NoEarlyActivation', () => {
    const done = indexOf(
      good,
      (l) => l.event === 'step' && l.step === 'applyDelta' && l.phase === 'done',
      'applyDelta done',
    );
    const corrupted = good.filter((_, i) => i !== done);
    const reloadStart = corrupted.find(
      (l) => l.event === 'step' && l.step === 'reload' && l.phase === 'start',
    )!;
    rejects(corrupted, 'NoEarlyActivation', reloadStart, 'applyDelta');
  });

  it('a backout after commit: NoBackoutAfterCommit', () => {
    const switchStart = indexOf(
      good,
      (l) => l.event === 'step' && l.step === 'switch' && l.phase === 'start',
      'switch start',
    );
    const backout: TraceLine = {
      seq: good[switchStart]!.seq,
      tick: good[switchStart]!.tick,
      event: 'step',
      actor: 'SYSA',
      step: 'backout',
      phase: 'start',
      change: 'c1',
      reason: 'member SYSB lost before commit',
    };
    const corrupted = [...good.slice(0, switchStart + 1), backout, ...good.slice(switchStart + 1)];
    rejects(corrupted, 'NoBackoutAfterCommit', backout, 'switch');
  });

  it("a member's backout after it switched: NoBackoutAfterCommit", () => {
    const sysb = indexOf(good, (l) => l.event === 'switch' && l.actor === 'SYSB', 'switch of SYSB');
    const backout: TraceLine = {
      seq: good[sysb]!.seq,
      tick: good[sysb]!.tick,
      event: 'backout',
      actor: 'SYSB',
      change: 'c1',
    };
    const corrupted = [...good.slice(0, sysb + 1), backout, ...good.slice(sysb + 1)];
    rejects(corrupted, 'NoBackoutAfterCommit', backout, 'switched');
  });

  it('an update lost (routed and acknowledged, missing from the delta applied to the target): NoLostUpdate', () => {
    const { lines } = traceOf({ seed: 22, updates: { count: 6, every: 2 } });
    const target = lines.find(
      (l) => l.event === 'step' && l.step === 'validate' && l.phase === 'done',
    )!.target as string;
    const apply = indexOf(
      lines,
      (l) => l.event === 'update' && l.phase === 'apply' && l.dataSet === target,
      'update applied to the target',
    );
    const corrupted = lines.filter((_, i) => i !== apply);
    const done = corrupted.find(
      (l) => l.event === 'step' && l.step === 'applyDelta' && l.phase === 'done',
    )!;
    const error = rejects(corrupted, 'NoLostUpdate', done, 'applyDelta');
    assert.match(error.message, /the delta holds/);
  });

  it('every line of a good trace is needed: the uncorrupted traces pass', () => {
    assert.equal(replayTrace(good, { retryBudget: RETRIES }).initiator?.state, 'completed');
  });
});
