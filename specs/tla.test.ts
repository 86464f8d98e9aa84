// The TLA+ models: SANY parses the spec, TLC gives every model of tla/models.json its expected
// result (each non-vacuity variant, a flawed operator put in place of one of the spec, trips
// exactly its property), and the manifest, the configs, the variants and the spec agree.  Without Java or the TLC jar these tests fail with the reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PINNED,
  TLA_DIR,
  VARIANTS_DIR,
  actionPropertiesOf,
  configConstants,
  configNames,
  loadManifest,
  locateJar,
  parseModule,
  parseTlcOutput,
  resultText,
  runModel,
  tlcJar,
} from '../tla/tlc-runner.ts';

// DESIGN.md "Invariants", in its order.
const DESIGN_INVARIANTS = [
  'NoLostUpdate',
  'KeyAgreement',
  'SingleWriter',
  'OneChangeAtATime',
  'NoEarlyActivation',
  'StagedBeforeSwitch',
  'NoBackoutAfterCommit',
  'OldDataSetPreserved',
  'SettledOutcome',
  'SecureValuesPreserved',
  'ClearObjectsUnchanged',
  'UniqueHandles',
];
// This project's additions beside them (docs/protocol.md "Invariants").
const PROJECT_INVARIANTS = ['TargetComplete'];
const INVARIANTS = [...DESIGN_INVARIANTS, ...PROJECT_INVARIANTS];
// Those about steps rather than states are action properties ([][A]_vars), checked as PROPERTY.
const ACTION_PROPERTIES = ['StagedBeforeSwitch', 'NoBackoutAfterCommit'];
const LIVENESS = 'EventuallySettled';
// CoordinatedCMK refines the abstract ChangeMasterKey.tla; refinement-* models show it is not vacuous.
const REFINEMENT = 'RefinesChangeMasterKey';
const isRefinementModel = (m: { name: string }) => m.name.startsWith('refinement-');
const isVariant = (m: { name: string }) => m.name.startsWith('variant-');

const models = loadManifest();
const specText = readFileSync(join(TLA_DIR, 'CoordinatedCMK.tla'), 'utf8');
const cfgText = (config: string) => readFileSync(join(TLA_DIR, config), 'utf8');
const variantModules = readdirSync(VARIANTS_DIR)
  .filter((f) => /^MC_\w+\.tla$/.test(f))
  .map((f) => f.slice(0, -4));
const moduleText = (module: string) => readFileSync(join(VARIANTS_DIR, `${module}.tla`), 'utf8');

/** The definition overrides of a config (`Op <- Flawed` under CONSTANTS), as [Op, Flawed]. */
const overridesOf = (cfg: string) =>
  [...cfg.matchAll(/^\s*(\w+)\s*<-\s*(\w+)/gm)].map((m) => [m[1]!, m[2]!] as const);
/** The number of parameters of operator `name` as `text` defines it, or undefined if it does not. */
function arity(text: string, name: string): number | undefined {
  const d = new RegExp(`^${name}(\\(([^)]*)\\))? ==`, 'm').exec(text);
  if (!d) return undefined;
  return d[2] === undefined ? 0 : d[2].split(',').length;
}

