// The one source of randomness of a simulation: a seeded sfc32 generator (Chris Doty-Humphrey's
// Small Fast Counting generator, 32-bit). Same seed, same numbers, on every platform: everything
// random in a run (schedules, faults, workloads, simulated key material) is drawn from it, so a
// run and its trace are reproduced byte for byte from the seed.

export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed))
      throw new RangeError(`Rng seed must be a safe integer, got ${seed}`);
    // Split the seed into two 32-bit halves; the counter starts at 1; warm up to mix the state.
    this.#a = 0x9e3779b9;
    this.#b = seed >>> 0;
    this.#c = Math.floor(seed / 0x1_0000_0000) >>> 0;
    this.#d = 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0)
      throw new RangeError(`Rng.int needs a positive integer bound, got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick needs a non-empty array');
    return items[this.int(items.length)]!;
  }

  /** n random bytes (simulated key material and clear values are drawn here). */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let w = this.u32();
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = w & 0xff;
        w >>>= 8;
      }
    }
    return out;
  }

  /** An independent generator derived from this one (for a part that must not shift others' draws). */
  fork(): Rng {
    return new Rng(this.u32() * 0x20_0000 + (this.u32() >>> 11));
  }
}
