// The state form of the invariants, on states built by hand: each holds on a good state and
// names the violation on a bad one (the trace form is exercised in impl-trace.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coprocessor } from '../impl/coprocessor.ts';
import { MemoryDasd } from '../impl/dasd.ts';
import { InStoreCopy, objectRecord, tokenRecord, type TkdsRecord } from '../impl/tkds.ts';
import { checkState, type AuditState, type Original } from '../impl/invariants.ts';
import type { ClusterView, MemberView } from '../impl/view.ts';

const cp = new Coprocessor('T.CP0');
cp.loadNewKeyPart('first', new Uint8Array(32).fill(1));
cp.loadNewKeyPart('last', new Uint8Array(32).fill(3));
cp.commitNew();
cp.setMasterKey();
const MKVP = cp.cur.mkvp!;

const attrs = { label: 'k', class: 'secretKey' as const, keyType: 'AES' as const, length: 16 };
const secure = objectRecord('T', 1, attrs, {
  type: 'secure',
  blob: cp.wrap(new Uint8Array(16).fill(7)),
});
const clear = objectRecord(
  'T',
  2,
  { ...attrs, label: 'c' },
  { type: 'clear', bytes: new Uint8Array([1, 2, 3]) },
);
const token = tokenRecord('T', 2);

function state(
  edit: {
    records?: TkdsRecord[];
    member?: Partial<MemberView>;
    originals?: Map<string, Original>;
    quiet?: boolean;
    initiators?: AuditState['initiators'];
    acked?: AuditState['acked'];
    record?: ClusterView['record'];
    old?: AuditState['old'];
    /** Other data sets: name -> records (header MKVP: MKVP). */
    dataSets?: Record<string, TkdsRecord[]>;
  } = {},
): AuditState {
  const dasd = new MemoryDasd('CSF.TKDS');
  dasd.allocate('CSF.TKDS', { by: 't' });
  const records = edit.records ?? [token, secure, clear];
  for (const r of records) dasd.put('CSF.TKDS', r, { by: 't' });
  dasd.writeHeader('CSF.TKDS', MKVP, { by: 't' });
  for (const [name, recs] of Object.entries(edit.dataSets ?? {})) {
    dasd.allocate(name, { by: 't' });
    for (const r of recs) dasd.put(name, r, { by: 't' });
    dasd.writeHeader(name, MKVP, { by: 't' });
  }
  const live = new InStoreCopy('CSF.TKDS', MKVP, records);
  const member: MemberView = {
    name: 'SYSA',
    up: true,
    state: 'serving',
    initiatorStep: null,
    level: 'HCR77A1',
    cur: cp.cur,
    new: cp.new,
    coprocessors: [cp.toJSON()],
    active: 'CSF.TKDS',
    live: { dataSet: 'CSF.TKDS', mkvp: MKVP, records: records.length },
    staged: null,
    routing: false,
    suspended: false,
    fenced: false,
    ...edit.member,
  };
  const view: ClusterView = {
    tick: 0,
    record: edit.record ?? {
      active: 'CSF.TKDS',
      change: 'none',
      initiator: null,
      target: null,
      changeId: null,
    },
    dataSets: [],
    members: [member],
  };
  return {
    view,
    dasd,
    copies: [{ member: 'SYSA', kind: 'live', copy: live }],
    initiators: edit.initiators ?? [],
    kcv: (v) => {
      try {
        return cp.keyCheckValue(v.blob);
      } catch {
        return null;
      }
    },
    originals:
      edit.originals ??
      new Map<string, Original>([
        [secure.handle, secure.value],
        [clear.handle, { type: 'clear', bytes: new Uint8Array([1, 2, 3]) }],
      ]),
    destroyed: new Set(),
    acked: edit.acked ?? [],
    old: edit.old ?? null,
    quiet: edit.quiet ?? true,
  };
}

const broken = (s: AuditState): Record<string, string> =>
  Object.fromEntries(
    checkState(s)
      .filter((r) => !r.ok)
      .map((r) => [r.name, r.detail!]),
  );

test('a good state: every state invariant holds', () => {
  assert.deepEqual(broken(state()), {});
});

test('SecureValuesPreserved: a missing secure key, or one with another value, is named', () => {
  assert.match(
    broken(state({ records: [token, clear] })).SecureValuesPreserved!,
    /secure object T:00000001:O is missing from CSF.TKDS/,
  );
  const other = objectRecord('T', 1, attrs, {
    type: 'secure',
    blob: cp.wrap(new Uint8Array(16).fill(8)),
  });
  assert.match(
    broken(state({ records: [token, other, clear] })).SecureValuesPreserved!,
    /T:00000001:O has key check value [0-9a-f]{6}, it was made with/,
  );
});

test('ClearObjectsUnchanged: a changed byte is named', () => {
  const changed = objectRecord(
    'T',
    2,
    { ...attrs, label: 'c' },
    { type: 'clear', bytes: new Uint8Array([1, 2, 4]) },
  );
  assert.match(
    broken(state({ records: [token, secure, changed] })).ClearObjectsUnchanged!,
    /clear object T:00000002:O is not byte-identical/,
  );
});

test('KeyAgreement: a serving member whose cur differs from its live copy', () => {
  assert.match(
    broken(
      state({ member: { cur: { status: 'committed', mkvp: 'ab'.repeat(16), partsLoaded: 0 } } }),
    ).KeyAgreement!,
    /SYSA: cur MKVP abab.* differs from its live copy/,
  );
});

