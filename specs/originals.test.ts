// impl/originals.ts: the originals of a run read exactly as the Map they replace (filled with the
// first data set's objects in handle order, then with each object made later), and later writes
// to the data set do not reach them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Originals } from '../impl/originals.ts';
import type { Original } from '../impl/invariants.ts';
import { OrderedMap } from '../impl/sorted-set.ts';
import {
  compareHandles,
  objectRecord,
  secureValue,
  tokenRecord,
  type ObjectRecord,
  type TkdsRecord,
} from '../impl/tkds.ts';

const TOKENS = ['A', 'A.B', 'TOKEN00'];
const object = (t: number, seq: number, n: number): ObjectRecord =>
  objectRecord(
    TOKENS[t]!,
    seq,
    { label: `obj${n}`, class: 'secretKey', keyType: 'AES', length: 16 },
    secureValue(new Uint8Array([n & 0xff, n >> 8])),
  );
const ref = fc.tuple(fc.nat(TOKENS.length - 1), fc.integer({ min: 1, max: 12 }));

test('originals iterate and answer get as the Map filled the same way does', () => {
  fc.assert(
    fc.property(
      fc.array(ref, { maxLength: 30 }),
      fc.array(ref, { maxLength: 15 }),
      (first, made) => {
        const data = new OrderedMap<string, TkdsRecord>(compareHandles);
        const map = new Map<string, Original>();
        TOKENS.forEach((t) => data.set(tokenRecord(t, 12).handle, tokenRecord(t, 12)));
        first.forEach(([t, seq], n) => data.set(object(t, seq, n).handle, object(t, seq, n)));
        for (const r of data.values()) if (r.kind === 'object') map.set(r.handle, r.value);
        const originals = new Originals(data.snapshot());
        // writes to the data set after the snapshot: the originals keep what was first stored
        for (const r of [...data.values()]) data.delete(r.handle);
        data.set(object(0, 1, 999).handle, object(0, 1, 999));
        made.forEach(([t, seq], i) => {
          const r = object(t, seq, 1000 + i);
          originals.add(r);
          map.set(r.handle, r.value);
        });
        // (values by identity: a value's bytes are private fields, which deepEqual does not see)
        const got = [...originals];
        assert.deepEqual(
          got.map(([h]) => h),
          [...map.keys()],
        );
        got.forEach(([h, v]) => assert.equal(v, map.get(h), h));
        for (const t of [0, 1, 2])
          for (let seq = 0; seq <= 13; seq++) {
            const h = seq === 0 ? tokenRecord(TOKENS[t]!, 0).handle : object(t, seq, 0).handle;
            assert.equal(originals.get(h), map.get(h), h);
          }
      },
    ),
  );
});
