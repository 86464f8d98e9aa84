// `npm run bench`: AES-256 key wrap (RFC 3394) of 100,000 random 32-byte keys, single thread:
// wrap, unwrap, and rewrap (unwrap under KEK1, then wrap under KEK2), for
//   ours     impl/crypto/aes-kw.ts through createKeyWrapper (key schedules expanded once),
//   openssl  Node's OpenSSL id-aes256-wrap, a cipher object made per call (createCipheriv),
//   noble    @noble/ciphers aeskw, a cipher object made per call (its API allows one use each).
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
  {
    name: 'noble',
    // noble refuses a second encrypt() on one cipher object, so each call makes its own
    make: (kek) => ({
      wrap: (data) => aeskw(kek).encrypt(data),
      unwrap: (wrapped) => aeskw(kek).decrypt(wrapped),
    }),
  },
];
const OPS = ['wrap', 'unwrap', 'rewrap'] as const;
type Op = (typeof OPS)[number];

const kek1 = crypto.randomBytes(32);
const kek2 = crypto.randomBytes(32);
const keys = Array.from({ length: KEYS }, () => Uint8Array.from(crypto.randomBytes(32)));
const reference = createKeyWrapper(kek1);
const wrapped = keys.map((k) => reference.wrap(k));

// The three must agree before their speed means anything.
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
  `${'ops/s'.padEnd(8)}${impls.map((i) => i.name.padStart(12)).join('')}${'ours/openssl'.padStart(14)}${'ours/noble'.padStart(12)}`,
);
for (const op of OPS) {
  const row = impls.map((i) => fmt(opsPerSecond(i.name, op))).join('');
  const vsOpenssl = opsPerSecond('ours', op) / opsPerSecond('openssl', op);
  const vsNoble = opsPerSecond('ours', op) / opsPerSecond('noble', op);
  console.log(
    `${op.padEnd(8)}${row}${`${vsOpenssl.toFixed(2)}x`.padStart(14)}${`${vsNoble.toFixed(2)}x`.padStart(12)}`,
  );
}
const rewrapVsOpenssl = opsPerSecond('ours', 'rewrap') / opsPerSecond('openssl', 'rewrap');
const rewrapVsNoble = opsPerSecond('ours', 'rewrap') / opsPerSecond('noble', 'rewrap');
const met = rewrapVsOpenssl >= 1.5 && rewrapVsNoble >= 2;
console.log(
  `\ncheck: rewrap ${rewrapVsOpenssl.toFixed(2)}x openssl (target >= 1.5x), ${rewrapVsNoble.toFixed(2)}x noble (target >= 2x): ${met ? 'targets met' : 'TARGETS NOT MET'}`,
);
console.log(`(result checksum ${sink})`);
