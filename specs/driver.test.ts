// The language-neutral driver (docs/mbt.md): the reference implementation, run as a real child
// process (driver/reference.ts) that speaks the driver protocol in JSON lines, follows the cluster
// statechart's transition-cover paths through the harness (driver/harness.ts), each path's trace
// conforms to every oracle, and the transitions executed through the process are exactly those the
// in-process adapter executes on the same paths; TLC checks the traces of every cover and faults
// path, 50 in one TLC run (the failure names the path and the first rejected line). An implementation that breaks the protocol (exits,
// writes what is not JSON, answers another request, refuses a command, says nothing) fails the
// harness with one line naming it, and is never left running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { leafOf, type ClusterContext } from '../model/cluster.ts';
import { locateJar } from '../tla/tlc-runner.ts';
import { executedCoverage, runPath } from '../driver/adapter.ts';
import { toNdjson, type TraceEvent } from '../impl/index.ts';
import {
  checkPathTraces,
  ChildImplementation,
  drive,
  DriverError,
  type DriveResult,
  type PathRun,
} from '../driver/harness.ts';
import { pathsDocument, type ExportedPath } from '../driver/paths.ts';
import { SimulatedImplementation } from '../driver/simulated.ts';

const root = join(import.meta.dirname, '..');
const REFERENCE = [process.execPath, '--import', 'tsx', join(root, 'driver/reference.ts')];
const doc = pathsDocument('cluster', 'cover');

const summary = (coverage: DriveResult['coverage']) =>
  Object.entries(coverage)
    .map(([m, c]) => `${m} ${c.covered}/${c.total}`)
    .join(', ');

/** A path's trace conforms: else the path and its first violation, with its trace line. */
function assertConforms(run: PathRun): void {
  const v = run.violations[0];
  assert.equal(run.failure, null, run.description);
  assert.equal(
    v,
    undefined,
    v &&
      `${run.description}: ${v.check}${'rule' in v ? ` ${v.rule} at trace line ${v.line}` : ''}: ${v.detail}`,
  );
}

/** Is a process with this id running? */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

describe('the reference implementation as a child process, through the harness', () => {
  let result: DriveResult;
  before(async () => {
    result = await drive(REFERENCE, doc, { jar: locateJar() });
  });

  it('follows every transition-cover path of the cluster statechart, and every trace conforms (invariants, statechart, TLC in batches)', (t) => {
    assert.equal(result.runs.length, doc.paths.length);
    assert.ok(result.runs.length >= 20);
    for (const run of result.runs) {
      assertConforms(run);
      assert.ok(run.traceLines > run.steps, `${run.description}: ${run.traceLines} trace lines`);
    }
    t.diagnostic(
      `${result.runs.length} paths, ${result.runs.reduce((n, r) => n + r.steps, 0)} steps, ${result.runs.reduce((n, r) => n + r.traceLines, 0)} trace lines`,
    );
  });

  it('executes exactly the transitions the in-process adapter executes on the same paths', async (t) => {
    const inProcess = new Set<string>();
    const impl = new SimulatedImplementation();
    for (const path of doc.paths) await runPath(impl, path, { executed: inProcess });
    t.diagnostic(`executed transition coverage (child process): ${summary(result.coverage)}`);
    t.diagnostic(
      `executed transition coverage (in process): ${summary(executedCoverage(inProcess))}`,
    );
    assert.deepEqual([...result.executed].sort(), [...inProcess].sort());
    assert.deepEqual(result.coverage, executedCoverage(inProcess));
    assert.ok(result.coverage.initiator.covered > 40 && result.coverage.member.covered > 20);
    // the cluster transitions of the other faults are the faults set's (below)
    assert.deepEqual(
      result.coverage.cluster.missing.filter(
        (m) => !/ on (duplicate|delay|partition|heal|rivalStart|notice) /.test(m),
      ),
      [],
    );
  });

  it('follows every path of the faults set (duplicate, delay, partition, a second initiator), every trace conforms (TLC too), and with the cover set executes every cluster transition', async (t) => {
    const faults = await drive(REFERENCE, pathsDocument('cluster', 'faults'), {
      jar: locateJar(),
    });
    for (const run of faults.runs) assertConforms(run);
    const executed = new Set([...result.executed, ...faults.executed]);
    t.diagnostic(
      `faults set: ${faults.runs.length} paths; executed: ${summary(executedCoverage(executed))}`,
    );
    const cluster = executedCoverage(executed).cluster;
    assert.equal(cluster.covered, cluster.total, cluster.missing.join('; '));
    // what `drive` requires by default: every transition the two sets' paths take
    const required = [...doc.paths, ...pathsDocument('cluster', 'faults').paths].flatMap(
      (p) => p.covers,
    );
    assert.deepEqual(
      required.filter((t) => !executed.has(t)),
      [],
    );
  });
});

