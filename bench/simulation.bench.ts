// `npm run bench` (second part): the speed of the simulation itself, through the public API.
//   reencipher  records per second of wall time of the `reencipher` step (StepTiming.wallMs) in
//               simulateChange with the `npm start` workload (3 members, 4 tokens, secure
//               fraction 0.7, 300 dynamic updates every 8 ticks, seed 1), at 10k and 100k objects;
//   scheduler   seeded-driver steps (Simulation.step) per second with 10k, 100k and 1M update
//               arrivals pending (a change running on 1,000 objects; the first steps of the run,
//               up to STEP_LIMIT steps or TIME_LIMIT seconds);
//   1M updates  the Scheduler alone runs 1,000,000 update arrivals to the end on the seeded driver,
//               each arrival sending a delivery and setting a timer that the delivery cancels (3M
//               actions, 2M of them fired); one run, given up after GIVE_UP seconds;
//   dasd        MemoryDasd.put of 100,000 new records into an empty data set, in handle order (as
//               reencipher writes the target) and in random order (inserts in the middle).
// Each figure is the median of BENCH_RUNS runs (default 3; the 100k-object reencipher runs once),
// after one warm-up pass over the code.
import os from 'node:os';
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
const median = (xs: number[]): number => { const s = [...xs].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Records per second of the reencipher step, and the run's outcome. */
function reencipher(objects: number): number {
  const r = simulateChange({ seed: 1, dataSet: { tokens: 4, objects, secureFraction: 0.7 }, updates: { count: 300, every: 8 } });
  const step = r.steps.find((s) => s.step === 'reencipher');
  if (r.outcome !== 'completed' || !step) throw new Error(`reencipher bench: the change did not complete (${r.outcome})`);
  return r.counts.records / (step.wallMs / 1000);
}

/** Seeded-driver steps per second with `pending` update arrivals pending. */
function schedulerSteps(pending: number): number {
  const sim = new Simulation({ seed: 1, dataSet: { tokens: 4, objects: 1_000 }, updates: { count: pending, every: 8 } });
  sim.startChange();
  const start = now();
  let steps = 0;
  while (steps < STEP_LIMIT && now() - start < TIME_LIMIT && sim.step()) steps++;
  return steps / (now() - start);
}

/** Seconds the Scheduler takes to run `updates` arrivals (with their deliveries and timers) to the end. */
function millionUpdates(updates: number): string {
  const s = new Scheduler();
  const rng = new Rng(1);
  for (let i = 0; i < updates; i++) {
    s.add('arrival', 'update', () => {
      const timer = s.add('timer', 'retry', () => {}, { delay: 20 });
      s.add('deliver', 'deliver', () => s.cancel(timer), { delay: 0 });
    }, { delay: 8 * (i + 1) });
  }
  const start = now();
  let fired = 0;
  try {
    for (let id = s.pickNext(rng); id !== null; id = s.pickNext(rng)) {
      s.fire(id);
      if (++fired % 1000 === 0 && now() - start > GIVE_UP) return `gave up after ${GIVE_UP} s (${fmt(fired)} of ${fmt(updates * 2)} actions)`;
    }
  } catch (e) {
    return `fails after ${fmt(fired)} actions: ${e instanceof Error ? e.message : String(e)}`;
  }
  return `${(now() - start).toFixed(2)} s`;
}

/** MemoryDasd.put per second of `records` into an empty data set. */
function dasdPuts(records: readonly TkdsRecord[]): number {
  const dasd = new MemoryDasd('BENCH');
  dasd.allocate('BENCH', { by: 'bench' });
  const start = now();
  for (const r of records) dasd.put('BENCH', r, { by: 'bench' });
  const seconds = now() - start;
  if (dasd.count('BENCH') !== records.length) throw new Error('dasd bench: records lost');
  return records.length / seconds;
}

/** The median of `runs` runs of `f`, or the error that stopped it. */
function measure(f: () => number, runs = RUNS): string {
  try {
    return fmt(median(Array.from({ length: runs }, f)));
  } catch (e) {
    return `fails: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

const inOrder = generateRecords(new Rng(7), { tokens: 64, objects: 100_000, secureFraction: 0 }, () => { throw new Error('no secure values here'); });
const shuffled = [...inOrder];
const rng = new Rng(8);
for (let i = shuffled.length - 1; i > 0; i--) { const j = rng.int(i + 1); [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]; }

reencipher(10_000); // warm-up
schedulerSteps(10_000);
dasdPuts(shuffled.slice(0, 10_000));
console.log(`Simulation speed, median of ${RUNS} runs after a warm-up pass`);
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, single thread\n`);
const rows: [string, () => string][] = [
  ['reencipher records/s, 10k objects, 300 updates every 8', () => measure(() => reencipher(10_000))],
  ['reencipher records/s, 100k objects, 300 updates every 8', () => measure(() => reencipher(100_000), 1)],
  ['scheduler steps/s, 10k updates pending', () => measure(() => schedulerSteps(10_000))],
  ['scheduler steps/s, 100k updates pending', () => measure(() => schedulerSteps(100_000))],
  ['scheduler steps/s, 1M updates pending', () => measure(() => schedulerSteps(1_000_000))],
  ['Scheduler alone, 1,000,000 updates run to the end', () => millionUpdates(1_000_000)],
  ['MemoryDasd.put/s, 100k records in handle order', () => measure(() => dasdPuts(inOrder))],
  ['MemoryDasd.put/s, 100k records in random order', () => measure(() => dasdPuts(shuffled))],
];
for (const [name, f] of rows) console.log(`${name.padEnd(52)}${f().padStart(20)}`);
