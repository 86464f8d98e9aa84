// TKDS records (DESIGN.md "TKDS data set"): handles, token records, object records, the header,
// the in-store copies (live, staged) and a seeded generator of data sets.
//
// A handle is the token name, an 8-hex-digit sequence number and a kind letter, written
// `TOKEN:00000003:O` (`T` for the token record itself, always sequence 0; `O` for a token object).
// Handles sort by token, then sequence. Records are immutable values: a write replaces a record.
// Secure values are coprocessor blobs (key material wrapped under the P11 master key); clear
// values are bytes that a change leaves byte for byte as they were.

import { OptionsError } from './options-error.ts';
import type { Mkvp } from './coprocessor.ts';
import type { Rng } from './rng.ts';
import { OrderedMap } from './sorted-set.ts';
import { Slab } from './slab.ts';

export type Handle = string;
export type HandleKind = 'token' | 'object';

const TOKEN_NAME = /^[A-Z0-9#@$][A-Z0-9#@$.-]{0,31}$/;

export function handleOf(token: string, seq: number, kind: HandleKind): Handle {
  if (!TOKEN_NAME.test(token))
    throw new Error(`bad token name ${JSON.stringify(token)}: 1-32 of A-Z 0-9 # @ $ . -`);
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff)
    throw new Error(`bad sequence number ${seq} for token ${token}`);
  if (kind === 'token' && seq !== 0)
    throw new Error(`a token record has sequence number 0, got ${seq} for ${token}`);
  // (joined, not a template literal: V8 makes a concatenation of 13 or more characters a tree of
  // strings, 32 bytes beside the flat string that a comparison makes of it, for each of a million
  // handles; a join makes the flat string at once)
  return [token, seq.toString(16).padStart(8, '0'), kind === 'token' ? 'T' : 'O'].join(':');
}

export function parseHandle(handle: Handle): { token: string; seq: number; kind: HandleKind } {
  const m = /^([^:]+):([0-9a-f]{8}):([TO])$/.exec(handle);
  if (!m) throw new Error(`bad handle ${JSON.stringify(handle)}: expected TOKEN:seq8hex:T|O`);
  const parsed = {
    token: m[1]!,
    seq: parseInt(m[2]!, 16),
    kind: (m[3] === 'T' ? 'token' : 'object') as HandleKind,
  };
  handleOf(parsed.token, parsed.seq, parsed.kind); // validates the parts
  return parsed;
}

export type ObjectClass = 'secretKey' | 'data';
export type KeyType = 'AES' | 'GENERIC_SECRET' | null;

/** Clear attributes of a token object (never enciphered). */
export interface ObjectAttributes {
  readonly label: string;
  readonly class: ObjectClass;
  readonly keyType: KeyType;
  readonly length: number; // bytes of the value
}

export type ObjectValue =
  | { readonly type: 'secure'; readonly blob: Uint8Array } // a coprocessor blob under the master key
  | { readonly type: 'clear'; readonly bytes: Uint8Array }; // not enciphered
export type SecureValue = Extract<ObjectValue, { type: 'secure' }>;

/**
 * Compact values for the millions of records a data set holds at scale: the value keeps the
 * buffer its bytes are in (a slab's chunk, impl/slab.ts) and their place there, and makes a view
 * of them on each read. A stored Uint8Array costs 96 bytes of view object, and a plain value
 * object 40, beside bytes of 12 to 100; this one costs 40 (its `type` is on the prototype, its
 * offset and length are one number). Two reads give two views of the same bytes: compare
 * values by their bytes (or by the value object), not by the identity of the array read.
 */
