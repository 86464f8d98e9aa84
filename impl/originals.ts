// The originals of a run (DESIGN.md ClearObjectsUnchanged, SecureValuesPreserved): the value
// every object had when it was made, by handle. The data set the run starts from is kept as a
// snapshot of its records (O(1), impl/sorted-set.ts: it shares the data set's nodes), not as a
// map of a million handles; only the objects made later (a dynamic update's createObject) are
// kept in a map. It reads as a `Map` filled with the first data set in handle order and then with
// each later object would: the same entries, in the same order.

import type { Original } from './invariants.ts';
import type { OrderedMap } from './sorted-set.ts';
import type { Handle, ObjectRecord, TkdsRecord } from './tkds.ts';

export class Originals {
  readonly #first: OrderedMap<Handle, TkdsRecord>;
  readonly #made = new Map<Handle, Original>();

  /** `first`: the records of the data set the run starts from (a snapshot no write reaches). */
  constructor(first: OrderedMap<Handle, TkdsRecord>) {
    this.#first = first;
  }

  /** An object made since; it replaces an original of the same handle (as a Map's set does). */
  add(record: ObjectRecord): void {
    this.#made.set(record.handle, record.value);
  }

  get(handle: Handle): Original | undefined {
    return this.#made.get(handle) ?? this.#firstValue(handle);
  }

  *[Symbol.iterator](): Generator<[Handle, Original]> {
    for (const r of this.#first.values())
      if (r.kind === 'object') yield [r.handle, this.#made.get(r.handle) ?? r.value];
    for (const [h, v] of this.#made) if (this.#firstValue(h) === undefined) yield [h, v];
  }

  #firstValue(handle: Handle): Original | undefined {
    const r = this.#first.get(handle);
    return r?.kind === 'object' ? r.value : undefined;
  }
}
