// impl/slab.ts: small byte arrays carved out of shared chunks. Every array handed out keeps its own
// bytes: no later allocation, and no write through another array, reaches them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Slab } from '../impl/slab.ts';

/** The bytes an array numbered `i` is filled with (so that any overlap shows). */
const fillOf = (i: number, k: number): number => (i * 31 + k * 7 + 1) & 0xff;

test('arrays have the length asked, start zeroed and never share bytes, across chunks and large sizes', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 400 }), (sizes) => {
      const slab = new Slab();
      const arrays = sizes.map((n, i) => {
        const a = slab.alloc(n);
        assert.equal(a.length, n);
        assert.ok(
          a.every((b) => b === 0),
          `array ${i} starts zeroed`,
        );
        a.forEach((_, k) => (a[k] = fillOf(i, k)));
        return a;
      });
      arrays.forEach((a, i) =>
        assert.ok(
          a.every((b, k) => b === fillOf(i, k)),
          `array ${i} kept its bytes`,
        ),
      );
    }),
    { numRuns: 50 },
  );
});

test('100,000 small arrays (many chunks) each keep their bytes after all the later allocations', () => {
  const slab = new Slab();
  const arrays: Uint8Array[] = [];
  for (let i = 0; i < 100_000; i++) {
    const a = slab.alloc(44 + 8 * (i % 7));
    a.fill(i & 0xff);
    a[0] = i >>> 8;
    arrays.push(a);
  }
  arrays.forEach((a, i) => {
    assert.equal(a[0], (i >>> 8) & 0xff);
    for (let k = 1; k < a.length; k++) if (a[k] !== (i & 0xff)) assert.fail(`array ${i} byte ${k}`);
  });
});

test('copy holds the bytes given, and a later change of the source does not reach it', () => {
  const slab = new Slab();
  const source = Uint8Array.from([1, 2, 3, 4, 5]);
  const c = slab.copy(source);
  source.fill(9);
  assert.deepEqual([...c], [1, 2, 3, 4, 5]);
  assert.notEqual(c, source);
});