abstract class SlabValue {
  /** The buffer, or (bytes at an offset or of a length too large to pack) the array itself. */
  readonly #source: ArrayBufferLike | Uint8Array;
  readonly #place: number; // offset * 2^12 + length: a small integer (an offset in a slab chunk)
  constructor(bytes: Uint8Array) {
    const packs = bytes.byteOffset < 1 << 19 && bytes.length < 1 << 12;
    this.#source = packs ? bytes.buffer : bytes;
    this.#place = packs ? bytes.byteOffset * (1 << 12) + bytes.length : 0;
  }
  protected view(): Uint8Array {
    const s = this.#source;
    return s instanceof Uint8Array
      ? new Uint8Array(s.buffer, s.byteOffset, s.length)
      : new Uint8Array(s, this.#place >>> 12, this.#place & 0xfff);
  }
}
class SecureSlabValue extends SlabValue {
  get type(): 'secure' {
    return 'secure';
  }
  get blob(): Uint8Array {
    return this.view();
  }
}
class ClearSlabValue extends SlabValue {
  get type(): 'clear' {
    return 'clear';
  }
  get bytes(): Uint8Array {
    return this.view();
  }
}

/** A secure value holding `blob` (made by a coprocessor: in its slab), compactly. */
export function secureValue(blob: Uint8Array): SecureValue {
  return new SecureSlabValue(blob);
}

export interface TokenRecord {
  readonly kind: 'token';
  readonly handle: Handle;
  readonly token: string;
  readonly lastSeq: number; // the last sequence number given out
}

export interface ObjectRecord {
  readonly kind: 'object';
  readonly handle: Handle;
  readonly token: string;
  readonly seq: number;
  readonly attrs: ObjectAttributes;
  readonly value: ObjectValue;
}

export type TkdsRecord = TokenRecord | ObjectRecord;

/** The header of a TKDS data set: the MKVP its secure values are under, and usability. */
export interface Header {
  readonly mkvp: Mkvp | null; // null: nothing written under a key yet (an empty, new data set)
  readonly usable: boolean; // false once a backout has marked it unusable
}

export function tokenRecord(token: string, lastSeq: number): TokenRecord {
  return Object.freeze({ kind: 'token', handle: handleOf(token, 0, 'token'), token, lastSeq });
}

export function objectRecord(
  token: string,
  seq: number,
  attrs: ObjectAttributes,
  value: ObjectValue,
): ObjectRecord {
  if (seq < 1)
    throw new Error(`an object's sequence number starts at 1, got ${seq} for token ${token}`);
  return Object.freeze({
    kind: 'object',
    handle: handleOf(token, seq, 'object'),
    token,
    seq,
    // (a literal, not a spread of `attrs`: every copy then shares one hidden class in V8, where
    // a frozen spread gets a class of its own, about 200 bytes per object)
    attrs: Object.freeze({
      label: attrs.label,
      class: attrs.class,
      keyType: attrs.keyType,
      length: attrs.length,
    }),
    value: Object.freeze(value),
  });
}

/** The same record with another value (a rewrap keeps handle and attributes, shared: they are frozen). */
export function withValue(record: ObjectRecord, value: ObjectValue): ObjectRecord {
  // (a literal, not a spread: a spread's copy keeps its fields out of the object, 40 bytes more)
  return Object.freeze({
    kind: 'object',
    handle: record.handle,
    token: record.token,
    seq: record.seq,
    attrs: record.attrs,
    value: Object.freeze(value),
  });
}

/**
 * An in-store copy of a data set (DESIGN.md: the **live** copy a member serves from, and the
 * **staged** copy it builds during `reload`). It names the data set it was read from and the
 * MKVP of that data set's header; records are shared immutable values. Built from a snapshot
 * of the data set (`Dasd.snapshot`), it takes O(1) and shares the data set's nodes until either
 * side writes (impl/sorted-set.ts).
 */
export class InStoreCopy {
  #dataSet: string;
  readonly mkvp: Mkvp;
  readonly #records: OrderedMap<Handle, TkdsRecord>;

