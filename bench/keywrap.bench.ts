// `npm run bench`: AES-256 key wrap (RFC 3394) of 100,000 random 32-byte keys, single thread:
// wrap, unwrap, and rewrap (unwrap under KEK1, then wrap under KEK2), for
//   ours     impl/crypto/aes-kw.ts through createKeyWrapper (key schedules expanded once),
//   openssl  Node's OpenSSL id-aes256-wrap, a cipher object made per call (createCipheriv),
//   noble    @noble/ciphers aeskw, a cipher object made per call (its API allows one use each),
//   ecb      RFC 3394 on Node's OpenSSL aes-256-ecb, one cipher context per KEK reused for every
//            block (no per-call set-up, but one call into OpenSSL per block);
// and, for rewrap only, `ecb batch`: the same contexts, every key's block of one RFC 3394 step in
// one call (100,000 blocks a call): the fastest use of OpenSSL from Node, not a per-key API.
// Runs are interleaved (every implementation and operation once per run, after a warm-up run);
// the table shows the median of the runs. Targets: rewrap >= 1.5x openssl and >= 2x noble.
import crypto from 'node:crypto';
import os from 'node:os';
import { aeskw } from '@noble/ciphers/aes.js';
import { createKeyWrapper } from '../impl/crypto/aes-kw.ts';

const KEYS = 100_000;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

type Codec = { wrap(data: Uint8Array): Uint8Array; unwrap(wrapped: Uint8Array): Uint8Array };
type Impl = { name: string; make(kek: Uint8Array): Codec };

const impls: Impl[] = [
  { name: 'ours', make: (kek) => createKeyWrapper(kek) },
  {
    name: 'openssl',
    make: (kek) => ({
      wrap: (data) => {
        const c = crypto.createCipheriv('id-aes256-wrap', kek, KW_IV);
        return Buffer.concat([c.update(data), c.final()]);
      },
      unwrap: (wrapped) => {
        const d = crypto.createDecipheriv('id-aes256-wrap', kek, KW_IV);
        return Buffer.concat([d.update(wrapped), d.final()]);
      },
    }),
  },
  { name: 'ecb', make: (kek) => ecbKeyWrap(kek) },
  {
    name: 'noble',
    // noble refuses a second encrypt() on one cipher object, so each call makes its own
    make: (kek) => ({
      wrap: (data) => aeskw(kek).encrypt(data),
      unwrap: (wrapped) => aeskw(kek).decrypt(wrapped),
    }),
  },
];
/** RFC 3394 (section 2.2.1 and 2.2.2) over single AES blocks of reused ECB contexts. */
function ecbKeyWrap(kek: Uint8Array): Codec {
  const enc = crypto.createCipheriv('aes-256-ecb', kek, null).setAutoPadding(false);
  const dec = crypto.createDecipheriv('aes-256-ecb', kek, null).setAutoPadding(false);
  const block = Buffer.alloc(16);
  const xorCounter = (a: Buffer, t: number): void => {
    for (let k = 7; k >= 0 && t > 0; k--, t = Math.floor(t / 256)) a[k]! ^= t & 0xff;
  };
  return {
    wrap(data) {
      const n = data.length / 8;
      const a = Buffer.from(KW_IV);
      const r = Buffer.from(data);
      for (let j = 0; j < 6; j++) {
        for (let i = 0; i < n; i++) {
          a.copy(block, 0);
          r.copy(block, 8, i * 8, i * 8 + 8);
          const b = enc.update(block);
          b.copy(a, 0, 0, 8);
          xorCounter(a, n * j + i + 1);
          b.copy(r, i * 8, 8, 16);
        }
      }
      return Buffer.concat([a, r]);
    },
    unwrap(wrapped) {
      const n = wrapped.length / 8 - 1;
      const a = Buffer.from(wrapped.subarray(0, 8));
      const r = Buffer.from(wrapped.subarray(8));
      for (let j = 5; j >= 0; j--) {
        for (let i = n - 1; i >= 0; i--) {
          xorCounter(a, n * j + i + 1);
          a.copy(block, 0);
          r.copy(block, 8, i * 8, i * 8 + 8);
          const b = dec.update(block);
          b.copy(a, 0, 0, 8);
          b.copy(r, i * 8, 8, 16);
        }
      }
      if (!a.equals(KW_IV)) throw new Error('ecb: integrity check failed');
      return r;
    },
  };
}

