// AES (FIPS 197), AES-KW (RFC 3394) and AES-KWP (RFC 5649) of impl/crypto: the published
// examples, every refusal, and differential properties against Node's OpenSSL key wrap and
// @noble/ciphers over random KEKs and key data of every valid length.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fc from 'fast-check';
import { aeskw, aeskwp } from '@noble/ciphers/aes.js';
import { AesCipher } from '../impl/crypto/aes.ts';
import {
  aesKeyWrap,
  aesKeyUnwrap,
  aesKeyWrapPad,
  aesKeyUnwrapPad,
  createKeyWrapper,
  KeyWrapError,
} from '../impl/crypto/aes-kw.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---- the three reference implementations, each returning the result or 'rejected' ----

type Outcome = string | 'rejected'; // hex of the result
const outcome = (f: () => Uint8Array): Outcome => {
  try {
    return toHex(f());
  } catch {
    return 'rejected';
  }
};
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const KWP_IV = Buffer.from('A65959A6', 'hex');

/** Node's OpenSSL wrap ciphers, one call each; `iv` may be any 8 bytes for KW (used to craft cases). */
function openssl(
  kek: Uint8Array,
  data: Uint8Array,
  pad: boolean,
  decrypt: boolean,
  iv: Buffer = pad ? KWP_IV : KW_IV,
): Uint8Array {
  const name = `id-aes${kek.length * 8}-wrap${pad ? '-pad' : ''}`;
  const c = decrypt ? crypto.createDecipheriv(name, kek, iv) : crypto.createCipheriv(name, kek, iv);
  return Buffer.concat([c.update(data), c.final()]);
}
const ours = (kek: Uint8Array, data: Uint8Array, pad: boolean, decrypt: boolean): Uint8Array =>
  pad
    ? (decrypt ? aesKeyUnwrapPad : aesKeyWrapPad)(kek, data)
    : (decrypt ? aesKeyUnwrap : aesKeyWrap)(kek, data);
const noble = (kek: Uint8Array, data: Uint8Array, pad: boolean, decrypt: boolean): Uint8Array => {
  const c = (pad ? aeskwp : aeskw)(kek);
  return decrypt ? c.decrypt(data) : c.encrypt(data);
};

/** Assert `f` throws a KeyWrapError; returns its message. */
function keyWrapFailure(f: () => unknown): string {
  let message = '';
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof KeyWrapError, `expected KeyWrapError, got ${String(e)}`);
    message = e.message;
    return true;
  });
  return message;
}
let integrityMessage = '';
/** Assert `f` fails the integrity check, with the one generic message every such failure shares. */
function integrityFailure(f: () => unknown): void {
  const message = keyWrapFailure(f);
  if (integrityMessage === '') integrityMessage = message;
  assert.equal(message, integrityMessage);
  assert.match(message, /integrity/);
}

// ---- published examples, typed from the standards ----

describe('AES block cipher (FIPS 197 appendix C)', () => {
  const plaintext = hex('00112233445566778899aabbccddeeff');
  const cases: [string, string][] = [
    ['000102030405060708090a0b0c0d0e0f', '69c4e0d86a7b0430d8cdb78070b4c55a'],
    ['000102030405060708090a0b0c0d0e0f1011121314151617', 'dda97ca4864cdfe06eaf70a0ec0d7191'],
    [
      '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      '8ea2b7ca516745bfeafc49904b496089',
    ],
  ];
  for (const [key, ciphertext] of cases) {
    it(`AES-${key.length * 4} encrypts and decrypts the example block`, () => {
      const aes = new AesCipher(hex(key));
      assert.equal(toHex(aes.encryptBlock(plaintext)), ciphertext);
      assert.equal(toHex(aes.decryptBlock(hex(ciphertext))), toHex(plaintext));
    });
  }

  it('agrees with OpenSSL AES-ECB on random keys and blocks', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (key, block) => {
          const ecb = crypto
            .createCipheriv(`aes-${key.length * 8}-ecb`, key, null)
            .setAutoPadding(false);
          const expected = toHex(ecb.update(block));
          const aes = new AesCipher(key);
          assert.equal(toHex(aes.encryptBlock(block)), expected);
          assert.equal(toHex(aes.decryptBlock(hex(expected))), toHex(block));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses bad key and block sizes, and is unusable after destroy', () => {
    assert.throws(() => new AesCipher(new Uint8Array(20)), /16, 24 or 32 bytes, got 20 bytes/);
    const aes = new AesCipher(new Uint8Array(16));
    assert.throws(() => aes.encryptBlock(new Uint8Array(15)), /16 bytes, got 15 bytes/);
    const before = toHex(aes.encryptBlock(new Uint8Array(16)));
    aes.destroy();
    assert.notEqual(toHex(aes.encryptBlock(new Uint8Array(16))), before);
  });
});

