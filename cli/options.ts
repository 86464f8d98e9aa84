// Command-line options of `tkds-cmk run` and `tkds-cmk plan`, turned into the SimulateOptions of
// impl/index.ts. Every mistake is a UsageError whose one-line message names the flag and value.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  MAX_STEPS,
  MESSAGE_TYPES,
  NEW_KEY_STATES,
  SCHEDULES,
  STEP_NAMES,
  TARGET_STATES,
  type Fault,
  type MemberSpec,
  type SimulateOptions,
  type StepName,
} from '../impl/index.ts';
import { num } from './report.ts';

/** Bad input on the command line or in a file: printed as one line, exit status 2. */
export class UsageError extends Error {}

/** The embedded default that `npm start` runs (the help text states these). */
export const DEFAULTS = {
  members: 'SYSA,SYSB,SYSC',
  tokens: 4,
  objects: 10_000,
  secureFraction: 0.7,
  seed: 1,
  updates: 300,
  updateEvery: 8,
  active: 'CSF.TKDS',
  target: 'CSF.TKDS.NEW',
} as const;

/** The flags `run` and `plan` share: they describe the cluster and the change. */
export const clusterFlags = {
  members: { type: 'string' },
  initiator: { type: 'string' },
  'new-key': { type: 'string', multiple: true },
  inactive: { type: 'string', multiple: true },
  'no-coprocessor': { type: 'string', multiple: true },
  tokens: { type: 'string' },
  objects: { type: 'string' },
  'secure-fraction': { type: 'string' },
  active: { type: 'string' },
  target: { type: 'string' },
  'target-state': { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** The flags only `run` has: the workload, the faults and the outputs. */
export const runFlags = {
  ...clusterFlags,
  updates: { type: 'string' },
  'update-every': { type: 'string' },
  'no-dynamic-updates': { type: 'boolean' },
  fault: { type: 'string', multiple: true },
  archive: { type: 'string' },
  schedule: { type: 'string' },
  trace: { type: 'string' },
  summary: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies ParseArgsConfig['options'];

/** parseArgs with its errors turned into one-line UsageErrors. */
export function parseFlags<T extends ParseArgsConfig['options']>(
  args: string[],
  options: T,
  positionals = 0,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, ''));
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`);
  }
  return parsed;
}

export function integer(
  flag: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, not '${text}'`);
  }
  return n;
}

function fraction(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(`--${flag} must be a number from 0 to 1, not '${text}'`);
  }
  return n;
}