describe('the models agree with the spec and with DESIGN.md', () => {
  it('defines every DESIGN invariant, TargetComplete and EventuallySettled as an operator', () => {
    for (const name of [...INVARIANTS, LIVENESS]) {
      assert.match(
        specText,
        new RegExp(`^${name} ==`, 'm'),
        `CoordinatedCMK.tla defines no ${name}`,
      );
    }
  });

  it('defines StagedBeforeSwitch and NoBackoutAfterCommit as action properties, no history variable needed', () => {
    assert.deepEqual(actionPropertiesOf(DESIGN_INVARIANTS, [specText]), ACTION_PROPERTIES);
    assert.doesNotMatch(specText, /everStaged|committedEver|backedOutEver/);
  });

  it('checks every DESIGN invariant and TargetComplete in every config (action properties as PROPERTY), so a variant names the one it breaks', () => {
    for (const m of models.filter((e) => !isRefinementModel(e))) {
      const invariants = configNames(cfgText(m.config), 'INVARIANT');
      const properties = configNames(cfgText(m.config), 'PROPERTY');
      // a variant written before TargetComplete leaves it out (it may trip it first)
      const expected =
        isVariant(m) && !invariants.includes('TargetComplete') ? DESIGN_INVARIANTS : INVARIANTS;
      const missing = expected.filter(
        (n) => !(ACTION_PROPERTIES.includes(n) ? properties : invariants).includes(n),
      );
      assert.deepEqual(missing, [], `${m.config} does not check ${missing.join(', ')}`);
    }
  });

  it('checks EventuallySettled and the refinement of ChangeMasterKey in every model expected to pass, on the spec as written', () => {
    for (const m of models.filter((e) => e.expect === 'ok')) {
      assert.deepEqual(
        configNames(cfgText(m.config), 'PROPERTY'),
        [...ACTION_PROPERTIES, LIVENESS, REFINEMENT],
        m.config,
      );
      assert.equal(m.module, 'CoordinatedCMK', m.name);
      assert.deepEqual(overridesOf(cfgText(m.config)), [], `${m.config} overrides a definition`);
    }
  });

  it('has one variant per module of tla/variants/, and at least one per invariant and EventuallySettled', () => {
    const variants = models.filter(isVariant);
    assert.deepEqual(variants.map((v) => v.module).sort(), [...variantModules].sort());
    for (const v of variants) {
      const flaw = v.name.replace(/^variant-/, '');
      assert.equal(v.module, `MC_${flaw}`, v.name);
      assert.equal(v.config, `variants/MC_${flaw}.cfg`, v.name);
    }
    assert.deepEqual(
      [...new Set(variants.map((v) => v.expect.replace(/^violates /, '')))].sort(),
      [...INVARIANTS, LIVENESS].sort(),
    );
    assert.ok(models.every((m) => isVariant(m) || isRefinementModel(m) || m.expect === 'ok'));
  });

  it('makes each variant one flaw: its module extends the spec, and its config puts one flawed operator in place of one of the spec', () => {
    const replaced = new Set<string>();
    for (const v of models.filter(isVariant)) {
      const text = moduleText(v.module);
      assert.match(
        text,
        /^EXTENDS CoordinatedCMK$/m,
        `${v.module}.tla does not extend CoordinatedCMK`,
      );
      assert.doesNotMatch(
        text,
        /^(VARIABLES?|CONSTANTS?)\b/m,
        `${v.module}.tla adds state or constants`,
      );
      const overrides = overridesOf(cfgText(v.config));
      assert.equal(overrides.length, 1, `${v.config} must override exactly one definition`);
      const [op, flawed] = overrides[0]!;
      const n = arity(specText, op);
      assert.notEqual(n, undefined, `${v.config}: CoordinatedCMK.tla defines no ${op}`);
      assert.equal(
        arity(text, flawed),
        n,
        `${v.module}.tla must define ${flawed} with the ${n} parameter(s) of ${op}`,
      );
      assert.ok(!replaced.has(op), `${op} is replaced by two variants`);
      replaced.add(op);
    }
  });

  it('shows the refinement is not vacuous: a flawed model checks it alone and must violate it', () => {
    const refinement = models.filter(isRefinementModel);
    assert.ok(refinement.length >= 1);
    for (const m of refinement) {
      assert.deepEqual(configNames(cfgText(m.config), 'PROPERTY'), [REFINEMENT], m.config);
      assert.ok(variantModules.includes(m.module), `${m.name} runs no variant module`);
      assert.equal(
        overridesOf(cfgText(m.config)).length,
        1,
        `${m.config} must override one definition`,
      );
      assert.equal(m.expect, `violates ${REFINEMENT}`);
    }
  });
});

