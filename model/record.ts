// The cluster record and the data sets' header MKVPs, abstracted for the statecharts
// (DESIGN.md "cluster record", "restart"). MKVPs are abstracted to the key they verify:
// `old` (the master key before the change) or `new` (the key loaded in the `new` registers).

/** The change the cluster record names (protocol.md "Cluster record"). */
export type Change = 'none' | 'running' | 'committed';
/** A data set of the change: the one active before it, or its target. */
export type DataSet = 'old' | 'target';
/** A master key, as its MKVP identifies it. */
export type Key = 'old' | 'new';

/** The cluster record as a member reads it: `{ active, change }`. */
export interface RecordView {
  readonly change: Change;
  readonly active: DataSet;
}

export const INITIAL_RECORD: RecordView = { change: 'none', active: 'old' };

/** Every reading a restarting member or a takeover can meet (protocol.md record writes). */
export const RECORD_READINGS: readonly RecordView[] = [
  INITIAL_RECORD, // before beginRouting, or after backout
  { change: 'running', active: 'old' }, // beginRouting .. commit
  { change: 'committed', active: 'old' }, // commit .. finish
  { change: 'none', active: 'target' }, // after finish
];

/** The data set a member must serve from: the target once the change is committed (DESIGN.md). */
export function activeDataSet(record: RecordView): DataSet {
  return record.change === 'committed' ? 'target' : record.active;
}

/** The MKVP in a data set's header: the target carries the new key's from applyDelta on. */
export function headerKey(dataSet: DataSet): Key {
  return dataSet === 'old' ? 'old' : 'new';
}