describe("the paths' traces checked in one TLC run (checkPathTraces)", () => {
  it('a broken trace among conforming ones is rejected at its own line, the others accepted', async () => {
    const traces: TraceEvent[][] = [];
    for (const path of doc.paths.slice(0, 3)) {
      const impl = new SimulatedImplementation();
      await runPath(impl, path);
      traces.push(impl.trace);
    }
    // the second one with its applyDelta lines removed: its initiator's reload leaves the spec
    const broken = traces[1]!
      .filter((e) => !(e.event === 'step' && e.step === 'applyDelta'))
      .map((e, i) => ({ ...e, seq: i + 1 }));
    const reload = broken.find((e) => e.event === 'reload' && e.actor === 'SYSA')!;
    assert.ok(reload, 'the path reloads');
    const found = checkPathTraces([traces[0]!, broken, traces[2]!], locateJar());
    assert.deepEqual(found[0], []);
    assert.deepEqual(found[2], []);
    const tla = found[1]!.filter((v) => v.check === 'tla');
    assert.deepEqual(
      tla.map((v) => ['line' in v && v.line, 'rule' in v && v.rule]),
      [[reload.seq, 'CoordinatedCMK']],
      JSON.stringify(found[1]),
    );
    assert.match(toNdjson(broken).split('\n')[reload.seq - 1]!, /"event":"reload"/);
  });

  it('so does a restart before the initiator heard the member left (a loss noticed late)', async () => {
    const faults = pathsDocument('cluster', 'faults');
    const late = faults.paths.filter((p) =>
      p.steps.some(
        (s, i) =>
          s.event.type === 'restart' &&
          (p.steps[i - 1]!.state.context as ClusterContext).unnoticed.length > 0,
      ),
    );
    assert.ok(late.length > 0, 'no faults path restarts a member before its loss is noticed');
    const run = await drive(REFERENCE, { ...faults, paths: late }, { jar: locateJar() });
    for (const r of run.runs) {
      assert.equal(r.failure, null, r.description);
      assert.deepEqual(r.violations, [], r.description);
    }
  });
});

describe('a path replayed through the driver', () => {
  const path = doc.paths.find((p) => p.steps.some((s) => s.event.type === 'crash')) as ExportedPath;
  let child: ChildImplementation;
  before(() => {
    child = new ChildImplementation(REFERENCE);
  });
  after(() => child.close());

  it("reaches the state the path's last step expects", async () => {
    await runPath(child, path);
    const end = path.steps.at(-1)!.state.context as ClusterContext;
    const { view } = await child.send('observe', {});
    assert.deepEqual(
      view.members.map((m) => [m.name, m.up, m.state]),
      Object.entries(end.members).map(([name, part]) => [
        name,
        part.value !== 'down',
        leafOf(part.value),
      ]),
    );
    assert.equal(view.record.change, end.initiator.context.record.change);
  });

  it('and fails, naming the step and the observable, when the implementation does not reach it', async () => {
    const wrong = JSON.parse(JSON.stringify(path)) as {
      steps: { state: { context: { members: Record<string, { value: unknown }> } } }[];
    };
    const last = wrong.steps.length - 1;
    const members = wrong.steps[last]!.state.context.members;
    const up = Object.keys(members).findIndex((name) => members[name]!.value !== 'down');
    const name = Object.keys(members)[up]!;
    members[name] = { ...members[name]!, value: 'down' };
    await assert.rejects(runPath(child, wrong as unknown as ExportedPath), (e: Error) => {
      assert.ok(e.message.startsWith(`step ${last} (`), e.message);
      assert.ok(
        e.message.endsWith(
          `): members[${up}].up: the implementation shows true, the model says false`,
        ),
        e.message,
      );
      return true;
    });
  });
});

