// Determinism check for performance work: runs a fixed set of seeded scenarios through the public
// API (simulateChange, and a Simulation driven by hand) and prints the sha256 of each run's trace
// and result (wall times left out). A change that is meant to leave behaviour unchanged must print
// the same lines before and after:
//
//   npx tsx bench/trace-hashes.ts > /tmp/before.txt   (on the base commit)
//   npx tsx bench/trace-hashes.ts > /tmp/after.txt && diff /tmp/before.txt /tmp/after.txt
//
// `--quick` skips the two large runs.
import crypto from 'node:crypto';
import {
  Simulation,
  simulateChange,
  type SimulateOptions,
  type SimulationResult,
} from '../impl/simulation.ts';

const quick = process.argv.includes('--quick');
const updates = (count: number, every: number) => ({ updates: { count, every } });
const small = { dataSet: { tokens: 3, objects: 400 } };

const scenarios: [string, SimulateOptions][] = [];
for (const seed of [1, 2, 3, 4, 5, 6, 7, 8])
  scenarios.push([`plain seed ${seed}`, { seed, ...small, ...updates(60, 3) }]);
for (const seed of [11, 12, 13, 14, 15, 16])
  scenarios.push([
    `random faults seed ${seed}`,
    { seed, ...small, ...updates(50, 2), faults: [{ kind: 'random', rate: 0.08 }] },
  ]);
for (const seed of [21, 22, 23])
  scenarios.push([`all updates due at once seed ${seed}`, { seed, ...small, ...updates(120, 0) }]);
for (const at of [
  'beginRouting',
  'reencipher',
  'applyDelta',
  'reload',
  'switch',
  'finish',
] as const) {
  scenarios.push([
    `crash SYSB at ${at}`,
    {
      seed: 31,
      ...small,
      ...updates(40, 4),
      faults: [{ kind: 'crash', member: 'SYSB', at, restartAfter: 30 }],
    },
  ]);
  scenarios.push([
    `crash initiator at ${at}`,
    {
      seed: 32,
      ...small,
      ...updates(40, 4),
      faults: [{ kind: 'crash', member: 'SYSA', at, restartAfter: 50 }],
    },
  ]);
  scenarios.push([
    `partition SYSC at ${at}`,
    {
      seed: 33,
      ...small,
      ...updates(40, 4),
      faults: [{ kind: 'partition', member: 'SYSC', at, restartAfter: 200 }],
    },
  ]);
  scenarios.push([
    `ioError at ${at}`,
    { seed: 34, ...small, ...updates(20, 4), faults: [{ kind: 'ioError', at }] },
  ]);
}
scenarios.push([
  'drop/duplicate/delay rules',
  {
    seed: 41,
    ...small,
    ...updates(40, 3),
    faults: [
      { kind: 'drop', message: 'reloadAck', to: 'SYSA' },
      { kind: 'duplicate', message: 'routeUpdate', count: 3 },
      { kind: 'delay', message: 'liveUpdate', count: 2 },
    ],
  },
]);
scenarios.push([
  'no dynamic updates',
  { seed: 42, ...small, ...updates(40, 3), dynamicUpdates: false },
]);
scenarios.push(['target not empty', { seed: 43, ...small, targetState: 'notEmpty' }]);
scenarios.push([
  'target missing, archive',
  { seed: 44, ...small, ...updates(30, 5), targetState: 'missing', archive: 'CSF.TKDS.OLD' },
]);
scenarios.push([
  'five members, chunk 7',
  {
    seed: 45,
    members: ['SYSA', 'SYSB', 'SYSC', 'SYSD', 'SYSE'].map((name) => ({ name, coprocessors: 2 })),
    ...small,
    chunk: 7,
    ...updates(80, 2),
  },
]);
scenarios.push([
  'one member',
  { seed: 46, members: [{ name: 'SYSA' }], ...small, ...updates(30, 2) },
]);
scenarios.push([
  'empty data set',
  { seed: 47, dataSet: { tokens: 0, objects: 0 }, ...updates(30, 1) },
]);
if (!quick) {
  scenarios.push([
    'npm start defaults (10k objects, 300 updates every 8)',
    { seed: 1, dataSet: { tokens: 4, objects: 10_000, secureFraction: 0.7 }, ...updates(300, 8) },
  ]);
  scenarios.push([
    '30k objects, 2000 updates every 1, random faults',
    {
      seed: 5,
      dataSet: { tokens: 6, objects: 30_000 },
      ...updates(2000, 1),
      faults: [{ kind: 'random', rate: 0.02 }],
    },
  ]);
}

const sha = (x: unknown): string =>
  crypto.createHash('sha256').update(JSON.stringify(x)).digest('hex');
const digest = (r: SimulationResult): string =>
  sha({
    ...r,
    steps: r.steps.map(({ wallMs: _w, ...s }) => s),
    suspension: r.suspension && { ...r.suspension, wallMs: 0 },
  });

for (const [name, options] of scenarios) {
  const r = simulateChange(options);
  console.log(`${digest(r)}  ${r.outcome.padEnd(10)} ${r.trace.length} events  ${name}`);
}

// Manual control mixed with the seeded driver: fire chosen (often not yet due) actions, submit
// updates, drop and duplicate deliveries, crash and restart, so the scheduler's bookkeeping after
// out-of-order fires and cancellations is exercised too.
for (const seed of [51, 52, 53]) {
  const sim = new Simulation({ seed, ...small, ...updates(60, 3) });
  sim.startChange();
  let n = 0;
  for (let i = 0; i < 5000; i++) {
    const p = sim.pending();
    if (p.length === 0) break;
    n = (n * 1103515245 + 12345 + seed) % 2147483648;
    const r = n % 13;
    if (r === 0) sim.fire(p[p.length - 1]!.id);
    else if (r === 1) sim.fire(p[(n >> 8) % p.length]!.id);
    else if (r === 2) sim.submitUpdate(['SYSA', 'SYSB', 'SYSC'][(n >> 4) % 3]!);
    else if (r === 3 && i % 7 === 0) {
      const d = p.find((a) => a.kind === 'deliver');
      if (d) {
        if ((n >> 5) % 2) sim.drop(d.id);
        else sim.duplicate(d.id);
      }
    } else if (r === 4 && i === 300) sim.crash('SYSC');
    else if (r === 4 && i > 600) sim.restart('SYSC');
    else sim.step();
  }
  sim.runUntilQuiet();
  {
    const r = sim.result();
    console.log(
      `${digest(r)}  ${r.outcome.padEnd(10)} ${r.trace.length} events  manual control seed ${seed}`,
    );
  }
}
