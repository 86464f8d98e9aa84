// `tkds-cmk paths`: the generated model-based test paths as a versioned JSON document
// (docs/mbt.md "The paths document"). The document has the documented shape, its states are the
// states the statechart reaches on its events, its transition names are the coverage's, and the
// CLI writes it to stdout or, by the rules of --trace, to a file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AnyMachineSnapshot } from 'xstate';
import { transitionsOf } from '../model/definition.ts';
import { machines, type MachineName } from '../model/index.ts';
import { INIT_EVENT, step } from '../model/step.ts';
import {
  checkPathsDocument,
  PATHS_FORMAT,
  PATHS_VERSION,
  pathsDocument,
  PathsFormatError,
  type PathSet,
} from '../driver/paths.ts';

const root = join(import.meta.dirname, '..');
const MACHINES: MachineName[] = ['initiator', 'member', 'cluster'];

describe('the paths document', () => {
  for (const name of MACHINES) {
    it(`${name}: has the documented shape, and its paths take every transition of the ${name} statechart`, () => {
      // the cluster's paths are two sets: cover, and faults (the other faults)
      const sets: PathSet[] = name === 'cluster' ? ['cover', 'faults'] : ['cover'];
      const docs = sets.map((set) =>
        checkPathsDocument(JSON.parse(JSON.stringify(pathsDocument(name, set)))),
      );
      for (const doc of docs) {
        assert.equal(doc.format, PATHS_FORMAT);
        assert.equal(doc.version, PATHS_VERSION);
        assert.equal(doc.machine, name);
        assert.ok(doc.paths.length > 5);
        for (const path of doc.paths)
          assert.deepEqual(path.covers, [...new Set(path.steps.flatMap((s) => s.takes))]);
      }
      const covered = new Set(docs.flatMap((doc) => doc.paths.flatMap((p) => p.covers)));
      const own = transitionsOf(machines[name]).map((t) => `${name}: ${t.key}`);
      assert.deepEqual(
        own.filter((t) => !covered.has(t)),
        [],
      );
    });

    it(`${name}: each step's state is the state the statechart reaches on the step's event`, () => {
      const machine = machines[name];
      for (const path of pathsDocument(name, 'cover').paths) {
        let snapshot: AnyMachineSnapshot | undefined;
        for (const [i, s] of path.steps.entries()) {
          assert.equal(s.event.type === INIT_EVENT.type, i === 0);
          const next = step(machine, snapshot, s.event).next;
          assert.deepEqual(
            { value: next.value, context: next.context },
            s.state,
            `${path.description}, step ${i}`,
          );
          snapshot = machine.resolveState(s.state as never);
        }
      }
    });
  }

  it('a document of another shape is refused, naming the field', () => {
    const good = () => JSON.parse(JSON.stringify(pathsDocument('initiator', 'cover')));
    const refused = (change: (d: any) => void, says: RegExp) => {
      const doc = good();
      change(doc);
      assert.throws(
        () => checkPathsDocument(doc),
        (e: Error) => {
          assert.ok(e instanceof PathsFormatError);
          assert.match(e.message, says);
          assert.equal(e.message.split('\n').length, 1);
          return true;
        },
      );
    };
    refused((d) => (d.version = 2), /^version: this tool reads version 3, found 2$/);
    refused((d) => (d.format = 'x'), /^format: expected "tkds-cmk-paths"/);
    refused((d) => (d.machine = 'sysplex'), /^machine: expected one of initiator, member, cluster/);
    refused((d) => delete d.paths[2].steps[1].event.type, /^paths\[2\]\.steps\[1\]\.event: /);
    refused((d) => (d.paths[0].steps[0].event.type = 'startChange'), /steps\[0\]\.event\.type/);
    refused((d) => (d.paths[1].steps[2].state = 'idle'), /^paths\[1\]\.steps\[2\]\.state: /);
    refused(
      (d) => d.paths[3].steps[1].takes.push('initiator: nowhere on nothing -> void'),
      /^paths\[3\]\.steps\[1\]\.takes: 'initiator: nowhere on nothing -> void' is not among/,
    );
    refused((d) => (d.paths[0].covers = 'all'), /^paths\[0\]\.covers: expected an array/);
  });
});

describe('tkds-cmk paths', () => {
  const work = mkdtempSync(join(tmpdir(), 'tkds-cmk-paths-'));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin/tkds-cmk.js'), 'paths', ...args], {
      cwd: work,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });

  it('writes the document on stdout, or whole to --out FILE', () => {
    const out = cli('--machine', 'member');
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), pathsDocument('member', 'cover'));
    const file = cli('--machine', 'member', '--set', 'shortest', '--out', 'p/member.json');
    assert.equal(file.status, 0, file.stderr);
    assert.match(
      file.stdout,
      /^wrote \d+ member paths \(shortest, \d+ steps\) to p\/member.json\n$/,
    );
    const written = JSON.parse(readFileSync(join(work, 'p/member.json'), 'utf8'));
    assert.deepEqual(written, pathsDocument('member', 'shortest'));
    assert.deepEqual(readdirSync(join(work, 'p')), ['member.json']); // no temporary file left
  });

  it('bad input: one line naming it, exit 2, nothing written', () => {
    mkdirSync(join(work, 'adir'));
    for (const [args, says] of [
      [
        ['--machine', 'sysplex'],
        /--machine must be one of initiator, member, cluster, not 'sysplex'/,
      ],
      [['--set', 'all'], /--set must be one of cover, shortest, faults, not 'all'/],
      [
        ['--machine', 'member', '--set', 'faults'],
        /--set faults: cluster paths only, not member paths/,
      ],
      [['--out', 'adir'], /--out adir is a directory, not a regular file/],
      [['--out', '/dev/null'], /--out \/dev\/null is a character device/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^tkds-cmk: [^\n]+\n$/);
      assert.match(r.stderr, says);
    }
  });
});
