// The conformance soak's CI sample (specs/soak.ts): 200 random runs of the implementation, every
// fault kind, each trace checked by all three oracles, TLC included. Every one must conform; a
// finding is printed with the options that reproduce it (`npm run soak` runs larger samples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soakInParallel } from './soak.ts';

test('soak sample: 200 random runs, every trace accepted by the invariants, the statecharts and TLC', async (t) => {
  const report = await soakInParallel(200, 1, true, 2);
  t.diagnostic(
    `runs ${report.runs}; outcomes ${JSON.stringify(report.outcomes)}; rejected ${JSON.stringify(report.rejected)}`,
  );
  assert.equal(report.runs, 200);
  assert.ok(
    Object.keys(report.outcomes).length >= 3,
    'the sample reaches completed, backedOut and refused changes',
  );
  const findings = report.findings.map(
    (f) =>
      `run ${f.run} ${JSON.stringify(f.options)}\n  ${f.violations.map((v) => `${v.check}: ${v.rule} at line ${v.line}: ${v.detail}`).join('\n  ')}`,
  );
  assert.deepEqual(findings, []);
});
