// AES block cipher (FIPS 197) for 128-, 192- and 256-bit keys, encrypt and decrypt.
//
// Table-driven: the S-box is computed at load time from its definition (FIPS 197 5.1.1: the
// multiplicative inverse in GF(2^8) followed by the affine transformation), and four 256-entry
// round tables fold SubBytes, ShiftRows and MixColumns into lookups (decryption uses the
// "equivalent inverse cipher" of FIPS 197 5.3.5). The key schedule is expanded once per key.
//
// Table lookups are indexed by secret data, so this code is NOT constant-time; it serves a
// simulated coprocessor, not a real one.
//
// The state is four big-endian 32-bit words, one per column: word c holds bytes s[0..3][c].

/** Multiply by x (that is, {02}) in GF(2^8) modulo the AES polynomial x^8+x^4+x^3+x+1. */
function xtime(b: number): number {
  return ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
}

// Powers of the generator {03} and their discrete logarithms: exp[log[a] + log[b]] = a * b.
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
for (let i = 0, p = 1; i < 255; i++) {
  EXP[i] = EXP[i + 255] = p;
  LOG[p] = i;
  p ^= xtime(p); // p * {03}
}

/** a * b in GF(2^8). */
function gmul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

const rotl8 = (b: number, n: number): number => ((b << n) | (b >>> (8 - n))) & 0xff;
const rotr32 = (w: number, n: number): number => ((w >>> n) | (w << (32 - n))) >>> 0;

/** SubBytes (FIPS 197 5.1.1) and its inverse, InvSubBytes (5.3.2). */
const SBOX = new Uint8Array(256);
const INV_SBOX = new Uint8Array(256);
for (let x = 0; x < 256; x++) {
  const inv = x === 0 ? 0 : EXP[255 - LOG[x]!]!;
  const s = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63;
  SBOX[x] = s;
  INV_SBOX[s] = x;
}

// Round tables. TE0[x] is the column MixColumns makes of SubBytes(x) in row 0 (coefficients
// {02},{01},{01},{03}); TEr is TE0 rotated for row r, which is how ShiftRows enters the lookup.
// TD* do the same for InvSubBytes + InvMixColumns (coefficients {0e},{09},{0d},{0b}).
const TE0 = new Uint32Array(256),
  TE1 = new Uint32Array(256),
  TE2 = new Uint32Array(256),
  TE3 = new Uint32Array(256);
const TD0 = new Uint32Array(256),
  TD1 = new Uint32Array(256),
  TD2 = new Uint32Array(256),
  TD3 = new Uint32Array(256);
for (let x = 0; x < 256; x++) {
  const s = SBOX[x]!;
  const e = ((gmul(s, 2) << 24) | (s << 16) | (s << 8) | gmul(s, 3)) >>> 0;
  TE0[x] = e;
  TE1[x] = rotr32(e, 8);
  TE2[x] = rotr32(e, 16);
  TE3[x] = rotr32(e, 24);
  const v = INV_SBOX[x]!;
  const d = ((gmul(v, 14) << 24) | (gmul(v, 9) << 16) | (gmul(v, 13) << 8) | gmul(v, 11)) >>> 0;
  TD0[x] = d;
  TD1[x] = rotr32(d, 8);
  TD2[x] = rotr32(d, 16);
  TD3[x] = rotr32(d, 24);
}

/** SubWord (FIPS 197 5.2): SubBytes on each byte of a word. */
function subWord(w: number): number {
  return (
    ((SBOX[w >>> 24]! << 24) |
      (SBOX[(w >>> 16) & 0xff]! << 16) |
      (SBOX[(w >>> 8) & 0xff]! << 8) |
      SBOX[w & 0xff]!) >>>
    0
  );
}

/** InvMixColumns of one column word (the TD tables include InvSubBytes, so undo it first). */
function invMixColumn(w: number): number {
  return (
    (TD0[SBOX[w >>> 24]!]! ^
      TD1[SBOX[(w >>> 16) & 0xff]!]! ^
      TD2[SBOX[(w >>> 8) & 0xff]!]! ^
      TD3[SBOX[w & 0xff]!]!) >>>
    0
  );
}

/** Valid AES key lengths in bytes. */
export const AES_KEY_BYTES: readonly number[] = [16, 24, 32];

/**
 * One AES key, its schedule expanded once (KeyExpansion, FIPS 197 5.2) into round keys for
 * the cipher and for the equivalent inverse cipher. Key material stays in private fields.
 */
export class AesCipher {
  readonly #rounds: number;
  readonly #enc: Uint32Array; // w[0 .. 4*(Nr+1)-1]
  readonly #dec: Uint32Array; // the same round keys in reverse order, InvMixColumns applied to rounds 1..Nr-1