export function oneOf<T extends string>(what: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${what} must be one of ${allowed.join(', ')}, not '${text}'`);
  }
  return text as T;
}

/** `SYSA:HCR77A1,SYSB:HCR77A0,SYSC` -> member specs (names and levels are checked by impl/). */
function members(text: string): MemberSpec[] {
  return text.split(',').map((part): MemberSpec => {
    const [name = '', level, extra] = part.trim().split(':');
    if (name === '' || extra !== undefined)
      throw new UsageError(`--members: '${part}' is not NAME or NAME:LEVEL`);
    return level === undefined ? { name } : { name, level };
  });
}

/** `NAME=VALUE` pairs of a repeatable per-member flag, each checked against the member list. */
function perMember(
  flag: string,
  entries: string[] | undefined,
  specs: MemberSpec[],
  apply: (m: MemberSpec, value: string) => void,
) {
  for (const entry of entries ?? []) {
    const [name = '', value] = entry.split('=');
    const member = specs.find((s) => s.name === name);
    if (!member)
      throw new UsageError(
        `--${flag}: no member named '${name}' (members: ${specs.map((s) => s.name).join(', ')})`,
      );
    apply(member, value ?? '');
  }
}

/** A fault: `crash:SYSB@reload`, `crash:SYSA@commit+restart=5`, `partition:SYSC@switch`,
 *  `drop:reloadAck`, `drop:reloadAck:to=SYSB:count=2`, `duplicate:switch`, `delay:finishAck`,
 *  `ioError@backout`, `random:0.05`, `random:0.05:stopAfter=400`. */
export function fault(text: string): Fault {
  const bad = (why: string) => new UsageError(`--fault '${text}': ${why}`);
  const [head = '', ...rest] = text.split(':');
  const at = (s: string): StepName | 'takeover' => {
    if (s === 'takeover') return s;
    return oneOf(`--fault '${text}': the step after @`, s, STEP_NAMES);
  };
  if (head.startsWith('ioError@')) {
    if (rest.length) throw bad('ioError takes no further fields');
    return { kind: 'ioError', at: at(head.slice('ioError@'.length)) };
  }
  switch (head) {
    case 'crash':
    case 'partition': {
      const m = /^([^@+]+)@([A-Za-z]+)(?:\+restart=(\d+))?$/.exec(rest.join(':'));
      if (!m)
        throw bad(`expected ${head}:MEMBER@STEP${head === 'crash' ? '[+restart=TICKS]' : ''}`);
      const f: Fault = { kind: head, member: m[1]!, at: at(m[2]!) };
      if (m[3] !== undefined) f.restartAfter = integer('fault restart', m[3], 0, 1_000_000)!;
      return f;
    }
    case 'drop':
    case 'duplicate':
    case 'delay': {
      const [message = '', ...fields] = rest;
      const f: Fault = {
        kind: head,
        message: oneOf(`--fault '${text}': the message`, message, MESSAGE_TYPES),
      };
      for (const field of fields) {
        const [key, value = ''] = field.split('=');
        if (key === 'to') f.to = value;
        else if (key === 'count') f.count = integer('fault count', value, 1, 1000)!;
        else throw bad(`unknown field '${key}' (to=, count=)`);
      }
      return f;
    }
    case 'random': {
      const [rate = '', ...fields] = rest;
      const f: Fault = { kind: 'random', rate: fraction('fault random rate', rate)! };
      for (const field of fields) {
        const [key, value] = field.split('=');
        if (key !== 'stopAfter') throw bad(`unknown field '${key}' (stopAfter=)`);
        f.stopAfter = integer('fault stopAfter', value, 0, 10_000_000)!;
      }
      return f;
    }
    default:
      throw bad(
        'a fault is crash:, partition:, drop:, duplicate:, delay:, random: or ioError@STEP',
      );
  }
}

type ClusterValues = { [K in keyof typeof clusterFlags]?: unknown };

/** The cluster and change described by the shared flags. */
export function clusterOptions(v: ClusterValues): SimulateOptions {
  const str = (k: keyof typeof clusterFlags) => v[k] as string | undefined;
  const list = (k: keyof typeof clusterFlags) => v[k] as string[] | undefined;
  const specs = members(str('members') ?? DEFAULTS.members);
  perMember('new-key', list('new-key'), specs, (m, value) => {
    m.newKey = oneOf(`--new-key ${m.name}`, value, NEW_KEY_STATES);
  });
  perMember(
    'inactive',
    list('inactive')?.map((n) => `${n}=`),
    specs,
    (m) => {
      m.started = false;
    },
  );
  perMember(
    'no-coprocessor',
    list('no-coprocessor')?.map((n) => `${n}=`),
    specs,
    (m) => {
      m.activeCoprocessors = 0;
    },
  );
  const initiator = str('initiator');
  const options: SimulateOptions = {
    members: specs,
    dataSet: {
      tokens: integer('tokens', str('tokens'), 1, 1000) ?? DEFAULTS.tokens,
      objects: integer('objects', str('objects'), 0, 1_000_000) ?? DEFAULTS.objects,
      secureFraction:
        fraction('secure-fraction', str('secure-fraction')) ?? DEFAULTS.secureFraction,
    },
    seed: integer('seed', str('seed'), 0, 2 ** 32 - 1) ?? DEFAULTS.seed,
    active: str('active') ?? DEFAULTS.active,
    target: str('target') ?? DEFAULTS.target,
  };
  if (initiator !== undefined) options.initiator = initiator;
  const targetState = str('target-state');
  if (targetState !== undefined)
    options.targetState = oneOf('--target-state', targetState, TARGET_STATES);
  // an empty or notEmpty target is a data set made beside the active one, never the active one itself
  const made = options.targetState ?? 'empty';
  if (options.target === options.active && (made === 'empty' || made === 'notEmpty')) {
    throw new UsageError(
      `--target ${options.target} is the active data set; name another data set as the target, or use --target-state active to see validate refuse it`,
    );
  }
  return options;
}

/**
 * The dynamic updates a run can carry with `members` members. Each costs about 2 x members + 1
 * scheduler actions (its arrival, and a liveUpdate and its acknowledgement per other member; more
 * when routed during the change); they may take half of a run's MAX_STEPS, the rest is for the
 * change itself (reencipher, the steps, resends). Past that the run may stop before it settles.
 */
export function maxUpdates(members: number): number {
  return Math.floor(MAX_STEPS / 2 / (2 * members + 1));
}

function checkWorkload(options: SimulateOptions): void {
  const count = options.updates!.count!;
  const members = options.members!;
  const uncovered = members.find((m) => m.activeCoprocessors === 0);
  if (count > 0 && uncovered) {
    throw new UsageError(
      `--no-coprocessor ${uncovered.name}: the simulation cannot take dynamic updates with a member that has no active coprocessor (a secure key it creates needs one); add --updates 0 (validate refuses the change anyway: noActiveCoprocessor)`,
    );
  }
  const n = members.length;
  if (count > maxUpdates(n)) {
    throw new UsageError(
      `--updates ${count} with ${n} member${n === 1 ? '' : 's'} needs about ${num(count * (2 * n + 1))} simulated actions, more than the ${num(MAX_STEPS / 2)} a run leaves for updates (half of its ${num(MAX_STEPS)} steps), so it could stop before it settles; use --updates ${maxUpdates(n)} or fewer`,
    );
  }
}

type RunValues = { [K in keyof typeof runFlags]?: unknown };

/** Everything `run` simulates: the cluster, the workload and the faults. */
export function runOptions(v: RunValues): SimulateOptions {
  const options = clusterOptions(v);
  options.updates = {
    count: integer('updates', v.updates as string | undefined, 0, 1_000_000) ?? DEFAULTS.updates,
    every:
      integer('update-every', v['update-every'] as string | undefined, 1, 1_000_000) ??
      DEFAULTS.updateEvery,
  };
  if (v['no-dynamic-updates']) options.dynamicUpdates = false;
  options.faults = ((v.fault as string[] | undefined) ?? []).map(fault);
  const archive = v.archive as string | undefined;
  if (archive !== undefined) options.archive = archive;
  const schedule = v.schedule as string | undefined;
  if (schedule !== undefined) options.schedule = oneOf('--schedule', schedule, SCHEDULES);
  checkWorkload(options);
  return options;
}
