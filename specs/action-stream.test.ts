// One action stream (impl/actions.ts): the TLA+ converter, the statechart replay and the
// TraceChecker read the same sequence of spec actions, line for line, so the three views of a
// trace agree at the level of single actions; the replay's table (spec action -> statechart
// event) and the TraceChecker's (rule -> the items it reads) cover the vocabulary and bind the
// code that uses them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  parseTrace,
  simulateChange,
  toNdjson,
  TraceChecker,
  type SimulateOptions,
  type TraceEvent,
} from '../impl/index.ts';
import { actionStream, specSteps } from '../impl/actions.ts';
import { TRACE_RULE_READS, TRACE_RULE_NAMES, checkTrace } from '../impl/invariants.ts';
import { SPEC_ACTION_NAMES } from '../impl/vocabulary.ts';
import {
  ACTION_TRANSITIONS,
  OBSERVATION_TRANSITIONS,
  replayTrace,
  type TraceLine,
} from '../model/replay.ts';
import { initiatorMachine } from '../model/initiator.ts';
import { memberMachine } from '../model/member.ts';
import { convertTrace, TraceConversionError } from '../tla/trace-to-tla.ts';
import { optionsArb } from './support/arbitraries.ts';

/** A run's trace as a reader gets it (NDJSON, parsed back). */
const traceOf = (options: SimulateOptions): TraceEvent[] =>
  parseTrace(toNdjson(simulateChange(options).trace));

/** Random runs of the soak's kind (1-5 members, every kind of fault), and a few fixed ones. */
const SAMPLE: SimulateOptions[] = [
  { seed: 1, updates: { count: 6, every: 2 } },
  { seed: 3, faults: [{ kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 5 }] },
  {
    seed: 9,
    faults: [
      { kind: 'crash', member: 'SYSC', at: 'reload' },
      { kind: 'ioError', at: 'backout' },
    ],
  },
  { seed: 10, faults: [{ kind: 'duplicate', message: 'switch', count: 2 }] },
  ...fc.sample(optionsArb, { numRuns: 60, seed: 20_240_610 }),
];

/** The spec action a line names (docs/trace-format.md "Spec actions"). */
const actionOf = (e: TraceEvent): string | undefined => (e as { action?: string }).action;

const pairs = (xs: readonly { line: number; action: string }[]): string[] =>
  xs.map((x) => `${x.line} ${x.action}`);

describe('one action stream: the three checkers see the same actions', () => {
  it('specSteps, the replay, the TraceChecker and the TLA+ converter list the same (line, action) sequence', () => {
    let converted = 0;
    const seen = new Set<string>();
    for (const options of SAMPLE) {
      const trace = traceOf(options);
      const steps = pairs(specSteps(trace));
      const replayed = pairs(
        replayTrace(trace as unknown as TraceLine[], { keepActions: true }).actions!,
      );
      const checker = new TraceChecker({ keepActions: true });
      trace.forEach((e) => checker.feed(e));
      const what = JSON.stringify(options);
      assert.deepEqual(replayed, steps, `replay vs specSteps: ${what}`);
      assert.deepEqual(pairs(checker.actions), steps, `TraceChecker vs specSteps: ${what}`);
      try {
        const tla = convertTrace(trace).observations.map((o) => `${o.seq} ${o.ev}`);
        assert.deepEqual(tla, steps, `TLA+ converter vs specSteps: ${what}`);
        converted++;
      } catch (e) {
        // a trace outside the spec (a refusal it does not model, more members than it names)
        if (!(e instanceof TraceConversionError)) throw e;
      }
      specSteps(trace).forEach((s) => seen.add(s.action));
    }
    assert.ok(converted >= SAMPLE.length / 2, `only ${converted} traces converted`);
    assert.ok(seen.size >= 25, `the sample shows only ${seen.size} spec actions: ${[...seen]}`);
  });

  it('each line is one item of the stream (its action or its observation), a copy first its duplicate', () => {
    const trace = traceOf(SAMPLE[3]!);
    const items = actionStream(trace);
    const own = items.filter((i) => i.type === 'observation' || i.step.action !== 'duplicate');
    assert.deepEqual(
      own.map((i) => i.event.seq),
      trace.map((e) => e.seq),
    );
    const copies = trace.filter((e) => e.event === 'deliver' && e.copy);
    assert.ok(copies.length > 0, 'the sample has no copy delivered');
    for (const c of copies) {
      const i = items.findIndex((x) => x.event === c);
      assert.ok(items[i]!.type === 'action' && items[i]!.step.action === 'duplicate');
    }
  });

  it('a member action on a request it was not delivered: specSteps rejects it, the stream marks it', () => {
    const trace = traceOf({ seed: 1 });
    const i = trace.findIndex((e) => actionOf(e) === 'ReloadAtMember');
    const moved = [...trace.slice(0, i - 1), trace[i]!, trace[i - 1]!, ...trace.slice(i + 1)];
    assert.throws(
      () => specSteps(moved),
      new RegExp(
        `^ActionStreamError: trace line ${trace[i]!.seq}: \\w+ takes ReloadAtMember without a reload message delivered to it$`,
      ),
    );
    const item = actionStream(moved).find((x) => x.event === trace[i]);
    assert.ok(item?.type === 'action' && item.unasked !== null);
  });
});

