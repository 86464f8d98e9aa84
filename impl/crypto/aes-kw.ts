// AES key wrap (RFC 3394, "KW") and AES key wrap with padding (RFC 5649, "KWP"), both on the
// AES block cipher of ./aes.ts. Also NIST SP 800-38F's KW and KWP.
//
// Both modes share one core: the wrapping process W and its inverse (RFC 3394 2.2.1 and
// 2.2.2, index-based form) over a word array [A, R[1], ..., R[n]] processed in place. KW runs
// it with the default IV A6A6A6A6A6A6A6A6; KWP with the alternative IV A65959A6 || MLI
// (the 32-bit big-endian byte length), on the plaintext zero-padded to a multiple of 8 bytes,
// or, when that padded plaintext is a single 8-byte block, one AES encryption of AIV || P.
//
// Every failure throws KeyWrapError. All integrity failures (IV, AIV, length field, padding)
// share one generic message, so a caller cannot tell them apart; the recovered plaintext is
// zeroed before the error is thrown.

import { AesCipher, AES_KEY_BYTES, describeLength, readWords, writeWords } from './aes.ts';

/** Every key wrap failure: integrity, length, padding or KEK size. */
export class KeyWrapError extends Error {
  override readonly name = 'KeyWrapError';
}

const INTEGRITY_FAILURE = 'key unwrap failed: integrity check';
const KW_IV = 0xa6a6a6a6; // both halves of RFC 3394's default IV
const KWP_AIV = 0xa65959a6; // RFC 5649's alternative IV constant (high half of the AIV)
const TWO_POW_32 = 0x1_0000_0000;
const MAX_KWP_BYTES = 0xffff_ffff; // MLI is a 32-bit field
const SCRATCH_BLOCKS = 64; // scratch words are kept for key data of up to 512 bytes

/** A KEK whose AES key schedule is expanded once, for wrapping and unwrapping many keys. */
export interface KeyWrapper {
  /** RFC 3394 wrap: `keyData` of at least 16 bytes, a multiple of 8. */
  wrap(keyData: Uint8Array): Uint8Array;
  /** RFC 3394 unwrap: `wrapped` of at least 24 bytes, a multiple of 8. */
  unwrap(wrapped: Uint8Array): Uint8Array;
  /**
   * RFC 5649 wrap: `keyData` of 1 to 2^32-1 bytes. With `out`, the result is written there from
   * byte `at` (it must have room: 8 * (ceil(length / 8) + 1) bytes) and `out` is returned.
   */
  wrapPad(keyData: Uint8Array, out?: Uint8Array, at?: number): Uint8Array;
  /** RFC 5649 unwrap: `wrapped` of at least 16 bytes, a multiple of 8. */
  unwrapPad(wrapped: Uint8Array): Uint8Array;
  /** Overwrite the expanded KEK with zeros; every later call throws KeyWrapError. */
  destroy(): void;
}

/** Expand `kek` (16, 24 or 32 bytes) once; the result wraps and unwraps under it. */
export function createKeyWrapper(kek: Uint8Array): KeyWrapper {
  if (!(kek instanceof Uint8Array) || !AES_KEY_BYTES.includes(kek.length)) {
    throw new KeyWrapError(
      `KEK must be a Uint8Array of 16, 24 or 32 bytes, got ${describeLength(kek)}`,
    );
  }
  return new Wrapper(new AesCipher(kek));
}

export function aesKeyWrap(kek: Uint8Array, keyData: Uint8Array): Uint8Array {
  return once(kek, (w) => w.wrap(keyData));
}

export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  return once(kek, (w) => w.unwrap(wrapped));
}

export function aesKeyWrapPad(kek: Uint8Array, keyData: Uint8Array): Uint8Array {
  return once(kek, (w) => w.wrapPad(keyData));
}

export function aesKeyUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  return once(kek, (w) => w.unwrapPad(wrapped));
}

/** One operation under a KEK whose schedule is destroyed afterwards. */
function once(kek: Uint8Array, op: (w: KeyWrapper) => Uint8Array): Uint8Array {
  const wrapper = createKeyWrapper(kek);
  try {
    return op(wrapper);
  } finally {
    wrapper.destroy();
  }
}

