// The TLA+ models: SANY parses the spec, TLC gives every model of tla/models.json its expected
// result (each non-vacuity variant trips exactly its invariant), and the manifest, the configs
// and the spec agree.  Without Java or the TLC jar these tests fail with the reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PINNED,
  TLA_DIR,
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
  'NoLostUpdate', 'KeyAgreement', 'SingleWriter', 'OneChangeAtATime', 'NoEarlyActivation',
  'StagedBeforeSwitch', 'NoBackoutAfterCommit', 'OldDataSetPreserved', 'SettledOutcome',
  'SecureValuesPreserved', 'ClearObjectsUnchanged', 'UniqueHandles',
];
const LIVENESS = 'EventuallySettled';
// CoordinatedCMK refines the abstract ChangeMasterKey.tla; refinement-* models show it is not vacuous.
const REFINEMENT = 'RefinesChangeMasterKey';
const isRefinementModel = (m: { name: string }) => m.name.startsWith('refinement-');

const models = loadManifest();
const specText = readFileSync(join(TLA_DIR, 'CoordinatedCMK.tla'), 'utf8');
const cfgText = (config: string) => readFileSync(join(TLA_DIR, config), 'utf8');

const flawOf = (text: string) => /^\s*Flaw = "(\w+)"/m.exec(text)?.[1];

