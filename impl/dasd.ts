// The shared DASD (DESIGN.md "TKDS data set", "cluster record"): a catalog of named TKDS data sets
// and the cluster record, behind the small `Dasd` interface so that the protocol logic holds no
// I/O. `MemoryDasd` is the in-memory backend.
//
// Rules every backend keeps: a data set is never deleted (only marked unusable or renamed);
// allocate and rename never overwrite an existing name; records stream in handle order through
// `scan` pages (a re-encipherment never needs a second full copy in memory); every write names
// the member that makes it (`by`, for SingleWriter) and is reported to the write listener; the
// cluster record is written only by compare-and-set. A fault hook can make a write fail with a
// `DasdIoError` (the write is then not applied).

import type { Mkvp } from './coprocessor.ts';
import { OrderedMap } from './sorted-set.ts';
import { compareHandles, type Handle, type Header, type TkdsRecord } from './tkds.ts';

export type ChangeState = 'none' | 'running' | 'committed';

/** The cluster record (DESIGN.md): the active data set and the state of a change. */
export interface ClusterRecord {
  readonly active: string;
  readonly change: ChangeState;
  readonly initiator: string | null; // who drives the change (a takeover rewrites it)
  readonly target: string | null;
  readonly changeId: string | null; // `c1`, `c2`, ...: tells one change's messages from another's
  /** The archive name asked for, written at beginRouting, so that a takeover's finish honours it. */
  readonly archive?: string;
}

export type WriteOp = 'allocate' | 'put' | 'delete' | 'header' | 'unusable' | 'rename' | 'record';

/** One write, as the write listener and the fault hook see it. */
export interface DasdWrite {
  readonly by: string; // the writing member
  readonly op: WriteOp;
  readonly dataSet: string; // the data set written (`record` writes: the cluster's active one)
  readonly handle?: Handle; // put, delete
  readonly mkvp?: Mkvp | null; // header
  readonly to?: string; // rename: the new name
  readonly update?: string; // put, delete made for a dynamic update: its id
  readonly from?: ClusterRecord; // record
  readonly next?: ClusterRecord; // record
}

/** Who writes, and for which dynamic update (if any). */
export interface WriteContext {
  readonly by: string;
  readonly update?: string;
}

export class DasdIoError extends Error {
  readonly write: DasdWrite;
  constructor(write: DasdWrite) {
    super(
      `I/O error: ${write.op} of ${write.op === 'record' ? 'the cluster record' : `data set ${write.dataSet}`} by ${write.by} failed`,
    );
    this.name = 'DasdIoError';
    this.write = write;
  }
}

export interface Dasd {
  exists(name: string): boolean;
  names(): string[];
  allocate(name: string, ctx: WriteContext): void;
  header(name: string): Header;
  writeHeader(name: string, mkvp: Mkvp, ctx: WriteContext): void;
  markUnusable(name: string, ctx: WriteContext): void;
  count(name: string): number;
  get(name: string, handle: Handle): TkdsRecord | undefined;
  /** The records as they are now, in O(1): a copy that later writes to either side do not reach. */
  snapshot(name: string): OrderedMap<Handle, TkdsRecord>;
  /** Up to `limit` records after `after` (null: from the start), in handle order. */
  scan(name: string, after: Handle | null, limit: number): TkdsRecord[];
  /** How many records sort before `handle` in handle order (`handle` need not exist). */
  rank(name: string, handle: Handle): number;
  /** The record at position `index` in handle order (0: the first), or undefined past the end. */
  at(name: string, index: number): TkdsRecord | undefined;
  put(name: string, record: TkdsRecord, ctx: WriteContext): void;
  delete(name: string, handle: Handle, ctx: WriteContext): void;
  /** Renames a data set; refuses if `to` exists. */
  rename(from: string, to: string, ctx: WriteContext): void;
  readClusterRecord(): ClusterRecord;
  /** Writes `next` only if the record is still `expected` (field by field); false otherwise. */
  compareAndSetClusterRecord(
    expected: ClusterRecord,
    next: ClusterRecord,
    ctx: WriteContext,
  ): boolean;
}

/** Streams the records of a data set after `after` (null: all of them), one page at a time. */
export function* streamRecords(
  dasd: Dasd,
  name: string,
  after: Handle | null = null,
  page = 64,
): Generator<TkdsRecord> {
  for (;;) {
    const batch = dasd.scan(name, after, page);
    yield* batch;
    if (batch.length < page) return;
    after = batch[batch.length - 1]!.handle;
  }
}

export function sameClusterRecord(a: ClusterRecord, b: ClusterRecord): boolean {
  return (
    a.active === b.active &&
    a.change === b.change &&
    a.initiator === b.initiator &&
    a.target === b.target &&
    a.changeId === b.changeId &&
    a.archive === b.archive
  );
}

