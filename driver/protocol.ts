// The driver protocol (docs/mbt.md): the commands a test harness gives an implementation under
// test, one JSON object a line, and what each answers. One table of commands serves both sides:
// the harness's child process (driver/harness.ts) and the in-process reference
// (driver/simulated.ts, which driver/reference.ts serves on stdin/stdout).
//
// The implementation under test is a whole cluster (DESIGN.md "Parts of the world": its members,
// the shared DASD with the cluster record, sysplex messaging) whose every step is a PENDING
// ACTION the harness chooses to fire: a message delivery, a timer, a member's work step, an
// update arrival, a membership notification, a restart. The harness plays the environment
// (operator, faults, scheduling); the implementation answers with what it observes and with its
// trace lines (docs/trace-format.md).
import type { ClusterView, Refusal, TraceEvent, UpdateOp } from '../impl/index.ts';
import type { ActionDescriptor } from '../impl/sysplex.ts';

/** The cluster a path runs on, set up fresh by `init`. */
export interface Setup {
  /** The members, by name; the first is the initiator. `differs`: its new register holds another committed key. */
  readonly members: readonly { readonly name: string; readonly newKey?: 'differs' }[];
  /** The active TKDS (`CSF.TKDS`): its tokens and objects; the target `CSF.TKDS.NEW` is empty. */
  readonly dataSet: { readonly tokens: number; readonly objects: number };
  /** Seed of anything random (key material, objects); the harness chooses the schedule. */
  readonly seed: number;
  /** Records per reencipher work action. */
  readonly chunk: number;
  /** Resends of a request before the initiator gives a silent member up (RETRY_BUDGET). */
  readonly retries: number;
  /** Steps whose first data set write fails (an I/O error fault). */
  readonly ioErrors: readonly ('beginRouting' | 'applyDelta' | 'commit' | 'backout')[];
}

/** A pending action: what it is (impl/sysplex.ts ActionDescriptor), an id to fire it by, a label for people. */
export type Pending = ActionDescriptor & { readonly id: number; readonly label: string };

/** Each command: [its fields, the fields of its answer]. */
export interface Commands {
  init: [{ setup: Setup }, Record<string, never>];
  /** `member`: where the operator starts it (a second initiator); the first member when left out. */
  startChange: [{ member?: string }, { refusals: Pick<Refusal, 'subject' | 'reason'>[] }];
  pending: [Record<string, never>, { actions: Pending[] }];
  fire: [{ action: number }, Record<string, never>];
  drop: [{ action: number }, Record<string, never>];
  duplicate: [{ action: number }, Record<string, never>];
  crash: [{ member: string }, Record<string, never>];
  restart: [{ member: string }, Record<string, never>];
  partition: [{ member: string }, Record<string, never>];
  heal: [{ member: string }, Record<string, never>];
  update: [{ member: string; op: UpdateOp }, { update: string }];
  clearNew: [{ member: string }, Record<string, never>];
  observe: [Record<string, never>, { view: ClusterView }];
}
export type CommandName = keyof Commands;
export type Params<C extends CommandName> = Commands[C][0];
export type Answer<C extends CommandName> = Commands[C][1];

/** Every command, with the fields it takes (in docs/mbt.md's order). */
export const COMMANDS: { readonly [C in CommandName]: readonly (keyof Params<C>)[] } = {
  init: ['setup'],
  startChange: [],
  pending: [],
  fire: ['action'],
  drop: ['action'],
  duplicate: ['action'],
  crash: ['member'],
  restart: ['member'],
  partition: ['member'],
  heal: ['member'],
  update: ['member', 'op'],
  clearNew: ['member'],
  observe: [],
};

export const isCommand = (type: unknown): type is CommandName =>
  typeof type === 'string' && Object.hasOwn(COMMANDS, type);

/**
 * An implementation under test, as the harness drives it: `send` gives one command and resolves
 * with its answer; `trace` holds every trace line the implementation has written so far.
 */
export interface Implementation {
  send<C extends CommandName>(type: C, params: Params<C>): Promise<Answer<C>>;
  readonly trace: readonly TraceEvent[];
}
