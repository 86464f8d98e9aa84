// Records in handle order without copies: OrderedMap (the persistent tree behind MemoryDasd and
// the in-store copies) against a plain Map, snapshots included (a snapshot never sees a later
// write, on either side); MemoryDasd's positions (rank, at, scan) after random writes, and its
// snapshots; and randomUpdateOp, which picks by position, against the plain rule it keeps (list
// every record, pick from the tokens or the objects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryDasd, streamRecords, type Dasd } from '../impl/dasd.ts';
import { Rng } from '../impl/rng.ts';
import { OrderedMap } from '../impl/sorted-set.ts';
import {
  InStoreCopy,
  compareHandles,
  handleOf,
  objectRecord,
  tokenRecord,
  type TkdsRecord,
} from '../impl/tkds.ts';
import { randomUpdateOp, type UpdateOp } from '../impl/updates.ts';

const ctx = { by: 'TEST' };
const TOKENS = ['A', 'A.B', 'AB', 'NEW1', 'NEW2', 'T0'];

/** A record: a token record (seq 0) or a clear object of one of a few tokens. */
const recordArb = fc
  .tuple(fc.constantFrom(...TOKENS), fc.integer({ min: 0, max: 40 }))
  .map(([token, seq]): TkdsRecord =>
    seq === 0
      ? tokenRecord(token, 0)
      : objectRecord(
          token,
          seq,
          { label: 'x', class: 'data', keyType: null, length: 1 },
          { type: 'clear', bytes: Uint8Array.of(seq) },
        ),
  );

/** A data set after random puts and deletes (token records may be missing: objects outlive them mid-delete). */
const dataSetArb = fc
  .array(fc.tuple(fc.boolean(), recordArb), { maxLength: 300, size: 'max' })
  .map((writes) => {
    const dasd = new MemoryDasd('D');
    dasd.allocate('D', ctx);
    for (const [put, r] of writes) {
      if (put) dasd.put('D', r, ctx);
      else dasd.delete('D', r.handle, ctx);
    }
    return dasd;
  });

const byNumber = (a: number, b: number): number => a - b;

/** Every query of `map` agrees with the plain Map `model`. */
function agrees(map: OrderedMap<number, string>, model: Map<number, string>): void {
  const keys = [...model.keys()].sort(byNumber);
  assert.equal(map.size, model.size);
  assert.deepEqual(
    [...map.values()],
    keys.map((k) => model.get(k)),
  );
  assert.deepEqual(map.slice(0, Infinity), [...map.values()]);
  for (const probe of [-1, 0, 1, 7, 250, 499, 500, ...keys.slice(0, 5)]) {
    const rank = keys.filter((k) => k < probe).length;
    assert.equal(map.rank(probe), rank, `rank(${probe})`);
    assert.equal(map.get(probe), model.get(probe), `get(${probe})`);
    assert.equal(map.has(probe), model.has(probe), `has(${probe})`);
    assert.equal(map.at(rank), keys[rank] === undefined ? undefined : model.get(keys[rank]!));
  }
  assert.equal(map.at(-1), undefined);
  assert.equal(map.at(keys.length), undefined);
}

/** One step on a family of maps: a write to map `on`, or a new snapshot of it. */
type MapOp =
  | { op: 'set'; on: number; key: number; value: string }
  | { op: 'delete'; on: number; key: number }
  | { op: 'snapshot'; on: number };
const mapOpArb: fc.Arbitrary<MapOp> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      on: fc.nat(7),
      key: fc.nat(499),
      value: fc.string({ maxLength: 3 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('delete' as const), on: fc.nat(7), key: fc.nat(499) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('snapshot' as const), on: fc.nat(7) }) },
);

test("OrderedMap: writes and snapshots agree with plain Maps copied at each snapshot; no map sees another one's writes", () => {
  fc.assert(
    fc.property(fc.array(mapOpArb, { minLength: 1, maxLength: 3000, size: 'max' }), (ops) => {
      const maps = [new OrderedMap<number, string>(byNumber)];
      const models = [new Map<number, string>()];
      for (const o of ops) {
        const i = o.on % maps.length; // the family grows with each snapshot
        const map = maps[i]!;
        const model = models[i]!;
        if (o.op === 'set') {
          assert.equal(map.set(o.key, o.value), !model.has(o.key));
          model.set(o.key, o.value);
        } else if (o.op === 'delete') {
          assert.equal(map.delete(o.key), model.delete(o.key));
        } else {
          maps.push(map.snapshot());
          models.push(new Map(model));
        }
      }
      maps.forEach((m, i) => agrees(m, models[i]!));
    }),
    { numRuns: 60 },
  );
});

test('OrderedMap: a snapshot of 20,000 keys keeps every value while the map is rewritten, emptied and refilled', () => {
  const map = new OrderedMap<number, string>(byNumber);
  const model = new Map<number, string>();
  for (let i = 0, s = 7; i < 20_000; i++) {
    s = (s * 48271) % 2147483647;
    map.set(s % 100_000, `v${i}`);
    model.set(s % 100_000, `v${i}`);
  }
  const snap = map.snapshot();
  const walk = map.values(); // a walk under way is a snapshot too
  const first = walk.next().value;
  for (const k of model.keys()) map.set(k, 'rewritten');
  for (const k of model.keys()) assert.ok(map.delete(k));
  assert.equal(map.size, 0);
  map.set(5, 'new');
  agrees(snap, model);
  assert.deepEqual([first, ...walk], [...snap.values()]);
  snap.delete([...model.keys()][0]!);
  assert.deepEqual([...map.values()], ['new']);
});