describe('the replay: one table, spec action -> statechart transition', () => {
  it('covers every spec action: each names statechart events, or says why it moves none', () => {
    assert.deepEqual(Object.keys(ACTION_TRANSITIONS).sort(), [...SPEC_ACTION_NAMES].sort());
    for (const [action, entry] of Object.entries(ACTION_TRANSITIONS)) {
      if ('none' in entry) {
        assert.ok(entry.none.length > 10, `${action}: no reason`);
        continue;
      }
      for (const e of entry.member ?? [])
        assert.ok(memberMachine.events.includes(e), `${action}: ${e}`);
      for (const e of entry.initiator ?? [])
        assert.ok(initiatorMachine.events.includes(e), `${action}: ${e}`);
      assert.ok((entry.member?.length ?? 0) + (entry.initiator?.length ?? 0) > 0, action);
    }
    for (const [event, entry] of Object.entries(OBSERVATION_TRANSITIONS)) {
      for (const e of entry.member ?? [])
        assert.ok(memberMachine.events.includes(e), `${event}: ${e}`);
      for (const e of entry.initiator ?? [])
        assert.ok(initiatorMachine.events.includes(e), `${event}: ${e}`);
    }
  });

  it('each spec action moves each statechart at most once, by an event its entry lists', () => {
    const used = new Set<string>();
    for (const options of SAMPLE) {
      for (const a of replayTrace(traceOf(options) as unknown as TraceLine[], { keepActions: true })
        .actions!) {
        const entry = ACTION_TRANSITIONS[a.action];
        for (const chart of ['member', 'initiator'] as const) {
          const moves = a.moves.filter((m) => m.startsWith(`${chart}.`));
          // a crash of the initiator's system also ends an initiator that waits to begin on it
          assert.ok(
            moves.length <= 1 || a.action === 'crash',
            `line ${a.line} ${a.action}: ${moves}`,
          );
          for (const m of moves) {
            assert.ok(!('none' in entry), `line ${a.line} ${a.action} moves ${m}`);
            assert.ok(entry[chart]!.includes(m.slice(chart.length + 1) as never));
            used.add(a.action);
          }
        }
      }
    }
    assert.ok(used.size >= 15, `only ${used.size} actions moved a statechart in the sample`);
  });

  it("the initiator's own steps move its statechart on the line of their spec action", () => {
    const moved = replayTrace(traceOf({ seed: 1 }) as unknown as TraceLine[], {
      keepActions: true,
    })
      .actions!.filter((a) => a.moves.some((m) => m.startsWith('initiator.')))
      .map((a) => `${a.action} ${a.moves.join(' ')}`);
    // the commit record write is the point of no return: commitDone there, not a line later
    for (const step of [
      'BeginRoutingByInitiator initiator.validated',
      'reencipher initiator.reencipherDone',
      'applyDelta initiator.applyDeltaDone',
      'commit initiator.commitDone',
    ])
      assert.ok(moved.includes(step), `${step} not in ${moved.join(', ')}`);
  });

  it('a move the table does not list stops the replay (the table binds the code)', () => {
    const table = ACTION_TRANSITIONS as Record<string, unknown>;
    const entry = table.reencipher;
    table.reencipher = { none: 'pretend reencipher moves nothing' };
    try {
      assert.throws(
        () => replayTrace(traceOf({ seed: 1 }) as unknown as TraceLine[]),
        /^Error: replay: trace line \d+ \(reencipher\) moves the initiator statechart by reencipherDone, which ACTION_TRANSITIONS does not list$/,
      );
    } finally {
      table.reencipher = entry;
    }
  });
});

describe('the TraceChecker: each rule names the stream items it reads', () => {
  it('every trace-form rule has its entry, of spec actions and trace events', () => {
    const traceForm = checkTrace(traceOf({ seed: 1 })).map((r) => r.name);
    assert.deepEqual(Object.keys(TRACE_RULE_READS).sort(), [...traceForm].sort());
    for (const name of TRACE_RULE_NAMES) assert.ok(name in TRACE_RULE_READS, name);
    for (const r of Object.values(TRACE_RULE_READS))
      for (const a of r.actions) assert.ok(SPEC_ACTION_NAMES.includes(a), a);
  });

  it('a rule judging at an item it does not read stops the checker (the table binds the code)', () => {
    const trace = traceOf({ seed: 1 });
    const commit = trace.findIndex((e) => e.event === 'record' && e.to === 'committed');
    const applyDone = trace.findIndex((e) => actionOf(e) === 'applyDelta');
    const early = [...trace.slice(0, applyDone), trace[commit]!]; // commits before its delta was applied
    assert.equal(
      checkTrace(early).find((r) => !r.ok)?.name,
      'NoEarlyActivation',
      'the commit before applyDelta breaks NoEarlyActivation',
    );
    const table = TRACE_RULE_READS as Record<string, unknown>;
    const entry = table.NoEarlyActivation;
    table.NoEarlyActivation = { actions: [], observations: ['write'] };
    try {
      assert.throws(
        () => checkTrace(early),
        /^Error: TraceChecker: NoEarlyActivation judges at commit, an item TRACE_RULE_READS does not give it$/,
      );
    } finally {
      table.NoEarlyActivation = entry;
    }
  });
});