describe('the models agree with the spec and with DESIGN.md', () => {
  it('defines every DESIGN invariant and EventuallySettled as an operator', () => {
    for (const name of [...DESIGN_INVARIANTS, LIVENESS]) {
      assert.match(specText, new RegExp(`^${name} ==`, 'm'), `CoordinatedCMK.tla defines no ${name}`);
    }
  });

  it('checks every DESIGN invariant in every config, so a variant names the one it breaks', () => {
    for (const m of models.filter((e) => !isRefinementModel(e))) {
      const listed = configNames(cfgText(m.config), 'INVARIANT');
      const missing = DESIGN_INVARIANTS.filter((n) => !listed.includes(n));
      assert.deepEqual(missing, [], `${m.config} does not check ${missing.join(', ')}`);
    }
  });

  it('checks EventuallySettled and the refinement of ChangeMasterKey in every model expected to pass', () => {
    for (const m of models.filter((e) => e.expect === 'ok')) {
      assert.deepEqual(configNames(cfgText(m.config), 'PROPERTY'), [LIVENESS, REFINEMENT], m.config);
      assert.equal(flawOf(cfgText(m.config)), 'none', `${m.config} must set Flaw = "none"`);
    }
  });

  it('has one variant per flaw of the spec, and one per invariant and EventuallySettled', () => {
    const flawSet = /^Flaws == \{([^}]*)\}/m.exec(specText);
    assert.ok(flawSet, 'CoordinatedCMK.tla defines no Flaws set');
    const flaws = [...flawSet[1]!.matchAll(/"(\w+)"/g)].map((m) => m[1]!).filter((f) => f !== 'none');
    const variants = models.filter((e) => e.expect !== 'ok' && !isRefinementModel(e));
    assert.deepEqual(variants.map((v) => flawOf(cfgText(v.config))).sort(), [...flaws].sort());
    assert.deepEqual(
      variants.map((v) => v.expect.replace(/^violates /, '')).sort(),
      [...DESIGN_INVARIANTS, LIVENESS].sort(),
    );
  });

  it('shows the refinement is not vacuous: a flawed model checks it alone and must violate it', () => {
    const refinement = models.filter(isRefinementModel);
    assert.ok(refinement.length >= 1);
    for (const m of refinement) {
      assert.deepEqual(configNames(cfgText(m.config), 'PROPERTY'), [REFINEMENT], m.config);
      assert.notEqual(flawOf(cfgText(m.config)), 'none', m.config);
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
    assert.deepEqual({ r: resultText(o.result), d: o.distinct, depth: o.depth, msg: o.message },
      { r: 'ok', d: 1200, depth: 17, msg: '' });
  });

  it('does not call a run ok when TLC exits non-zero', () => {
    const o = parseTlcOutput(tail('Model checking completed. No error has been found.'), 1, []);
    assert.equal(resultText(o.result), 'error');
  });

  it('names the violated invariant and keeps TLC\'s message', () => {
    const o = parseTlcOutput(tail('Error: Invariant KeyAgreement is violated.\nError: The behavior up to this point is:'), 12, []);
    assert.equal(resultText(o.result), 'violates KeyAgreement');
    assert.match(o.message, /^Error: Invariant KeyAgreement is violated\.\nError: The behavior/);
  });

  it('names a violated temporal property after the config\'s only PROPERTY', () => {
    const out = tail('Error: Temporal properties were violated.');
    assert.equal(resultText(parseTlcOutput(out, 13, ['EventuallySettled']).result), 'violates EventuallySettled');
    assert.equal(resultText(parseTlcOutput(out, 13, ['P', 'Q']).result), 'violates a temporal property');
    // an action property (a refinement: [][Next]_v of the abstract spec) is reported by its place
    const action = tail('Error: Action property line 37, col 17 to line 37, col 29 of module ChangeMasterKey is violated.');
    assert.equal(resultText(parseTlcOutput(action, 13, ['RefinesChangeMasterKey']).result), 'violates RefinesChangeMasterKey');
  });

  it('tells a deadlock, a parse error and any other error apart', () => {
    assert.equal(resultText(parseTlcOutput(tail('Error: Deadlock reached.'), 11, []).result), 'deadlock');
    assert.equal(resultText(parseTlcOutput('Semantic errors:\nError: Parsing or semantic analysis failed.', 150, []).result), 'parse error');
    const other = parseTlcOutput('Error: The invariant Nope specified in the configuration file\nis not defined.', 151, []);
    assert.equal(resultText(other.result), 'error');
    assert.match(other.message, /invariant Nope/);
    assert.equal(other.distinct, undefined);
  });

  it('reads the INVARIANTS and PROPERTY sections of a config, comments left out', () => {
    const cfg = 'SPECIFICATION Spec\nINVARIANTS\n  A B\nPROPERTY \\* liveness\n  P\n  Q \\* and Q\nCONSTANTS\n  X = 1\nINVARIANT C\n';
    assert.deepEqual(configNames(cfg, 'PROPERTY'), ['P', 'Q']);
    assert.deepEqual(configNames(cfg, 'INVARIANT'), ['A', 'B', 'C']);
  });
});

describe('finding TLC', () => {
  it('refuses a TLA2TOOLS_JAR that does not exist, naming it', () => {
    assert.throws(() => locateJar({ TLA2TOOLS_JAR: '/nonexistent/tla2tools.jar' }), /\/nonexistent\/tla2tools\.jar/);
  });

  it('refuses a cached jar whose sha256 is not the pinned one, naming both hashes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tkds-jar-'));
    try {
      writeFileSync(join(dir, PINNED.file), 'not a jar');
      const actual = createHash('sha256').update('not a jar').digest('hex');
      assert.throws(() => locateJar({}, dir), (err: Error) => {
        assert.ok(err.message.includes(`has sha256 ${actual}`), err.message);
        assert.ok(err.message.includes(`has ${PINNED.sha256}`), err.message);
        return true;
      });
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
        assert.ok((o.distinct ?? 0) > 0 && (o.depth ?? 0) > 0, `${entry.name}: no state counts in TLC's output`);
      } else {
        // Exactly the named one: an invariant variant reports that invariant, and the
        // liveness variant a temporal property, not an invariant.
        const name = entry.expect.replace(/^violates /, '');
        assert.equal(o.result.kind, name === LIVENESS || name === REFINEMENT ? 'property' : 'invariant');
      }
    });
  }
});
