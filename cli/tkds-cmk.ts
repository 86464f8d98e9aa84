// tkds-cmk: run, plan and check a coordinated TKDS change master key (docs/protocol.md).
// Exit status: 0 success, 1 a check failed, 2 unusable input (one line on stderr, no stack).
import { resolve } from 'node:path';
import { OptionsError, formatEvent, simulateChange } from '../impl/index.ts';
import { HELP } from './help.ts';
import { UsageError, clusterFlags, parseFlags, runFlags, runOptions } from './options.ts';
import { OutputStream, checkOutput, outputDirectory, writeOutput } from './files.ts';
import { progress } from './progress.ts';
import { report, summary } from './report.ts';
import { plan } from './plan.ts';
import { conform } from './conform.ts';
import { merge } from './merge.ts';
import { paths } from './paths.ts';
import { drive } from './drive.ts';

type Command = (args: string[]) => Promise<number> | number;

const commands: Record<string, Command> = {
  run(args) {
    const { values } = parseFlags(args, runFlags);
    if (values.help) return help('run');
    const options = runOptions(values);
    const quiet = values.quiet === true || values.json === true;
    const seed = options.seed!;
    const files = {
      trace: values.trace ?? `out/tkds-cmk-seed${seed}.trace.ndjson`,
      summary: values.summary ?? `out/tkds-cmk-seed${seed}.summary.json`,
    };
    if (resolve(files.trace) === resolve(files.summary))
      throw new UsageError(`--trace and --summary name the same file, ${files.trace}`);
    checkOutput('--trace', files.trace);
    checkOutput('--summary', files.summary);
    const header = `Coordinated TKDS change master key: ${options.members!.map((m) => m.name).join(', ')}, ${options.dataSet!.objects} objects, seed ${seed}`;
    const show = quiet ? undefined : progress(header);
    // The trace goes to its file line by line as it is emitted, never held whole in memory.
    const trace = new OutputStream('--trace', files.trace);
    let lines = 0;
    let result;
    try {
      result = simulateChange({
        ...options,
        keepTrace: false,
        onEvent: (e) => {
          trace.write(formatEvent(e) + '\n');
          lines++;
          show?.(e);
        },
      });
      trace.finish();
    } finally {
      trace.abandon();
    }
    const json = JSON.stringify(summary(result, lines, { trace: files.trace }), null, 2) + '\n';
    writeOutput('--summary', files.summary, json);
    if (values.json) process.stdout.write(json);
    else {
      process.stdout.write(report(result) + '\n');
      process.stdout.write(
        `\nTrace:   ${files.trace} (${lines} events)\nSummary: ${files.summary}\n`,
      );
    }
    return result.invariants.every((i) => i.ok) ? 0 : 1;
  },

  plan(args) {
    const { values } = parseFlags(args, { ...clusterFlags, json: { type: 'boolean' } });
    if (values.help) return help('plan');
    return plan(values);
  },

  conform(args) {
    const { values, positionals } = parseFlags(
      args,
      {
        tla: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      1,
    );
    if (values.help) return help('conform');
    const file = positionals[0];
    if (file === undefined)
      throw new UsageError('conform needs a trace file: tkds-cmk conform TRACE [--tla]');
    return conform(file, { tla: values.tla === true, json: values.json === true });
  },

  merge(args) {
    const { values, positionals } = parseFlags(
      args,
      { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      Infinity,
    );
    if (values.help) return help('merge');
    return merge(positionals, values.out);
  },

  paths(args) {
    const { values } = parseFlags(args, {
      machine: { type: 'string' },
      set: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) return help('paths');
    return paths(values);
  },

  drive(args) {
    const { values, positionals } = parseFlags(
      args,
      {
        paths: { type: 'string' },
        set: { type: 'string' },
        limit: { type: 'string' },
        timeout: { type: 'string' },
        tla: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      Infinity,
    );
    if (values.help) return help('drive');
    return drive(positionals, values);
  },

  async statechart(args) {
    const { values } = parseFlags(args, {
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) return help('statechart');
    if (values.out !== undefined) outputDirectory('--out', values.out);
    const { writeAll } = await import('../model/render.ts');
    for (const path of await writeAll(values.out)) process.stdout.write(`wrote ${path}\n`);
    return 0;
  },
};

function help(topic: string): number {
  process.stdout.write(HELP[topic] + '\n');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) return commands.run!([]);
  if (name === '--help' || name === '-h' || name === 'help') return help('main');
  const command = commands[name];
  if (!command)
    throw new UsageError(
      `unknown command '${name}' (run, plan, conform, merge, paths, drive, statechart; see --help)`,
    );
  return command(args);
}

// A reader that stops early (`tkds-cmk run | head -1`) closes the pipe: the rest of the output
// is not wanted, which is no error. Writes after that are dropped; the exit status stays the command's.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof OptionsError) {
      process.stderr.write(`tkds-cmk: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `tkds-cmk: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
      );
      process.exitCode = 3;
    }
  },
);
