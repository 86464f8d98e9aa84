------------------------------ MODULE TraceCMK ------------------------------
(***************************************************************************)
(* Trace validation: a trace of an implementation (the NDJSON of           *)
(* docs/trace-format.md) is a behaviour of CoordinatedCMK.                 *)
(*                                                                         *)
(* tla/trace-to-tla.ts turns the trace into the module TraceData: Trace,   *)
(* a sequence of observations, one for each trace line that names a spec   *)
(* action (its `action` field; the other lines, such as data set writes,   *)
(* are not actions), each with its line number `seq`.  A cursor walks      *)
(* Trace; each observation must be taken by the action of its name, with   *)
(* its parameters (member, peer, step, update).  Everything the trace does *)
(* not show (record contents, messages on their way, the delta ...) is     *)
(* left free: TLC explores every way the spec can take the observations in *)
(* order.  The trace is accepted when one way takes them all; otherwise    *)
(* the deepest cursor TLC reaches (its search depth minus one) tells the   *)
(* first observation no behaviour of the spec can take.                    *)
(***************************************************************************)
EXTENDS CoordinatedCMK, TraceData, Sequences

VARIABLE cursor  \* the index in Trace of the next observation to take

\* The message an observation names: kind (request, ack or refusal), step, from
\* (peer), to (member).
MsgOf(o) == [kind |-> o.arg, step |-> o.step, from |-> o.peer, to |-> o.m]

\* A member reads a request and does nothing (a late copy).  The spec leaves
\* such copies on their way; taking one out only ever disables steps.
Ignore(x) ==
    /\ x \in msgs /\ msgs' = msgs \ {x}
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, coordination, sent, upd, faults>>

\* What a line shows of the state after its action: the cluster record's
\* active data set; a member's staged or live copy (its data set and header
\* MKVP) and its cur register.  A member's part taken again is shown by its
\* acknowledgement, which shows no state (ds "none").
RecordShows(o) == record'.active = o.ds
StagedShows(o) == o.ds = "none" \/ (staged'[o.m].ds = o.ds /\ staged'[o.m].hdr = o.key)
LiveShows(o) == o.ds = "none" \/ (live'[o.m].ds = o.ds /\ cur'[o.m] = o.key)

\* Observation o, taken by the spec action of its name (impl/vocabulary.ts
\* SPEC_ACTIONS), with what the trace line shows of the state after it.
Take(o) ==
    CASE o.ev = "validate"                -> validate(o.m) /\ istate'[o.m] = o.arg
      [] o.ev = "BeginRoutingByInitiator" -> BeginRoutingByInitiator(o.m) /\ istate'[o.m] = o.arg
                                             /\ (o.arg = "refused" \/ RecordShows(o))
      [] o.ev = "BeginRoutingAtMember"    -> BeginRoutingAtMember(o.m)
      [] o.ev = "reencipher"              -> reencipher(o.m)
      [] o.ev = "suspend"                 -> suspend(o.m)
      [] o.ev = "applyDelta"              -> applyDelta(o.m) /\ o.ds = Target /\ dsets'[Target].hdr = o.key
      [] o.ev = "ReloadByInitiator"     -> ReloadByInitiator(o.m) /\ StagedShows(o)
      [] o.ev = "ReloadAtMember"          -> ReloadAtMember(o.m) /\ StagedShows(o)
      [] o.ev = "ReloadRefusedAtMember"   -> ReloadRefusedAtMember(o.m)
      [] o.ev = "ReloadRefusedByInitiator" -> ReloadRefusedByInitiator(o.m, MsgOf(o))
      [] o.ev = "commit"                  -> commit(o.m) /\ RecordShows(o)
      [] o.ev = "SwitchByInitiator"     -> SwitchByInitiator(o.m)
      [] o.ev = "SwitchAtMember"          -> SwitchAtMember(o.m) /\ LiveShows(o)
      [] o.ev = "FinishByInitiator"     -> FinishByInitiator(o.m) /\ RecordShows(o)
      [] o.ev = "FinishAtMember"          -> FinishAtMember(o.m)
      [] o.ev = "FinishFromRecord"        -> FinishFromRecord(o.m)
      [] o.ev = "resume"                  -> resume(o.m)
      [] o.ev = "BackoutByInitiator"    -> BackoutByInitiator(o.m) /\ RecordShows(o)
      [] o.ev = "BackoutAtMember"         -> BackoutAtMember(o.m)
      [] o.ev = "BackoutFromRecord"       -> BackoutFromRecord(o.m)
      [] o.ev = "ReceiveAck"              -> ReceiveAck(o.m, MsgOf(o))
      [] o.ev = "timeout"                 -> timeout(o.m)
      [] o.ev = "takeover"                -> takeover(o.m) /\ istate'[o.m] = o.arg
      [] o.ev = "memberJoined"            -> memberJoined(o.m, o.peer)
      [] o.ev = "Expel"                   -> Expel(o.m, o.peer)
      [] o.ev = "restartCheck"            -> restartCheck(o.m) /\ (cur'[o.m] # cur[o.m]) = (o.arg = "setMasterKey")
                                             /\ LiveShows(o)
      [] o.ev = "FenceOnIoError"          -> FenceOnIoError(o.m)
      [] o.ev = "FenceAtMember"           -> FenceAtMember(o.m)
      [] o.ev = "FenceOnRestartCheck"     -> FenceOnRestartCheck(o.m)
      [] o.ev = "Ignore"                  -> Ignore(MsgOf(o))
      [] o.ev = "request"                 -> request(o.m, o.u)
      [] o.ev = "ApplyOwn"                -> ApplyOwn(o.m, o.u) /\ o.ds = live[o.m].ds
      [] o.ev = "ApplyRouted"             -> ApplyRouted(o.m, o.u) /\ o.ds = record.active
      [] o.ev = "ApplyRefused"            -> ApplyRefused(o.m, o.u)
      [] o.ev = "ioError"                 -> ioError(o.m)
      [] o.ev = "crash"                   -> crash(o.m)
      [] o.ev = "restart"                 -> restart(o.m)
      [] o.ev = "clearNew"                -> clearNew(o.m)
      [] o.ev = "drop"                    -> drop(MsgOf(o))
      [] o.ev = "duplicate"               -> duplicate(MsgOf(o))

TraceInit == Init /\ cursor = 1

TraceNext == cursor <= Len(Trace) /\ Take(Trace[cursor]) /\ cursor' = cursor + 1

TraceSpec == TraceInit /\ [][TraceNext]_<<vars, cursor>>

\* For a batch of traces in one TLC run (tla/trace-batch.ts): each trace is an
\* instance of this module, and its steps are checked against the PROPERTY
\* list of models/trace.cfg written as a condition on the first state and an
\* action on every step, as TLC checks them on a single trace.
CMKVars == CMK!vars
PropertiesInit == CMK!Init
PropertiesStep ==
    /\ [StagedBeforeSwitchStep]_vars
    /\ [NoBackoutAfterCommitStep]_vars
    /\ [CMK!Next]_CMKVars
=============================================================================
