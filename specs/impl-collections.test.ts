// The ordered collections behind the scheduler and the DASD: SortedSet (an order-statistic
// B+ tree) and MinHeap, checked against plain sorted arrays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MinHeap } from '../impl/min-heap.ts';
import { SortedSet } from '../impl/sorted-set.ts';

const byNumber = (a: number, b: number): number => a - b;

/** Every query of `set` agrees with the sorted array `ref`. */
function agrees(set: SortedSet<number>, ref: number[], probes: readonly number[]): void {
  assert.equal(set.size, ref.length);
  assert.deepEqual(set.slice(0, Infinity), ref);
  for (const p of probes) {
    const rank = ref.filter((x) => x < p).length;
    assert.equal(set.rank(p), rank, `rank(${p})`);
    assert.equal(set.at(rank), ref[rank], `at(${rank})`);
    assert.deepEqual(set.slice(rank, 5), ref.slice(rank, rank + 5), `slice(${rank}, 5)`);
  }
  assert.equal(set.at(-1), undefined);
  assert.equal(set.at(ref.length), undefined);
  assert.equal(set.at(0.5), undefined);
}

test('SortedSet: random adds, deletes and re-adds agree with a sorted array (splits and merges at every depth)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 4000, size: 'max' }),
      fc.integer({ min: 0, max: 100 }),
      fc.array(fc.integer({ min: -1, max: 5001 }), { maxLength: 20 }),
      (keys, deletePercent, probes) => {
        const set = new SortedSet<number>(byNumber);
        const ref = new Set<number>();
        // add them all, delete a share of them (nodes shrink and merge), add a few back
        const ops = [
          ...keys.map((k) => [true, k] as const),
          ...keys.filter((_, i) => i % 100 < deletePercent).map((k) => [false, k] as const),
          ...keys.slice(0, 50).map((k) => [true, k] as const),
        ];
        for (const [add, k] of ops) {
          if (add) assert.equal(set.add(k), !ref.has(k));
          else assert.equal(set.delete(k), ref.has(k));
          if (add) ref.add(k);
          else ref.delete(k);
        }
        agrees(set, [...ref].sort(byNumber), probes);
      },
    ),
    { numRuns: 60 },
  );
});

test('SortedSet: keys added in order (nodes split to keep most entries), then gaps filled and most deleted, agree with a sorted array', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12_000 }),
      fc.array(fc.integer({ min: 0, max: 40_000 }), { maxLength: 600 }),
      fc.integer({ min: 0, max: 100 }),
      fc.array(fc.integer({ min: -1, max: 40_001 }), { maxLength: 10 }),
      (n, more, deletePercent, probes) => {
        const set = new SortedSet<number>(byNumber);
        const ref = new Set<number>();
        const add = (k: number): void => {
          assert.equal(set.add(k), !ref.has(k));
          ref.add(k);
        };
        for (let i = 0; i < n; i++) add(i * 3); // appended: leaves and branches fill up
        for (let k = 3 * n; k > 3 * n - 200; k -= 1) add(k); // descending into one gap
        more.forEach(add);
        [...ref].forEach((k, i) => {
          if (i % 100 < deletePercent) {
            assert.equal(set.delete(k), true);
            ref.delete(k);
          }
        });
        agrees(set, [...ref].sort(byNumber), probes);
      },
    ),
    { numRuns: 25 },
  );
});

test('SortedSet: 20,000 keys in random order, then most deleted, stay in order with correct positions', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => i * 3);
  for (let i = keys.length - 1, s = 7; i > 0; i--) {
    s = (s * 48271) % 2147483647;
    const j = s % (i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const set = new SortedSet<number>(byNumber);
  for (const k of keys) set.add(k);
  const sorted = [...keys].sort(byNumber);
  agrees(set, sorted, [0, 1, 3, 29_998, 30_000, 59_997, 59_998, 70_000]);
  for (const k of keys.slice(0, 19_900)) assert.ok(set.delete(k));
  agrees(set, keys.slice(19_900).sort(byNumber), [
    0,
    3,
    30_000,
    59_997,
    ...keys.slice(19_900, 19_910),
  ]);
  for (const k of keys.slice(19_900)) set.delete(k);
  agrees(set, [], [0, 5]);
  set.add(4);
  agrees(set, [4], [3, 4, 5]);
});

test('SortedSet: a custom order (strings) is the order of rank, at and slice', () => {
  const set = new SortedSet<string>((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const s of ['b:2', 'a:1', 'c:0', 'a:0', 'b:1']) set.add(s);
  assert.equal(set.add('a:1'), false);
  assert.deepEqual(set.slice(0, 10), ['a:0', 'a:1', 'b:1', 'b:2', 'c:0']);
  assert.equal(set.rank('b'), 2);
  assert.equal(set.rank('b:1~'), 3);
  assert.deepEqual(set.slice(set.rank('b:1~'), 10), ['b:2', 'c:0']);
});

test('MinHeap: pops in order, ties broken by the comparator, retain drops items and keeps the order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 10_000 }))),
      (xs) => {
        // (due, id) pairs with many equal dues: only the id tie-break makes the order unique
        const items = xs.map(([due], id) => ({ due, id }));
        const less = (a: { due: number; id: number }, b: { due: number; id: number }): boolean =>
          a.due < b.due || (a.due === b.due && a.id < b.id);
        const heap = new MinHeap(less);
        for (const it of items) heap.push(it);
        heap.retain((it) => it.id % 3 !== 0);
        const expected = items
          .filter((it) => it.id % 3 !== 0)
          .sort((a, b) => a.due - b.due || a.id - b.id);
        assert.equal(heap.size, expected.length);
        assert.equal(heap.peek(), expected[0]);
        const out = [];
        for (let it = heap.pop(); it !== undefined; it = heap.pop()) out.push(it);
        assert.deepEqual(out, expected);
        assert.equal(heap.size, 0);
      },
    ),
  );
});