describe('reading TLC', () => {
  const tail = (extra: string) =>
    `Starting...\n${extra}\n1,234 states generated, 1,200 distinct states found, 0 states left on queue.\n` +
    'The depth of the complete state graph search is 17.\nFinished in 01s\n';

  it('reads a clean run: ok, distinct states, depth', () => {
    const o = parseTlcOutput(tail('Model checking completed. No error has been found.'), 0, []);
    assert.deepEqual(
      { r: resultText(o.result), d: o.distinct, depth: o.depth, msg: o.message },
      { r: 'ok', d: 1200, depth: 17, msg: '' },
    );
  });

  it('does not call a run ok when TLC exits non-zero', () => {
    const o = parseTlcOutput(tail('Model checking completed. No error has been found.'), 1, []);
    assert.equal(resultText(o.result), 'error');
  });

  it("names the violated invariant and keeps TLC's message", () => {
    const o = parseTlcOutput(
      tail('Error: Invariant KeyAgreement is violated.\nError: The behavior up to this point is:'),
      12,
      [],
    );
    assert.equal(resultText(o.result), 'violates KeyAgreement');
    assert.match(o.message, /^Error: Invariant KeyAgreement is violated\.\nError: The behavior/);
  });

  it("names a violated temporal property after the config's only PROPERTY", () => {
    const out = tail('Error: Temporal properties were violated.');
    assert.equal(
      resultText(parseTlcOutput(out, 13, ['EventuallySettled']).result),
      'violates EventuallySettled',
    );
    assert.equal(
      resultText(parseTlcOutput(out, 13, ['P', 'Q']).result),
      'violates a temporal property',
    );
    // an action property (a refinement: [][Next]_v of the abstract spec) is reported by its place
    const action = tail(
      'Error: Action property line 37, col 17 to line 37, col 29 of module ChangeMasterKey is violated.',
    );
    assert.equal(
      resultText(parseTlcOutput(action, 13, ['RefinesChangeMasterKey']).result),
      'violates RefinesChangeMasterKey',
    );
  });

  it('names a violated action property as TLC does, and leaves the action properties out when it does not name one', () => {
    const props = ['StagedBeforeSwitch', 'NoBackoutAfterCommit', 'EventuallySettled'];
    const actions = ['StagedBeforeSwitch', 'NoBackoutAfterCommit'];
    const named = tail(
      'Error: Action property NoBackoutAfterCommit is violated.\nError: The behavior up to this point is:',
    );
    assert.equal(
      resultText(parseTlcOutput(named, 13, props, actions).result),
      'violates NoBackoutAfterCommit',
    );
    const liveness = tail('Error: Temporal properties were violated.');
    assert.equal(
      resultText(parseTlcOutput(liveness, 13, props, actions).result),
      'violates EventuallySettled',
    );
    assert.equal(
      resultText(parseTlcOutput(liveness, 13, props, []).result),
      'violates a temporal property',
    );
  });

  it('tells an action property by its definition', () => {
    const text =
      'Inv == x > 0\nAct ==\n    [][x' + "'" + ' >= x]_x\nLive == []<>(x = 0)\nRef == M!Spec\n';
    assert.deepEqual(actionPropertiesOf(['Inv', 'Act', 'Live', 'Ref', 'Absent'], [text]), ['Act']);
  });

  it('tells a deadlock, a parse error and any other error apart', () => {
    assert.equal(
      resultText(parseTlcOutput(tail('Error: Deadlock reached.'), 11, []).result),
      'deadlock',
    );
    assert.equal(
      resultText(
        parseTlcOutput('Semantic errors:\nError: Parsing or semantic analysis failed.', 150, [])
          .result,
      ),
      'parse error',
    );
    const other = parseTlcOutput(
      'Error: The invariant Nope specified in the configuration file\nis not defined.',
      151,
      [],
    );
    assert.equal(resultText(other.result), 'error');
    assert.match(other.message, /invariant Nope/);
    assert.equal(other.distinct, undefined);
  });

  it('reads the INVARIANTS and PROPERTY sections of a config, comments left out', () => {
    const cfg =
      'SPECIFICATION Spec\nINVARIANTS\n  A B\nPROPERTY \\* liveness\n  P\n  Q \\* and Q\nCONSTANTS\n  X = 1\nINVARIANT C\n';
    assert.deepEqual(configNames(cfg, 'PROPERTY'), ['P', 'Q']);
    assert.deepEqual(configNames(cfg, 'INVARIANT'), ['A', 'B', 'C']);
  });

  it('reads the CONSTANTS section of a config: replaced by a definition or given a value', () => {
    const cfg =
      'SPECIFICATION Spec\nCONSTANTS\n  Members <- TraceMembers \\* the trace\'s\n  Kinds = {"a", "b"}\nCONSTANT N = 3\nINVARIANT C\n';
    assert.deepEqual(configConstants(cfg), [
      { name: 'Members', op: '<-', value: 'TraceMembers' },
      { name: 'Kinds', op: '=', value: '{"a", "b"}' },
      { name: 'N', op: '=', value: '3' },
    ]);
    assert.throws(
      () => configConstants('CONSTANTS\n  Members\n'),
      /config line "Members": expected NAME <- Definition or NAME = value/,
    );
  });
});

describe('finding TLC', () => {
  it('refuses a TLA2TOOLS_JAR that does not exist, naming it', () => {
    assert.throws(
      () => locateJar({ TLA2TOOLS_JAR: '/nonexistent/tla2tools.jar' }),
      /\/nonexistent\/tla2tools\.jar/,
    );
  });

  it('refuses a cached jar whose sha256 is not the pinned one, naming both hashes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tkds-jar-'));
    try {
      writeFileSync(join(dir, PINNED.file), 'not a jar');
      const actual = createHash('sha256').update('not a jar').digest('hex');
      assert.throws(
        () => locateJar({}, dir),
        (err: Error) => {
          assert.ok(err.message.includes(`has sha256 ${actual}`), err.message);
          assert.ok(err.message.includes(`has ${PINNED.sha256}`), err.message);
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SANY and TLC', () => {
  for (const module of new Set(models.map((e) => e.module))) {
    it(`SANY parses ${module}.tla`, () => {
      assert.equal(parseModule(tlcJar(), module), undefined);
    });
  }

  for (const entry of models) {
    it(`${entry.name}: ${entry.expect}`, () => {
      const o = runModel(tlcJar(), entry);
      const got = resultText(o.result);
      assert.equal(got, entry.expect, `${entry.name}: TLC says ${got}:\n${o.message}`);
      if (entry.expect === 'ok') {
        assert.ok(
          (o.distinct ?? 0) > 0 && (o.depth ?? 0) > 0,
          `${entry.name}: no state counts in TLC's output`,
        );
      } else {
        // Exactly the named one: an invariant variant reports that invariant, the others
        // (action properties, liveness, refinement) a property, not an invariant.
        const name = entry.expect.replace(/^violates /, '');
        const property = [...ACTION_PROPERTIES, LIVENESS, REFINEMENT].includes(name);
        assert.equal(o.result.kind, property ? 'property' : 'invariant');
      }
    });
  }
});
