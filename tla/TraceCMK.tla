------------------------------ MODULE TraceCMK ------------------------------
(***************************************************************************)
(* Trace validation: a trace of an implementation (the NDJSON of           *)
(* docs/trace-format.md) is a behaviour of CoordinatedCMK.                 *)
(*                                                                         *)
(* tla/trace-to-tla.ts turns the trace into the module TraceData: Trace,   *)
(* a sequence of observations, one for each trace line that a spec action  *)
(* accounts for (the other lines, such as data set writes and message      *)
(* sends, are left out), each with its line number `seq`.  A cursor walks  *)
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

\* The message an observation names: kind, step, from (peer), to (member).
MsgOf(o) == [kind |-> o.arg, step |-> o.step, from |-> o.peer, to |-> o.m]

\* A member reads a request and does nothing (a late copy).  The spec leaves
\* such copies on their way; taking one out only ever disables steps.
Ignore(x) ==
    /\ x \in msgs /\ msgs' = msgs \ {x}
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, coordination, sent, upd, faults, history>>

\* Observation o, taken by the spec action of its name.
Take(o) ==
    CASE o.ev = "validate"      -> validate(o.m) /\ istate'[o.m] = o.arg
      [] o.ev = "beginRouting"  -> IF o.arg = "member" THEN BeginRoutingAtMember(o.m)
                                   ELSE BeginRoutingByInitiator(o.m) /\ istate'[o.m] = o.arg
      [] o.ev = "receiveAck"    -> ReceiveAck(o.m, MsgOf(o))
      [] o.ev = "reencipher"    -> reencipher(o.m)
      [] o.ev = "suspend"       -> suspend(o.m)
      [] o.ev = "applyDelta"    -> applyDelta(o.m)
      [] o.ev = "reload"        -> IF o.arg = "member" THEN ReloadAtMember(o.m) /\ staged'[o.m] # NoCopy
                                   ELSE ReloadByCoordinator(o.m)
      [] o.ev = "commit"        -> commit(o.m)
      [] o.ev = "switch"        -> IF o.arg = "member" THEN SwitchAtMember(o.m) /\ live'[o.m].ds = Target
                                   ELSE SwitchByCoordinator(o.m)
      [] o.ev = "finish"        -> CASE o.arg = "member" -> FinishAtMember(o.m)
                                     [] o.arg = "record" -> FinishFromRecord(o.m)
                                     [] OTHER            -> FinishByCoordinator(o.m)
      [] o.ev = "resume"        -> resume(o.m)
      [] o.ev = "backout"       -> CASE o.arg = "member" -> BackoutAtMember(o.m)
                                     [] o.arg = "record" -> BackoutFromRecord(o.m)
                                     [] OTHER            -> BackoutByCoordinator(o.m)
      [] o.ev = "fence"         -> CASE o.arg = "member"       -> FenceAtMember(o.m)
                                     [] o.arg = "restartCheck" -> FenceOnRestartCheck(o.m)
                                     [] OTHER                  -> FenceOnIoError(o.m)
      [] o.ev = "takeover"      -> takeover(o.m) /\ istate'[o.m] = o.arg
      [] o.ev = "restartCheck"  -> restartCheck(o.m) /\ (cur'[o.m] # cur[o.m]) = (o.arg = "setMasterKey")
      [] o.ev = "timeout"       -> timeout(o.m)
      [] o.ev = "expel"         -> Expel(o.m, o.peer)
      [] o.ev = "memberJoined"  -> memberJoined(o.m, o.peer)
      [] o.ev = "request"       -> request(o.m, o.u)
      [] o.ev = "apply"         -> IF o.arg = "fail" THEN ApplyRefused(o.m, o.u)
                                   ELSE ApplyOwn(o.m, o.u) \/ ApplyRouted(o.m, o.u)
      [] o.ev = "ioError"       -> ioError(o.m)
      [] o.ev = "crash"         -> crash(o.m)
      [] o.ev = "restart"       -> restart(o.m)
      [] o.ev = "drop"          -> drop(MsgOf(o))
      [] o.ev = "duplicate"     -> duplicate(MsgOf(o))
      [] o.ev = "ignore"        -> Ignore(MsgOf(o))

TraceInit == Init /\ cursor = 1

TraceNext == cursor <= Len(Trace) /\ Take(Trace[cursor]) /\ cursor' = cursor + 1

TraceSpec == TraceInit /\ [][TraceNext]_<<vars, cursor>>
=============================================================================
