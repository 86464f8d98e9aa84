// What anyone may observe of a simulated cluster at a moment (Simulation.observe()): the cluster
// record, the data sets, and every member's registers, copies and flags. MKVPs and counts only.

import type { Mkvp, RegisterView } from './coprocessor.ts';
import type { InitiatorStep } from './initiator.ts';
import type { ChangeState } from './dasd.ts';
import type { MemberState } from './vocabulary.ts';

/** One coprocessor of a member: its serial, whether it is active, its registers. */
export interface CoprocessorView {
  serial: string;
  active: boolean;
  cur: RegisterView;
  new: RegisterView;
}

export interface MemberView {
  name: string;
  up: boolean;
  state: MemberState; // docs/protocol.md member states
  initiatorStep: InitiatorStep | null; // the initiator's statechart state, if it drives (or drove) a change
  level: string;
  cur: RegisterView; // the registers of the coprocessor doing its secure work
  new: RegisterView;
  coprocessors: CoprocessorView[]; // every coprocessor's registers
  active: string;
  live: { dataSet: string; mkvp: Mkvp; records: number } | null;
  staged: { dataSet: string; mkvp: Mkvp; records: number } | null;
  routing: boolean;
  suspended: boolean; // true at the initiator while the suspension holds
  fenced: boolean;
}

export interface ClusterView {
  tick: number;
  record: {
    active: string;
    change: ChangeState;
    initiator: string | null;
    target: string | null;
    changeId: string | null;
    archive?: string; // the archive name asked for, while a change runs
  };
  dataSets: { name: string; mkvp: Mkvp | null; usable: boolean; records: number }[];
  members: MemberView[];
}
