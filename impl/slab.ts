// Slab: small byte arrays carved out of shared chunks. A re-encipherment makes a secure blob per
// secure object, by the million at scale; as an ArrayBuffer of its own each blob costs about 170
// bytes of buffer object and backing store beside its 44 to 92 bytes. A slab hands out views
// (`Uint8Array`s) into 64 KiB chunks instead.
//
// A chunk is only ever appended to: a view's bytes are never handed out again, so no later
// allocation can overwrite a blob that a record holds. A chunk stays in memory while any of its
// views does. Only blobs (key material wrapped under a master key) and clear values go here, never
// key material in the clear.

const CHUNK_BYTES = 1 << 16;
/** Larger arrays get a buffer of their own (a slab is for many small ones). */
const MAX_SLAB_BYTES = 1 << 10;

export class Slab {
  #chunk = new Uint8Array(0);
  #used = 0;

  /** A new zero-filled array of `length` bytes whose bytes no other array returned here shares. */
  alloc(length: number): Uint8Array {
    if (length > MAX_SLAB_BYTES) return new Uint8Array(length);
    if (this.#used + length > this.#chunk.length) {
      this.#chunk = new Uint8Array(CHUNK_BYTES);
      this.#used = 0;
    }
    const view = this.#chunk.subarray(this.#used, this.#used + length);
    this.#used += length;
    return view;
  }

  /** A copy of `bytes` in the slab. */
  copy(bytes: Uint8Array): Uint8Array {
    const out = this.alloc(bytes.length);
    out.set(bytes);
    return out;
  }
}
