// Key check values by handle: the KCV report of a run (`SimulationResult.kcv`, before and after
// the change) and the Auditor's cache. A key check value is 3 bytes (`kcvOf`, impl/coprocessor.ts),
// written as 6 hex digits; kept as a number here. At a million objects a plain object of 700,000
// handle keys costs about 65 bytes an entry and a 6-character string 24 bytes more; a table of two
// arrays in handle order (the handle strings shared with the records) costs 16.

import { compareHandles, type Handle } from './tkds.ts';

const KCV = /^[0-9a-f]{6}$/;
/** What a table reports for a secure object whose blob is under no master key of the run. */
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

/** Key check values by handle, added in handle order; read like a map, serialized as a plain object. */
export class KeyCheckValues {
  readonly #handles: Handle[] = [];
  readonly #kcvs: number[] = []; // packed; -1: under no known key

  /** Adds `handle` after every handle added so far; `kcv` null: under no master key of the run. */
  add(handle: Handle, kcv: number | null): void {
    const last = this.#handles[this.#handles.length - 1];
    if (last !== undefined && compareHandles(last, handle) >= 0)
      throw new Error(`key check values must be added in handle order: ${handle} after ${last}`);
    this.#handles.push(handle);
    this.#kcvs.push(kcv ?? -1);
  }

  get size(): number {
    return this.#handles.length;
  }

  /** The handles, in handle order. */
  handles(): readonly Handle[] {
    return this.#handles;
  }

  /** The key check value of `handle` (UNKNOWN_KEY if under no known key), or undefined if absent. */
  get(handle: Handle): string | undefined {
    let lo = 0;
    let hi = this.#handles.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareHandles(this.#handles[mid]!, handle) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (this.#handles[lo] !== handle) return undefined;
    const k = this.#kcvs[lo]!;
    return k < 0 ? UNKNOWN_KEY : kcvText(k);
  }

  /** The plain object `{ handle: kcv }` in handle order (JSON.stringify calls it). */
  toJSON(): Record<Handle, string> {
    const out: Record<Handle, string> = {};
    this.#handles.forEach((h, i) => {
      const k = this.#kcvs[i]!;
      out[h] = k < 0 ? UNKNOWN_KEY : kcvText(k);
    });
    return out;
  }
}