/** Rewrap of all `blobs` (32-byte keys: n = 4) from kekA to kekB, each RFC 3394 step over every key in one ECB call. */
function ecbBatchRewrap(
  kekA: Uint8Array,
  kekB: Uint8Array,
  blobs: readonly Uint8Array[],
): Buffer[] {
  const n = 4;
  const count = blobs.length;
  const dec = crypto.createDecipheriv('aes-256-ecb', kekA, null).setAutoPadding(false);
  const enc = crypto.createCipheriv('aes-256-ecb', kekB, null).setAutoPadding(false);
  const a = Buffer.alloc(count * 8);
  const r = Buffer.alloc(count * n * 8);
  const blocks = Buffer.alloc(count * 16);
  const counter = (t: number, k: number): void => {
    a[k * 8 + 7]! ^= t; // t <= 24: the counter's low byte only
  };
  blobs.forEach((w, k) => {
    Buffer.from(w.buffer, w.byteOffset, 8).copy(a, k * 8);
    Buffer.from(w.buffer, w.byteOffset + 8, n * 8).copy(r, k * n * 8);
  });
  const round = (
    cipher: crypto.Cipher | crypto.Decipher,
    i: number,
    t: number,
    before: boolean,
  ): void => {
    for (let k = 0; k < count; k++) {
      if (before) counter(t, k);
      a.copy(blocks, k * 16, k * 8, k * 8 + 8);
      r.copy(blocks, k * 16 + 8, (k * n + i) * 8, (k * n + i) * 8 + 8);
    }
    const out = cipher.update(blocks);
    for (let k = 0; k < count; k++) {
      out.copy(a, k * 8, k * 16, k * 16 + 8);
      if (!before) counter(t, k);
      out.copy(r, (k * n + i) * 8, k * 16 + 8, k * 16 + 16);
    }
  };
  for (let j = 5; j >= 0; j--) for (let i = n - 1; i >= 0; i--) round(dec, i, n * j + i + 1, true);
  for (let k = 0; k < count; k++)
    if (!a.subarray(k * 8, k * 8 + 8).equals(KW_IV))
      throw new Error('ecb batch: integrity check failed');
  for (let j = 0; j < 6; j++) for (let i = 0; i < n; i++) round(enc, i, n * j + i + 1, false);
  return blobs.map((_, k) =>
    Buffer.concat([a.subarray(k * 8, k * 8 + 8), r.subarray(k * n * 8, (k + 1) * n * 8)]),
  );
}

const OPS = ['wrap', 'unwrap', 'rewrap'] as const;
type Op = (typeof OPS)[number];

const kek1 = crypto.randomBytes(32);
const kek2 = crypto.randomBytes(32);
const keys = Array.from({ length: KEYS }, () => Uint8Array.from(crypto.randomBytes(32)));
const reference = createKeyWrapper(kek1);
const wrapped = keys.map((k) => reference.wrap(k));

// They must agree before their speed means anything.
for (const impl of impls) {
  const a = impl.make(kek1),
    b = impl.make(kek2);
  for (let i = 0; i < 100; i++) {
    if (Buffer.compare(Buffer.from(a.wrap(keys[i]!)), Buffer.from(wrapped[i]!)) !== 0)
      throw new Error(`${impl.name}: wrap disagrees`);
    if (Buffer.compare(Buffer.from(a.unwrap(wrapped[i]!)), Buffer.from(keys[i]!)) !== 0)
      throw new Error(`${impl.name}: unwrap disagrees`);
    if (
      Buffer.compare(
        Buffer.from(b.unwrap(b.wrap(a.unwrap(wrapped[i]!)))),
        Buffer.from(keys[i]!),
      ) !== 0
    )
      throw new Error(`${impl.name}: rewrap disagrees`);
  }
}

