// `tkds-cmk plan`: a dry run of `validate` (DESIGN.md step 1) against the described cluster.
// It reports what the change would do and every reason it would be refused; nothing changes.
import { Simulation } from '../impl/index.ts';
import { clusterOptions, type clusterFlags } from './options.ts';
import { num as n } from './report.ts';

type Values = { [K in keyof typeof clusterFlags]?: unknown } & { json?: unknown };

export function plan(values: Values): number {
  const p = new Simulation(clusterOptions(values)).plan();
  if (values.json) {
    process.stdout.write(
      JSON.stringify({ ...p, wouldRun: p.refusals.length === 0 }, null, 2) + '\n',
    );
  } else {
    process.stdout.write(
      [
        `Coordinated TKDS change master key, initiated at ${p.initiator}`,
        `  members:  ${p.members.join(', ')}`,
        `  data set: ${p.active} -> ${p.target}${p.archive ? `, then ${p.active} archived as ${p.archive}` : ''}`,
        `  records:  ${n(p.records.total)}: records to rewrap ${n(p.records.secure)} (secure keys), to copy ${n(p.records.clear)} (clear objects), token records ${n(p.records.tokens)}`,
        `  steps:    ${p.steps.join(', ')}`,
        p.refusals.length === 0
          ? 'The change would run: validate found nothing to refuse.'
          : `The change would be refused (${p.refusals.length} reason${p.refusals.length === 1 ? '' : 's'}):`,
        ...p.refusals.map((r) => `  ${r.subject}: ${r.reason}: ${r.message}`),
      ].join('\n') + '\n',
    );
  }
  return p.refusals.length === 0 ? 0 : 1;
}
