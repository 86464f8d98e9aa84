// impl/key-check-values.ts: the KCV report (SimulationResult.kcv) reads and serializes exactly like
// the plain object `{ handle: kcv }` built from the data set it was taken from, whatever is written
// there later; KCVs pack without loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyCheckValues, kcvText, packKcv, UNKNOWN_KEY } from '../impl/key-check-values.ts';
import { OrderedMap } from '../impl/sorted-set.ts';
import {
  compareHandles,
  handleOf,
  objectRecord,
  secureValue,
  tokenRecord,
  type SecureValue,
  type TkdsRecord,
} from '../impl/tkds.ts';

const TOKENS = ['A', 'A.B', 'TOKEN00'];
/** A record: a token record, a clear object or a secure one whose blob's first byte picks its KCV. */
const recordArb = fc
  .tuple(fc.nat(TOKENS.length - 1), fc.integer({ min: 0, max: 30 }), fc.nat(3), fc.nat(255))
  .map(([t, seq, kind, b]): TkdsRecord => {
    const token = TOKENS[t]!;
    if (seq === 0) return tokenRecord(token, 30);
    const attrs = { label: `o${seq}`, class: 'secretKey', keyType: 'AES', length: 2 } as const;
    const bytes = new Uint8Array([b, kind]);
    return objectRecord(
      token,
      seq,
      attrs,
      kind === 0 ? { type: 'clear', bytes } : secureValue(bytes),
    );
  });
/** The audit's KCV of a test value: none (under no known key) for a first byte of 0. */
const kcvOf = (v: SecureValue): number | null => (v.blob[0] === 0 ? null : v.blob[0]! * 0x10101);

test('the report answers get, handles and JSON as the plain object of its secure objects in handle order', () => {
  fc.assert(
    fc.property(
      fc.array(recordArb, { maxLength: 60 }),
      fc.array(fc.nat(30), { maxLength: 5 }),
      (records, skipSeqs) => {
        const data = new OrderedMap<string, TkdsRecord>(compareHandles);
        records.forEach((r) => data.set(r.handle, r));
        const skip = new Set(skipSeqs.map((s) => handleOf('A', Math.max(1, s), 'object')));
        const report = new KeyCheckValues(data.snapshot(), kcvOf, skip);
        const plain: Record<string, string> = {};
        for (const r of data.values())
          if (r.kind === 'object' && r.value.type === 'secure' && !skip.has(r.handle)) {
            const k = kcvOf(r.value);
            plain[r.handle] = k === null ? UNKNOWN_KEY : kcvText(k);
          }
        // later writes to the data set, and to the set of handles to skip, do not reach the report
        for (const r of [...data.values()]) data.delete(r.handle);
        skip.clear();
        assert.deepEqual([...report.handles()], Object.keys(plain));
        assert.equal(JSON.stringify(report), JSON.stringify(plain));
        assert.equal(JSON.stringify({ k: report }), JSON.stringify({ k: plain }));
        for (const t of TOKENS)
          for (let seq = 0; seq <= 31; seq++) {
            const h = handleOf(t, seq, seq === 0 ? 'token' : 'object');
            assert.equal(report.get(h), plain[h], `get(${h})`);
          }
      },
    ),
  );
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
