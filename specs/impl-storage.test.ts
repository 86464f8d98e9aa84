// The storage layer: the seeded rng, TKDS records and handles, and the shared DASD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng } from '../impl/rng.ts';
import {
  generateRecords,
  handleOf,
  parseHandle,
  tokenRecord,
  objectRecord,
  withValue,
  secureValue,
  InStoreCopy,
  type ObjectRecord,
} from '../impl/tkds.ts';
import { Slab } from '../impl/slab.ts';
import { MemoryDasd, DasdIoError, streamRecords, type DasdWrite } from '../impl/dasd.ts';

const fakeWrap = (v: Uint8Array): Uint8Array => Uint8Array.from([0xb1, ...v.map((b) => b ^ 0x5a)]);

test('rng: same seed gives the same numbers, other seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 50 }, () => a.u32());
  assert.deepEqual(
    Array.from({ length: 50 }, () => b.u32()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 50 }, () => new Rng(43).u32()),
    xs,
  );
  assert.throws(() => new Rng(1.5), /safe integer/);
});

test('rng: int stays in range and covers it; bytes has the asked length', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 1, max: 50 }),
      (seed, n) => {
        const r = new Rng(seed);
        const seen = new Set<number>();
        for (let i = 0; i < 400; i++) {
          const v = r.int(n);
          assert.ok(Number.isInteger(v) && v >= 0 && v < n);
          seen.add(v);
        }
        assert.ok(seen.size >= Math.min(n, 10));
        assert.equal(r.bytes(n).length, n);
      },
    ),
  );
});

test('handles: format, order and validation', () => {
  assert.equal(handleOf('TOKEN01', 3, 'object'), 'TOKEN01:00000003:O');
  assert.equal(handleOf('TOKEN01', 0, 'token'), 'TOKEN01:00000000:T');
  assert.deepEqual(parseHandle('TOKEN01:0000000a:O'), {
    token: 'TOKEN01',
    seq: 10,
    kind: 'object',
  });
  assert.throws(() => handleOf('bad name', 1, 'object'), /bad token name/);
  assert.throws(() => handleOf('T', 1, 'token'), /sequence number 0/);
  assert.throws(() => parseHandle('T:1:O'), /bad handle/);
  assert.ok(handleOf('A', 2, 'object') < handleOf('A', 10, 'object'));
});

test('generateRecords: deterministic, unique handles, token lastSeq covers its objects, mixed kinds', () => {
  const recs = generateRecords(
    new Rng(7),
    { tokens: 4, objects: 120, secureFraction: 0.5 },
    fakeWrap,
  );
  const again = generateRecords(
    new Rng(7),
    { tokens: 4, objects: 120, secureFraction: 0.5 },
    fakeWrap,
  );
  assert.deepEqual(again, recs);
  assert.equal(recs.length, 124);
  assert.equal(new Set(recs.map((r) => r.handle)).size, recs.length);
  const last = new Map(
    recs
      .filter((r) => r.kind === 'token')
      .map((r) => [r.token, r.kind === 'token' ? r.lastSeq : 0]),
  );
  const objects = recs.filter((r) => r.kind === 'object');
  for (const o of objects) assert.ok(o.kind === 'object' && o.seq <= last.get(o.token)!);
  const secure = objects.filter((o) => o.kind === 'object' && o.value.type === 'secure');
  assert.ok(secure.length > 30 && secure.length < 90);
  assert.ok(new Set(objects.map((o) => (o.kind === 'object' ? o.attrs.length : 0))).size >= 4);
  assert.throws(
    () => generateRecords(new Rng(1), { tokens: 0, objects: 3 }, fakeWrap),
    /needs at least one token/,
  );
  assert.throws(
    () => generateRecords(new Rng(1), { secureFraction: 2 }, fakeWrap),
    /secureFraction/,
  );
});

test('InStoreCopy: records in handle order; JSON shows counts, not values', () => {
  const c = new InStoreCopy('CSF.TKDS', '00'.repeat(16), [
    tokenRecord('B', 0),
    tokenRecord('A', 1),
  ]);
  c.put(
    objectRecord(
      'A',
      1,
      { label: 'k', class: 'secretKey', keyType: 'AES', length: 16 },
      { type: 'clear', bytes: new Uint8Array(16).fill(0xee) },
    ),
  );
  assert.deepEqual(
    [...c.records()].map((r) => r.handle),
    ['A:00000000:T', 'A:00000001:O', 'B:00000000:T'],
  );
  assert.equal(
    JSON.stringify(c),
    JSON.stringify({ dataSet: 'CSF.TKDS', mkvp: '00'.repeat(16), records: 3 }),
  );
});