class Wrapper implements KeyWrapper {
  #aes: AesCipher | null;
  readonly #block = new Uint32Array(4); // AES state: A | R[i]
  // [A, R[1..n]] as 2(n+1) words, one array per n up to SCRATCH_BLOCKS (keys of mixed sizes take
  // turns: a re-encipherment would otherwise make a new one per call); zeroed after each call
  readonly #words: Uint32Array[] = [];

  constructor(aes: AesCipher) {
    this.#aes = aes;
  }

  wrap(keyData: Uint8Array): Uint8Array {
    const len = byteLength(keyData, 'key data');
    if (len < 16 || len % 8 !== 0) {
      throw new KeyWrapError(
        `KW key data must be at least 16 bytes and a multiple of 8, got ${len} bytes`,
      );
    }
    return this.#wrap(keyData, KW_IV, KW_IV);
  }

  unwrap(wrapped: Uint8Array): Uint8Array {
    const len = byteLength(wrapped, 'wrapped key');
    if (len < 24 || len % 8 !== 0) {
      throw new KeyWrapError(
        `KW wrapped key must be at least 24 bytes and a multiple of 8, got ${len} bytes`,
      );
    }
    const w = this.#unwrap(wrapped);
    try {
      // the IV check: all 8 bytes at once, no data-dependent early exit
      const bad = (w[0]! ^ KW_IV) | (w[1]! ^ KW_IV);
      if (bad !== 0) throw new KeyWrapError(INTEGRITY_FAILURE);
      return toBytes(w, len - 8);
    } finally {
      w.fill(0);
    }
  }

  wrapPad(keyData: Uint8Array, out?: Uint8Array, at = 0): Uint8Array {
    const len = byteLength(keyData, 'key data');
    if (len < 1 || len > MAX_KWP_BYTES) {
      throw new KeyWrapError(`KWP key data must be 1 to ${MAX_KWP_BYTES} bytes, got ${len} bytes`);
    }
    const size = 8 * (Math.ceil(len / 8) + 1);
    if (out !== undefined && !(out instanceof Uint8Array && at >= 0 && out.length - at >= size))
      throw new KeyWrapError(
        `KWP output must be a Uint8Array with ${size} bytes from byte ${at}, got ${describeLength(out)}`,
      );
    return this.#wrap(keyData, KWP_AIV, len, out, at);
  }

  unwrapPad(wrapped: Uint8Array): Uint8Array {
    const len = byteLength(wrapped, 'wrapped key');
    if (len < 16 || len % 8 !== 0) {
      throw new KeyWrapError(
        `KWP wrapped key must be at least 16 bytes and a multiple of 8, got ${len} bytes`,
      );
    }
    const w = this.#unwrap(wrapped);
    try {
      // RFC 5649 3: one combined check of the AIV constant, the MLI bounds 8(n-1) < MLI <= 8n
      // and the zero padding; `inLast` is the number of key bytes in the last block (1..8).
      const n = len / 8 - 1;
      const mli = w[1]!;
      const inLast = mli - 8 * (n - 1);
      const used = Math.min(Math.max(inLast, 0), 8);
      let bad = (w[0]! ^ KWP_AIV) | (inLast >= 1 && inLast <= 8 ? 0 : 1);
      for (let k = 0; k < 8; k++) {
        const byte = (w[2 * n + (k >> 2)]! >>> (24 - 8 * (k & 3))) & 0xff;
        bad |= byte & ((used - k - 1) >> 31); // mask is all ones for padding positions k >= used
      }
      if (bad !== 0) throw new KeyWrapError(INTEGRITY_FAILURE);
      return toBytes(w, mli);
    } finally {
      w.fill(0);
    }
  }

  destroy(): void {
    this.#aes?.destroy();
    this.#aes = null;
    for (const w of this.#words) w?.fill(0);
  }

  /** Wrap `data` (zero-padded to whole blocks) with initial value a0 || a1 (into `out` from `at`, if given). */
  #wrap(data: Uint8Array, a0: number, a1: number, out?: Uint8Array, at = 0): Uint8Array {
    const aes = this.#cipher();
    const n = Math.ceil(data.length / 8);
    const w = this.#scratch(n);
    try {
      w[0] = a0;
      w[1] = a1;
      const whole = data.length >>> 2;
      readWords(data, 0, w, 2, whole);
      for (let i = whole * 4; i < data.length; i++)
        w[2 + (i >>> 2)]! |= data[i]! << (24 - 8 * (i & 3));
      // RFC 5649 4.1: a single padded block is encrypted as one AES block, AIV || P
      if (n === 1) aes.encryptWords(w);
      else this.#wrapProcess(aes, w, n);
      return toBytes(w, 8 * (n + 1), 0, out, at);
    } finally {
      w.fill(0);
    }
  }

