// Conformance soak (`npm run soak -- --runs N [--seed S] [--tla] [--jobs J]`): N random runs of
// the reference implementation (specs/support/arbitraries.ts: 1-5 members, every kind of fault),
// each trace checked by every oracle (cli/oracles.ts). Every trace this implementation writes
// must conform, so any violation is a finding: it is printed with the options that reproduce it,
// and the exit status is 1. `--jobs J` shares the runs out to J processes (TLC is the slow part);
// each process checks its traces with TLC TLA_BATCH at a time, in one TLC run.
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { simulateChange, toNdjson, type SimulateOptions } from '../impl/index.ts';
import {
  invariantsOracle,
  statechartOracle,
  tlaOracleBatch,
  TLA_BATCH,
  ORACLES,
  type OracleName,
  type Violation,
} from '../cli/oracles.ts';
import { tlcJar } from '../tla/tlc-runner.ts';
import { optionsArb } from './support/arbitraries.ts';

export interface SoakFinding {
  run: number;
  options: SimulateOptions;
  violations: Violation[];
}
export interface SoakReport {
  runs: number;
  rejected: Record<OracleName, number>;
  findings: SoakFinding[];
  outcomes: Record<string, number>;
}

const emptyReport = (): SoakReport => ({
  runs: 0,
  rejected: { invariants: 0, statechart: 0, tla: 0 },
  findings: [],
  outcomes: {},
});

/** Runs number `shard`, `shard + jobs`, ... of `runs` random changes from `seed`; checks every trace with the oracles asked for (TLC on TLA_BATCH traces at a time). */
export function soak(
  runs: number,
  seed: number,
  oracles: readonly OracleName[],
  shard = 0,
  jobs = 1,
): SoakReport {
  const jar = oracles.includes('tla') ? tlcJar() : '';
  const report = emptyReport();
  let pending: {
    run: number;
    options: SimulateOptions;
    ndjson: string;
    violations: Violation[];
  }[] = [];
  const settle = () => {
    if (oracles.includes('tla')) {
      const tla = tlaOracleBatch(
        jar,
        pending.map((p) => p.ndjson),
      );
      pending.forEach((p, k) => p.violations.push(...tla[k]!));
    }
    for (const { run, options, violations } of pending) {
      for (const o of new Set(violations.map((v) => v.check))) report.rejected[o]++;
      if (violations.length > 0) report.findings.push({ run, options, violations });
    }
    pending = [];
  };
  fc.sample(optionsArb, { numRuns: runs, seed }).forEach((options, i) => {
    if (i % jobs !== shard) return;
    const r = simulateChange(options);
    report.runs++;
    report.outcomes[r.outcome] = (report.outcomes[r.outcome] ?? 0) + 1;
    const violations: Violation[] = [];
    if (oracles.includes('invariants')) violations.push(...invariantsOracle(r.trace));
    if (oracles.includes('statechart')) violations.push(...statechartOracle(r.trace));
    const ndjson = oracles.includes('tla') ? toNdjson(r.trace) : '';
    pending.push({ run: i + 1, options, ndjson, violations });
    if (pending.length === TLA_BATCH) settle();
  });
  settle();
  return report;
}

/** The soak shared out to `jobs` processes of this script, each taking every jobs-th run. */
export async function soakInParallel(
  runs: number,
  seed: number,
  tla: boolean,
  jobs: number,
): Promise<SoakReport> {
  const shard = (i: number) =>
    new Promise<SoakReport>((resolve, reject) => {
      const args = [
        '--import',
        'tsx',
        new URL(import.meta.url).pathname,
        '--runs',
        String(runs),
        '--seed',
        String(seed),
        '--shard',
        `${i}/${jobs}`,
        '--json',
        ...(tla ? ['--tla'] : []),
      ];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d;
      });
      child.on('error', reject);
      child.on('close', () => {
        try {
          resolve(JSON.parse(out) as SoakReport);
        } catch {
          reject(new Error(`soak shard ${i}/${jobs} gave no report:\n${out}`));
        }
      });
    });
  const parts = await Promise.all(Array.from({ length: jobs }, (_, i) => shard(i)));
  const all = emptyReport();
  for (const p of parts) {
    all.runs += p.runs;
    for (const o of ORACLES) all.rejected[o] += p.rejected[o];
    all.findings.push(...p.findings);
    for (const [k, n] of Object.entries(p.outcomes)) all.outcomes[k] = (all.outcomes[k] ?? 0) + n;
  }
  all.findings.sort((a, b) => a.run - b.run);
  return all;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      tla: { type: 'boolean', default: false },
      jobs: { type: 'string', default: '1' },
      shard: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) {
      process.stderr.write(`soak: --${name} must be an integer of at least ${min}, got ${v}\n`);
      process.exit(2);
    }
    return n;
  };
  const runs = int('runs', values.runs, 1);
  const seed = int('seed', values.seed, -(2 ** 31));
  const jobs = int('jobs', values.jobs, 1);
  const oracles = ORACLES.filter((o) => o !== 'tla' || values.tla);
  const started = performance.now();
  let report: SoakReport;
  if (values.shard !== undefined) {
    const [i, n] = values.shard.split('/').map(Number);
    report = soak(runs, seed, oracles, i, n);
  } else {
    report =
      jobs > 1 ? await soakInParallel(runs, seed, values.tla, jobs) : soak(runs, seed, oracles);
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    for (const f of report.findings.slice(0, 10)) {
      process.stdout.write(`run ${f.run}: ${JSON.stringify(f.options)}\n`);
      for (const v of f.violations)
        process.stdout.write(`  ${v.check}: ${v.rule} at line ${v.line}: ${v.detail}\n`);
    }
    process.stdout.write(
      `soak: ${report.runs} runs (seed ${seed}, ${seconds}s, ${jobs} job${jobs > 1 ? 's' : ''}), oracles ${oracles.join(', ')}; outcomes ${JSON.stringify(report.outcomes)}\n`,
    );
    process.stdout.write(
      `rejected: ${oracles.map((o) => `${o} ${report.rejected[o]}`).join(', ')}; runs with a finding: ${report.findings.length}\n`,
    );
  }
  process.exitCode = report.findings.length ? 1 : 0;
}
