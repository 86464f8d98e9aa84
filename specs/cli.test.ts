// The CLI, run as a real process (the `tkds-cmk` command of bin/): every subcommand, its output files and exit status, and bad
// input (one clear line, exit status 2, never a stack trace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrace, simulateChange, toNdjson, type TraceEvent } from '../impl/index.ts';
import { OutputStream, checkOutput, writeOutput } from '../cli/files.ts';
import { UsageError, parseFlags, runFlags, runOptions } from '../cli/options.ts';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'tkds-cmk-cli-'));

const env = { ...process.env, NO_COLOR: '1' };

function cli(...args: string[]) {
  return cliWith({}, ...args);
}

/** The CLI with extra environment variables and standard input; `kill` after that many ms guards a run that would not end. */
function cliWith(
  extra: { env?: Record<string, string>; kill?: number; input?: string },
  ...args: string[]
) {
  const r = spawnSync(process.execPath, [join(root, 'bin/tkds-cmk.js'), ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...env, ...extra.env },
    ...(extra.kill ? { timeout: extra.kill } : {}),
    ...(extra.input !== undefined ? { input: extra.input } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Bad input: exit 2, exactly one line on stderr that says what was wrong, no stack trace. */
function assertUsageError(r: ReturnType<typeof cli>, says: RegExp) {
  assert.equal(r.status, 2, `exit status 2 expected; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(lines[0]!, /^tkds-cmk: /);
  assert.match(lines[0]!, says);
  assert.doesNotMatch(r.stderr, /\s+at .*\.ts:\d+/);
}

test('--help lists the commands, and each command has its own help with examples', () => {
  const main = cli('--help');
  assert.equal(main.status, 0);
  for (const c of ['run', 'plan', 'conform', 'statechart'])
    assert.match(main.stdout, new RegExp(`^  ${c} `, 'm'));
  for (const c of ['run', 'plan', 'conform', 'statechart']) {
    const r = cli(c, '--help');
    assert.equal(r.status, 0, c);
    assert.match(r.stdout, new RegExp(`^Usage: tkds-cmk ${c}`), c);
    assert.match(r.stdout, /Examples:/, c);
  }
});

test('run: a small change completes, writes the trace and the summary it names, and verifies every invariant', () => {
  const trace = join(work, 'small.ndjson');
  const summaryFile = join(work, 'small.json');
  const flags = ['--members', 'SYSA,SYSB', '--objects', '120', '--updates', '30', '--seed', '5'];
  const r = cli('run', ...flags, '--trace', trace, '--summary', summaryFile);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Outcome: completed/);
  assert.match(r.stdout, /suspension window/);
  assert.match(r.stdout, /^ {2}ok {3}NoLostUpdate$/m);
  assert.doesNotMatch(r.stdout, /FAIL/);
  assert.match(r.stdout, new RegExp(`Trace: +${trace.replace(/[.]/g, '\\.')}`));
  assert.match(r.stderr, /reencipher/, 'live progress on stderr');
  const events = parseTrace(readFileSync(trace, 'utf8'));
  assert.ok(events.some((e) => e.event === 'step' && e.step === 'finish' && e.phase === 'done'));
  const s = JSON.parse(readFileSync(summaryFile, 'utf8'));
  assert.equal(s.outcome, 'completed');
  assert.ok(
    s.counts.records >= 120,
    'every object record (and the token records) was re-enciphered',
  );
  assert.equal(s.keyCheckValues.equal, s.keyCheckValues.checked);
  assert.ok(s.keyCheckValues.checked > 0);
  assert.equal(s.traceEvents, events.length);
  // streamed to the file as emitted: byte for byte the trace the same run holds in memory
  const inMemory = simulateChange(runOptions(parseFlags(flags, runFlags).values));
  assert.equal(readFileSync(trace, 'utf8'), toNdjson(inMemory.trace));
});

test('run --json prints the summary on stdout; a crashed member before commit backs the change out', () => {
  const r = cli(
    'run',
    '--json',
    '--members',
    'SYSA,SYSB,SYSC',
    '--objects',
    '60',
    '--fault',
    'crash:SYSB@reload',
    '--trace',
    join(work, 'backout.ndjson'),
    '--summary',
    join(work, 'backout.json'),
  );
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.outcome, 'backedOut');
  assert.ok(s.invariants.every((i: { ok: boolean }) => i.ok));
});

test('plan: a good cluster would run; a bad one lists every reason and changes nothing', () => {
  const ok = cli('plan', '--objects', '50');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /would run/);
  assert.match(ok.stdout, /records to rewrap/);
  const bad = cli(
    'plan',
    '--members',
    'SYSA,SYSB:HCR7790,SYSC',
    '--new-key',
    'SYSC=uncommitted',
    '--target-state',
    'notEmpty',
  );
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /SYSB.*levelBelowHCR77A0/);
  assert.match(bad.stdout, /SYSC.*newNotCommitted/);
  assert.match(bad.stdout, /targetNotEmpty/);
});

/** A copy of `trace` with the first `switch` that `pick` chooses moved before the last `reload`. */
function switchBeforeLastReload(trace: string, pick: (e: TraceEvent) => boolean) {
  const events = parseTrace(readFileSync(trace, 'utf8'));
  const from = events.findIndex(pick);
  const lastReload = events.findLastIndex((e) => e.event === 'reload');
  assert.ok(from > lastReload && lastReload > 0);
  const moved = [...events];
  const [sw] = moved.splice(from, 1);
  moved.splice(lastReload, 0, { ...sw!, tick: events[lastReload]!.tick });
  const file = `${trace}.switch-before-reload.ndjson`;
  writeFileSync(file, toNdjson(moved.map((e, i) => ({ ...e, seq: i + 1 }))));
  return { file, line: lastReload + 1 };
}

test('conform: a real trace conforms; a corrupted one fails at its line; a malformed file is unusable', () => {
  const trace = join(work, 'conform.ndjson');
  assert.equal(
    cli('run', '-q', '--objects', '40', '--trace', trace, '--summary', join(work, 'c.json')).status,
    0,
  );
  const good = cli('conform', trace);
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /conforms/);

  const corrupt = switchBeforeLastReload(trace, (e) => e.event === 'switch');
  const bad = cli('conform', corrupt.file);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, new RegExp(`line ${corrupt.line}\\b`));
  assert.match(bad.stdout, /StagedBeforeSwitch/);
  assert.match(bad.stdout, /^FAIL invariants$/m);
  assert.match(bad.stdout, /^FAIL statechart$/m);

  const broken = join(work, 'broken.ndjson');
  writeFileSync(
    broken,
    readFileSync(trace, 'utf8').split('\n').slice(0, 3).join('\n') + '\n{"seq":4,\n',
  );
  assertUsageError(cli('conform', broken), /broken\.ndjson.*line 4/);
  assertUsageError(
    cli('conform', join(work, 'missing.ndjson')),
    /cannot read .*missing\.ndjson: ENOENT/,
  );
});

test('conform reads its trace as a stream: a FIFO or standard input is judged as lines arrive, its writer still open', async () => {
  const trace = join(work, 'stream.ndjson');
  const small = ['--members', 'SYSA,SYSB', '--objects', '20', '--updates', '3'];
  assert.equal(
    cli('run', '-q', ...small, '--trace', trace, '--summary', join(work, 'stream.json')).status,
    0,
  );
  const text = readFileSync(trace, 'utf8');
  const lines = text.trim().split('\n').length;

  // the whole trace through standard input conforms, as the file does
  const piped = cliWith({ input: text }, 'conform', '-');
  assert.equal(piped.status, 0, piped.stdout + piped.stderr);
  assert.match(piped.stdout, new RegExp(`^standard input conforms \\(${lines} events\\)$`, 'm'));
  assertUsageError(cliWith({ input: '' }, 'conform', '-'), /standard input: the trace is empty/);

  // a FIFO whose writer stays open after a bad line 4: conform names the line without waiting
  // for the end of the file (a reader of the whole file would wait for the writer, and be killed)
  const head = join(work, 'stream-head.ndjson');
  writeFileSync(head, text.split('\n').slice(0, 3).join('\n') + '\n{"seq":4,\n');
  const fifo = join(work, 'stream.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const writer = spawn('sh', ['-c', 'exec > "$2"; cat "$1"; exec sleep 60', 'sh', head, fifo], {
    stdio: 'ignore',
  });
  try {
    assertUsageError(
      cliWith({ kill: 30_000 }, 'conform', fifo),
      /stream\.fifo: trace line 4: not JSON/,
    );
  } finally {
    writer.kill();
  }

  // standard input from a writer that keeps it open after a bad line 4: the same
  const child = spawn(process.execPath, [join(root, 'bin/tkds-cmk.js'), 'conform', '-'], {
    cwd: work,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.write(text.split('\n').slice(0, 3).join('\n') + '\nnot a trace line\n');
  const guard = setTimeout(() => child.kill(), 30_000);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearTimeout(guard);
  child.stdin.destroy();
  assert.equal(code, 2, `exit 2 before the writer closes; stderr: ${stderr}`);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /^tkds-cmk: standard input: trace line 4: not JSON/);
});

test('conform --tla: TLC finds the trace a behaviour of the TLA+ spec; a member switching before the last reload is not', () => {
  const trace = join(work, 'tla.ndjson');
  assert.equal(
    cli(
      'run',
      '-q',
      '--members',
      'SYSA,SYSB',
      '--objects',
      '20',
      '--updates',
      '5',
      '--trace',
      trace,
      '--summary',
      join(work, 'tla.json'),
    ).status,
    0,
  );
  const good = cli('conform', trace, '--tla');
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /^ok {3}tla$/m);
  // read from standard input, TraceData written as the lines come: the same verdict
  const piped = cliWith({ input: readFileSync(trace, 'utf8') }, 'conform', '-', '--tla');
  assert.equal(piped.status, 0, piped.stdout + piped.stderr);
  assert.match(piped.stdout, /^ok {3}tla$/m);
  const corrupt = switchBeforeLastReload(trace, (e) => e.event === 'switch' && e.actor === 'SYSB');
  const bad = cli('conform', corrupt.file, '--tla');
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /^FAIL tla$/m);
  assert.match(bad.stdout, new RegExp(`line ${corrupt.line}\\b`));
});

test('statechart: renders the diagrams from the machines, the same as the committed ones', () => {
  const out = join(work, 'diagrams');
  const r = cli('statechart', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  for (const file of [
    'initiator.svg',
    'initiator.mmd',
    'member.svg',
    'member.mmd',
    'cluster.svg',
    'cluster.mmd',
    'README.md',
  ]) {
    assert.match(r.stdout, new RegExp(`wrote .*${file.replace('.', '\\.')}`));
    assert.equal(
      readFileSync(join(out, file), 'utf8'),
      readFileSync(join(root, 'docs/statechart', file), 'utf8'),
      file,
    );
  }
});

test('bad input: unknown commands and flags, bad numbers and fault specs get one clear line and exit 2', () => {
  assertUsageError(cli('frobnicate'), /unknown command 'frobnicate'/);
  assertUsageError(cli('run', '--objectz', '5'), /--objectz/);
  assertUsageError(
    cli('run', '--objects', 'many'),
    /--objects must be a whole number .* not 'many'/,
  );
  assertUsageError(
    cli('run', '--secure-fraction', '1.5'),
    /--secure-fraction must be a number from 0 to 1/,
  );
  assertUsageError(cli('run', '--members', 'SYSA,SYSA'), /member SYSA is listed twice/);
  assertUsageError(cli('run', '--members', 'SYSA:HCR9'), /level "HCR9" is not an ICSF FMID/);
  assertUsageError(cli('run', '--fault', 'crash:SYSZ@reload'), /no member named SYSZ/);
  assertUsageError(cli('run', '--fault', 'crash:SYSB@later'), /the step after @ must be one of/);
  assertUsageError(cli('run', '--fault', 'explode'), /--fault 'explode'/);
  assertUsageError(cli('plan', '--initiator', 'SYSQ'), /initiator SYSQ is not a member/);
  assertUsageError(cli('plan', '--new-key', 'SYSQ=empty'), /--new-key: no member named 'SYSQ'/);
  assertUsageError(cli('conform'), /conform needs a trace file/);
  assert.equal(existsSync(join(work, 'out')), false, 'nothing was written by refused commands');
});

/** Files a failed or finished write left behind next to its target: none may be a temporary file. */
function leftovers(dir: string) {
  return readdirSync(dir).filter((f) => f.endsWith('.tmp'));
}

test('--trace and --summary never replace a directory, a FIFO or a symlink; they are checked before the run', () => {
  const dir = mkdtempSync(join(work, 'outputs-'));
  const fifo = join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const real = join(dir, 'real.json');
  writeFileSync(real, 'keep me\n');
  const link = join(dir, 'link.ndjson');
  symlinkSync(real, link);
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  const small = ['--members', 'SYSA,SYSB', '--objects', '10', '--updates', '3'];

  // no -q: a run that started would print its progress on stderr, and assertUsageError wants one line
  assertUsageError(
    cli('run', ...small, '--trace', sub, '--summary', join(dir, 's.json')),
    /--trace .*sub is a directory, not a regular file/,
  );
  assertUsageError(
    cli('run', ...small, '--trace', join(dir, 't.ndjson'), '--summary', fifo),
    /--summary .*fifo is a FIFO, not a regular file/,
  );
  assertUsageError(
    cli('run', ...small, '--trace', link, '--summary', join(dir, 's.json')),
    /--trace .*link\.ndjson is a symbolic link, not a regular file/,
  );
  assertUsageError(
    cli('run', ...small, '--trace', real, '--summary', real),
    /--trace and --summary name the same file/,
  );
  assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
  assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink is still a symlink');
  assert.equal(readFileSync(real, 'utf8'), 'keep me\n');
  assert.deepEqual(
    readdirSync(dir).sort(),
    ['fifo', 'link.ndjson', 'real.json', 'sub'],
    'nothing written, no temporary file',
  );

  // an existing regular file is replaced, through a temporary file that does not stay
  const ok = cli('run', '-q', ...small, '--trace', real, '--summary', join(dir, 's.json'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(parseTrace(readFileSync(real, 'utf8')).length > 0);
  assert.deepEqual(leftovers(dir), []);
});

test('OutputStream: streamed through a temporary file; the old file stays until finish, and abandon leaves it as it was', () => {
  const dir = mkdtempSync(join(work, 'stream-'));
  const path = join(dir, 'trace.ndjson');
  writeFileSync(path, 'old\n');
  const line = `${'x'.repeat(99)}\n`; // 3 MB in all: the buffer is written out on the way
  const lines = 30_000;

  const failed = new OutputStream('--trace', path);
  for (let i = 0; i < lines; i++) failed.write(line);
  assert.equal(
    readdirSync(dir).length,
    2,
    'a temporary file beside the old one while it is written',
  );
  failed.abandon(); // the run failed midway
  assert.deepEqual(readdirSync(dir), ['trace.ndjson']);
  assert.equal(readFileSync(path, 'utf8'), 'old\n');

  const out = new OutputStream('--trace', path);
  for (let i = 0; i < lines; i++) out.write(line);
  assert.equal(readFileSync(path, 'utf8'), 'old\n');
  out.finish();
  out.abandon(); // (a no-op after finish)
  assert.deepEqual(readdirSync(dir), ['trace.ndjson']);
  assert.equal(readFileSync(path, 'utf8'), line.repeat(lines));
});

test('an output that fails once its temporary file is written leaves neither file behind', () => {
  const dir = mkdtempSync(join(work, 'write-error-'));
  const target = join(dir, 'became-a-directory.ndjson');
  checkOutput('--trace', target); // fine before the run
  mkdirSync(target); // and then, during the run, something else took the name
  assert.throws(
    () => writeOutput('--trace', target, 'text\n'),
    (e: Error) =>
      e instanceof UsageError &&
      /--trace .*became-a-directory\.ndjson is a directory/.test(e.message),
  );
  assert.deepEqual(readdirSync(dir), ['became-a-directory.ndjson']);
  assert.deepEqual(readdirSync(target), []);
});

test('a target equal to the active data set and a file as statechart --out are unusable input, not crashes', () => {
  assertUsageError(
    cli('run', '--target', 'CSF.TKDS'),
    /--target CSF\.TKDS is the active data set.*--target-state active/,
  );
  assertUsageError(
    cli('plan', '--active', 'X.Y', '--target', 'X.Y', '--target-state', 'notEmpty'),
    /--target X\.Y is the active data set/,
  );
  // with the target named as the active one on purpose, validate refuses the change
  const refused = cli('plan', '--target', 'CSF.TKDS', '--target-state', 'active');
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stdout, /targetIsActive/);

  const file = join(work, 'not-a-dir.txt');
  writeFileSync(file, 'text\n');
  assertUsageError(cli('statechart', '--out', file), /--out .*not-a-dir\.txt is not a directory/);
  assert.equal(readFileSync(file, 'utf8'), 'text\n');
});

test('conform --tla with TLA2TOOLS_JAR naming a file that is not tla2tools is unusable input, found before Java starts', () => {
  const trace = join(work, 'jar-check.ndjson');
  assert.equal(
    cli(
      'run',
      '-q',
      '--members',
      'SYSA',
      '--objects',
      '5',
      '--updates',
      '0',
      '--trace',
      trace,
      '--summary',
      join(work, 'jar-check.json'),
    ).status,
    0,
  );
  const text = join(work, 'tla2tools.txt');
  writeFileSync(text, 'not a jar\n');
  assertUsageError(
    cliWith({ env: { TLA2TOOLS_JAR: text } }, 'conform', trace, '--tla'),
    /TLA2TOOLS_JAR names .*tla2tools\.txt, which is not a jar/,
  );
  const zip = join(work, 'other.jar');
  writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(64)]));
  assertUsageError(
    cliWith({ env: { TLA2TOOLS_JAR: zip } }, 'conform', trace, '--tla'),
    /TLA2TOOLS_JAR names .*other\.jar, which has no tlc2\/TLC\.class/,
  );
  assertUsageError(
    cliWith({ env: { TLA2TOOLS_JAR: work } }, 'conform', trace, '--tla'),
    /TLA2TOOLS_JAR names .* which is not a jar/,
  );
});

test('workloads the simulation cannot carry are refused up front, saying what would work', () => {
  assertUsageError(
    cli('run', '--no-coprocessor', 'SYSB', '--updates', '50'),
    /--no-coprocessor SYSB.*--updates 0/,
  );
  const alone = cli(
    'run',
    '-q',
    '--no-coprocessor',
    'SYSB',
    '--updates',
    '0',
    '--objects',
    '10',
    '--trace',
    join(work, 'nocp.ndjson'),
    '--summary',
    join(work, 'nocp.json'),
  );
  assert.equal(alone.status, 0, alone.stderr);
  assert.match(alone.stdout, /refused: SYSB: noActiveCoprocessor/);
  // (today's scheduler would take hours before giving up: the kill guards that, and fails the test)
  const big = cliWith({ kill: 60_000 }, 'run', '--updates', '1000000');
  assertUsageError(
    big,
    /--updates 1000000 with 3 members needs about [\d,]+ simulated actions, more than the [\d,]+ a run leaves for updates.*use --updates \d+ or fewer/,
  );
  const most = /use --updates (\d+) or fewer/.exec(big.stderr)![1]!;
  assert.ok(Number(most) > 1000 && Number(most) < 1_000_000, most);
  assertUsageError(cli('run', '--updates', String(Number(most) + 1)), /--updates/);
  // what it says would work is taken (no run: the output file is a directory, checked next)
  assertUsageError(cli('run', '--updates', most, '--trace', work), /--trace .* is a directory/);
});

test('conform: a refused validate alone (no start, no cluster named) fails at its line, it does not crash; without a header it is unusable', () => {
  // the same refusal as the implementation writes it conforms
  const made = join(work, 'refused-made.ndjson');
  assert.equal(
    cli(
      'run',
      '-q',
      '--new-key',
      'SYSB=uncommitted',
      '--updates',
      '0',
      '--trace',
      made,
      '--summary',
      join(work, 'refused-made.json'),
    ).status,
    0,
  );
  const good = cli('conform', made);
  assert.equal(good.status, 0, good.stdout + good.stderr);

  const header = readFileSync(made, 'utf8').split('\n')[0]!;
  const refused =
    '{"seq":2,"tick":0,"event":"step","actor":"SYSA","change":"c1","phase":"done","result":"refused","step":"validate","refusals":[{"subject":"SYSB","reason":"newNotCommitted"}]}';
  const file = join(work, 'refused-alone.ndjson');
  writeFileSync(file, `${header}\n${refused}\n`);
  const r = cli('conform', file);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^FAIL statechart$/m);
  assert.match(
    r.stdout,
    /refused-alone\.ndjson does not conform: statechart broken at line 2 \(SYSA\): .*validate/,
  );

  writeFileSync(file, `${refused.replace('"seq":2', '"seq":1')}\n`);
  const bare = cli('conform', file);
  assert.equal(bare.status, 2);
  assert.equal(
    bare.stderr,
    `tkds-cmk: ${file}: trace line 1: the first line must be the header, got a step event\n`,
  );
});

test('stdout closed by its reader (tkds-cmk run | head -1) ends the command quietly', async () => {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin/tkds-cmk.js'),
      'run',
      '-q',
      '--objects',
      '50',
      '--updates',
      '5',
      '--trace',
      join(work, 'epipe.ndjson'),
      '--summary',
      join(work, 'epipe.json'),
    ],
    { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.destroy(); // the reader is gone before the first line
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