describe('an implementation that breaks the protocol fails the harness with one line, and is not left running', () => {
  const fake = (script: string) => [process.execPath, '-e', script];
  /** Answers each request with `reply(id)`. */
  const answering = (reply: string) =>
    fake(
      `require('readline').createInterface({input: process.stdin}).on('line', (l) => { const id = JSON.parse(l).id; process.stdout.write(${reply} + '\\n'); })`,
    );

  const cases: [string, string[], RegExp, number?][] = [
    ['it exits early', fake('process.exit(3)'), /^the implementation exited \(code 3\)/],
    [
      'it exits while a request waits, after a word on stderr',
      fake(
        `process.stdin.once('data', () => { console.error('out of memory'); process.exit(4); })`,
      ),
      /^the implementation exited \(code 4\) before it answered init; its last line on stderr: out of memory$/,
    ],
    [
      'it writes what is not JSON',
      answering(`'hello'`),
      /^line 1 of its stdout is not JSON: hello$/,
    ],
    [
      'it answers a request never sent',
      answering(`JSON.stringify({ id: 99, ok: true })`),
      /^line 1 of its stdout answers request 99, but request 1 \(init\) is waiting$/,
    ],
    [
      'it refuses a command it does not know',
      answering(`JSON.stringify({ id, ok: false, error: 'unknown command "init"' })`),
      /^the implementation refused init: unknown command "init"$/,
    ],
    [
      'its answer lacks the field the command needs',
      answering(`JSON.stringify({ id, ok: true, trace: [] })`),
      /^line 2 of its stdout: the answer to observe needs "view", an object \(found undefined\)$/,
    ],
    [
      'it says nothing',
      fake('setInterval(() => {}, 1000)'),
      /^no answer to init within 300 ms$/,
      300,
    ],
    ['it cannot be started', ['/nonexistent/impl'], /^cannot run '\/nonexistent\/impl': ENOENT$/],
  ];
  for (const [what, command, says, timeoutMs] of cases) {
    it(what, { timeout: 20_000 }, async () => {
      const child = new ChildImplementation(command, { timeoutMs: timeoutMs ?? 10_000 });
      const failed = async () => {
        await child.send('init', {
          setup: {
            members: [],
            dataSet: { tokens: 1, objects: 1 },
            seed: 1,
            chunk: 1,
            retries: 1,
            ioErrors: [],
          },
        });
        await child.send('observe', {});
      };
      await assert.rejects(failed(), (e: Error) => {
        assert.ok(e instanceof DriverError, String(e));
        assert.match(e.message, says);
        assert.equal(e.message.split('\n').length, 1);
        return true;
      });
      await child.close();
      if (child.pid !== undefined) assert.equal(running(child.pid), false, 'the child still runs');
    });
  }

  it(
    'the reference itself refuses an unknown command, and a command without its field, by name',
    { timeout: 20_000 },
    async () => {
      for (const [type, says] of [
        [
          'teleport',
          /^DriverError: the implementation refused teleport: unknown command "teleport"$/,
        ],
        ['fire', /^DriverError: the implementation refused fire: fire needs "action"$/],
      ] as const) {
        const child = new ChildImplementation(REFERENCE);
        await assert.rejects(child.send(type as 'fire', {} as never), says);
        await child.close();
        assert.equal(running(child.pid!), false);
      }
    },
  );

  it(
    'drive() rejects with the DriverError and kills the child that would go on running',
    { timeout: 20_000 },
    async () => {
      const pidFile = join(mkdtempSync(join(tmpdir(), 'tkds-cmk-driver-')), 'pid');
      const stubborn = fake(
        `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); process.stdin.once('data', () => console.log('{oops')); setInterval(() => {}, 1000)`,
      );
      await assert.rejects(drive(stubborn, doc), {
        name: 'DriverError',
        message: 'line 1 of its stdout is not JSON: {oops',
      });
      assert.equal(running(Number(readFileSync(pidFile, 'utf8'))), false, 'the child still runs');
    },
  );
});