{
  const batch = ecbBatchRewrap(kek1, kek2, wrapped.slice(0, 100));
  const b = impls[0]!.make(kek2);
  batch.forEach((x, i) => {
    if (Buffer.compare(Buffer.from(b.unwrap(x)), Buffer.from(keys[i]!)) !== 0)
      throw new Error('ecb batch: rewrap disagrees');
  });
}

let sink = 0; // a running sum over every result, so no call can be optimized away
/** Seconds for one pass of `op` over all keys with `impl` (KEKs set up inside the timing). */
function timeOnce(impl: Impl, op: Op): number {
  const start = process.hrtime.bigint();
  const a = impl.make(kek1);
  if (op === 'wrap') {
    for (let i = 0; i < KEYS; i++) sink = (sink + a.wrap(keys[i]!)[7]!) | 0;
  } else if (op === 'unwrap') {
    for (let i = 0; i < KEYS; i++) sink = (sink + a.unwrap(wrapped[i]!)[7]!) | 0;
  } else {
    const b = impl.make(kek2);
    for (let i = 0; i < KEYS; i++) sink = (sink + b.wrap(a.unwrap(wrapped[i]!))[7]!) | 0;
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const samples = new Map<string, number[]>();
for (let run = 0; run <= RUNS; run++) {
  // run 0 is the warm-up
  for (const op of OPS) {
    for (const impl of impls) {
      const seconds = timeOnce(impl, op);
      if (run > 0)
        samples.set(`${impl.name}/${op}`, [...(samples.get(`${impl.name}/${op}`) ?? []), seconds]);
    }
  }
  const start = process.hrtime.bigint();
  for (const x of ecbBatchRewrap(kek1, kek2, wrapped)) sink = (sink + x[7]!) | 0;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run > 0) samples.set('ecbBatch/rewrap', [...(samples.get('ecbBatch/rewrap') ?? []), seconds]);
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const opsPerSecond = (impl: string, op: Op): number => KEYS / median(samples.get(`${impl}/${op}`)!);

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(12);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `AES-256 key wrap (RFC 3394), ${KEYS.toLocaleString('en-US')} random 32-byte keys, median of ${RUNS} interleaved runs`,
);
console.log(`node ${process.version}, ${cpu}, ${os.cpus().length} cores, single thread\n`);
console.log(
  `${'ops/s'.padEnd(8)}${impls.map((i) => i.name.padStart(12)).join('')}${'ours/openssl'.padStart(14)}${'ours/ecb'.padStart(10)}${'ours/noble'.padStart(12)}`,
);
for (const op of OPS) {
  const row = impls.map((i) => fmt(opsPerSecond(i.name, op))).join('');
  const vsOpenssl = opsPerSecond('ours', op) / opsPerSecond('openssl', op);
  const vsEcb = opsPerSecond('ours', op) / opsPerSecond('ecb', op);
  const vsNoble = opsPerSecond('ours', op) / opsPerSecond('noble', op);
  console.log(
    `${op.padEnd(8)}${row}${`${vsOpenssl.toFixed(2)}x`.padStart(14)}${`${vsEcb.toFixed(2)}x`.padStart(10)}${`${vsNoble.toFixed(2)}x`.padStart(12)}`,
  );
}
console.log(
  `rewrap, ecb batch (every key's block of a step in one call): ${fmt(opsPerSecond('ecbBatch', 'rewrap')).trim()}/s; ours/ecb batch ${(opsPerSecond('ours', 'rewrap') / opsPerSecond('ecbBatch', 'rewrap')).toFixed(2)}x`,
);
const rewrapVsOpenssl = opsPerSecond('ours', 'rewrap') / opsPerSecond('openssl', 'rewrap');
const rewrapVsNoble = opsPerSecond('ours', 'rewrap') / opsPerSecond('noble', 'rewrap');
const met = rewrapVsOpenssl >= 1.5 && rewrapVsNoble >= 2;
console.log(
  `\ncheck: rewrap ${rewrapVsOpenssl.toFixed(2)}x openssl (target >= 1.5x), ${rewrapVsNoble.toFixed(2)}x noble (target >= 2x): ${met ? 'targets met' : 'TARGETS NOT MET'}`,
);
console.log(`(result checksum ${sink})`);