describe('RFC 3394 section 4 examples (KW)', () => {
  const kek128 = '000102030405060708090A0B0C0D0E0F';
  const kek192 = '000102030405060708090A0B0C0D0E0F1011121314151617';
  const kek256 = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F';
  const key128 = '00112233445566778899AABBCCDDEEFF';
  const key192 = '00112233445566778899AABBCCDDEEFF0001020304050607';
  const key256 = '00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F';
  const examples: [string, string, string, string][] = [
    [
      '4.1 128-bit key data with a 128-bit KEK',
      kek128,
      key128,
      '1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5',
    ],
    [
      '4.2 128-bit key data with a 192-bit KEK',
      kek192,
      key128,
      '96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D',
    ],
    [
      '4.3 128-bit key data with a 256-bit KEK',
      kek256,
      key128,
      '64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7',
    ],
    [
      '4.4 192-bit key data with a 192-bit KEK',
      kek192,
      key192,
      '031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2',
    ],
    [
      '4.5 192-bit key data with a 256-bit KEK',
      kek256,
      key192,
      'A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1',
    ],
    [
      '4.6 256-bit key data with a 256-bit KEK',
      kek256,
      key256,
      '28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21',
    ],
  ];
  for (const [name, kek, key, wrapped] of examples) {
    it(name, () => {
      assert.equal(toHex(aesKeyWrap(hex(kek), hex(key))), toHex(hex(wrapped)));
      assert.equal(toHex(aesKeyUnwrap(hex(kek), hex(wrapped))), toHex(hex(key)));
    });
  }
});

describe('RFC 5649 section 6 examples (KWP)', () => {
  const kek = '5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8';
  it('20 octets of key data', () => {
    const key = 'c37b7e6492584340 bed1220780894115 5068f738';
    const wrapped = '138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a';
    assert.equal(toHex(aesKeyWrapPad(hex(kek), hex(key))), toHex(hex(wrapped)));
    assert.equal(toHex(aesKeyUnwrapPad(hex(kek), hex(wrapped))), toHex(hex(key)));
  });
  it('7 octets of key data (the single-block case)', () => {
    const key = '466f7250617369';
    const wrapped = 'afbeb0f07dfbf541 9200f2ccb50bb24f';
    assert.equal(toHex(aesKeyWrapPad(hex(kek), hex(key))), toHex(hex(wrapped)));
    assert.equal(toHex(aesKeyUnwrapPad(hex(kek), hex(wrapped))), toHex(hex(key)));
  });
});

// ---- refusals ----

