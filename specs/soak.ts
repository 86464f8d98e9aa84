// Conformance soak (`npm run soak -- --runs N [--seed S] [--tla]`): N random runs of the
// reference implementation (specs/support/arbitraries.ts: 1-5 members, every kind of fault),
// each trace checked by every oracle (cli/oracles.ts). Every trace this implementation writes
// must conform, so any violation is a finding: it is printed with the options that reproduce
// it, and the exit status is 1.
import fc from 'fast-check';
import { parseArgs } from 'node:util';
import { simulateChange, toNdjson, type SimulateOptions } from '../impl/index.ts';
import { invariantsOracle, statechartOracle, tlaOracle, ORACLES, type OracleName, type Violation } from '../cli/oracles.ts';
import { tlcJar } from '../tla/tlc-runner.ts';
import { optionsArb } from './support/arbitraries.ts';

export interface SoakFinding { run: number; options: SimulateOptions; violations: Violation[] }
export interface SoakReport { runs: number; rejected: Record<OracleName, number>; findings: SoakFinding[]; outcomes: Record<string, number> }

/** Runs `runs` random changes from `seed`; checks every trace with the oracles asked for. */
export function soak(runs: number, seed: number, oracles: readonly OracleName[], onRun?: (i: number) => void): SoakReport {
  const jar = oracles.includes('tla') ? tlcJar() : '';
  const report: SoakReport = { runs, rejected: { invariants: 0, statechart: 0, tla: 0 }, findings: [], outcomes: {} };
  fc.sample(optionsArb, { numRuns: runs, seed }).forEach((options, i) => {
    const r = simulateChange(options);
    report.outcomes[r.outcome] = (report.outcomes[r.outcome] ?? 0) + 1;
    const violations: Violation[] = [];
    if (oracles.includes('invariants')) violations.push(...invariantsOracle(r.trace));
    if (oracles.includes('statechart')) violations.push(...statechartOracle(r.trace));
    if (oracles.includes('tla')) violations.push(...tlaOracle(jar, toNdjson(r.trace)));
    for (const o of new Set(violations.map((v) => v.check))) report.rejected[o]++;
    if (violations.length) report.findings.push({ run: i + 1, options, violations });
    onRun?.(i + 1);
  });
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' }, tla: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  const oracles = ORACLES.filter((o) => o !== 'tla' || values.tla);
  const started = performance.now();
  const report = soak(runs, seed, oracles, (i) => { if (i % 100 === 0) process.stderr.write(`  ${i}/${runs}\n`); });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const f of report.findings.slice(0, 10)) {
    process.stdout.write(`run ${f.run}: ${JSON.stringify(f.options)}\n`);
    for (const v of f.violations) process.stdout.write(`  ${v.check}: ${v.rule} at line ${v.line}: ${v.detail}\n`);
  }
  process.stdout.write(`soak: ${runs} runs (seed ${seed}, ${seconds}s), oracles ${oracles.join(', ')}; outcomes ${JSON.stringify(report.outcomes)}\n`);
  process.stdout.write(`rejected: ${oracles.map((o) => `${o} ${report.rejected[o]}`).join(', ')}; runs with a finding: ${report.findings.length}\n`);
  process.exitCode = report.findings.length ? 1 : 0;
}
