// PCT-style schedules (probabilistic concurrency testing): the seeded driver's choice when races
// are wanted. Each member gets a random priority the first time one of its actions is pending;
// among the due actions the driver takes one of the member with the highest priority. At a few
// change points (steps drawn at random from the first `horizon`), the member whose action was
// just taken drops below every other: so a member may be held back for a long time, then run
// ahead, which is what finds the races a uniform random choice rarely reaches.
import type { Rng } from './rng.ts';
import type { PendingAction } from './sysplex.ts';

/** The schedules of the seeded driver: `random` (a uniform choice among due actions) or `pct`. */
export const SCHEDULES = ['random', 'pct'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

/** Priority change points per run, and the steps they are drawn from. */
const CHANGE_POINTS = 3;
const HORIZON = 400;

/** The member an action is of: the receiver of a delivery, else the member it names. */
function memberOf(a: PendingAction): string {
  switch (a.kind) {
    case 'deliver':
      return a.message.to;
    case 'notify':
      return a.observer;
    default:
      return a.member;
  }
}

export class PctSchedule {
  readonly #rng: Rng;
  readonly #priority = new Map<string, number>();
  readonly #changePoints: Set<number>;
  #lowest = 0;
  #steps = 0;

  constructor(rng: Rng, changePoints = CHANGE_POINTS, horizon = HORIZON) {
    this.#rng = rng;
    this.#changePoints = new Set(Array.from({ length: changePoints }, () => rng.int(horizon)));
  }

  /** The priority of an action: its member's (drawn the first time the member is seen). */
  priority(a: PendingAction): number {
    const m = memberOf(a);
    let p = this.#priority.get(m);
    if (p === undefined) {
      p = 1 + this.#rng.int(1_000_000);
      this.#priority.set(m, p);
    }
    return p;
  }

  /** The driver took `a`: at a change point its member drops below every other. */
  taken(a: PendingAction): void {
    if (this.#changePoints.has(this.#steps++)) this.#priority.set(memberOf(a), --this.#lowest);
  }
}
