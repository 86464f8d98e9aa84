// Per-system logs (docs/conformance.md "Multi-system logs"): real traces of the implementation,
// with faults and several members, split into one log per system (splitTrace) and merged back
// (mergeLogs) whatever the order the logs come in, are traces every oracle accepts (parseTrace,
// checkTrace, the statechart replay, and TLC for three of them), each log keeping its lines and
// their order. Logs that cannot be merged get one error naming the file and line. The
// `tkds-cmk merge` command is run as a real process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseTrace, simulateChange, toNdjson, type SimulateOptions } from '../impl/index.ts';
import { MergeError, mergeLogs, splitTrace } from '../impl/merge.ts';
import { invariantsOracle, statechartOracle, tlaOracle } from '../cli/oracles.ts';
import { tlcJar } from '../tla/tlc-runner.ts';
import { optionsArb } from './support/arbitraries.ts';

const members = (...names: string[]) => names.map((name) => ({ name }));
const data = { tokens: 2, objects: 12 };

const SCENARIOS = {
  'a member lost before commit and restarted, a duplicated backout (3 members, updates)': {
    seed: 2,
    members: members('SYSA', 'SYSB', 'SYSC'),
    dataSet: data,
    updates: { count: 4, every: 3 },
    faults: [
      { kind: 'crash', member: 'SYSB', at: 'reload', restartAfter: 5 },
      { kind: 'duplicate', message: 'backout', count: 1 },
    ],
  },
  'a member partitioned after commit rejoins, delayed reloadAcks (4 members, updates)': {
    seed: 1,
    members: members('SYSA', 'SYSB', 'SYSC', 'SYSD'),
    dataSet: data,
    updates: { count: 6, every: 2 },
    faults: [
      { kind: 'partition', member: 'SYSC', at: 'switch', restartAfter: 10 },
      { kind: 'delay', message: 'reloadAck', count: 2 },
    ],
  },
  'the initiator lost after commit: a takeover, a lost switchAck, the initiator restarts (3 members)':
    {
      seed: 1,
      members: members('SYSA', 'SYSB', 'SYSC'),
      dataSet: data,
      updates: { count: 4, every: 3 },
      faults: [
        { kind: 'crash', member: 'SYSA', at: 'switch', restartAfter: 6 },
        { kind: 'drop', message: 'switchAck', count: 1 },
      ],
    },
  'the initiator lost in reencipher and back: a takeover backs out (updates lost with it)': {
    seed: 3,
    members: members('SYSA', 'SYSB'),
    dataSet: data,
    updates: { count: 5, every: 2 },
    faults: [{ kind: 'crash', member: 'SYSA', at: 'reencipher', restartAfter: 4 }],
  },
  'a member expelled after its retries rejoins': {
    seed: 5,
    members: members('SYSA', 'SYSB'),
    dataSet: data,
    faults: [{ kind: 'drop', message: 'switch', count: 20 }],
  },
  'random drops, duplicates and delays (5 members, updates)': {
    seed: 21,
    members: members('SYSA', 'SYSB', 'SYSC', 'SYSD', 'SYSE'),
    dataSet: data,
    updates: { count: 8, every: 2 },
    faults: [{ kind: 'random', rate: 0.1, stopAfter: 60 }],
  },
} satisfies Record<string, SimulateOptions>;

const traceOf = (options: SimulateOptions) => toNdjson(simulateChange(options).trace);

/** The logs as files `SYSTEM.ndjson`, given in the order `rank` puts the systems in. */
function files(
  logs: ReadonlyMap<string, string>,
  rank: (system: string, i: number) => number = (_, i) => i,
): Map<string, string> {
  const entries = [...logs].map(([system, text], i) => ({
    file: `${system}.ndjson`,
    text,
    at: rank(system, i),
  }));
  return new Map(entries.sort((a, b) => a.at - b.at).map((e) => [e.file, e.text]));
}

/** Every order of `n` logs worth trying by hand: each rotation, forwards and backwards. */
function rotations(n: number): ((system: string, i: number) => number)[] {
  return Array.from(
    { length: 2 * n },
    (_, r) => (_s: string, i: number) => (r < n ? (i + r) % n : (n - 1 - i + r) % n),
  );
}

