// `npm run tla [name ...]`: parse every spec with SANY, then run TLC on each model of
// tla/models.json (or only the named ones) and compare the result with the one expected.
// Prints one line per model; exits non-zero, with TLC's own message, on any surprise.
// `npm run tla -- --trace FILE ...`: check each trace (docs/trace-format.md) against the spec.
import { readFileSync } from 'node:fs';
import {
  formatLine,
  loadManifest,
  parseModule,
  resultText,
  runModel,
  tlcJar,
} from './tlc-runner.ts';
import { describeVerdict } from './trace.ts';
import { validateBatch } from './trace-batch.ts';

function checkTraces(files: string[]): number {
  if (files.length === 0) {
    console.error('--trace needs one or more NDJSON trace files');
    return 2;
  }
  // all in one TLC run (tla/trace-batch.ts); a trace it does not accept is checked alone
  const verdicts = validateBatch(
    tlcJar(),
    files.map((f) => readFileSync(f, 'utf8')),
  );
  verdicts.forEach((v, i) => console.log(describeVerdict(files[i]!, v)));
  return verdicts.some((v) => !v.accepted) ? 1 : 0;
}

function main(names: string[]): number {
  const all = loadManifest();
  const unknown = names.filter((n) => !all.some((e) => e.name === n));
  if (unknown.length > 0) {
    console.error(`no such model in tla/models.json: ${unknown.join(', ')}`);
    return 2;
  }
  const models = names.length > 0 ? all.filter((e) => names.includes(e.name)) : all;

  const jar = tlcJar();
  console.log(`TLC: ${jar}`);

  for (const module of new Set(models.map((e) => e.module))) {
    const complaint = parseModule(jar, module);
    if (complaint !== undefined) {
      console.error(`SANY rejects ${module}.tla:\n${complaint}`);
      return 1;
    }
    console.log(`${module}.tla  parses`);
  }

  let failures = 0;
  for (const entry of models) {
    const outcome = runModel(jar, entry);
    const got = resultText(outcome.result);
    console.log(formatLine(entry.name, outcome));
    if (got !== entry.expect) {
      failures++;
      console.error(`  expected ${entry.expect}, TLC says:\n${outcome.message}\n`);
    }
  }
  if (failures > 0)
    console.error(`${failures} of ${models.length} models did not give the expected result`);
  return failures > 0 ? 1 : 0;
}

try {
  const args = process.argv.slice(2);
  process.exitCode = args[0] === '--trace' ? checkTraces(args.slice(1)) : main(args);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