describe('refusals: every failure is a KeyWrapError', () => {
  const kek = crypto.randomBytes(32);
  const fns = { aesKeyWrap, aesKeyUnwrap, aesKeyWrapPad, aesKeyUnwrapPad };

  it('a KEK that is not 16, 24 or 32 bytes, or not a Uint8Array', () => {
    for (const size of [0, 8, 15, 17, 20, 31, 33, 64]) {
      for (const [name, f] of Object.entries(fns)) {
        const message = keyWrapFailure(() => f(new Uint8Array(size), new Uint8Array(24)));
        assert.match(message, new RegExp(`KEK must be .*got ${size} bytes`), name);
      }
      keyWrapFailure(() => createKeyWrapper(new Uint8Array(size)));
    }
    assert.match(
      keyWrapFailure(() => createKeyWrapper('0123456789abcdef' as unknown as Uint8Array)),
      /got a string value/,
    );
  });

  it('KW key data that is empty, shorter than 16 bytes or not a multiple of 8', () => {
    for (const size of [0, 1, 7, 8, 15, 17, 23, 33]) {
      assert.match(
        keyWrapFailure(() => aesKeyWrap(kek, new Uint8Array(size))),
        new RegExp(`KW key data .*got ${size} bytes`),
      );
    }
  });

  it('KW ciphertext that is empty, shorter than 24 bytes or not a multiple of 8', () => {
    for (const size of [0, 8, 16, 23, 25, 31]) {
      assert.match(
        keyWrapFailure(() => aesKeyUnwrap(kek, new Uint8Array(size))),
        new RegExp(`KW wrapped key .*got ${size} bytes`),
      );
    }
  });

  it('KWP key data that is empty', () => {
    assert.match(
      keyWrapFailure(() => aesKeyWrapPad(kek, new Uint8Array(0))),
      /KWP key data .*got 0 bytes/,
    );
  });

  it('KWP ciphertext that is empty, shorter than 16 bytes or not a multiple of 8', () => {
    for (const size of [0, 8, 15, 17, 23]) {
      assert.match(
        keyWrapFailure(() => aesKeyUnwrapPad(kek, new Uint8Array(size))),
        new RegExp(`KWP wrapped key .*got ${size} bytes`),
      );
    }
  });

  it('inputs that are not Uint8Arrays', () => {
    assert.match(
      keyWrapFailure(() => aesKeyWrap(kek, [1, 2, 3] as unknown as Uint8Array)),
      /key data must be a Uint8Array/,
    );
    assert.match(
      keyWrapFailure(() => aesKeyUnwrapPad(kek, null as unknown as Uint8Array)),
      /wrapped key must be a Uint8Array, got a null value/,
    );
  });

  it('a destroyed key wrapper', () => {
    const w = createKeyWrapper(kek);
    w.destroy();
    assert.match(
      keyWrapFailure(() => w.wrap(new Uint8Array(16))),
      /destroyed/,
    );
    assert.match(
      keyWrapFailure(() => w.unwrapPad(new Uint8Array(16))),
      /destroyed/,
    );
  });

  it('KW integrity: a wrong KEK and every flipped bit of the IV block fail with the generic message', () => {
    const wrapped = aesKeyWrap(kek, crypto.randomBytes(32));
    integrityFailure(() => aesKeyUnwrap(crypto.randomBytes(32), wrapped));
    for (let bit = 0; bit < 64; bit++) {
      const bad = wrapped.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      integrityFailure(() => aesKeyUnwrap(kek, bad));
    }
  });

  it('KW integrity: an IV that differs from A6A6A6A6A6A6A6A6 in any one byte', () => {
    for (let i = 0; i < 8; i++) {
      const iv = Buffer.from(KW_IV);
      iv[i] = 0xa7;
      integrityFailure(() =>
        aesKeyUnwrap(kek, openssl(kek, crypto.randomBytes(24), false, false, iv)),
      );
    }
  });

  // KWP ciphertexts crafted with OpenSSL's KW under a chosen initial value, or one AES block.
  const craftKwp = (aiv: number, mli: number, padded: Uint8Array): Uint8Array => {
    const a = Buffer.alloc(8);
    a.writeUInt32BE(aiv, 0);
    a.writeUInt32BE(mli, 4);
    if (padded.length === 8) {
      const ecb = crypto.createCipheriv('aes-256-ecb', kek, null).setAutoPadding(false);
      return ecb.update(Buffer.concat([a, padded]));
    }
    return openssl(kek, padded, false, false, a);
  };

  it('KWP crafting is sound: a well-formed crafted ciphertext unwraps', () => {
    assert.equal(
      toHex(aesKeyUnwrapPad(kek, craftKwp(0xa65959a6, 5, hex('0102030405000000')))),
      '0102030405',
    );
    assert.equal(
      toHex(aesKeyUnwrapPad(kek, craftKwp(0xa65959a6, 17, hex('11'.repeat(17) + '00'.repeat(7))))),
      '11'.repeat(17),
    );
  });

  it('KWP integrity: wrong AIV, MLI out of bounds, non-zero padding (single- and multi-block)', () => {
    for (const blocks of [1, 3]) {
      const size = 8 * blocks;
      const data = new Uint8Array(size).fill(0x5a);
      integrityFailure(() => aesKeyUnwrapPad(kek, craftKwp(0xa65959a7, size, data)));
      integrityFailure(() => aesKeyUnwrapPad(kek, craftKwp(0xa6a6a6a6, size, data)));
      for (const mli of [0, size - 8, size + 1, size + 8, 0x8000_0000, 0xffff_ffff]) {
        integrityFailure(() => aesKeyUnwrapPad(kek, craftKwp(0xa65959a6, mli, data)));
      }
      // a whole zero block of "padding" (MLI = 8(n-1)) is out of bounds even though it is zero
      const zeroTail = new Uint8Array(size).fill(0x5a).fill(0, size - 8);
      integrityFailure(() => aesKeyUnwrapPad(kek, craftKwp(0xa65959a6, size - 8, zeroTail)));
      for (let used = 1; used < 8; used++) {
        for (let at = used; at < 8; at++) {
          const padded = new Uint8Array(size).fill(0x5a);
          padded.fill(0, size - 8 + used);
          padded[size - 8 + at] = 1;
          integrityFailure(() =>
            aesKeyUnwrapPad(kek, craftKwp(0xa65959a6, size - 8 + used, padded)),
          );
        }
      }
    }
  });

  it('a failed unwrap leaves no recovered bytes behind in the reused scratch', () => {
    // wrapPad ORs key bytes into the wrapper's scratch, so stale bytes would corrupt its result.
    const w = createKeyWrapper(kek);
    const padded = craftKwp(0xa65959a6, 3, hex('ffffff' + 'ff'.repeat(5))); // bad padding, recovered block of ff
    integrityFailure(() => w.unwrapPad(padded));
    const data = hex('010203');
    assert.equal(toHex(w.wrapPad(data)), toHex(openssl(kek, data, true, false)));
    integrityFailure(() =>
      w.unwrap(openssl(kek, hex('ff'.repeat(24)), false, false, Buffer.alloc(8, 0xff))),
    );
    const data19 = crypto.randomBytes(19);
    assert.equal(toHex(w.wrapPad(data19)), toHex(openssl(kek, data19, true, false)));
  });
});