describe('tkds-cmk drive', () => {
  const work = mkdtempSync(join(tmpdir(), 'tkds-cmk-drive-'));
  const file = join(work, 'two.json');
  writeFileSync(file, JSON.stringify({ ...doc, paths: doc.paths.slice(0, 2) }));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin/tkds-cmk.js'), 'drive', ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
    });

  it('plays the paths of a file on the reference process and reports executed coverage (exit 0)', () => {
    const r = cli('--paths', file, '--', ...REFERENCE);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok {3}path 1\/2 \(\d+ steps, \d+ trace lines\)$/m);
    assert.match(
      r.stdout,
      /^2\/2 paths followed to the end with conforming traces \(invariants, statechart\)$/m,
    );
    assert.match(
      r.stdout,
      /^executed transition coverage: initiator \d+\/\d+, member \d+\/\d+, cluster \d+\/\d+$/m,
    );
  });

  it('a narrowed run (--limit) executes less than the paths of the set take: exit 1, each named', () => {
    const r = cli('--paths', file, '--limit', '1', '--', ...REFERENCE);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^1\/1 paths followed to the end with conforming traces/m);
    const [, done, total] =
      /^required: (\d+)\/(\d+) transitions the set's 2 paths take, executed$/m.exec(r.stdout)!;
    assert.ok(Number(done) < Number(total), r.stdout);
    const named = [...r.stdout.matchAll(/^ {2}never executed: (.+)$/gm)].map((m) => m[1]);
    const second = doc.paths[1]!.covers.filter((t) => !doc.paths[0]!.covers.includes(t));
    assert.deepEqual(named.sort(), [...new Set(second)].sort());
  });

  it('by default plays the cover and faults sets, and the reference executes all they take (exit 0)', () => {
    const r = cli('--', ...REFERENCE);
    assert.equal(r.status, 0, r.stdout.split('\n').slice(-12).join('\n') + r.stderr);
    const paths = doc.paths.length + pathsDocument('cluster', 'faults').paths.length;
    assert.match(r.stdout, new RegExp(`^${paths}/${paths} paths followed to the end`, 'm'));
    const [, done, total] = /^required: (\d+)\/(\d+) transitions/m.exec(r.stdout)!;
    assert.equal(done, total);
    assert.doesNotMatch(r.stdout, /never executed/);
  });

  it('an implementation that breaks the protocol: exit 1, one line on stderr', () => {
    const r = cli('--paths', file, '--', process.execPath, '-e', 'process.exit(5)');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tkds-cmk: drive: the implementation exited \(code 5\)[^\n]*\n$/);
  });

  it('unusable input: exit 2, one line naming it', () => {
    const notCluster = join(work, 'member.json');
    writeFileSync(notCluster, JSON.stringify(pathsDocument('member', 'cover')));
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...doc, version: 9 }));
    for (const [args, says] of [
      [['--paths', file], /drive needs the command that runs the implementation/],
      [
        ['--paths', bad, '--', 'x'],
        /--paths .*bad.json: version: this tool reads version 3, found 9/,
      ],
      [['--paths', notCluster, '--', 'x'], /the harness plays cluster paths, not member paths/],
      [['--paths', file, '--limit', '0', '--', 'x'], /--limit must be a whole number from 1/],
      [
        ['--paths', file, '--set', 'cover', '--', 'x'],
        /--set chooses generated paths; --paths FILE brings its own/,
      ],
    ] as const) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^tkds-cmk: [^\n]+\n$/);
      assert.match(r.stderr, says);
    }
  });
});
