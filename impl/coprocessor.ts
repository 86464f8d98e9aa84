// The simulated Enterprise PKCS #11 coprocessor of DESIGN.md: master key registers `cur` and
// `new`, TKE-style loading of `new` in key parts, `commitNew`, `clearNew`, `setMasterKey`, and
// `wrap` / `unwrap` / `rewrap` of secure key values as blobs that record their MKVP.
//
// Master key: AES-256 (MASTER_KEY_BYTES). A register is empty, uncommitted or committed; while
// `new` is being loaded in parts it is 'uncommitted' with `partsLoaded` > 0 and no MKVP yet.
//
// MKVP (master key verification pattern): the first 16 bytes of SHA-256 over the ASCII label
// "tkds-cmk MKVP v1", one zero byte, and the 32-byte key; shown as 32 lowercase hex chars. It is
// one-way: it identifies a key without revealing it.
//
// KCV (key check value) of a secure key value, any length: the first 3 bytes of SHA-256 over
// "tkds-cmk KCV v1", one zero byte, and the key value; 6 lowercase hex chars. Equal KCVs before
// and after a change show a key survived without showing the key.
//
// Secure blob, format version 1 (all a blob holds; nothing else is kept about it):
//   offset 0   3 bytes   magic "TKB" (54 4b 42)
//   offset 3   1 byte    format version, 01
//   offset 4   16 bytes  MKVP of the master key the value is wrapped under (its WKID)
//   offset 20  rest      AES-KWP (RFC 5649) of the key value under that master key:
//                        8 * (ceil(len / 8) + 1) bytes for a key value of len bytes (1..4096)
// A blob under another master key than `cur` is refused with 'wkidMismatch'; a blob that is
// short, has a bad magic, version or length, or fails the KWP integrity check, 'malformedBlob'.
//
// Key material lives only in private fields and is overwritten when a register is cleared, set
// or zeroized; toString, toJSON, util.inspect and every error show the serial and MKVPs only.

import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describeLength } from './crypto/aes.ts';
import { createKeyWrapper, KeyWrapError, type KeyWrapper } from './crypto/aes-kw.ts';
import { Slab } from './slab.ts';

export type Mkvp = string; // 32 lowercase hex chars: 16 bytes
export type RegisterStatus = 'empty' | 'uncommitted' | 'committed';

/** What anyone may see of a register. */
export interface RegisterView {
  readonly status: RegisterStatus;
  readonly mkvp: Mkvp | null; // null while empty or while parts are incomplete
  readonly partsLoaded: number; // TKE-style partial state of `new` (0 when empty; always 0 for `cur`)
}

export type KeyPartKind = 'first' | 'middle' | 'last';

export type CoprocessorErrorCode =
  | 'wkidMismatch'
  | 'noCommittedNew'
  | 'emptyCur'
  | 'malformedBlob'
  | 'keyPartOrder'
  | 'badKeyPart'
  | 'notUncommitted'
  | 'inactive';

