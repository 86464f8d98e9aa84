// `npm run bench` (second part): the speed of the simulation itself, through the public API.
//   reencipher  records per second of the `reencipher` step in simulateChange with the
//               `npm start` workload (3 members, 4 tokens, secure fraction 0.7, 300 dynamic
//               updates every 8 ticks, seed 1), at 10k and 100k objects (the step is timed from
//               its `step start` to its `step done` trace event);
//   scheduler   seeded-driver steps (Simulation.step) per second with 10k, 100k and 1M update
//               arrivals pending (a change running on 1,000 objects; the first steps of the run,
//               up to STEP_LIMIT steps or TIME_LIMIT seconds);
//   1M updates  the Scheduler alone runs 1,000,000 update arrivals to the end on the seeded driver,
//               each arrival sending a delivery and setting a timer that the delivery cancels (3M
//               actions, 2M of them fired); one run, given up after GIVE_UP seconds;
//   dasd        MemoryDasd.put of 100,000 new records into an empty data set, in handle order (as
//               reencipher writes the target) and in random order (inserts in the middle);
//   full run    `tkds-cmk run` (the CLI, the default update workload, the trace streamed to a file)
//               in a process of its own at 10k and 1M objects: the suspension window (`suspend` to
//               `resume`, wall ms, from the summary) and the process's peak RSS (bench/max-rss.ts).
// Rates are given per second of wall time and per second of this process's CPU time (user +
// system, process.cpuUsage): on a shared machine the wall figure falls with the load, the CPU
// figure much less. Each is the median of BENCH_RUNS runs (default 3), after one warm-up pass over
// the code.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { MemoryDasd } from '../impl/dasd.ts';
import { Rng } from '../impl/rng.ts';
import { Simulation, simulateChange } from '../impl/simulation.ts';
import { Scheduler } from '../impl/sysplex.ts';
import { generateRecords, type TkdsRecord } from '../impl/tkds.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const STEP_LIMIT = 50_000;
const TIME_LIMIT = 3;
const GIVE_UP = 60;
const now = (): number => performance.now() / 1000;
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** How many things were done in how many seconds of wall and of CPU time. */
interface Timed {
  count: number;
  wall: number;
  cpu: number;
}
/** Starts a clock; calling the result stops it. */
function clock(): (count: number) => Timed {
  const w = now();
  const c = cpu();
  return (count) => ({ count, wall: now() - w, cpu: cpu() - c });
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The reencipher step of a change on `objects` objects. */
function reencipher(objects: number): Timed {
  let stop: ((count: number) => Timed) | null = null;
  let timed: Timed | null = null;
  const r = simulateChange({
    seed: 1,
    dataSet: { tokens: 4, objects, secureFraction: 0.7 },
    updates: { count: 300, every: 8 },
    onEvent: (e) => {
      if (e.event !== 'step' || e.step !== 'reencipher') return;
      if (e.phase === 'start') stop = clock();
      else if (stop) timed = stop(0);
    },
  });
  if (r.outcome !== 'completed' || !timed)
    throw new Error(`reencipher bench: the change did not complete (${r.outcome})`);
  return { ...(timed as Timed), count: r.counts.records };
}

/** Seeded-driver steps with `pending` update arrivals pending. */
function schedulerSteps(pending: number): Timed {
  const sim = new Simulation({
    seed: 1,
    dataSet: { tokens: 4, objects: 1_000 },
    updates: { count: pending, every: 8 },
  });
  sim.startChange();
  const start = now();
  const stop = clock();
  let steps = 0;
  while (steps < STEP_LIMIT && now() - start < TIME_LIMIT && sim.step()) steps++;
  return stop(steps);
}

/** Seconds the Scheduler takes to run `updates` arrivals (with their deliveries and timers) to the end. */
function millionUpdates(updates: number): string {
  const s = new Scheduler();
  const rng = new Rng(1);
  for (let i = 0; i < updates; i++) {
    s.add(
      { kind: 'arrival', update: `u${i}`, member: 'SYSA' },
      () => {
        const timer = s.add(
          { kind: 'timer', timer: 'routeRetry', update: `u${i}`, member: 'SYSA' },
          () => {},
          { delay: 20 },
        );
        const message = {
          id: `m${i}`,
          type: 'routeUpdate' as const,
          from: 'SYSA',
          to: 'SYSB',
          change: null,
          body: {},
        };
        s.add({ kind: 'deliver', message }, () => s.cancel(timer), { delay: 0 });
      },
      { delay: 8 * (i + 1) },
    );
  }
  const start = now();
  const stop = clock();
  let fired = 0;
  try {
    for (let id = s.pickNext(rng); id !== null; id = s.pickNext(rng)) {
      s.fire(id);
      if (++fired % 1000 === 0 && now() - start > GIVE_UP)
        return `gave up after ${GIVE_UP} s (${fmt(fired)} of ${fmt(updates * 2)} actions)`;
    }
  } catch (e) {
    return `fails after ${fmt(fired)} actions: ${e instanceof Error ? e.message : String(e)}`;
  }
  const t = stop(fired);
  return `${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`;
}

/** MemoryDasd.put of `records` into an empty data set. */
function dasdPuts(records: readonly TkdsRecord[]): Timed {
  const dasd = new MemoryDasd('BENCH');
  dasd.allocate('BENCH', { by: 'bench' });
  const stop = clock();
  for (const r of records) dasd.put('BENCH', r, { by: 'bench' });
  const t = stop(records.length);
  if (dasd.count('BENCH') !== records.length) throw new Error('dasd bench: records lost');
  return t;
}

/** A full `tkds-cmk run` on `objects` objects in a process of its own: its suspension window and peak RSS. */
function fullRun(objects: number): { suspensionMs: number; maxRss: number } {
  const dir = mkdtempSync(join(os.tmpdir(), 'tkds-cmk-bench-'));
  try {
    const root = join(import.meta.dirname, '..');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        join(root, 'bench/max-rss.ts'),
        join(root, 'cli/tkds-cmk.ts'),
        'run',
        '--json',
        '--objects',
        String(objects),
        '--trace',
        join(dir, 'trace.ndjson'),
        '--summary',
        join(dir, 'summary.json'),
      ],
      { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    if (r.status !== 0) throw new Error(`run --objects ${objects}: exit ${r.status}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout) as { outcome: string; suspension: { wallMs: number } };
    if (summary.outcome !== 'completed')
      throw new Error(`run --objects ${objects}: the change did not complete (${summary.outcome})`);
    return {
      suspensionMs: summary.suspension.wallMs,
      maxRss: Number(/^maxRSS (\d+)$/m.exec(r.stderr)![1]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The median rates per wall second and per CPU second of `runs` runs of `f`, or the error that stopped it. */
function measure(f: () => Timed, runs = RUNS): string {
  try {
    const ts = Array.from({ length: runs }, f);
    return `${fmt(median(ts.map((t) => t.count / t.wall))).padStart(12)}${fmt(median(ts.map((t) => t.count / t.cpu))).padStart(12)}`;
  } catch (e) {
    return `fails: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

const inOrder = generateRecords(
  new Rng(7),
  { tokens: 64, objects: 100_000, secureFraction: 0 },
  () => {
    throw new Error('no secure values here');
  },
);
const shuffled = [...inOrder];
const rng = new Rng(8);
for (let i = shuffled.length - 1; i > 0; i--) {
  const j = rng.int(i + 1);
  [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
}

reencipher(10_000); // warm-up
schedulerSteps(10_000);
dasdPuts(shuffled.slice(0, 10_000));
console.log(`Simulation speed, median of ${RUNS} runs after a warm-up pass`);
console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, single thread, load average ${os.loadavg()[0]!.toFixed(1)}\n`,
);
console.log(`${'per second'.padEnd(56)}${'wall'.padStart(12)}${'CPU'.padStart(12)}`);
const rows: [string, () => string][] = [
  [
    'reencipher records/s, 10k objects, 300 updates every 8',
    () => measure(() => reencipher(10_000)),
  ],
  [
    'reencipher records/s, 100k objects, 300 updates every 8',
    () => measure(() => reencipher(100_000)),
  ],
  ['scheduler steps/s, 10k updates pending', () => measure(() => schedulerSteps(10_000))],
  ['scheduler steps/s, 100k updates pending', () => measure(() => schedulerSteps(100_000))],
  ['scheduler steps/s, 1M updates pending', () => measure(() => schedulerSteps(1_000_000))],
  ['Scheduler alone, 1,000,000 updates run to the end', () => millionUpdates(1_000_000)],
  ['MemoryDasd.put/s, 100k records in handle order', () => measure(() => dasdPuts(inOrder))],
  ['MemoryDasd.put/s, 100k records in random order', () => measure(() => dasdPuts(shuffled))],
];
for (const [name, f] of rows) console.log(`${name.padEnd(56)}${f().padStart(24)}`);

// The suspension window and peak RSS of full runs, side by side (10k: median of RUNS; 1M: one run).
const small = Array.from({ length: RUNS }, () => fullRun(10_000));
const large = fullRun(1_000_000);
const window10k = median(small.map((r) => r.suspensionMs));
const mib = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MiB`;
console.log(
  `\n${'tkds-cmk run, default workload'.padEnd(40)}${'10k objects'.padStart(16)}${'1M objects'.padStart(16)}`,
);
console.log(
  `${'suspension window, wall ms'.padEnd(40)}${window10k.toFixed(1).padStart(16)}${large.suspensionMs.toFixed(1).padStart(16)}   1M / 10k: ${(large.suspensionMs / window10k).toFixed(2)}x`,
);
console.log(
  `${'peak RSS'.padEnd(40)}${mib(median(small.map((r) => r.maxRss))).padStart(16)}${mib(large.maxRss).padStart(16)}`,
);
