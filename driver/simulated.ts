// The reference implementation (impl/simulation.ts) behind the driver protocol (driver/protocol.ts):
// each command is one of the Simulation's stepwise controls. The model-based tests drive it in
// process; driver/reference.ts serves it to the harness as a child process.
import { OptionsError, Simulation, type TraceEvent } from '../impl/index.ts';
import type { Answer, CommandName, Implementation, Params, Setup } from './protocol.ts';

export class SimulatedImplementation implements Implementation {
  #sim: Simulation | null = null;
  trace: TraceEvent[] = [];

  /** The Simulation of the cluster `init` set up. */
  get sim(): Simulation {
    if (!this.#sim) throw new OptionsError('no cluster yet: the first command must be init');
    return this.#sim;
  }

  readonly #handlers: {
    [C in CommandName]: (p: Params<C>) => Answer<C>;
  } = {
    init: ({ setup }) => {
      this.trace = [];
      this.#sim = new Simulation(simulateOptions(setup, (e) => this.trace.push(e)));
      return {};
    },
    startChange: ({ member }) => ({
      refusals: this.sim.startChange(member).map(({ subject, reason }) => ({ subject, reason })),
    }),
    pending: () => ({
      actions: this.sim.pending().map(({ due: _due, owner: _owner, ...a }) => a),
    }),
    fire: ({ action }) => (this.sim.fire(action), {}),
    drop: ({ action }) => (this.sim.drop(action), {}),
    duplicate: ({ action }) => (this.sim.duplicate(action), {}),
    crash: ({ member }) => (this.sim.crash(member), {}),
    restart: ({ member }) => (this.sim.restart(member), {}),
    partition: ({ member }) => (this.sim.partition(member), {}),
    heal: ({ member }) => (this.sim.heal(member), {}),
    update: ({ member, op }) => ({ update: this.sim.submitUpdate(member, op) }),
    clearNew: ({ member }) => (this.sim.clearNew(member), {}),
    observe: () => ({ view: this.sim.observe() }),
  };

  /** Runs a command now (a synchronous call, for the reference process). */
  run<C extends CommandName>(type: C, params: Params<C>): Answer<C> {
    return (this.#handlers[type] as (p: Params<C>) => Answer<C>)(params);
  }

  send<C extends CommandName>(type: C, params: Params<C>): Promise<Answer<C>> {
    return new Promise((resolve) => resolve(this.run(type, params)));
  }
}

function simulateOptions(setup: Setup, onEvent: (e: TraceEvent) => void) {
  return {
    seed: setup.seed,
    members: setup.members.map((m) => ({ ...m })),
    dataSet: { ...setup.dataSet },
    chunk: setup.chunk,
    timing: { retries: setup.retries },
    faults: setup.ioErrors.map((at) => ({ kind: 'ioError' as const, at })),
    onEvent,
  };
}
