// `tkds-cmk drive [options] -- COMMAND [ARGS...]`: plays the cluster statechart's paths on an
// implementation that speaks the driver protocol on its stdin and stdout (docs/mbt.md), checks
// each path's trace with every oracle, and reports the transitions executed on it; it requires
// every transition the paths of the chosen set take to be executed.
import { DriverError, drive as play, type PathRun } from '../driver/harness.ts';
import {
  checkPathsDocument,
  PATH_SETS,
  pathsDocument,
  PathsFormatError,
  type PathsDocument,
} from '../driver/paths.ts';
import { tlaJar } from './conform.ts';
import { readText } from './files.ts';
import { integer, oneOf, UsageError } from './options.ts';

export interface DriveValues {
  paths?: string;
  set?: string;
  limit?: string;
  timeout?: string;
  tla?: boolean;
  json?: boolean;
}

/** The paths to play: a set generated now (by default the cover set and the faults set), or a file's. */
function pathsFrom(values: DriveValues): PathsDocument {
  if (values.paths === undefined) {
    if (values.set !== undefined)
      return pathsDocument('cluster', oneOf('--set', values.set, PATH_SETS));
    const cover = pathsDocument('cluster', 'cover');
    return { ...cover, paths: [...cover.paths, ...pathsDocument('cluster', 'faults').paths] };
  }
  if (values.set !== undefined)
    throw new UsageError('--set chooses generated paths; --paths FILE brings its own');
  const text = readText(values.paths);
  try {
    return checkPathsDocument(JSON.parse(text));
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof PathsFormatError)
      throw new UsageError(`--paths ${values.paths}: ${e.message}`);
    throw e;
  }
}

const problems = (run: PathRun): string[] => [
  ...(run.failure ? [`differs from the model at ${run.failure}`] : []),
  ...run.violations.map(
    (v) =>
      `trace: ${v.check}${'rule' in v ? ` ${v.rule}` : ''}${'line' in v && v.line ? ` at line ${v.line}` : ''}: ${v.detail.split('\n')[0]}`,
  ),
];

export async function drive(command: string[], values: DriveValues): Promise<number> {
  if (command.length === 0)
    throw new UsageError(
      'drive needs the command that runs the implementation: tkds-cmk drive -- COMMAND [ARGS...]',
    );
  const all = pathsFrom(values);
  if (all.machine !== 'cluster')
    throw new UsageError(
      `--paths ${values.paths}: the harness plays cluster paths, not ${all.machine} paths`,
    );
  // required: every transition the set's paths take (all of them, whatever --limit plays)
  const required = [...new Set(all.paths.flatMap((p) => p.covers))].sort();
  const limit = integer('limit', values.limit, 1, 1_000_000) ?? all.paths.length;
  const doc = { ...all, paths: all.paths.slice(0, limit) };
  const timeoutMs = integer('timeout', values.timeout, 1, 3_600_000) ?? 10_000;
  const jar = values.tla ? tlaJar() : undefined;
  const n = doc.paths.length;
  let result;
  try {
    result = await play(command, doc, {
      ...(jar ? { jar } : {}),
      timeoutMs,
      onPath: values.json
        ? undefined
        : (run, i) => {
            const found = problems(run);
            process.stdout.write(
              `${found.length ? 'FAIL' : 'ok  '} path ${i + 1}/${n} (${run.steps} steps, ${run.traceLines} trace lines)${found.map((p) => `\n     ${p}`).join('')}\n`,
            );
          },
    });
  } catch (e) {
    if (!(e instanceof DriverError)) throw e;
    process.stderr.write(`tkds-cmk: drive: ${e.message}\n`);
    return 1;
  }
  const failed = result.runs.filter((r) => problems(r).length > 0).length;
  const short = required.filter((t) => !result.executed.has(t));
  const oracles = `invariants, statechart${jar ? ', tla' : ''}`;
  if (values.json) {
    process.stdout.write(
      JSON.stringify(
        {
          paths: n,
          failed,
          oracles: oracles.split(', '),
          coverage: result.coverage,
          required: {
            covered: required.length - short.length,
            total: required.length,
            missing: short,
          },
          runs: result.runs,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const coverage = Object.entries(result.coverage);
    const unreached = coverage
      .flatMap(([m, c]) => c.missing.map((k) => `${m}: ${k}`))
      .filter((t) => !required.includes(t));
    process.stdout.write(
      `\n${n - failed}/${n} paths followed to the end with conforming traces (${oracles})\n` +
        `executed transition coverage: ${coverage.map(([m, c]) => `${m} ${c.covered}/${c.total}`).join(', ')}\n` +
        `required: ${required.length - short.length}/${required.length} transitions the set's ${all.paths.length} paths take, executed\n` +
        short.map((t) => `  never executed: ${t}\n`).join('') +
        unreached.map((t) => `  on no path of the set: ${t}\n`).join(''),
    );
  }
  return failed === 0 && short.length === 0 ? 0 : 1;
}