/** A refusal of the coprocessor. The message names the serial and MKVPs, never keys. */
export class CoprocessorError extends Error {
  override readonly name = 'CoprocessorError';
  readonly code: CoprocessorErrorCode;
  constructor(code: CoprocessorErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** The P11 master key is AES-256. */
export const MASTER_KEY_BYTES = 32;
/** Secure key values a blob can hold: 1 to MAX_KEY_VALUE_BYTES bytes. */
export const MAX_KEY_VALUE_BYTES = 4096;
export const BLOB_VERSION = 1;

const MKVP_LABEL = 'tkds-cmk MKVP v1';
const KCV_LABEL = 'tkds-cmk KCV v1';
const BLOB_MAGIC = [0x54, 0x4b, 0x42]; // "TKB"
const MKVP_BYTES = 16;
const HEADER_BYTES = 4 + MKVP_BYTES;
const MIN_BLOB_BYTES = HEADER_BYTES + 16;
const MAX_BLOB_BYTES = HEADER_BYTES + 8 * (Math.ceil(MAX_KEY_VALUE_BYTES / 8) + 1);

/** SHA-256 over label, a zero byte and `data`. */
function labelledHash(label: string, data: Uint8Array): Buffer {
  return createHash('sha256').update(label).update(new Uint8Array(1)).update(data).digest();
}

/** The MKVP of a master key (the documented one-way pattern above). */
export function mkvpOf(masterKey: Uint8Array): Mkvp {
  if (!(masterKey instanceof Uint8Array) || masterKey.length !== MASTER_KEY_BYTES) {
    throw new RangeError(
      `master key must be a Uint8Array of ${MASTER_KEY_BYTES} bytes, got ${describeLength(masterKey)}`,
    );
  }
  return labelledHash(MKVP_LABEL, masterKey).subarray(0, MKVP_BYTES).toString('hex');
}

/** The KCV of a key value (the documented rule above), for any length. */
export function kcvOf(keyValue: Uint8Array): string {
  checkKeyValue(keyValue);
  return labelledHash(KCV_LABEL, keyValue).subarray(0, 3).toString('hex');
}

/** The MKVP recorded in a blob's header; throws 'malformedBlob' if the blob cannot be one. */
export function blobMkvp(blob: Uint8Array): Mkvp {
  checkBlobShape(blob);
  return Buffer.from(blob.subarray(4, HEADER_BYTES)).toString('hex');
}

const HEX = '0123456789abcdef';

/** blobMkvp(blob) === mkvp, without making a string (an audit asks it of every blob in a copy). */
export function blobUnder(blob: Uint8Array, mkvp: Mkvp): boolean {
  checkBlobShape(blob);
  if (mkvp.length !== 2 * MKVP_BYTES) return false;
  for (let i = 0; i < MKVP_BYTES; i++) {
    const b = blob[4 + i]!;
    if (mkvp.charCodeAt(2 * i) !== HEX.charCodeAt(b >>> 4)) return false;
    if (mkvp.charCodeAt(2 * i + 1) !== HEX.charCodeAt(b & 15)) return false;
  }
  return true;
}

function checkBlobShape(blob: Uint8Array): void {
  const problem = blobProblem(blob);
  if (problem !== null) throw new CoprocessorError('malformedBlob', `malformed blob: ${problem}`);
}

/** What is wrong with a blob's shape (not its integrity), or null. */
function blobProblem(blob: Uint8Array): string | null {
  if (!(blob instanceof Uint8Array)) return `expected a Uint8Array, got ${describeLength(blob)}`;
  const len = blob.length;
  if (len < MIN_BLOB_BYTES || len > MAX_BLOB_BYTES || (len - HEADER_BYTES) % 8 !== 0) {
    return `length ${len} is not ${HEADER_BYTES} + 8k bytes between ${MIN_BLOB_BYTES} and ${MAX_BLOB_BYTES}`;
  }
  if (blob[0] !== BLOB_MAGIC[0] || blob[1] !== BLOB_MAGIC[1] || blob[2] !== BLOB_MAGIC[2])
    return 'bad magic';
  if (blob[3] !== BLOB_VERSION) return `unsupported format version ${blob[3]}`;
  return null;
}

function checkKeyValue(keyValue: Uint8Array): void {
  if (
    !(keyValue instanceof Uint8Array) ||
    keyValue.length < 1 ||
    keyValue.length > MAX_KEY_VALUE_BYTES
  ) {
    throw new RangeError(
      `key value must be a Uint8Array of 1 to ${MAX_KEY_VALUE_BYTES} bytes, got ${describeLength(keyValue)}`,
    );
  }
}

/** A complete master key in a register: its expanded schedule and its MKVP; never the key. */
interface MasterKey {
  readonly mkvp: Mkvp;
  readonly wkid: Uint8Array; // the MKVP's 16 bytes, as a blob header holds them
  readonly wrapper: KeyWrapper;
}

function masterKeyFrom(key: Uint8Array): MasterKey {
  const mkvp = mkvpOf(key);
  return { mkvp, wkid: Buffer.from(mkvp, 'hex'), wrapper: createKeyWrapper(key) };
}

const EMPTY: RegisterView = Object.freeze({ status: 'empty', mkvp: null, partsLoaded: 0 });

export class Coprocessor {
  readonly serial: string;
  /** An inactive coprocessor refuses every operation with 'inactive' (its views stay readable). */
  active = true;

  #cur: MasterKey | null = null;
  // `new`: parts are XORed into #newParts until the last one; then the key moves to #newKey.
  #newParts: Uint8Array | null = null;
  #newPartsLoaded = 0;
  #newKey: MasterKey | null = null;
  #newCommitted = false;
  readonly #blobs = new Slab(); // where the blobs it makes are written (never key material)

  constructor(serial: string) {
    if (typeof serial !== 'string' || serial.length === 0)
      throw new TypeError('coprocessor serial must be a non-empty string');
    this.serial = serial;
  }

  get cur(): RegisterView {
    return this.#cur === null
      ? EMPTY
      : Object.freeze({ status: 'committed', mkvp: this.#cur.mkvp, partsLoaded: 0 });
  }

  get new(): RegisterView {
    if (this.#newPartsLoaded === 0) return EMPTY;
    return Object.freeze({
      status: this.#newCommitted ? 'committed' : 'uncommitted',
      mkvp: this.#newKey?.mkvp ?? null,
      partsLoaded: this.#newPartsLoaded,
    });
  }

  /** Load a 32-byte key part into `new` (TKE): 'first' into an empty register, any 'middle's, then 'last'. */
  loadNewKeyPart(kind: KeyPartKind, part: Uint8Array): void {
    this.#checkActive();
    if (kind !== 'first' && kind !== 'middle' && kind !== 'last') {
      throw this.#error(
        'badKeyPart',
        `key part kind must be first, middle or last, got ${String(kind)}`,
      );
    }
    if (!(part instanceof Uint8Array) || part.length !== MASTER_KEY_BYTES) {
      throw this.#error(
        'badKeyPart',
        `key part must be a Uint8Array of ${MASTER_KEY_BYTES} bytes, got ${describeLength(part)}`,
      );
    }
    if (kind === 'first') {
      if (this.#newPartsLoaded !== 0) {
        throw this.#error(
          'keyPartOrder',
          `a first key part needs an empty new register; it is ${this.#describeNew()} (clear it first)`,
        );
      }
      this.#newParts = new Uint8Array(MASTER_KEY_BYTES);
    } else if (this.#newParts === null) {
      throw this.#error(
        'keyPartOrder',
        `a ${kind} key part needs a partially loaded new register; it is ${this.#describeNew()}`,
      );
    }
    const acc = this.#newParts!;
    if (kind === 'last' && acc.every((b, i) => b === part[i])) {
      throw this.#error('badKeyPart', 'the key parts combine to an all-zero master key');
    }
    for (let i = 0; i < MASTER_KEY_BYTES; i++) acc[i]! ^= part[i]!;
    this.#newPartsLoaded++;
    if (kind === 'last') {
      this.#newKey = masterKeyFrom(acc);
      acc.fill(0);
      this.#newParts = null;
    }
  }

  /** 'uncommitted' (all parts loaded) -> 'committed'. */
  commitNew(): void {
    this.#checkActive();
    if (this.#newKey === null || this.#newCommitted) {
      throw this.#error(
        'notUncommitted',
        `commit needs a complete, uncommitted new register; it is ${this.#describeNew()}`,
      );
    }
    this.#newCommitted = true;
  }

