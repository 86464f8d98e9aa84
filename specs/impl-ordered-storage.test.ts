// Records in handle order without copies: MemoryDasd's positions (rank, at, scan) after random
// writes, and randomUpdateOp, which picks by position, against the plain rule it keeps (list every
// record, pick from the tokens or the objects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryDasd, streamRecords, type Dasd } from '../impl/dasd.ts';
import { Rng } from '../impl/rng.ts';
import {
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