test('MemoryDasd: a snapshot (and an in-store copy made from it) does not see later writes, nor write through', () => {
  const dasd = new MemoryDasd('D');
  dasd.allocate('D', ctx);
  const rec = (token: string, seq: number, byte: number): TkdsRecord =>
    objectRecord(
      token,
      seq,
      { label: 'x', class: 'data', keyType: null, length: 1 },
      { type: 'clear', bytes: Uint8Array.of(byte) },
    );
  const before = Array.from({ length: 500 }, (_, i) => rec('T0', i + 1, 1));
  for (const r of before) dasd.put('D', r, ctx);
  const copy = new InStoreCopy('D', '00'.repeat(16), dasd.snapshot('D'));
  const h = (seq: number) => handleOf('T0', seq, 'object');
  dasd.put('D', rec('T0', 7, 2), ctx);
  dasd.delete('D', h(8), ctx);
  dasd.put('D', rec('T0', 501, 2), ctx);
  assert.equal(copy.size, 500);
  assert.equal(copy.get(h(7)), before[6]);
  assert.equal(copy.get(h(8)), before[7]);
  assert.equal(copy.get(h(501)), undefined);
  copy.delete(h(9));
  copy.put(rec('T0', 10, 3));
  assert.equal(dasd.get('D', h(9)), before[8]);
  assert.equal(dasd.get('D', h(10)), before[9]);
  assert.equal(dasd.count('D'), 500);
  assert.deepEqual(
    [...copy.records()].map((r) => r.handle),
    [...copy.records()].map((r) => r.handle).sort(compareHandles),
  );
});

test('MemoryDasd: rank, at and scan agree with the records sorted by handle after random writes', () => {
  fc.assert(
    fc.property(
      dataSetArb,
      fc.array(
        recordArb.map((r) => r.handle),
        { maxLength: 10 },
      ),
      (dasd, probes) => {
        const all = [...streamRecords(dasd, 'D', null, 7)];
        const handles = all.map((r) => r.handle);
        assert.deepEqual(handles, [...handles].sort(compareHandles));
        assert.equal(new Set(handles).size, dasd.count('D'));
        all.forEach((r, i) => {
          assert.equal(dasd.at('D', i), r);
          assert.equal(dasd.rank('D', r.handle), i);
        });
        assert.equal(dasd.at('D', all.length), undefined);
        for (const h of probes) {
          const before = handles.filter((x) => compareHandles(x, h) < 0).length;
          assert.equal(dasd.rank('D', h), before);
          const after = handles.filter((x) => compareHandles(x, h) > 0);
          assert.deepEqual(
            dasd.scan('D', h, 3).map((r) => r.handle),
            after.slice(0, 3),
          );
        }
      },
    ),
  );
});

/** randomUpdateOp's rule on a full copy of the records (the form it had before it picked by position). */
function referenceOp(
  rng: Rng,
  dasd: Dasd,
  dataSet: string,
  freshToken: () => string,
  deletable: (t: string) => boolean,
): UpdateOp {
  const recs = [...streamRecords(dasd, dataSet)];
  const tokens = recs.filter((r) => r.kind === 'token').map((r) => r.token);
  const objects = recs.filter((r) => r.kind === 'object').map((r) => r.handle);
  const roll = rng.float();
  const label = `upd${rng.int(1_000_000)}`;
  if (tokens.length === 0 || roll < 0.08) return { op: 'createToken', token: freshToken() };
  const mine = tokens.filter(deletable);
  if (roll < 0.12 && mine.length > 0) return { op: 'deleteToken', token: rng.pick(mine) };
  if (objects.length === 0 || roll < 0.5)
    return { op: 'createObject', token: rng.pick(tokens), secure: rng.chance(0.7), label };
  if (roll < 0.8) return { op: 'updateObject', handle: rng.pick(objects), label };
  return { op: 'destroyObject', handle: rng.pick(objects) };
}

test('randomUpdateOp: the same op and the same draws as picking from a full copy of the records', () => {
  fc.assert(
    fc.property(dataSetArb, fc.integer({ min: 0, max: 2 ** 40 }), (dasd, seed) => {
      const a = new Rng(seed);
      const b = new Rng(seed);
      const deletable = (t: string): boolean => t.startsWith('NEW');
      for (let i = 0; i < 20; i++) {
        const expected = referenceOp(b, dasd, 'D', () => `NEW${i}`, deletable);
        assert.deepEqual(
          randomUpdateOp(a, dasd, 'D', () => `NEW${i}`, deletable),
          expected,
        );
        assert.equal(a.u32(), b.u32());
      }
    }),
  );
});

test('randomUpdateOp: a token with the greatest sequence number is skipped whole', () => {
  const dasd = new MemoryDasd('D');
  dasd.allocate('D', ctx);
  dasd.put('D', tokenRecord('A', 0xffffffff), ctx);
  dasd.put(
    'D',
    objectRecord(
      'A',
      0xffffffff,
      { label: 'x', class: 'data', keyType: null, length: 1 },
      { type: 'clear', bytes: Uint8Array.of(1) },
    ),
    ctx,
  );
  dasd.put('D', tokenRecord('B', 0), ctx);
  for (let seed = 0; seed < 50; seed++) {
    const a = new Rng(seed);
    const b = new Rng(seed);
    assert.deepEqual(
      randomUpdateOp(
        a,
        dasd,
        'D',
        () => 'NEW',
        () => true,
      ),
      referenceOp(
        b,
        dasd,
        'D',
        () => 'NEW',
        () => true,
      ),
    );
  }
  assert.equal(dasd.rank('D', handleOf('B', 0, 'token')), 2);
});