  constructor(
    dataSet: string,
    mkvp: Mkvp,
    records: OrderedMap<Handle, TkdsRecord> | Iterable<TkdsRecord>,
  ) {
    this.#dataSet = dataSet;
    this.mkvp = mkvp;
    if (records instanceof OrderedMap) this.#records = records;
    else {
      this.#records = new OrderedMap(compareHandles);
      for (const r of records) this.#records.set(r.handle, r);
    }
  }
  /** The name of the data set it is a copy of. */
  get dataSet(): string {
    return this.#dataSet;
  }
  /** The data set it copies was renamed (finish's archive renames the target to the old name). */
  renamed(to: string): void {
    this.#dataSet = to;
  }
  get size(): number {
    return this.#records.size;
  }
  get(handle: Handle): TkdsRecord | undefined {
    return this.#records.get(handle);
  }
  put(record: TkdsRecord): void {
    this.#records.set(record.handle, record);
  }
  delete(handle: Handle): void {
    this.#records.delete(handle);
  }
  /** Records in handle order. */
  records(): Iterable<TkdsRecord> {
    return this.#records.values();
  }
  toJSON(): object {
    return { dataSet: this.dataSet, mkvp: this.mkvp, records: this.size };
  }
}

export function compareHandles(a: Handle, b: Handle): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- a seeded generator of data sets ----

export interface DataSetShape {
  tokens?: number; // default 3
  objects?: number; // default 20 (spread over the tokens)
  secureFraction?: number; // default 0.75: the share of secure key objects
}

/** The kinds of secure key the generator makes: AES-128/192/256 and a 64-byte HMAC key. */
export const SECURE_KINDS: readonly { keyType: KeyType; length: number }[] = [
  { keyType: 'AES', length: 16 },
  { keyType: 'AES', length: 24 },
  { keyType: 'AES', length: 32 },
  { keyType: 'GENERIC_SECRET', length: 64 },
];

/** The kinds of clear object: a clear AES key and data objects of a few sizes. */
export const CLEAR_KINDS: readonly { class: ObjectClass; keyType: KeyType; length: number }[] = [
  { class: 'secretKey', keyType: 'AES', length: 32 },
  { class: 'data', keyType: null, length: 12 },
  { class: 'data', keyType: null, length: 100 },
];

export function tokenName(i: number): string {
  return `TOKEN${String(i).padStart(2, '0')}`;
}

/**
 * Makes the records of a data set: `tokens` token records and `objects` objects spread over
 * them at random, each secure with probability `secureFraction`. Secure key values are drawn from
 * the rng and handed at once to `wrap` (the coprocessor); the caller never keeps them.
 */
export function generateRecords(
  rng: Rng,
  shape: DataSetShape,
  wrap: (keyValue: Uint8Array) => Uint8Array,
): TkdsRecord[] {
  const tokens = shape.tokens ?? 3;
  const objects = shape.objects ?? 20;
  const secureFraction = shape.secureFraction ?? 0.75;
  if (!Number.isInteger(tokens) || tokens < 0)
    throw new OptionsError(`dataSet.tokens must be a non-negative integer, got ${tokens}`);
  if (!Number.isInteger(objects) || objects < 0)
    throw new OptionsError(`dataSet.objects must be a non-negative integer, got ${objects}`);
  if (objects > 0 && tokens === 0)
    throw new OptionsError(`dataSet.objects = ${objects} needs at least one token`);
  if (!(secureFraction >= 0 && secureFraction <= 1))
    throw new OptionsError(`dataSet.secureFraction must be in [0, 1], got ${secureFraction}`);
  const lastSeq = new Array<number>(tokens).fill(0);
  const names = Array.from({ length: tokens }, (_, t) => tokenName(t)); // one string per token, shared by its objects
  const out: TkdsRecord[] = [];
  for (let i = 0; i < objects; i++) {
    const t = rng.int(tokens);
    const seq = ++lastSeq[t]!;
    out.push(newObject(rng, names[t]!, seq, rng.chance(secureFraction), `obj${i}`, wrap));
  }
  for (let t = 0; t < tokens; t++) out.push(tokenRecord(names[t]!, lastSeq[t]!));
  return out.sort((x, y) => compareHandles(x.handle, y.handle));
}

/** Where new clear values are kept (impl/slab.ts): they are made by the million at scale. */
const clearValues = new Slab();

/** One new object with a fresh value: a secure key of a random kind, or a clear object. */
export function newObject(
  rng: Rng,
  token: string,
  seq: number,
  secure: boolean,
  label: string,
  wrap: (keyValue: Uint8Array) => Uint8Array,
): ObjectRecord {
  if (secure) {
    const kind = rng.pick(SECURE_KINDS);
    const keyValue = rng.bytes(kind.length);
    const blob = wrap(keyValue);
    keyValue.fill(0);
    return objectRecord(
      token,
      seq,
      { label, class: 'secretKey', keyType: kind.keyType, length: kind.length },
      secureValue(blob),
    );
  }
  const kind = rng.pick(CLEAR_KINDS);
  return objectRecord(
    token,
    seq,
    { label, class: kind.class, keyType: kind.keyType, length: kind.length },
    new ClearSlabValue(clearValues.copy(rng.bytes(kind.length))),
  );
}
