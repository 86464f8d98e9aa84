// The auditor's map (docs/protocol.md, "Traceability"): every name in its tables must exist in the
// statechart, the TLA+ spec, the implementation and the tests, so the map cannot drift from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, type MachineName } from '../model/index.ts';
import { STEP_NAMES } from '../impl/index.ts';
import { SEED_FINGERPRINTS, fingerprint, sentences } from './support/seed-text.ts';

const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const protocol = read('docs/protocol.md');
const spec = read('tla/CoordinatedCMK.tla');

interface Row {
  table: string;
  first: string;
  cells: string[][];
}

/** The rows of the traceability tables: the first cell as text, the others as lists of `names`. */
function rows(): Row[] {
  const section = protocol.slice(protocol.indexOf('## Traceability'));
  const out: Row[] = [];
  let table = '';
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells[1] === 'DESIGN step') {
      table = cells[0]!;
      continue;
    }
    if (/^-+$/.test(cells[0]!)) continue;
    out.push({
      table,
      first: cells[0]!,
      cells: cells.slice(1).map((c) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)),
    });
  }
  return out;
}

/** Is `name` defined in this TypeScript source (a function, method, getter or class member)? */
function defines(source: string, name: string): boolean {
  const n = name.replace(/[$]/g, '\\$');
  return new RegExp(
    `(^|\\n)\\s*(export\\s+)?(static\\s+)?(async\\s+)?(function\\*?\\s+|get\\s+)?#?${n}\\s*[(<]`,
  ).test(source);
}

const table = rows();
const STEPS = new Set<string>([...STEP_NAMES, 'fence', 'takeover', 'restartCheck']);

test('the traceability tables quote every sentence of the seed text, word for word', () => {
  const quoted = new Set(
    table
      .filter((r) => r.table === 'seed text')
      .flatMap((r) => sentences(r.first))
      .map(fingerprint),
  );
  for (const f of SEED_FINGERPRINTS)
    assert.ok(
      quoted.has(f),
      `the seed sentence with fingerprint ${f} is not quoted in docs/protocol.md`,
    );
  const extra = [...quoted].filter((f) => !(SEED_FINGERPRINTS as readonly string[]).includes(f));
  assert.deepEqual(extra, [], 'a "seed text" row quotes a sentence that is not in the seed text');
});

for (const r of table) {
  test(`traced: ${r.first.slice(0, 70)}`, () => {
    const [steps = [], charts = [], tla = [], impl = [], tests = []] = r.cells;
    for (const s of steps.flatMap((x) => x.split(' … ')))
      assert.ok(STEPS.has(s), `not a DESIGN step: ${s}`);
    for (const c of charts) {
      const [, machine, sep, rest] = /^(\w+)([./])(.+)$/.exec(c) ?? [];
      const d = describe[machine as MachineName];
      assert.ok(d, `no statechart machine in ${c}`);
      if (sep === '/')
        assert.ok(rest! in d.events, `no event ${rest} in the ${machine} statechart`);
      else assert.ok(rest! in d.states, `no state ${rest} in the ${machine} statechart`);
    }
    for (const a of tla) {
      if (a.endsWith('.cfg'))
        assert.ok(existsSync(join(root, 'tla/models', a)), `no TLA+ model tla/models/${a}`);
      else
        assert.match(
          spec,
          new RegExp(`^${a}\\(.*\\) ==`, 'm'),
          `no TLA+ action ${a} in tla/CoordinatedCMK.tla`,
        );
    }
    for (const f of impl) {
      const [file, name] = f.split('#');
      assert.ok(existsSync(join(root, 'impl', file!)), `no file impl/${file}`);
      assert.ok(defines(read(`impl/${file}`), name!), `impl/${file} defines no ${name}`);
    }
    for (const t of tests) assert.ok(existsSync(join(root, 'specs', t)), `no test file specs/${t}`);
    assert.ok(charts.length && tla.length && impl.length && tests.length, 'every column is filled');
  });
}

test('the checker of names is not blind: a name that does not exist is refused', () => {
  assert.equal(defines(read('impl/initiator.ts'), 'reencipher'), true);
  assert.equal(defines(read('impl/initiator.ts'), 'reencipherTwice'), false);
  assert.equal('noSuchState' in describe.initiator.states, false);
  assert.doesNotMatch(spec, /^noSuchAction\(.*\) ==/m);
});