  /** Run the inverse process over `wrapped`; returns the scratch words [A, R[1..n]]. */
  #unwrap(wrapped: Uint8Array): Uint32Array {
    const aes = this.#cipher();
    const n = wrapped.length / 8 - 1;
    const w = this.#scratch(n);
    readWords(wrapped, 0, w, 0, 2 * (n + 1));
    if (n === 1) aes.decryptWords(w);
    else this.#unwrapProcess(aes, w, n);
    return w;
  }

  /** W (RFC 3394 2.2.1), in place on w = [A, R[1..n]]; t = n*j + i is XORed in as 64 bits. */
  #wrapProcess(aes: AesCipher, w: Uint32Array, n: number): void {
    const b = this.#block;
    let a0 = w[0]!,
      a1 = w[1]!;
    for (let j = 0, t = 1; j <= 5; j++) {
      for (let r = 2; r <= 2 * n; r += 2, t++) {
        // B = AES(K, A | R[i]); A = MSB64(B) ^ t; R[i] = LSB64(B)
        b[0] = a0;
        b[1] = a1;
        b[2] = w[r]!;
        b[3] = w[r + 1]!;
        aes.encryptWords(b);
        a0 = b[0]! ^ high32(t);
        a1 = b[1]! ^ t;
        w[r] = b[2]!;
        w[r + 1] = b[3]!;
      }
    }
    w[0] = a0;
    w[1] = a1;
    b.fill(0);
  }

  /** W^-1 (RFC 3394 2.2.2), in place on w = [C[0], C[1..n]]; leaves A in w[0..1]. */
  #unwrapProcess(aes: AesCipher, w: Uint32Array, n: number): void {
    const b = this.#block;
    let a0 = w[0]!,
      a1 = w[1]!;
    for (let j = 5, t = 6 * n; j >= 0; j--) {
      for (let r = 2 * n; r >= 2; r -= 2, t--) {
        // B = AES-1(K, (A ^ t) | R[i]); A = MSB64(B); R[i] = LSB64(B)
        b[0] = a0 ^ high32(t);
        b[1] = a1 ^ t;
        b[2] = w[r]!;
        b[3] = w[r + 1]!;
        aes.decryptWords(b);
        a0 = b[0]!;
        a1 = b[1]!;
        w[r] = b[2]!;
        w[r + 1] = b[3]!;
      }
    }
    w[0] = a0;
    w[1] = a1;
    b.fill(0);
  }

  #cipher(): AesCipher {
    if (this.#aes === null) throw new KeyWrapError('key wrapper was destroyed');
    return this.#aes;
  }

  /** Zeroed scratch words for A and n blocks, kept for reuse when n is small (bulk work). */
  #scratch(n: number): Uint32Array {
    if (n > SCRATCH_BLOCKS) return new Uint32Array(2 * (n + 1));
    return (this.#words[n] ??= new Uint32Array(2 * (n + 1)));
  }
}

/** The high 32 bits of the step counter t (zero until t reaches 2^32). */
function high32(t: number): number {
  return t >= TWO_POW_32 ? Math.floor(t / TWO_POW_32) : 0;
}

/** `len` bytes of the words after A (or from A when `from` is 0): into `out` from `at`, else a fresh Uint8Array. */
function toBytes(
  w: Uint32Array,
  len: number,
  from = 2,
  out: Uint8Array = new Uint8Array(len),
  at = 0,
): Uint8Array {
  const whole = len >>> 2;
  writeWords(w, from, out, at, whole);
  for (let i = whole * 4; i < len; i++) out[at + i] = w[from + (i >>> 2)]! >>> (24 - 8 * (i & 3));
  return out;
}

function byteLength(value: Uint8Array, what: string): number {
  if (!(value instanceof Uint8Array))
    throw new KeyWrapError(`${what} must be a Uint8Array, got ${describeLength(value)}`);
  return value.length;
}
