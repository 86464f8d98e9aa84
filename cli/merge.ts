// `tkds-cmk merge LOG... [--out FILE]`: per-system logs (docs/conformance.md "Multi-system logs")
// merged into one trace (docs/trace-format.md) that `tkds-cmk conform` checks.
import { resolve } from 'node:path';
import { MergeError, mergeLogs } from '../impl/merge.ts';
import { checkOutput, readText, writeOutput } from './files.ts';
import { UsageError } from './options.ts';

export function merge(files: readonly string[], out: string | undefined): number {
  if (files.length === 0)
    throw new UsageError('merge needs the logs to merge: tkds-cmk merge LOG... [--out FILE]');
  const seen = new Map<string, string>();
  for (const f of files) {
    const first = seen.get(resolve(f));
    if (first !== undefined)
      throw new UsageError(`${f} is given twice${first === f ? '' : ` (as ${first})`}`);
    seen.set(resolve(f), f);
  }
  if (out !== undefined) {
    if (seen.has(resolve(out)))
      throw new UsageError(`--out ${out} is one of the logs to merge; name a new file`);
    checkOutput('--out', out);
  }
  let trace: string;
  try {
    trace = mergeLogs(new Map(files.map((f) => [f, readText(f)])));
  } catch (e) {
    if (e instanceof MergeError) throw new UsageError(e.message);
    throw e;
  }
  if (out === undefined) process.stdout.write(trace);
  else {
    writeOutput('--out', out, trace);
    process.stdout.write(
      `merged ${files.length} logs into ${out} (${trace.split('\n').length - 1} lines)\n`,
    );
  }
  return 0;
}