test('MemoryDasd: catalog rules (no overwrite, rename refuses an existing name, unusable, header)', () => {
  const d = new MemoryDasd('CSF.TKDS');
  const by = { by: 'SYSA' };
  d.allocate('CSF.TKDS', by);
  assert.throws(() => d.allocate('CSF.TKDS', by), /the name exists/);
  d.allocate('CSF.TKDS.NEW', by);
  assert.throws(() => d.rename('CSF.TKDS', 'CSF.TKDS.NEW', by), /the name exists/);
  assert.throws(() => d.header('NOPE'), /NOPE does not exist/);
  d.writeHeader('CSF.TKDS', 'ab'.repeat(16), by);
  d.markUnusable('CSF.TKDS.NEW', by);
  assert.deepEqual(d.header('CSF.TKDS'), { mkvp: 'ab'.repeat(16), usable: true });
  assert.deepEqual(d.header('CSF.TKDS.NEW'), { mkvp: null, usable: false });
  d.rename('CSF.TKDS', 'CSF.TKDS.OLD', by);
  assert.deepEqual(d.names(), ['CSF.TKDS.NEW', 'CSF.TKDS.OLD']);
});

test('MemoryDasd: scan streams in handle order through puts and deletes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 60 })), { maxLength: 120 }),
      fc.integer({ min: 1, max: 9 }),
      (ops, page) => {
        const d = new MemoryDasd('X');
        d.allocate('X', { by: 'M' });
        const model = new Set<string>();
        for (const [isPut, seq] of ops) {
          const h = handleOf('T', seq, 'object');
          if (isPut) {
            d.put(
              'X',
              objectRecord(
                'T',
                seq,
                { label: 'l', class: 'data', keyType: null, length: 1 },
                { type: 'clear', bytes: new Uint8Array(1) },
              ),
              { by: 'M' },
            );
            model.add(h);
          } else {
            d.delete('X', h, { by: 'M' });
            model.delete(h);
          }
        }
        const streamed = [...streamRecords(d, 'X', null, page)].map((r) => r.handle);
        assert.deepEqual(streamed, [...model].sort());
        assert.equal(d.count('X'), model.size);
      },
    ),
  );
});

test('MemoryDasd: writes are tagged and reported; a failed write throws and is not applied', () => {
  const d = new MemoryDasd('CSF.TKDS');
  const seen: DasdWrite[] = [];
  d.onWrite = (w) => seen.push(w);
  d.allocate('CSF.TKDS', { by: 'SYSA' });
  d.put('CSF.TKDS', tokenRecord('T', 0), { by: 'SYSB', update: 'u1' });
  assert.deepEqual(
    seen.map((w) => [w.op, w.by, w.update]),
    [
      ['allocate', 'SYSA', undefined],
      ['put', 'SYSB', 'u1'],
    ],
  );
  d.failWrite = (w) => w.op === 'put';
  assert.throws(
    () => d.put('CSF.TKDS', tokenRecord('U', 0), { by: 'SYSA' }),
    (e: unknown) => e instanceof DasdIoError && /put of data set CSF.TKDS by SYSA/.test(e.message),
  );
  assert.equal(d.count('CSF.TKDS'), 1);
  assert.equal(seen.length, 2);
});

test('MemoryDasd: cluster record is compare-and-set', () => {
  const d = new MemoryDasd('CSF.TKDS');
  const none = d.readClusterRecord();
  const running = {
    ...none,
    change: 'running' as const,
    initiator: 'SYSA',
    target: 'CSF.TKDS.NEW',
    changeId: 'c1',
  };
  assert.equal(d.compareAndSetClusterRecord(none, running, { by: 'SYSA' }), true);
  assert.equal(
    d.compareAndSetClusterRecord(none, { ...running, initiator: 'SYSB' }, { by: 'SYSB' }),
    false,
  );
  assert.equal(d.readClusterRecord().initiator, 'SYSA');
  d.failWrite = () => true;
  assert.throws(
    () => d.compareAndSetClusterRecord(d.readClusterRecord(), none, { by: 'SYSA' }),
    /cluster record by SYSA failed/,
  );
  assert.equal(d.readClusterRecord().change, 'running');
});

