// impl/key-check-values.ts: the KCV report's table reads and serializes exactly like the plain
// object `{ handle: kcv }` it replaces (SimulationResult.kcv), and packs KCVs without loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyCheckValues, kcvText, packKcv, UNKNOWN_KEY } from '../impl/key-check-values.ts';
import { compareHandles, handleOf } from '../impl/tkds.ts';

const kcvArb = fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: null });
const handleArb = fc
  .tuple(
    fc.constantFrom('A', 'A.B', 'TOKEN00', 'TOKEN01', 'T#1', 'Z-9'),
    fc.integer({ min: 0, max: 40 }),
  )
  .map(([t, seq]) => handleOf(t, seq, seq === 0 ? 'token' : 'object'));

test('a table answers get, size, handles and JSON as the plain object built in handle order does', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(handleArb, kcvArb), { selector: ([h]) => h }), (rows) => {
      rows.sort(([a], [b]) => compareHandles(a, b));
      const table = new KeyCheckValues();
      const plain: Record<string, string> = {};
      for (const [h, k] of rows) {
        table.add(h, k);
        plain[h] = k === null ? UNKNOWN_KEY : kcvText(k);
      }
      assert.equal(table.size, rows.length);
      assert.deepEqual(table.handles(), Object.keys(plain));
      assert.equal(JSON.stringify(table), JSON.stringify(plain));
      for (const [h] of rows) assert.equal(table.get(h), plain[h]);
      for (const seq of [0, 1, 41, 999])
        for (const t of ['A', 'A.B', 'TOKEN00', 'B']) {
          const h = handleOf(t, seq, seq === 0 ? 'token' : 'object');
          assert.equal(table.get(h), plain[h], `get(${h})`);
        }
    }),
  );
});

test('handles must be added in increasing handle order, each once', () => {
  const table = new KeyCheckValues();
  table.add('TOKEN00:00000002:O', 1);
  assert.throws(() => table.add('TOKEN00:00000001:O', 2), /in handle order/);
  assert.throws(() => table.add('TOKEN00:00000002:O', 2), /in handle order/);
  assert.equal(table.size, 1);
});

test('a key check value packs to 24 bits and back, and only 6 hex digits pack', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffff }), (n) => {
      const text = n.toString(16).padStart(6, '0');
      assert.equal(packKcv(text), n);
      assert.equal(kcvText(n), text);
    }),
  );
  for (const bad of ['', '12345', '1234567', '12345G', 'ABCDEF', ' 12345'])
    assert.throws(() => packKcv(bad), /bad key check value/);
});