// ---- differential properties ----

const arbKek = fc
  .constantFrom(16, 24, 32)
  .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const arbKwData = fc
  .integer({ min: 2, max: 64 })
  .chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n }));
const arbKwpData = fc.uint8Array({ minLength: 1, maxLength: 520 });
/** A change to a ciphertext: flip one bit, cut bytes off the end, or append bytes. */
const arbDamage = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), by: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant('extend' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }),
  }),
);
type Damage = typeof arbDamage extends fc.Arbitrary<infer T> ? T : never;
function damage(c: Uint8Array, d: Damage): Uint8Array {
  if (d.kind === 'flip') {
    const out = c.slice();
    out[d.at % c.length]! ^= 1 << d.bit;
    return out;
  }
  if (d.kind === 'truncate') return c.slice(0, Math.max(1, c.length - d.by)); // empty input: see below
  return Uint8Array.from([...c, ...d.bytes]);
}

for (const pad of [false, true]) {
  const mode = pad ? 'KWP (RFC 5649)' : 'KW (RFC 3394)';
  describe(`${mode}: differential against Node OpenSSL and @noble/ciphers`, () => {
    it('all three wrap to the same bytes and unwrap back', () => {
      fc.assert(
        fc.property(arbKek, pad ? arbKwpData : arbKwData, (kek, data) => {
          const wrapped = outcome(() => ours(kek, data, pad, false));
          assert.equal(
            wrapped,
            outcome(() => openssl(kek, data, pad, false)),
          );
          assert.equal(
            wrapped,
            outcome(() => noble(kek, data, pad, false)),
          );
          assert.equal(toHex(ours(kek, hex(wrapped), pad, true)), toHex(data));
        }),
        { numRuns: 200 },
      );
    });

    it('unwrap agrees with both on ciphertexts they produced', () => {
      fc.assert(
        fc.property(arbKek, pad ? arbKwpData : arbKwData, (kek, data) => {
          assert.equal(toHex(ours(kek, openssl(kek, data, pad, false), pad, true)), toHex(data));
          assert.equal(toHex(ours(kek, noble(kek, data, pad, false), pad, true)), toHex(data));
        }),
        { numRuns: 100 },
      );
    });

    it('tampered, truncated and extended ciphertexts are rejected by all three', () => {
      fc.assert(
        fc.property(arbKek, pad ? arbKwpData : arbKwData, arbDamage, (kek, data, d) => {
          const bad = damage(ours(kek, data, pad, false), d);
          assert.equal(
            outcome(() => ours(kek, bad, pad, true)),
            'rejected',
          );
          assert.equal(
            outcome(() => openssl(kek, bad, pad, true)),
            'rejected',
          );
          assert.equal(
            outcome(() => noble(kek, bad, pad, true)),
            'rejected',
          );
        }),
        { numRuns: 300 },
      );
    });

    it('empty ciphertext: rejected here and by noble, though Node OpenSSL accepts it', () => {
      const kek = crypto.randomBytes(32);
      assert.equal(
        outcome(() => ours(kek, new Uint8Array(0), pad, true)),
        'rejected',
      );
      assert.equal(
        outcome(() => noble(kek, new Uint8Array(0), pad, true)),
        'rejected',
      );
      assert.equal(
        outcome(() => openssl(kek, new Uint8Array(0), pad, true)),
        '',
      ); // the flaw the issue names
    });

    it('a step counter past 256 (384 bytes of key data) agrees with OpenSSL', () => {
      const kek = crypto.randomBytes(32);
      const data = crypto.randomBytes(384);
      assert.equal(toHex(ours(kek, data, pad, false)), toHex(openssl(kek, data, pad, false)));
    });
  });
}

