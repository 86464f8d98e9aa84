// Dynamic updates (DESIGN.md "dynamic update"; docs/protocol.md "Dynamic updates"): the PKCS #11
// requests that change a TKDS, planned against the data set they are processed against.
//
// Planning reads records and yields the record writes (put or delete) that make the update; the
// writer then makes them on disk, and the same writes, with secure values rewrapped, are the
// update's entry in the **delta**. A plan never holds key values: a new secure object arrives as
// a blob made by the writer's coprocessor.

import { streamRecords, type Dasd, type WriteContext } from './dasd.ts';
import type { Rng } from './rng.ts';
import {
  handleOf,
  objectRecord,
  parseHandle,
  tokenRecord,
  type Handle,
  type ObjectRecord,
  type TkdsRecord,
} from './tkds.ts';
import type { UpdateOpName } from './vocabulary.ts';

export type UpdateOp =
  | { readonly op: 'createToken'; readonly token: string }
  | { readonly op: 'deleteToken'; readonly token: string }
  | {
      readonly op: 'createObject';
      readonly token: string;
      readonly secure: boolean;
      readonly label: string;
    }
  | { readonly op: 'updateObject'; readonly handle: Handle; readonly label: string }
  | { readonly op: 'destroyObject'; readonly handle: Handle };

/**
 * An update as it travels: its id (`u1`, ...), the member whose caller asked for it, the op, and
 * the origin's incarnation when its caller asked (set by the origin when it takes the request: a
 * request from an earlier incarnation was answered `unknown` when that one went down).
 */
export interface UpdateRequest {
  readonly id: string;
  readonly origin: string;
  readonly op: UpdateOp;
  readonly originIncarnation: number;
}

/** One record write: a put of `record`, or a delete when `record` is null. */
export interface RecordWrite {
  readonly handle: Handle;
  readonly record: TkdsRecord | null;
}

export type UpdateFailure = 'noSuchToken' | 'tokenExists' | 'noSuchObject';
export type Plan =
  | { readonly ok: true; readonly handle: Handle; readonly writes: readonly RecordWrite[] }
  | { readonly ok: false; readonly reason: UpdateFailure; readonly message: string };

/** Makes a new object's record (a secure value is wrapped by the writer's coprocessor). */
export type MakeObject = (
  token: string,
  seq: number,
  secure: boolean,
  label: string,
) => ObjectRecord;

export function checkUpdateOp(op: UpdateOp): void {
  const names: readonly UpdateOpName[] = [
    'createToken',
    'deleteToken',
    'createObject',
    'updateObject',
    'destroyObject',
  ];
  if (!op || !names.includes(op.op))
    throw new Error(`bad update op ${JSON.stringify(op)}: op must be one of ${names.join(', ')}`);
  if (op.op === 'updateObject' || op.op === 'destroyObject') {
    if (parseHandle(op.handle).kind !== 'object')
      throw new Error(`${op.op} needs an object handle, got ${op.handle}`);
  } else {
    handleOf(op.token, 0, 'token');
  }
}

/** The handles of a token's records on disk (its token record first). */
export function tokenHandles(dasd: Dasd, dataSet: string, token: string): Handle[] {
  const first = handleOf(token, 0, 'token');
  const out: Handle[] = dasd.get(dataSet, first) ? [first] : [];
  for (const r of streamRecords(dasd, dataSet, first)) {
    if (r.token !== token) break;
    out.push(r.handle);
  }
  return out;
}