  /** `key` must be 16, 24 or 32 bytes (AES-128, -192, -256); it is copied, never kept. */
  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || !AES_KEY_BYTES.includes(key.length)) {
      throw new RangeError(
        `AES key must be a Uint8Array of 16, 24 or 32 bytes, got ${describeLength(key)}`,
      );
    }
    const nk = key.length / 4;
    const nr = nk + 6;
    const total = 4 * (nr + 1);
    const w = new Uint32Array(total);
    for (let i = 0; i < nk; i++) {
      w[i] =
        ((key[4 * i]! << 24) |
          (key[4 * i + 1]! << 16) |
          (key[4 * i + 2]! << 8) |
          key[4 * i + 3]!) >>>
        0;
    }
    for (let i = nk, rcon = 1; i < total; i++) {
      let temp = w[i - 1]!;
      if (i % nk === 0) {
        temp = (subWord(rotr32(temp, 24)) ^ (rcon << 24)) >>> 0; // SubWord(RotWord(temp)) xor Rcon[i/Nk]
        rcon = xtime(rcon);
      } else if (nk > 6 && i % nk === 4) {
        temp = subWord(temp);
      }
      w[i] = (w[i - nk]! ^ temp) >>> 0;
    }
    const dw = new Uint32Array(total);
    for (let round = 0; round <= nr; round++) {
      for (let c = 0; c < 4; c++) {
        const word = w[4 * (nr - round) + c]!;
        dw[4 * round + c] = round === 0 || round === nr ? word : invMixColumn(word);
      }
    }
    this.#rounds = nr;
    this.#enc = w;
    this.#dec = dw;
  }

  /** Cipher (FIPS 197 5.1) of the 4-word state `s`, in place. */
  encryptWords(s: Uint32Array): void {
    const rk = this.#enc;
    const nr = this.#rounds;
    // AddRoundKey with round key 0
    let s0 = s[0]! ^ rk[0]!,
      s1 = s[1]! ^ rk[1]!,
      s2 = s[2]! ^ rk[2]!,
      s3 = s[3]! ^ rk[3]!;
    let k = 4;
    // rounds 1..Nr-1: SubBytes, ShiftRows, MixColumns, AddRoundKey
    for (let round = 1; round < nr; round++, k += 4) {
      const t0 =
        TE0[s0 >>> 24]! ^
        TE1[(s1 >>> 16) & 0xff]! ^
        TE2[(s2 >>> 8) & 0xff]! ^
        TE3[s3 & 0xff]! ^
        rk[k]!;
      const t1 =
        TE0[s1 >>> 24]! ^
        TE1[(s2 >>> 16) & 0xff]! ^
        TE2[(s3 >>> 8) & 0xff]! ^
        TE3[s0 & 0xff]! ^
        rk[k + 1]!;
      const t2 =
        TE0[s2 >>> 24]! ^
        TE1[(s3 >>> 16) & 0xff]! ^
        TE2[(s0 >>> 8) & 0xff]! ^
        TE3[s1 & 0xff]! ^
        rk[k + 2]!;
      const t3 =
        TE0[s3 >>> 24]! ^
        TE1[(s0 >>> 16) & 0xff]! ^
        TE2[(s1 >>> 8) & 0xff]! ^
        TE3[s2 & 0xff]! ^
        rk[k + 3]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    // final round: SubBytes, ShiftRows, AddRoundKey (no MixColumns)
    s[0] =
      ((SBOX[s0 >>> 24]! << 24) |
        (SBOX[(s1 >>> 16) & 0xff]! << 16) |
        (SBOX[(s2 >>> 8) & 0xff]! << 8) |
        SBOX[s3 & 0xff]!) ^
      rk[k]!;
    s[1] =
      ((SBOX[s1 >>> 24]! << 24) |
        (SBOX[(s2 >>> 16) & 0xff]! << 16) |
        (SBOX[(s3 >>> 8) & 0xff]! << 8) |
        SBOX[s0 & 0xff]!) ^
      rk[k + 1]!;
    s[2] =
      ((SBOX[s2 >>> 24]! << 24) |
        (SBOX[(s3 >>> 16) & 0xff]! << 16) |
        (SBOX[(s0 >>> 8) & 0xff]! << 8) |
        SBOX[s1 & 0xff]!) ^
      rk[k + 2]!;
    s[3] =
      ((SBOX[s3 >>> 24]! << 24) |
        (SBOX[(s0 >>> 16) & 0xff]! << 16) |
        (SBOX[(s1 >>> 8) & 0xff]! << 8) |
        SBOX[s2 & 0xff]!) ^
      rk[k + 3]!;
  }

  /** Equivalent inverse cipher (FIPS 197 5.3.5) of the 4-word state `s`, in place. */
  decryptWords(s: Uint32Array): void {
    const dk = this.#dec;
    const nr = this.#rounds;
    let s0 = s[0]! ^ dk[0]!,
      s1 = s[1]! ^ dk[1]!,
      s2 = s[2]! ^ dk[2]!,
      s3 = s[3]! ^ dk[3]!;
    let k = 4;
    // rounds Nr-1..1: InvSubBytes, InvShiftRows, InvMixColumns, AddRoundKey (with the adjusted key)
    for (let round = 1; round < nr; round++, k += 4) {
      const t0 =
        TD0[s0 >>> 24]! ^
        TD1[(s3 >>> 16) & 0xff]! ^
        TD2[(s2 >>> 8) & 0xff]! ^
        TD3[s1 & 0xff]! ^
        dk[k]!;
      const t1 =
        TD0[s1 >>> 24]! ^
        TD1[(s0 >>> 16) & 0xff]! ^
        TD2[(s3 >>> 8) & 0xff]! ^
        TD3[s2 & 0xff]! ^
        dk[k + 1]!;
      const t2 =
        TD0[s2 >>> 24]! ^
        TD1[(s1 >>> 16) & 0xff]! ^
        TD2[(s0 >>> 8) & 0xff]! ^
        TD3[s3 & 0xff]! ^
        dk[k + 2]!;
      const t3 =
        TD0[s3 >>> 24]! ^
        TD1[(s2 >>> 16) & 0xff]! ^
        TD2[(s1 >>> 8) & 0xff]! ^
        TD3[s0 & 0xff]! ^
        dk[k + 3]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    // final round: InvSubBytes, InvShiftRows, AddRoundKey
    s[0] =
      ((INV_SBOX[s0 >>> 24]! << 24) |
        (INV_SBOX[(s3 >>> 16) & 0xff]! << 16) |
        (INV_SBOX[(s2 >>> 8) & 0xff]! << 8) |
        INV_SBOX[s1 & 0xff]!) ^
      dk[k]!;
    s[1] =
      ((INV_SBOX[s1 >>> 24]! << 24) |
        (INV_SBOX[(s0 >>> 16) & 0xff]! << 16) |
        (INV_SBOX[(s3 >>> 8) & 0xff]! << 8) |
        INV_SBOX[s2 & 0xff]!) ^
      dk[k + 1]!;
    s[2] =
      ((INV_SBOX[s2 >>> 24]! << 24) |
        (INV_SBOX[(s1 >>> 16) & 0xff]! << 16) |
        (INV_SBOX[(s0 >>> 8) & 0xff]! << 8) |
        INV_SBOX[s3 & 0xff]!) ^
      dk[k + 2]!;
    s[3] =
      ((INV_SBOX[s3 >>> 24]! << 24) |
        (INV_SBOX[(s2 >>> 16) & 0xff]! << 16) |
        (INV_SBOX[(s1 >>> 8) & 0xff]! << 8) |
        INV_SBOX[s0 & 0xff]!) ^
      dk[k + 3]!;
  }

  /** Encrypt one 16-byte block (AES-ECB of a single block); returns a fresh array. */
  encryptBlock(block: Uint8Array): Uint8Array {
    return this.#block(block, true);
  }

  /** Decrypt one 16-byte block; returns a fresh array. */
  decryptBlock(block: Uint8Array): Uint8Array {
    return this.#block(block, false);
  }

  /** Overwrite both key schedules with zeros; the cipher is useless afterwards. */
  destroy(): void {
    this.#enc.fill(0);
    this.#dec.fill(0);
  }

  #block(block: Uint8Array, encrypt: boolean): Uint8Array {
    if (!(block instanceof Uint8Array) || block.length !== 16) {
      throw new RangeError(
        `AES block must be a Uint8Array of 16 bytes, got ${describeLength(block)}`,
      );
    }
    const s = new Uint32Array(4);
    readWords(block, 0, s, 0, 4);
    if (encrypt) this.encryptWords(s);
    else this.decryptWords(s);
    const out = new Uint8Array(16);
    writeWords(s, 0, out, 0, 4);
    s.fill(0);
    return out;
  }
}

/** Read `count` big-endian words from `src` at byte `at` into `dst` from word `to`. */
export function readWords(
  src: Uint8Array,
  at: number,
  dst: Uint32Array,
  to: number,
  count: number,
): void {
  for (let i = 0; i < count; i++, at += 4) {
    dst[to + i] = (src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!;
  }
}

/** Write `count` words of `src` from word `from` as big-endian bytes into `dst` at byte `at`. */
export function writeWords(
  src: Uint32Array,
  from: number,
  dst: Uint8Array,
  at: number,
  count: number,
): void {
  for (let i = 0; i < count; i++, at += 4) {
    const w = src[from + i]!;
    dst[at] = w >>> 24;
    dst[at + 1] = w >>> 16;
    dst[at + 2] = w >>> 8;
    dst[at + 3] = w;
  }
}

/** For error messages: the length of a byte array, or what the value was instead. */
export function describeLength(value: unknown): string {
  return value instanceof Uint8Array
    ? `${value.length} bytes`
    : `a ${value === null ? 'null' : typeof value} value`;
}