  /** Empty `new`, overwriting any parts or key it held. */
  clearNew(): void {
    this.#checkActive();
    this.#wipeNew(true);
  }

  /** The committed `new` becomes `cur`; `new` empties; the old `cur` is overwritten and gone. */
  setMasterKey(): void {
    this.#checkActive();
    const next = this.#committedNew();
    this.#cur?.wrapper.destroy();
    this.#cur = next;
    this.#wipeNew(false);
  }

  /** Wrap a key value (1..4096 bytes) as a blob under `cur`. */
  wrap(keyValue: Uint8Array): Uint8Array {
    this.#checkActive();
    const cur = this.#currentKey();
    checkKeyValue(keyValue);
    return sealBlob(cur, keyValue, this.#blobs);
  }

  /** The key value inside a blob under `cur`. */
  unwrap(blob: Uint8Array): Uint8Array {
    this.#checkActive();
    return this.#open(this.#currentKey(), blob);
  }

  /** Re-encipher a blob from `cur` to the committed `new` (the only use of `new`). */
  rewrap(blob: Uint8Array): Uint8Array {
    this.#checkActive();
    const cur = this.#currentKey();
    const next = this.#committedNew();
    const value = this.#open(cur, blob);
    try {
      return sealBlob(next, value, this.#blobs);
    } finally {
      value.fill(0);
    }
  }

  /** The KCV (see kcvOf) of the key inside a blob under `cur`. */
  keyCheckValue(blob: Uint8Array): string {
    this.#checkActive();
    const value = this.#open(this.#currentKey(), blob);
    try {
      return kcvOf(value);
    } finally {
      value.fill(0);
    }
  }

  /** Empty both registers, overwriting every key, part and key schedule they held. */
  zeroize(): void {
    this.#cur?.wrapper.destroy();
    this.#cur = null;
    this.#wipeNew(true);
  }

  toJSON(): { serial: string; active: boolean; cur: RegisterView; new: RegisterView } {
    return { serial: this.serial, active: this.active, cur: this.cur, new: this.new };
  }

  toString(): string {
    const show = (r: RegisterView): string =>
      `${r.status}${r.mkvp === null ? '' : ` ${r.mkvp}`}${r.partsLoaded > 0 && r.mkvp === null ? ` (${partsText(r.partsLoaded)})` : ''}`;
    return `Coprocessor ${this.serial} (${this.active ? 'active' : 'inactive'}): cur ${show(this.cur)}, new ${show(this.new)}`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #open(key: MasterKey, blob: Uint8Array): Uint8Array {
    const problem = blobProblem(blob);
    if (problem !== null) throw this.#error('malformedBlob', `malformed blob: ${problem}`);
    if (!key.wkid.every((b, i) => blob[4 + i] === b)) {
      const wkid = Buffer.from(blob.subarray(4, HEADER_BYTES)).toString('hex');
      throw this.#error(
        'wkidMismatch',
        `WKID mismatch: blob is wrapped under MKVP ${wkid}, the register holds MKVP ${key.mkvp}`,
      );
    }
    try {
      return key.wrapper.unwrapPad(blob.subarray(HEADER_BYTES));
    } catch (e) {
      if (e instanceof KeyWrapError)
        throw this.#error(
          'malformedBlob',
          `malformed blob: integrity check failed under MKVP ${key.mkvp}`,
        );
      throw e;
    }
  }

