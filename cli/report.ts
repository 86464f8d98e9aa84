// What `tkds-cmk run` prints and writes: the timeline, the counts, the verification block, and
// the JSON summary. Only MKVPs, KCV comparisons, counts and names: never key material.
import type { SimulationResult } from '../impl/index.ts';

/** The machine-readable summary (--json, --summary): the result without its trace (of `traceEvents` lines). */
export function summary(
  result: SimulationResult,
  traceEvents: number,
  files: { trace?: string } = {},
) {
  const { trace: _trace, kcv: _kcv, ...rest } = result;
  return { ...rest, keyCheckValues: kcvComparison(result), traceEvents, ...files };
}

/** Secure keys whose key check value is the same before and after the change. */
export function kcvComparison(result: SimulationResult) {
  const { before, after } = result.kcv;
  let checked = 0;
  const changed: string[] = [];
  const missing: string[] = [];
  for (const h of before.handles()) {
    checked++;
    const k = after.get(h);
    if (k === undefined) missing.push(h);
    else if (k !== before.get(h)) changed.push(h);
  }
  return {
    checked,
    equal: checked - changed.length - missing.length,
    changed,
    missing,
  };
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
/** A count as printed: 10,004. */
export const num = (n: number) => n.toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;

/** The human report of a run. */
export function report(result: SimulationResult): string {
  const lines: string[] = [];
  lines.push('', `Outcome: ${result.outcome}`);
  for (const r of result.refusals)
    lines.push(`  refused: ${r.subject}: ${r.reason} (${r.message})`);

  lines.push('', 'Timeline (logical ticks, wall time)');
  for (const s of result.steps) {
    lines.push(
      `  ${pad(s.step, 13)} ${pad(s.actor, 6)} ticks ${pad(`${s.startTick}-${s.endTick}`, 13)} ${ms(s.wallMs)}`,
    );
  }
  if (result.suspension) {
    const w = result.suspension;
    lines.push(
      `  suspension window: ticks ${w.startTick}-${w.endTick} (${w.endTick - w.startTick} ticks, ${ms(w.wallMs)})`,
    );
  }

  const c = result.counts;
  lines.push('', 'Counts');
  lines.push(
    `  records ${num(c.records)}: rewrapped ${num(c.rewrapped)}, copied clear ${num(c.copied)}`,
  );
  lines.push(
    `  dynamic updates ${num(c.updatesRequested)}: routed ${num(c.updatesRouted)}, applied in the delta ${num(c.deltaApplied)}, waited in the suspension ${num(c.waited)}`,
  );
  lines.push(
    `  outcomes: acknowledged ${num(c.acked)}, failed ${num(c.failed)}, unknown ${num(c.unknown)}`,
  );
  lines.push(
    `  messages ${num(c.messages)}: dropped ${num(c.dropped)}, duplicated ${num(c.duplicated)}`,
  );

  lines.push('', 'Verification');
  for (const inv of result.invariants) {
    lines.push(inv.ok ? `  ok   ${inv.name}` : `  FAIL ${pad(inv.name, 22)} ${inv.detail ?? ''}`);
  }
  const k = kcvComparison(result);
  if (result.outcome === 'completed') {
    const same = k.equal === k.checked;
    lines.push(
      `  ${same ? 'ok  ' : 'FAIL'} key check values: ${num(k.equal)}/${num(k.checked)} secure keys equal before and after`,
    );
  }
  return lines.join('\n');
}