interface StoredDataSet {
  header: Header;
  records: OrderedMap<Handle, TkdsRecord>; // in handle order: writes and positions in O(log n), snapshots in O(1)
}

export class MemoryDasd implements Dasd {
  readonly #sets = new Map<string, StoredDataSet>();
  #record: ClusterRecord;
  /** Told of every write that was applied. */
  onWrite: (w: DasdWrite) => void = () => {};
  /** Asked before every write; returning true makes that write fail with a DasdIoError. */
  failWrite: (w: DasdWrite) => boolean = () => false;

  constructor(active: string) {
    this.#record = Object.freeze({
      active,
      change: 'none',
      initiator: null,
      target: null,
      changeId: null,
    });
  }

  #set(name: string): StoredDataSet {
    const s = this.#sets.get(name);
    if (!s) throw new Error(`data set ${name} does not exist`);
    return s;
  }

  #write(w: DasdWrite, apply: () => void): void {
    if (this.failWrite(w)) throw new DasdIoError(w);
    apply();
    this.onWrite(w);
  }

  exists(name: string): boolean {
    return this.#sets.has(name);
  }
  names(): string[] {
    return [...this.#sets.keys()].sort();
  }

  allocate(name: string, ctx: WriteContext): void {
    if (this.#sets.has(name)) throw new Error(`cannot allocate data set ${name}: the name exists`);
    this.#write({ by: ctx.by, op: 'allocate', dataSet: name }, () => {
      this.#sets.set(name, {
        header: Object.freeze({ mkvp: null, usable: true }),
        records: new OrderedMap(compareHandles),
      });
    });
  }

  header(name: string): Header {
    return this.#set(name).header;
  }

  writeHeader(name: string, mkvp: Mkvp, ctx: WriteContext): void {
    const s = this.#set(name);
    this.#write({ by: ctx.by, op: 'header', dataSet: name, mkvp }, () => {
      s.header = Object.freeze({ ...s.header, mkvp });
    });
  }

  markUnusable(name: string, ctx: WriteContext): void {
    const s = this.#set(name);
    this.#write({ by: ctx.by, op: 'unusable', dataSet: name }, () => {
      s.header = Object.freeze({ ...s.header, usable: false });
    });
  }

  count(name: string): number {
    return this.#set(name).records.size;
  }
  get(name: string, handle: Handle): TkdsRecord | undefined {
    return this.#set(name).records.get(handle);
  }

  snapshot(name: string): OrderedMap<Handle, TkdsRecord> {
    return this.#set(name).records.snapshot();
  }

  scan(name: string, after: Handle | null, limit: number): TkdsRecord[] {
    const { records } = this.#set(name);
    const start = after === null ? 0 : records.rank(after) + (records.has(after) ? 1 : 0);
    return records.slice(start, limit);
  }

  rank(name: string, handle: Handle): number {
    return this.#set(name).records.rank(handle);
  }

  at(name: string, index: number): TkdsRecord | undefined {
    return this.#set(name).records.at(index);
  }

  put(name: string, record: TkdsRecord, ctx: WriteContext): void {
    const s = this.#set(name);
    this.#write(
      {
        by: ctx.by,
        op: 'put',
        dataSet: name,
        handle: record.handle,
        ...(ctx.update ? { update: ctx.update } : {}),
      },
      () => {
        s.records.set(record.handle, record);
      },
    );
  }

  delete(name: string, handle: Handle, ctx: WriteContext): void {
    const s = this.#set(name);
    this.#write(
      {
        by: ctx.by,
        op: 'delete',
        dataSet: name,
        handle,
        ...(ctx.update ? { update: ctx.update } : {}),
      },
      () => {
        s.records.delete(handle);
      },
    );
  }

  rename(from: string, to: string, ctx: WriteContext): void {
    const s = this.#set(from);
    if (this.#sets.has(to))
      throw new Error(`cannot rename data set ${from} to ${to}: the name exists`);
    this.#write({ by: ctx.by, op: 'rename', dataSet: from, to }, () => {
      this.#sets.delete(from);
      this.#sets.set(to, s);
    });
  }

  readClusterRecord(): ClusterRecord {
    return this.#record;
  }

  compareAndSetClusterRecord(
    expected: ClusterRecord,
    next: ClusterRecord,
    ctx: WriteContext,
  ): boolean {
    if (!sameClusterRecord(this.#record, expected)) return false;
    const frozen = Object.freeze({ ...next });
    this.#write(
      { by: ctx.by, op: 'record', dataSet: expected.active, from: this.#record, next: frozen },
      () => {
        this.#record = frozen;
      },
    );
    return true;
  }
}