/** What the two oracles `tkds-cmk conform` runs without TLC find wrong. */
function fastVerdict(ndjson: string) {
  const events = parseTrace(ndjson);
  return [...invariantsOracle(events), ...statechartOracle(events)];
}

/** A log's lines as objects, and back (`seq` renumbered unless `seq` is false). */
type Obj = Record<string, unknown>;
const objects = (text: string): Obj[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Obj);
const ndjson = (lines: Obj[], seq = true) =>
  lines.map((l, i) => JSON.stringify(seq ? { ...l, seq: i + 1 } : l)).join('\n') + '\n';

/** Each message's fate (deliver, drop, duplicate, delay) comes after its send. */
function assertFatesAfterSends(trace: string) {
  const sent = new Set<string>();
  for (const e of parseTrace(trace)) {
    if (e.event === 'send') sent.add(e.id);
    if (
      e.event === 'deliver' ||
      e.event === 'drop' ||
      e.event === 'duplicate' ||
      e.event === 'delay'
    )
      assert.ok(sent.has(e.id), `line ${e.seq}: ${e.event} of ${e.id} before its send`);
  }
}

describe('real traces split into per-system logs and merged', () => {
  for (const [name, options] of Object.entries(SCENARIOS)) {
    it(`${name}: the same trace from the logs in any order, every line kept in its log's order, accepted by checkTrace and the statechart replay`, () => {
      const original = traceOf(options);
      assert.deepEqual(fastVerdict(original), [], 'the run itself conforms');
      const logs = splitTrace(original);
      assert.deepEqual(
        [...logs.keys()].sort(),
        [...new Set(['env', ...options.members.map((m) => m.name)])].sort(),
        'one log per system that wrote a line',
      );
      assert.equal(objects(logs.get('env')!)[0]!.event, 'header');

      const merged = mergeLogs(files(logs));
      for (const order of rotations(logs.size)) assert.equal(mergeLogs(files(logs, order)), merged);
      assert.deepEqual(
        splitTrace(merged),
        logs,
        'each log: the same lines, in its order, with its ticks',
      );
      assertFatesAfterSends(merged);
      assert.deepEqual(fastVerdict(merged), []);
    });
  }

  it('message faults only: the merge gives back the very trace the run wrote', () => {
    const original = traceOf(SCENARIOS['random drops, duplicates and delays (5 members, updates)']);
    assert.ok(
      parseTrace(original).filter((e) => e.actor === 'env').length > 5,
      'the run has message faults',
    );
    assert.equal(mergeLogs(files(splitTrace(original))), original);
  });

  it('the header in a file of its own, and logs without seq or with only the ticks that change, give the same trace', () => {
    const logs = splitTrace(
      traceOf(
        SCENARIOS[
          'a member lost before commit and restarted, a duplicated backout (3 members, updates)'
        ],
      ),
    );
    const merged = mergeLogs(files(logs));
    const [header, ...env] = objects(logs.get('env')!);
    const bare = new Map(
      [...logs].map(([system, text]) => {
        let last = 0;
        const lines = (system === 'env' ? env : objects(text)).map(({ seq: _, ...l }) => {
          const changes = l.tick !== last;
          last = l.tick as number;
          if (changes) return l;
          const { tick: _t, ...rest } = l;
          return rest;
        });
        return [system, ndjson(lines, false)];
      }),
    );
    bare.set('header', ndjson([header!]));
    assert.ok(
      objects(bare.get('SYSA')!).some((l) => !('tick' in l)) &&
        objects(bare.get('SYSA')!).every((l) => !('seq' in l)),
    );
    assert.equal(mergeLogs(files(bare)), merged);
  });
});

