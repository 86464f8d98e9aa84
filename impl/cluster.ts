// The cluster (DESIGN.md "cluster"): the members whose active TKDS is the same data set, with
// what they share: the DASD, sysplex messaging and its scheduler, the seeded rng, the trace, the
// counts and the timing rules. Members and the initiator reach each other through it.

import type { Dasd } from './dasd.ts';
import type { Member } from './member.ts';
import type { Rng } from './rng.ts';
import type { Scheduler, Sysplex } from './sysplex.ts';
import type { TraceEventInput } from './trace.ts';
import type { Outcome, StepName } from './vocabulary.ts';

/** Logical-time rules: ticks to wait for acknowledgements, the retry budget, and so on. */
export interface Timing {
  readonly ackTimeout: number; // ticks an initiator waits for acknowledgements before a `timeout`
  readonly retries: number; // resends before a member counts as lost
  readonly rejoinAfter: number; // ticks after which an expelled member rejoins (and runs its restart check)
  readonly routeRetry: number; // ticks before a member resends a routed update or a liveUpdate
  readonly chunk: number; // records per `reencipher` action
}

export interface Counts {
  records: number;
  rewrapped: number;
  copied: number;
  updatesRequested: number;
  updatesRouted: number;
  deltaApplied: number;
  waited: number;
  acked: number;
  failed: number;
  unknown: number;
}

export interface StepTiming {
  step: StepName;
  actor: string;
  startTick: number;
  endTick: number;
  wallMs: number;
}

/** What the simulation is told as a change goes (fault injection and the result). */
export interface ClusterHooks {
  /** A step (or a takeover) is about to start at `actor`: faults set `at` it fire here. */
  stepStarting(step: StepName | 'takeover', actor: string): void;
  /** A member was expelled by the initiator: the environment lets it rejoin later. */
  expelled(member: string): void;
}

export interface ChangeSettings {
  readonly target: string;
  readonly archive: string | null;
  readonly dynamicUpdates: boolean;
}

export const LEVEL = /^HCR77[0-9A-Z][0-9]$/;
export const MIN_LEVEL = 'HCR77A0';

export class Cluster {
  readonly members = new Map<string, Member>();
  readonly counts: Counts = {
    records: 0,
    rewrapped: 0,
    copied: 0,
    updatesRequested: 0,
    updatesRouted: 0,
    deltaApplied: 0,
    waited: 0,
    acked: 0,
    failed: 0,
    unknown: 0,
  };
  readonly steps: StepTiming[] = [];
  suspension: { startTick: number; endTick: number; wallMs: number; startWall: number } | null =
    null;
  /** The outcome of each change, by change id. */
  readonly outcomes = new Map<string, Outcome>();
  #changes = 0;

  constructor(
    readonly dasd: Dasd,
    readonly sysplex: Sysplex,
    readonly scheduler: Scheduler,
    readonly rng: Rng,
    readonly timing: Timing,
    readonly settings: ChangeSettings,
    readonly emit: (e: TraceEventInput) => void,
    readonly hooks: ClusterHooks,
  ) {}

  get tick(): number {
    return this.scheduler.tick;
  }

  member(name: string): Member {
    const m = this.members.get(name);
    if (!m)
      throw new Error(`no member named ${name} (members: ${[...this.members.keys()].join(', ')})`);
    return m;
  }

  /** Member names in order. */
  names(): string[] {
    return [...this.members.keys()].sort();
  }

  nextChangeId(): string {
    return `c${++this.#changes}`;
  }

  /**
   * The member in the group that drives a change (its initiator, or the member that took over),
   * or null when none does. Group knowledge, as the group's member states are on a sysplex.
   */
  driver(): string | null {
    return this.sysplex.group().find((n) => this.member(n).initiator?.running) ?? null;
  }
}