test('KeyAgreement: every active coprocessor of a serving member, not only the one doing its work', () => {
  const other = {
    serial: 'T.CP1',
    active: true,
    cur: { status: 'committed' as const, mkvp: 'cd'.repeat(16), partsLoaded: 0 },
    new: cp.new,
  };
  assert.match(
    broken(state({ member: { coprocessors: [cp.toJSON(), other] } })).KeyAgreement!,
    /SYSA: coprocessor T\.CP1 has cur MKVP (cd){16}, not its live copy's/,
  );
  assert.deepEqual(
    broken(state({ member: { coprocessors: [cp.toJSON(), { ...other, active: false }] } })),
    {},
    'an inactive one is not asked',
  );
});

test("UniqueHandles: an object beyond its token's last sequence number", () => {
  assert.match(
    broken(state({ records: [tokenRecord('T', 1), secure, clear] })).UniqueHandles!,
    /T:00000002:O is beyond its token's last sequence number/,
  );
});

test("SettledOutcome: with nothing in flight a member must be serving on the record's data set", () => {
  assert.match(
    broken(state({ member: { state: 'staged' } })).SettledOutcome!,
    /SYSA is staged, not serving/,
  );
  assert.deepEqual(
    broken(state({ member: { state: 'staged' }, quiet: false })),
    {},
    'only judged once nothing is in flight',
  );
});

test('OneChangeAtATime: two members driving a change', () => {
  assert.match(
    broken(
      state({
        initiators: [
          { member: 'SYSA', change: 'c1' },
          { member: 'SYSB', change: 'c2' },
        ],
      }),
    ).OneChangeAtATime!,
    /2 members drive a change/,
  );
});

test('NoLostUpdate: an acknowledged update missing from the surviving data set', () => {
  const acked = [
    {
      id: 'u1',
      op: { op: 'updateObject' as const, handle: secure.handle, label: 'new' },
      handle: secure.handle,
      superseded: false,
    },
  ];
  assert.match(
    broken(state({ acked })).NoLostUpdate!,
    /acknowledged update u1 \(updateObject T:00000001:O\) is lost: label is k, not new/,
  );
  assert.deepEqual(
    broken(state({ acked: [{ ...acked[0]!, superseded: true }] })),
    {},
    'a later update of the same handle supersedes it',
  );
});

// The state while change c1 runs from CSF.TKDS to CSF.TKDS.NEW, the target's header written.
const running: ClusterView['record'] = {
  active: 'CSF.TKDS',
  change: 'running',
  initiator: 'SYSA',
  target: 'CSF.TKDS.NEW',
  changeId: 'c1',
};
const otherBytes = objectRecord(
  'T',
  2,
  { ...attrs, label: 'c' },
  { type: 'clear', bytes: new Uint8Array([9, 9, 9]) },
);

test('TargetComplete: from applyDelta on, the target holds every record of the old data set with its value', () => {
  const during = (target: TkdsRecord[]) =>
    broken(state({ record: running, quiet: false, dataSets: { 'CSF.TKDS.NEW': target } }));
  assert.deepEqual(during([token, secure, clear]), {});
  assert.match(
    during([token, secure]).TargetComplete!,
    /the target CSF.TKDS.NEW lacks T:00000002:O of the old data set CSF.TKDS/,
  );
  assert.match(during([token, secure, otherBytes]).TargetComplete!, /other bytes/);
  const rewrappedWrong = objectRecord('T', 1, attrs, {
    type: 'secure',
    blob: cp.wrap(new Uint8Array(16).fill(8)),
  });
  assert.match(
    during([token, rewrappedWrong, clear]).TargetComplete!,
    /lacks T:00000001:O .* with its value \(another key check value/,
  );
  assert.equal(
    broken(
      state({
        record: { ...running, change: 'none', target: null, changeId: null },
        dataSets: { 'CSF.TKDS.NEW': [token] },
      }),
    ).TargetComplete,
    undefined,
    'not judged once the record shows no change (finish or backout)',
  );
});

test('OldDataSetPreserved: every record the old data set held at beginRouting is unchanged but for the updates', () => {
  const old = (edit: { updated?: string[]; archive?: string } = {}): AuditState['old'] => ({
    name: 'CSF.TKDS',
    archive: edit.archive ?? null,
    mkvp: MKVP,
    records: new Map([token, secure, clear].map((r) => [r.handle, r])),
    updated: new Set(edit.updated ?? []),
  });
  assert.deepEqual(broken(state({ old: old() })), {});
  assert.match(
    broken(state({ old: old(), records: [token, secure, otherBytes] })).OldDataSetPreserved!,
    /the old data set CSF.TKDS: T:00000002:O changed, and no update wrote it/,
  );
  assert.equal(
    broken(state({ old: old({ updated: [clear.handle] }), records: [token, secure, otherBytes] }))
      .OldDataSetPreserved,
    undefined,
    'a dynamic update may change it',
  );
  assert.match(
    broken(state({ old: old(), records: [token, secure] })).OldDataSetPreserved!,
    /the old data set CSF.TKDS lost T:00000002:O, which no update deleted/,
  );
  const extra = objectRecord('T', 3, { ...attrs, label: 'x' }, clear.value);
  assert.match(
    broken(
      state({
        old: old({ updated: [token.handle] }),
        records: [tokenRecord('T', 3), secure, clear, extra],
      }),
    ).OldDataSetPreserved!,
    /holds T:00000003:O, which no update wrote/,
  );
  // once archived, the old records are judged under the archive name
  assert.match(
    broken(
      state({
        old: old({ archive: 'CSF.TKDS.OLD' }),
        dataSets: { 'CSF.TKDS.OLD': [token, secure] },
      }),
    ).OldDataSetPreserved!,
    /the old data set CSF.TKDS.OLD lost T:00000002:O/,
  );
});