describe('TLC takes merged traces as behaviours of CoordinatedCMK', () => {
  const cases = [
    ['a member lost before commit and restarted, a duplicated backout (3 members, updates)', true],
    ['a member partitioned after commit rejoins, delayed reloadAcks (4 members, updates)', true],
    [
      'the initiator lost after commit: a takeover, a lost switchAck, the initiator restarts (3 members)',
      false,
    ],
  ] as const;
  for (const [name, reordered] of cases) {
    it(`${name}${reordered ? ' (the fault placed elsewhere in its tick than the run wrote it)' : ''}`, () => {
      const original = traceOf(SCENARIOS[name]);
      const merged = mergeLogs(files(splitTrace(original), (_, i) => -i));
      assert.equal(merged !== original, reordered);
      assert.deepEqual(tlaOracle(tlcJar(), merged), []);
    });
  }
});

describe('properties over random runs (specs/support/arbitraries.ts)', () => {
  it('whatever the order of the logs, the merged trace keeps every log and is accepted by the fast oracles when the run is', () => {
    fc.assert(
      fc.property(
        optionsArb,
        fc.array(fc.double({ noNaN: true }), { minLength: 6, maxLength: 6 }),
        (options, ranks) => {
          const original = traceOf(options);
          const logs = splitTrace(original);
          const merged = mergeLogs(files(logs, (_, i) => ranks[i]!));
          assert.deepEqual(splitTrace(merged), logs);
          assertFatesAfterSends(merged);
          if (fastVerdict(original).length === 0) assert.deepEqual(fastVerdict(merged), []);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("a system's clock off by some ticks: every log keeps its order, every message its send first, and ticks never go back", () => {
    fc.assert(
      fc.property(
        optionsArb,
        fc.nat(),
        fc.integer({ min: -30, max: 30 }),
        (options, pick, skew) => {
          const logs = splitTrace(traceOf(options));
          const systems = [...logs.keys()];
          const off = systems[pick % systems.length]!;
          const skewed = new Map(
            [...logs].map(([system, text]) => [
              system,
              system !== off
                ? text
                : ndjson(
                    objects(text).map((l) =>
                      l.event === 'header'
                        ? l
                        : { ...l, tick: Math.max(0, (l.tick as number) + skew) },
                    ),
                  ),
            ]),
          );
          const merged = mergeLogs(files(skewed));
          parseTrace(merged); // ticks never go back, seq 1, 2, ...
          assertFatesAfterSends(merged);
          const strip = (text: string) => objects(text).map(({ tick: _, ...l }) => l);
          const back = splitTrace(merged);
          for (const [system, text] of skewed)
            assert.deepEqual(strip(back.get(system)!), strip(text), system);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('logs that cannot be merged: one error naming the file and line', () => {
  const logs = splitTrace(
    traceOf({ seed: 3, members: members('SYSA', 'SYSB'), dataSet: { tokens: 1, objects: 2 } }),
  );
  const sysa = objects(logs.get('SYSA')!);
  const sysb = objects(logs.get('SYSB')!);
  const lineOf = (lines: Obj[], test: (l: Obj) => boolean) => lines.findIndex(test) + 1;
  const firstSend = sysa.find((l) => l.event === 'send')!;
  const firstAck = sysa.find((l) => l.event === 'deliver')!;
  /** The logs with some replaced (a null drops that log). */
  const withLogs = (changes: Record<string, string | null>) => {
    const out = new Map([...files(logs)]);
    for (const [file, text] of Object.entries(changes)) {
      if (text === null) out.delete(file);
      else out.set(file, text);
    }
    return out;
  };
  const without = (lines: Obj[], line: Obj) => ndjson(lines.filter((l) => l !== line));

  const cases: [string, Record<string, string | null>, RegExp][] = [
    [
      'a deliver with no send',
      { 'SYSA.ndjson': without(sysa, firstSend) },
      new RegExp(
        `^SYSB\\.ndjson line ${lineOf(sysb, (l) => l.id === firstSend.id)}: deliver of ${firstSend.id} \\(beginRouting from SYSA to SYSB\\) with no send of it in any log$`,
      ),
    ],
    [
      'a deliver whose sender has no log',
      { 'SYSA.ndjson': null },
      /^SYSB\.ndjson line \d+: deliver of m\d+ \(\w+ from SYSA to SYSB\) with no send of it in any log \(no log of SYSA was given\)$/,
    ],
    [
      'two logs that contradict each other (a cycle)',
      { 'SYSA.ndjson': ndjson([{ ...firstAck, tick: 0 }, ...sysa.filter((l) => l !== firstAck)]) },
      new RegExp(
        `^the logs contradict each other: no line can come next: SYSA\\.ndjson line 1 \\(deliver\\) waits for the send of ${firstAck.id} \\(SYSB\\.ndjson line \\d+\\); ` +
          `SYSB\\.ndjson line 1 \\(deliver\\) waits for the send of ${firstSend.id} \\(SYSA\\.ndjson line ${lineOf(sysa, (l) => l === firstSend) + 1}\\)$`,
      ),
    ],
    [
      'bad JSON',
      { 'SYSB.ndjson': ndjson(sysb.slice(0, 2)) + '{"seq":3,"tick":\n' },
      /^SYSB\.ndjson line 3: not JSON \(.+\)$/,
    ],
    [
      "a line whose actor is not the log's system",
      { 'SYSB.ndjson': ndjson([...sysb, { ...sysa.at(-1)!, tick: sysb.at(-1)!.tick }]) },
      new RegExp(
        `^SYSB\\.ndjson line ${sysb.length + 1}: a line of SYSA in the log of SYSB \\(a log holds one system's lines: the actor of its first line\\)$`,
      ),
    ],
    [
      'a line that is not a trace line',
      { 'SYSB.ndjson': ndjson([{ ...sysb[0]!, msg: 'hello' }, ...sysb.slice(1)]) },
      /^SYSB\.ndjson line 1: deliver\.msg must be one of beginRouting \| .*, got "hello"$/,
    ],
    [
      'no header',
      { 'env.ndjson': null },
      /^no header: give it as the first line of the env log, or as a file of its own$/,
    ],
    [
      'a second header',
      { 'header.ndjson': logs.get('env')! },
      /^(env|header)\.ndjson line 1: a second header \(the first is (header|env)\.ndjson line 1\)$/,
    ],
    [
      'a header after the first line',
      {
        'env.ndjson': null,
        'SYSB.ndjson': ndjson([
          ...sysb,
          { ...objects(logs.get('env')!)[0]!, tick: sysb.at(-1)!.tick },
        ]),
      },
      new RegExp(
        `^SYSB\\.ndjson line ${sysb.length + 1}: a header may only be the first line of its log`,
      ),
    ],
    [
      'a seq that is not the line number',
      { 'SYSB.ndjson': ndjson(sysb).replace('"seq":2,', '"seq":5,') },
      /^SYSB\.ndjson line 2: seq 5, but a log's seq \(where given\) is the line's number in its log, 2$/,
    ],
    [
      'a tick that goes back in its log',
      { 'SYSB.ndjson': ndjson([...sysb, { ...sysb.at(-1)!, tick: 0 }]) },
      new RegExp(
        `^SYSB\\.ndjson line ${sysb.length + 1}: tick 0 goes back from \\d+ \\(a log's tick hints never go back\\)$`,
      ),
    ],
    [
      'two logs of one system',
      { 'SYSB-again.ndjson': ndjson(sysb) },
      /^SYSB(-again)?\.ndjson: a second log of SYSB \(the first is SYSB(-again)?\.ndjson\)$/,
    ],
    [
      'a message sent twice',
      { 'SYSA.ndjson': ndjson([...sysa, { ...firstSend, tick: sysa.at(-1)!.tick }]) },
      new RegExp(
        `^SYSA\\.ndjson line ${sysa.length + 1}: a second send of ${firstSend.id} \\(the first is SYSA\\.ndjson line \\d+`,
      ),
    ],
    [
      'a system the header does not name',
      { 'SYSQ.ndjson': ndjson([{ ...sysb.at(-1)!, actor: 'SYSQ' }]) },
      /^SYSQ\.ndjson line 1: a log of SYSQ, not a member the header names \(SYSA, SYSB\)$/,
    ],
  ];
  for (const [what, changes, says] of cases) {
    it(what, () => {
      assert.throws(
        () => mergeLogs(withLogs(changes)),
        (e: Error) => {
          assert.ok(e instanceof MergeError, e.message);
          assert.match(e.message, says);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        },
      );
    });
  }

  it('the same logs, unchanged, merge', () => {
    assert.equal(
      mergeLogs(withLogs({})),
      traceOf({ seed: 3, members: members('SYSA', 'SYSB'), dataSet: { tokens: 1, objects: 2 } }),
    );
  });
});

describe('tkds-cmk merge, run as a real process', () => {
  const root = join(import.meta.dirname, '..');
  const work = mkdtempSync(join(tmpdir(), 'tkds-cmk-merge-'));
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(root, 'bin/tkds-cmk.js'), ...args], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** Bad input: exit 2 and one line on stderr that says what was wrong. */
  const assertUsageError = (r: ReturnType<typeof cli>, says: RegExp) => {
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tkds-cmk: /);
    assert.match(r.stderr.trim(), says);
  };
  const original = traceOf(
    SCENARIOS[
      'a member lost before commit and restarted, a duplicated backout (3 members, updates)'
    ],
  );
  const logs = files(splitTrace(original));
  const dir = join(work, 'logs');
  mkdirSync(dir);
  for (const [file, text] of logs) writeFileSync(join(dir, file), text);
  const paths = [...logs.keys()].map((f) => join('logs', f)).reverse();

  it('merges the logs into --out, written whole; the trace conforms; on stdout without --out', () => {
    const r = cli('merge', ...paths, '--out', 'run.ndjson');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      `merged 4 logs into run.ndjson (${original.split('\n').length - 1} lines)\n`,
    );
    assert.equal(readFileSync(join(work, 'run.ndjson'), 'utf8'), mergeLogs(logs));
    assert.deepEqual(
      readdirSync(work).filter((f) => f.endsWith('.tmp')),
      [],
    );
    const conform = cli('conform', 'run.ndjson');
    assert.equal(conform.status, 0, conform.stdout + conform.stderr);

    const out = cli('merge', ...[...paths].reverse());
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout, mergeLogs(logs));
  });

  it('has its help with examples, and the main help lists it', () => {
    const r = cli('merge', '--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: tkds-cmk merge LOG\.\.\. \[--out FILE\]/);
    assert.match(r.stdout, /Examples:/);
    assert.match(cli('--help').stdout, /^ {2}merge {8}/m);
  });

  it('unusable input: one line naming the file and line, exit 2, nothing written', () => {
    writeFileSync(join(work, 'broken.ndjson'), '{"seq":1,"tick":0,"event":"send"\n');
    assertUsageError(
      cli(
        'merge',
        ...paths.filter((p) => !p.endsWith('SYSB.ndjson')),
        'broken.ndjson',
        '--out',
        'never.ndjson',
      ),
      /^tkds-cmk: broken\.ndjson line 1: not JSON/,
    );
    assertUsageError(
      cli('merge', ...paths.filter((p) => !p.endsWith('SYSA.ndjson')), '--out', 'never.ndjson'),
      /^tkds-cmk: logs\/\w+\.ndjson line \d+: \w+ of m\d+ \(\w+ from SYSA to \w+\) with no send of it in any log \(no log of SYSA was given\)$/,
    );
    assertUsageError(cli('merge', '--out', 'never.ndjson'), /merge needs the logs to merge/);
    assertUsageError(
      cli('merge', ...paths, 'logs/missing.ndjson'),
      /cannot read logs\/missing\.ndjson: ENOENT/,
    );
    assertUsageError(cli('merge', ...paths, `./${paths[0]}`), /is given twice/);
    assertUsageError(
      cli('merge', ...paths, '--out', paths[1]!),
      /--out .* is one of the logs to merge/,
    );
    assertUsageError(
      cli('merge', ...paths, '--out', 'logs'),
      /--out logs is a directory, not a regular file/,
    );
    assert.equal(existsSync(join(work, 'never.ndjson')), false);
    assert.equal(
      readFileSync(join(work, paths[1]!), 'utf8'),
      logs.get(paths[1]!.slice('logs/'.length)),
    );
    assert.deepEqual(
      readdirSync(work).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});