test('withValue: a new frozen record with the new value that shares the handle and attributes (a rewrap copies neither)', () => {
  const r = objectRecord(
    'T1',
    3,
    { label: 'k', class: 'secretKey', keyType: 'AES', length: 16 },
    { type: 'secure', blob: Uint8Array.of(1, 2) },
  );
  const value = { type: 'secure' as const, blob: Uint8Array.of(3, 4) };
  const w = withValue(r, value);
  assert.deepEqual(Object.keys(w), Object.keys(r)); // the same fields, in the same order (trace lines)
  assert.equal(w.attrs, r.attrs);
  assert.equal(w.handle, r.handle);
  assert.equal(w.value, value);
  assert.ok(Object.isFrozen(w) && Object.isFrozen(w.value));
  assert.deepEqual(r.value, { type: 'secure', blob: Uint8Array.of(1, 2) });
});

test('compact values: every read gives the bytes stored, through later slab writes, DASD writes and snapshots', () => {
  // a blob's bytes: what secureValue was given; a clear value's: what the generator drew
  const slab = new Slab();
  const blobs = Array.from({ length: 3000 }, (_, i) =>
    slab.copy(Uint8Array.from({ length: 44 + 8 * (i % 7) }, (_, k) => (i * 13 + k) & 0xff)),
  );
  const values = blobs.map((b) => secureValue(b));
  const expected = blobs.map((b) => Uint8Array.from(b));
  const dasd = new MemoryDasd('A');
  dasd.allocate('A', { by: 'SYSA' });
  const records = generateRecords(new Rng(5), { tokens: 3, objects: 3000 }, fakeWrap);
  const objects = records.filter((r): r is ObjectRecord => r.kind === 'object');
  const clearBefore = objects.map((r) => (r.value.type === 'clear' ? [...r.value.bytes] : null));
  objects.forEach((r, i) => dasd.put('A', withValue(r, values[i]!), { by: 'SYSA' }));
  const snap = dasd.snapshot('A');
  // more values into the same slab, and writes over half the records
  const later = Array.from({ length: 3000 }, (_, i) =>
    secureValue(slab.copy(new Uint8Array(60).fill(i))),
  );
  objects.forEach((r, i) => i % 2 === 0 && dasd.put('A', withValue(r, later[i]!), { by: 'SYSA' }));
  objects.forEach((r, i) => {
    const now = dasd.get('A', r.handle) as ObjectRecord;
    const was = snap.get(r.handle) as ObjectRecord;
    assert.ok(was.value.type === 'secure' && now.value.type === 'secure');
    assert.deepEqual(was.value.blob, expected[i], `snapshot keeps ${r.handle}`);
    assert.deepEqual(now.value.blob, i % 2 === 0 ? new Uint8Array(60).fill(i) : expected[i]);
    assert.notEqual(was.value.blob, was.value.blob, 'each read is a new view');
  });
  objects.forEach((r, i) => {
    if (r.value.type === 'clear') assert.deepEqual([...r.value.bytes], clearBefore[i]);
  });
});

test('compact values read back any bytes at any place: packed offsets and lengths, and past the packing limits', () => {
  const buffer = new ArrayBuffer((1 << 19) + (1 << 13));
  const all = new Uint8Array(buffer);
  all.forEach((_, k) => (all[k] = (k * 7 + (k >> 8)) & 0xff));
  for (const [at, length] of [
    [0, 0],
    [0, 1],
    [1, 44],
    [65535, 92],
    [(1 << 19) - 1, 4095],
    [(1 << 19) - 1, 4096], // a length too large to pack
    [1 << 19, 12], // an offset too large to pack
    [(1 << 19) + 5, 8000],
  ] as const) {
    const bytes = new Uint8Array(buffer, at, length);
    const v = secureValue(bytes);
    assert.equal(v.type, 'secure');
    assert.equal(v.blob.buffer, buffer, `${at}+${length}: a view of the same buffer`);
    assert.equal(v.blob.byteOffset, at, `${at}+${length}: offset`);
    assert.deepEqual(v.blob, bytes, `${at}+${length}: bytes`);
  }
});