/** What the update would write to `dataSet`, or why it fails there. */
export function planUpdate(
  op: UpdateOp,
  dasd: Dasd,
  dataSet: string,
  makeObject: MakeObject,
): Plan {
  const fail = (reason: UpdateFailure, message: string): Plan => ({ ok: false, reason, message });
  switch (op.op) {
    case 'createToken': {
      const h = handleOf(op.token, 0, 'token');
      if (dasd.get(dataSet, h))
        return fail('tokenExists', `token ${op.token} exists in ${dataSet}`);
      return { ok: true, handle: h, writes: [{ handle: h, record: tokenRecord(op.token, 0) }] };
    }
    case 'deleteToken': {
      const handles = tokenHandles(dasd, dataSet, op.token);
      if (handles.length === 0) return fail('noSuchToken', `no token ${op.token} in ${dataSet}`);
      // objects first, the token record last
      return {
        ok: true,
        handle: handles[0]!,
        writes: [...handles.slice(1), handles[0]!].map((handle) => ({ handle, record: null })),
      };
    }
    case 'createObject': {
      const t = dasd.get(dataSet, handleOf(op.token, 0, 'token'));
      if (!t || t.kind !== 'token')
        return fail('noSuchToken', `no token ${op.token} in ${dataSet}`);
      const seq = t.lastSeq + 1;
      const obj = makeObject(op.token, seq, op.secure, op.label);
      return {
        ok: true,
        handle: obj.handle,
        writes: [
          { handle: t.handle, record: tokenRecord(op.token, seq) },
          { handle: obj.handle, record: obj },
        ],
      };
    }
    case 'updateObject': {
      const r = dasd.get(dataSet, op.handle);
      if (!r || r.kind !== 'object')
        return fail('noSuchObject', `no object ${op.handle} in ${dataSet}`);
      return {
        ok: true,
        handle: r.handle,
        writes: [
          {
            handle: r.handle,
            record: objectRecord(r.token, r.seq, { ...r.attrs, label: op.label }, r.value),
          },
        ],
      };
    }
    case 'destroyObject': {
      const r = dasd.get(dataSet, op.handle);
      if (!r || r.kind !== 'object')
        return fail('noSuchObject', `no object ${op.handle} in ${dataSet}`);
      return { ok: true, handle: r.handle, writes: [{ handle: r.handle, record: null }] };
    }
  }
}

/** Makes the writes on disk, tagged with the writer and the update. */
export function writeRecords(
  dasd: Dasd,
  dataSet: string,
  writes: readonly RecordWrite[],
  ctx: WriteContext,
): void {
  for (const w of writes) {
    if (w.record === null) dasd.delete(dataSet, w.handle, ctx);
    else dasd.put(dataSet, w.record, ctx);
  }
}

/**
 * A random update against the records of a data set (the seeded workload): mostly object
 * creations, attribute updates and destructions, sometimes a new token or the deletion of a
 * token the workload made (`deletable`), so the data set is not emptied by a few deletions.
 */
export function randomUpdateOp(
  rng: Rng,
  dasd: Dasd,
  dataSet: string,
  freshToken: () => string,
  deletable: (token: string) => boolean,
): UpdateOp {
  // The token records and their positions, found by skipping from one token's handles to the next;
  // the objects are the other records. Nothing is copied (O(tokens x log records)).
  const tokens: string[] = [];
  const positions: number[] = [];
  for (
    let r = dasd.at(dataSet, 0);
    r;
    r = dasd.scan(dataSet, handleOf(r.token, 0xffffffff, 'object'), 1)[0]
  ) {
    if (r.kind !== 'token') continue;
    tokens.push(r.token);
    positions.push(dasd.rank(dataSet, r.handle));
  }
  const objects = dasd.count(dataSet) - tokens.length;
  /** The handle of the i-th object record in handle order: its position counts the token records before it. */
  const objectAt = (i: number): Handle => {
    let p = i;
    for (const t of positions) if (t <= p) p++;
    return dasd.at(dataSet, p)!.handle;
  };
  const roll = rng.float();
  const label = `upd${rng.int(1_000_000)}`;
  if (tokens.length === 0 || roll < 0.08) return { op: 'createToken', token: freshToken() };
  const mine = tokens.filter(deletable);
  if (roll < 0.12 && mine.length > 0) return { op: 'deleteToken', token: rng.pick(mine) };
  if (objects === 0 || roll < 0.5)
    return { op: 'createObject', token: rng.pick(tokens), secure: rng.chance(0.7), label };
  if (roll < 0.8) return { op: 'updateObject', handle: objectAt(rng.int(objects)), label };
  return { op: 'destroyObject', handle: objectAt(rng.int(objects)) };
}
