// `tkds-cmk paths [--machine NAME] [--set cover|shortest|faults] [--out FILE]`: the model-based test
// paths generated from a statechart, as one JSON document (docs/mbt.md "The paths document").
import { MACHINE_NAMES, PATH_SETS, pathsDocument, type PathSet } from '../driver/paths.ts';
import type { MachineName } from '../model/index.ts';
import { checkOutput, writeOutput } from './files.ts';
import { oneOf, UsageError } from './options.ts';

export function paths(values: { machine?: string; set?: string; out?: string }): number {
  const machine: MachineName = oneOf('--machine', values.machine ?? 'cluster', MACHINE_NAMES);
  const set: PathSet = oneOf('--set', values.set ?? 'cover', PATH_SETS);
  if (set === 'faults' && machine !== 'cluster')
    throw new UsageError(`--set faults: cluster paths only, not ${machine} paths`);
  if (values.out !== undefined) checkOutput('--out', values.out);
  const doc = pathsDocument(machine, set);
  const json = JSON.stringify(doc) + '\n';
  if (values.out === undefined) process.stdout.write(json);
  else {
    writeOutput('--out', values.out, json);
    const steps = doc.paths.reduce((n, p) => n + p.steps.length - 1, 0);
    process.stdout.write(
      `wrote ${doc.paths.length} ${machine} paths (${set}, ${steps} steps) to ${values.out}\n`,
    );
  }
  return 0;
}
