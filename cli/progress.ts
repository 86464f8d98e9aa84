// Live progress of a run on stderr: a line per step as it starts and ends, and a progress bar for
// `reencipher` (redrawn in place on a terminal, a few lines otherwise).
import type { TraceEvent } from '../impl/index.ts';

const BAR = 30;

/** `header` is printed with the first event, once the simulation has accepted its options. */
export function progress(
  header: string,
  out: NodeJS.WriteStream = process.stderr,
): (e: TraceEvent) => void {
  const tty = out.isTTY === true;
  let started = false;
  let lastShown = -1;
  let barOpen = false;
  const endBar = () => {
    if (barOpen) out.write('\n');
    barOpen = false;
  };
  return (e) => {
    if (!started) out.write(`${header}\n`);
    started = true;
    if (e.event === 'step') {
      endBar();
      const what =
        e.phase === 'start'
          ? 'start'
          : `done${e.result && e.result !== 'ok' ? ` (${e.result}${e.reason ? `: ${e.reason}` : ''})` : ''}`;
      out.write(`[tick ${String(e.tick).padStart(6)}] ${e.actor} ${e.step} ${what}\n`);
      lastShown = -1;
    } else if (e.event === 'reencipher' && e.total > 0) {
      const pct = Math.floor((100 * e.done) / e.total);
      if (tty) {
        const filled = Math.round((BAR * e.done) / e.total);
        out.write(
          `\r  reencipher [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${pct}% ${e.done}/${e.total} records`,
        );
        barOpen = true;
      } else if (pct >= lastShown + 25 || e.done === e.total) {
        out.write(`  reencipher ${pct}% (${e.done}/${e.total} records)\n`);
        lastShown = pct;
      }
    } else if (e.event === 'outcome') {
      endBar();
    }
  };
}
