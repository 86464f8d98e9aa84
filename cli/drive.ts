// `tkds-cmk drive [options] -- COMMAND [ARGS...]`: plays the cluster statechart's paths on an
// implementation that speaks the driver protocol on its stdin and stdout (docs/mbt.md), checks
// each path's trace with every oracle, and reports the transitions executed on it.
import { DriverError, drive as play, type PathRun } from '../driver/harness.ts';
import { checkPathsDocument, PATH_SETS, pathsDocument, PathsFormatError } from '../driver/paths.ts';
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

function pathsFrom(values: DriveValues) {
  if (values.paths === undefined)
    return pathsDocument('cluster', oneOf('--set', values.set ?? 'cover', PATH_SETS));
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
  const oracles = `invariants, statechart${jar ? ', tla' : ''}`;
  if (values.json) {
    process.stdout.write(
      JSON.stringify(
        {
          paths: n,
          failed,
          oracles: oracles.split(', '),
          coverage: result.coverage,
          runs: result.runs,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const coverage = Object.entries(result.coverage);
    process.stdout.write(
      `\n${n - failed}/${n} paths followed to the end with conforming traces (${oracles})\n` +
        `executed transition coverage: ${coverage.map(([m, c]) => `${m} ${c.covered}/${c.total}`).join(', ')}\n` +
        coverage
          .flatMap(([m, c]) => c.missing.map((k) => `  never executed: ${m}: ${k}\n`))
          .join(''),
    );
  }
  return failed === 0 ? 0 : 1;
}