describe('inputs that are Buffers from the pool or offset views', () => {
  it('give the same results as fresh Uint8Arrays', () => {
    const kek = crypto.randomBytes(32);
    const data = hex('00112233445566778899aabbccddeeff0011223344556677');
    const pooled = Buffer.from(toHex(data), 'hex'); // small Buffers share one pooled ArrayBuffer
    assert.ok(pooled.byteOffset > 0 || pooled.buffer.byteLength > pooled.length);
    const big = new Uint8Array(64);
    big.set(data, 5);
    const view = big.subarray(5, 5 + data.length);
    for (const pad of [false, true]) {
      const expected = toHex(ours(kek, data, pad, false));
      assert.equal(toHex(ours(kek, pooled, pad, false)), expected);
      assert.equal(toHex(ours(kek, view, pad, false)), expected);
      assert.equal(toHex(ours(Buffer.from(toHex(kek), 'hex'), data, pad, false)), expected);
      const wrapped = Buffer.from(expected, 'hex');
      assert.equal(toHex(ours(kek, wrapped, pad, true)), toHex(data));
    }
  });
});

describe('createKeyWrapper', () => {
  it('gives the same results as the one-shot functions over many calls of mixed sizes', () => {
    fc.assert(
      fc.property(
        arbKek,
        fc.array(fc.tuple(fc.boolean(), arbKwpData), { minLength: 1, maxLength: 12 }),
        (kek, jobs) => {
          const w = createKeyWrapper(kek);
          for (const [pad, raw] of jobs) {
            const data = pad ? raw : raw.subarray(0, Math.max(16, raw.length - (raw.length % 8)));
            if (!pad && data.length < 16) continue;
            const wrapped = pad ? w.wrapPad(data) : w.wrap(data);
            assert.equal(toHex(wrapped), toHex(ours(kek, data, pad, false)));
            assert.equal(toHex(pad ? w.unwrapPad(wrapped) : w.unwrap(wrapped)), toHex(data));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('wrapPad into a given array', () => {
  it('writes the same bytes as a fresh wrap at the offset asked, and nothing outside them', () => {
    fc.assert(
      fc.property(arbKek, arbKwpData, fc.nat(40), fc.nat(40), (kek, data, at, after) => {
        const w = createKeyWrapper(kek);
        const fresh = w.wrapPad(data);
        const out = new Uint8Array(at + fresh.length + after).fill(0x5a);
        assert.equal(w.wrapPad(data, out, at), out);
        assert.equal(toHex(out.subarray(at, at + fresh.length)), toHex(fresh));
        assert.ok(
          out.subarray(0, at).every((b) => b === 0x5a),
          'bytes before `at` untouched',
        );
        assert.ok(
          out.subarray(at + fresh.length).every((b) => b === 0x5a),
          'bytes after untouched',
        );
      }),
      { numRuns: 100 },
    );
  });

  it('refuses an array without room for the result (KeyWrapError), writing nothing', () => {
    const w = createKeyWrapper(new Uint8Array(32).fill(1));
    const out = new Uint8Array(39).fill(7); // 32 bytes of key data wrap to 40
    assert.throws(() => w.wrapPad(new Uint8Array(32), out), KeyWrapError);
    assert.throws(() => w.wrapPad(new Uint8Array(16), out, 16), /24 bytes from byte 16/);
    assert.ok(out.every((b) => b === 7));
  });
});
