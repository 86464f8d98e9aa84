// The trace: NDJSON writer and validating parser, the JSON Schema in docs/, checkTrace on corrupted
// traces (each broken rule is named, with its line), and no key material anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Coprocessor } from '../impl/coprocessor.ts';
import {
  checkTrace,
  formatEvent,
  parseTrace,
  simulateChange,
  Simulation,
  toNdjson,
  traceJsonSchema,
  type TraceEvent,
} from '../impl/index.ts';

const run = () =>
  simulateChange({
    seed: 31,
    dataSet: { tokens: 2, objects: 30 },
    updates: { count: 12, every: 2 },
    chunk: 8,
  });

test('NDJSON: seq, tick, event, actor first, the rest by name; parse gives the events back', () => {
  const r = run();
  const text = toNdjson(r.trace);
  assert.match(
    text.split('\n')[0]!,
    /^\{"seq":1,"tick":0,"event":"header","actor":"env","active":"CSF.TKDS","dataSets":\[/,
  );
  assert.match(
    text.split('\n')[1]!,
    /^\{"seq":2,"tick":0,"event":"step","actor":"SYSA","change":"c1","phase":"start","step":"validate"\}$/,
  );
  assert.deepEqual(parseTrace(text), JSON.parse(JSON.stringify(r.trace)));
  assert.equal(formatEvent(r.trace[5]!), text.split('\n')[5]);
});

test('parseTrace: a bad line is an error naming its line and what is wrong', () => {
  const lines = toNdjson(run().trace).split('\n').slice(0, 5);
  const bad = (i: number, text: string): string =>
    [...lines.slice(0, i), text, ...lines.slice(i + 1)].join('\n');
  const cases: [string, RegExp][] = [
    [bad(2, '{not json'), /trace line 3: not JSON/],
    [
      bad(1, '{"seq":2,"tick":0,"event":"teleport","actor":"SYSA"}'),
      /trace line 2: unknown event "teleport"/,
    ],
    [
      bad(1, '{"seq":2,"tick":0,"event":"crash","actor":"env"}'),
      /trace line 2: crash event lacks field "member"/,
    ],
    [
      bad(1, '{"seq":2,"tick":0,"event":"crash","actor":"env","member":3}'),
      /trace line 2: crash.member must be a string, got 3/,
    ],
    [
      bad(1, '{"seq":2,"tick":0,"event":"crash","actor":"env","member":"SYSB","key":"00"}'),
      /trace line 2: crash event has unknown field "key"/,
    ],
    [
      bad(
        1,
        '{"seq":2,"tick":0,"event":"update","actor":"SYSA","phase":"maybe","id":"u1","op":"createToken"}',
      ),
      /update.phase must be one of request \| route/,
    ],
    [
      bad(1, '{"seq":7,"tick":0,"event":"crash","actor":"env","member":"SYSB"}'),
      /trace line 2: seq must be 2, got 7/,
    ],
    [
      bad(0, '{"seq":1,"tick":0,"event":"crash","actor":"env","member":"SYSB"}'),
      /trace line 1: the first line must be the header, got a crash event/,
    ],
    [
      bad(1, lines[0]!.replace('"seq":1', '"seq":2')),
      /trace line 2: a header after the first line/,
    ],
    [
      bad(0, lines[0]!.replace('"version":3', '"version":1')),
      /trace line 1: trace format version 1; this reader takes version 3/,
    ],
    [
      bad(0, lines[0]!.replace('"newStatus":"committed"', '"newStatus":"maybe"')),
      /trace line 1: header.members must be a list of \{member, state, cur, new, newStatus\}/,
    ],
    [
      bad(
        1,
        '{"seq":2,"tick":0,"event":"crash","actor":"env","member":"SYSB","__proto__":{"x":1}}',
      ),
      /trace line 2: the key "__proto__" is not allowed in a trace/,
    ],
    [
      bad(
        1,
        '{"seq":2,"tick":0,"event":"crash","actor":"env","member":"SYSB","x-site":{"constructor":1}}',
      ),
      /trace line 2: the key "constructor" is not allowed in a trace/,
    ],
    [
      bad(
        1,
        '{"seq":2,"tick":0,"event":"crash","actor":"env","member":"SYSB","action":"teleport"}',
      ),
      /trace line 2: crash.action must be one of validate \|/,
    ],
  ];
  for (const [text, msg] of cases) assert.throws(() => parseTrace(text), msg);
  // fields under the extension prefix are a writer's own: read past
  const extended = [
    lines[0],
    lines[1]!.replace('"tick":0,', '"tick":0,"x-site":{"lpar":"LP1"},'),
    ...lines.slice(2),
  ].join('\n');
  assert.equal(parseTrace(extended)[1]!.event, 'step');
  const back = [
    lines[0],
    lines[1]!.replace('"tick":0', '"tick":9'),
    lines[2]!.replace(/"tick":\d+/, '"tick":1'),
  ].join('\n');
  assert.throws(() => parseTrace(back), /trace line 3: tick 1 goes back from 9/);
});

test('docs/trace.schema.json is the schema derived from the event table (run the snippet in docs/trace-format.md if it is stale)', () => {
  const onDisk = readFileSync(new URL('../docs/trace.schema.json', import.meta.url), 'utf8');
  assert.equal(onDisk, JSON.stringify(traceJsonSchema(), null, 2) + '\n');
});

/** A trace with one event replaced, inserted or removed, renumbered. */
function edit(trace: readonly TraceEvent[], f: (events: TraceEvent[]) => void): TraceEvent[] {
  const copy = trace.map((e) => ({ ...e })) as TraceEvent[];
  f(copy);
  return copy.map((e, i) => ({ ...e, seq: i + 1 }));
}

function failing(trace: readonly TraceEvent[]): string[] {
  return checkTrace(trace)
    .filter((r) => !r.ok)
    .map((r) => r.name);
}

test('checkTrace: a good trace passes; each corruption is caught under its invariant name, with its line', () => {
  const t = run().trace;
  assert.deepEqual(failing(t), []);
  const idx = (p: (e: TraceEvent) => boolean): number => t.findIndex(p);
  const commit = idx((e) => e.event === 'record' && e.to === 'committed');
  const cases: [string, TraceEvent[]][] = [
    [
      'SingleWriter',
      edit(t, (ev) => {
        const i = ev.findIndex((e) => e.event === 'write' && e.dataSet === 'CSF.TKDS.NEW');
        ev[i] = { ...ev[i]!, actor: 'SYSB' } as TraceEvent;
      }),
    ],
    [
      'StagedBeforeSwitch',
      edit(t, (ev) => {
        ev.splice(
          ev.findIndex((e) => e.event === 'reload' && e.actor === 'SYSC'),
          1,
        );
      }),
    ],
    [
      'NoEarlyActivation',
      edit(t, (ev) => {
        ev.splice(
          ev.findIndex((e) => e.event === 'step' && e.step === 'applyDelta' && e.phase === 'done'),
          1,
        );
      }),
    ],
    [
      'NoBackoutAfterCommit',
      edit(t, (ev) => {
        ev.splice(commit + 1, 0, {
          seq: 0,
          tick: ev[commit]!.tick,
          event: 'backout',
          actor: 'SYSB',
          change: 'c1',
        });
      }),
    ],
    [
      'OldDataSetPreserved',
      edit(t, (ev) => {
        ev.splice(commit, 0, {
          seq: 0,
          tick: ev[commit]!.tick,
          event: 'write',
          actor: 'SYSA',
          dataSet: 'CSF.TKDS',
          op: 'unusable',
        });
      }),
    ],
    [
      'OneChangeAtATime',
      edit(t, (ev) => {
        ev.splice(commit, 0, {
          seq: 0,
          tick: ev[commit]!.tick,
          event: 'record',
          actor: 'SYSB',
          from: 'none',
          to: 'running',
          active: 'CSF.TKDS',
          initiator: 'SYSB',
          target: 'X',
          change: 'c2',
        });
      }),
    ],
    [
      'KeyAgreement',
      edit(t, (ev) => {
        const i = ev.findIndex((e) => e.event === 'switch' && e.actor === 'SYSB');
        ev[i] = { ...ev[i]!, cur: '0'.repeat(32) } as TraceEvent;
      }),
    ],
    [
      'UniqueHandles',
      edit(t, (ev) => {
        const i = ev.findIndex(
          (e) => e.event === 'update' && e.phase === 'apply' && e.op === 'createObject',
        );
        ev.splice(i + 1, 0, { ...ev[i]!, id: 'u999' } as TraceEvent);
      }),
    ],
    [
      'NoLostUpdate',
      edit(t, (ev) => {
        // an update acknowledged during the change whose delta application is removed
        const firstCopy = ev.findIndex((e) => e.event === 'reencipher');
        const late = ev.find(
          (e, i) =>
            i > firstCopy &&
            e.event === 'update' &&
            e.phase === 'apply' &&
            e.dataSet === 'CSF.TKDS' &&
            ev.some((a) => a.event === 'update' && a.phase === 'ack' && a.id === e.id),
        );
        assert.ok(
          late && late.event === 'update',
          'the run has an update acknowledged during the re-encipherment',
        );
        ev.splice(
          ev.findIndex(
            (e) =>
              e.event === 'update' &&
              e.phase === 'apply' &&
              e.id === late.id &&
              e.dataSet === 'CSF.TKDS.NEW',
          ),
          1,
        );
      }),
    ],
  ];
  for (const [name, bad] of cases) {
    const results = checkTrace(bad);
    const hit = results.find((r) => r.name === name)!;
    assert.equal(hit.ok, false, `${name} is caught`);
    assert.ok(
      typeof hit.line === 'number' && hit.line > 0 && hit.detail,
      `${name} names a line and says why`,
    );
  }
});

test('no key material in traces, views, results, errors or inspect output', () => {
  // test-side spies record every key value and master key part that reaches a coprocessor
  const seen: Uint8Array[] = [];
  const wrap = Coprocessor.prototype.wrap;
  const load = Coprocessor.prototype.loadNewKeyPart;
  Coprocessor.prototype.wrap = function (v: Uint8Array) {
    seen.push(Uint8Array.from(v));
    return wrap.call(this, v);
  };
  Coprocessor.prototype.loadNewKeyPart = function (k, p: Uint8Array) {
    seen.push(Uint8Array.from(p));
    return load.call(this, k, p);
  };
  try {
    const sim = new Simulation({
      seed: 32,
      dataSet: { objects: 40, secureFraction: 1 },
      updates: { count: 10, every: 2 },
      faults: [{ kind: 'random', rate: 0.1, stopAfter: 60 }],
    });
    sim.startChange();
    sim.runUntilQuiet();
    const { trace, ...rest } = sim.result();
    const errors: string[] = [];
    try {
      sim.keyCheckValue('SYSA', 'TOKEN00:00000000:T');
    } catch (e) {
      errors.push(String(e));
    }
    const text = [
      toNdjson(trace),
      JSON.stringify(rest),
      JSON.stringify(sim.observe()),
      inspect(sim.observe(), { depth: 9 }),
      ...errors,
    ].join('\n');
    assert.ok(seen.length > 40, 'the spies saw the key values');
    // master keys are the XOR of their parts (first, last): add those too
    const xor = (a: Uint8Array, b: Uint8Array) => a.map((x, i) => x ^ b[i]!);
    const parts = seen.filter((p) => p.length === 32);
    for (let i = 0; i + 1 < parts.length; i++) seen.push(xor(parts[i]!, parts[i + 1]!));
    for (const v of seen) {
      if (v.length < 8) continue;
      const hex = Buffer.from(v).toString('hex');
      assert.ok(!text.includes(hex.slice(0, 16)), 'no key value in hex');
      assert.ok(
        !text.includes(Buffer.from(v).toString('base64').slice(0, 12)),
        'no key value in base64',
      );
    }
    assert.ok(!/"0":\d+,"1":\d+/.test(text), 'no byte arrays');
  } finally {
    Coprocessor.prototype.wrap = wrap;
    Coprocessor.prototype.loadNewKeyPart = load;
  }
});

test('the examples of docs/trace-format.md are what the implementation writes for their options (whole, or a tail)', () => {
  const doc = readFileSync(new URL('../docs/trace-format.md', import.meta.url), 'utf8');
  const examples = [...doc.matchAll(/<!-- example: (.*) -->\n```json\n([\s\S]*?)\n```/g)];
  assert.equal(examples.length, 3);
  for (const [, options, block] of examples) {
    const lines = toNdjson(simulateChange(JSON.parse(options!)).trace)
      .trim()
      .split('\n');
    const shown = block!.split('\n');
    assert.deepEqual(lines.slice(lines.length - shown.length), shown, `the example for ${options}`);
  }
});
