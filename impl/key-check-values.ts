// Key check values by handle: the KCV report of a run (`SimulationResult.kcv`, before and after
// the change) and the Auditor's cache. A key check value is 3 bytes (`kcvOf`, impl/coprocessor.ts),
// written as 6 hex digits; kept as a number here. At a million objects a plain object of 700,000
// handle keys costs about 65 bytes an entry and a 6-character string 24 bytes more; the report here
// is a view of a snapshot, and the Auditor caches numbers.

import type { OrderedMap } from './sorted-set.ts';
import type { Handle, ObjectRecord, SecureValue, TkdsRecord } from './tkds.ts';

const KCV = /^[0-9a-f]{6}$/;
/** What the report gives for a secure object whose blob is under no master key of the run. */
export const UNKNOWN_KEY = '(unknown key)';

/** A key check value as a number (24 bits). */
export function packKcv(kcv: string): number {
  if (!KCV.test(kcv)) throw new Error(`bad key check value: expected 6 hex digits`);
  return parseInt(kcv, 16);
}

/** A key check value as written: 6 lowercase hex digits. */
export function kcvText(packed: number): string {
  return packed.toString(16).padStart(6, '0');
}

/**
 * The key check values of the secure objects of a data set as it was (a snapshot, O(1): it shares
 * the data set's nodes), but those in `skip`, by handle: read like a map, serialized as the plain
 * object `{ handle: kcv }` in handle order. It keeps no table of its own: each value's key check
 * value is the Auditor's (cached per value), read when asked.
 */
export class KeyCheckValues {
  readonly #records: OrderedMap<Handle, TkdsRecord>;
  readonly #skip: ReadonlySet<Handle>;
  readonly #kcv: (value: SecureValue) => number | null;

  /** `kcv`: a secure value's key check value packed, null if under no master key of the run. */
  constructor(
    records: OrderedMap<Handle, TkdsRecord>,
    kcv: (value: SecureValue) => number | null,
    skip: ReadonlySet<Handle> = new Set(),
  ) {
    this.#records = records;
    this.#kcv = kcv;
    this.#skip = new Set(skip); // (as it is now)
  }

  /** The handles, in handle order. */
  *handles(): Generator<Handle> {
    for (const [h] of this.#entries()) yield h;
  }

  /** The key check value of `handle` (UNKNOWN_KEY if under no known key), or undefined if absent. */
  get(handle: Handle): string | undefined {
    const r = this.#records.get(handle);
    return r && this.#counts(r) ? this.#text(r.value) : undefined;
  }

  /** The plain object `{ handle: kcv }` in handle order (JSON.stringify calls it). */
  toJSON(): Record<Handle, string> {
    const out: Record<Handle, string> = {};
    for (const [h, k] of this.#entries()) out[h] = k;
    return out;
  }

  *#entries(): Generator<[Handle, string]> {
    for (const r of this.#records.values())
      if (this.#counts(r)) yield [r.handle, this.#text(r.value)];
  }

  #counts(r: TkdsRecord): r is ObjectRecord & { value: SecureValue } {
    return r.kind === 'object' && r.value.type === 'secure' && !this.#skip.has(r.handle);
  }

  #text(value: SecureValue): string {
    const k = this.#kcv(value);
    return k === null ? UNKNOWN_KEY : kcvText(k);
  }
}