  #currentKey(): MasterKey {
    if (this.#cur === null)
      throw this.#error('emptyCur', 'the current master key register is empty');
    return this.#cur;
  }

  #committedNew(): MasterKey {
    if (this.#newKey === null || !this.#newCommitted) {
      throw this.#error(
        'noCommittedNew',
        `needs a committed new master key; the new register is ${this.#describeNew()}`,
      );
    }
    return this.#newKey;
  }

  /** Empty `new`; destroy its key schedule unless it moved to `cur`. */
  #wipeNew(destroyKey: boolean): void {
    this.#newParts?.fill(0);
    this.#newParts = null;
    if (destroyKey) this.#newKey?.wrapper.destroy();
    this.#newKey = null;
    this.#newPartsLoaded = 0;
    this.#newCommitted = false;
  }

  #describeNew(): string {
    const r = this.new;
    if (r.status === 'empty') return 'empty';
    if (r.mkvp === null) return `partially loaded (${partsText(r.partsLoaded)})`;
    return `${r.status} with MKVP ${r.mkvp}`;
  }

  #checkActive(): void {
    if (!this.active) throw this.#error('inactive', 'the coprocessor is not active');
  }

  #error(code: CoprocessorErrorCode, message: string): CoprocessorError {
    return new CoprocessorError(code, `${this.serial}: ${message}`);
  }
}

function partsText(n: number): string {
  return `${n} key part${n === 1 ? '' : 's'} loaded`;
}

/** A version 1 blob of `value` under `key`, written into `slab`. */
function sealBlob(key: MasterKey, value: Uint8Array, slab: Slab): Uint8Array {
  const blob = slab.alloc(HEADER_BYTES + 8 * (Math.ceil(value.length / 8) + 1));
  blob.set(BLOB_MAGIC, 0);
  blob[3] = BLOB_VERSION;
  blob.set(key.wkid, 4);
  key.wrapper.wrapPad(value, blob, HEADER_BYTES);
  return blob;
}
