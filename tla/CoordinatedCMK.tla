--------------------------- MODULE CoordinatedCMK ---------------------------
(***************************************************************************)
(* The coordinated TKDS change master key of shared/DESIGN.md, at its      *)
(* level of detail.  Names are DESIGN.md's and docs/protocol.md's: actions *)
(* are the protocol steps (validate .. resume, backout, fence, takeover,   *)
(* restartCheck, expel), the update phases (request, apply), receiveAck   *)
(* (the initiator takes a `<step>Ack`) and the environment events        *)
(* (crash, restart, drop, duplicate, timeout, ioError, clearNew); the     *)
(* invariants carry their DESIGN names.  docs/tla.md says what each model  *)
(* config checks; TraceCMK.tla checks traces of an implementation against *)
(* it.                                                                     *)
(*                                                                         *)
(* Abstractions:                                                           *)
(*  - Keys are numbers and an MKVP is the key's number: OldKey is in every *)
(*    `cur` register at the start, NewKey in every `new` register (loaded  *)
(*    by the TKE) but those of OtherNew, which hold OtherKey (validate     *)
(*    refuses: newMkvpDiffers).  A record's `key` is the MKVP its blob is  *)
(*    wrapped under (0: a clear object, not enciphered); its `val` stands  *)
(*    for the key value, i.e. its key check value.                         *)
(*  - Release levels and coprocessors are taken as valid, so validate's    *)
(*    levelBelowHCR77A0 and noActiveCoprocessor do not arise.              *)
(*  - The liveUpdate of a dynamic update reaches the live copies with its  *)
(*    disk write (it is ordinary processing, not part of the change).      *)
(*  - A message may be delayed (msgs is a set: any order), dropped or      *)
(*    duplicated.  partition/heal act as crash/restart here: the member is *)
(*    gone to the group, keeps nothing but what is durable (DASD and the   *)
(*    coprocessor registers) and rejoins through restartCheck.             *)
(*  - One change: after it, the target is active or unusable, so validate  *)
(*    refuses another (targetIsActive, targetNotEmpty).                    *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS
    Members,        \* the cluster, e.g. {"SYSA", "SYSB", "SYSC"} (names from NameOrder)
    Initiators,     \* the members where an operator starts a change (two may race)
    UncommittedNew, \* members whose `new` register the TKE left uncommitted
    OtherNew,       \* members whose `new` register the TKE loaded with another key
    NumUpdates,     \* dynamic updates callers make: ids 1..NumUpdates (see OpOf)
    RefusedUpdates, \* the ones that are refused (no such token or object, a failed write ...)
    FaultKinds,     \* the faults injected: a subset of FaultNames
    FaultBudget     \* how many faults in all

\* "the first surviving member by name": names sort as in this list.
NameOrder == <<"SYSA", "SYSB", "SYSC", "SYSD", "SYSE", "SYSF", "SYSG", "SYSH">>
Rank(m) == CHOOSE i \in 1..8 : NameOrder[i] = m
FirstByName(S) == CHOOSE m \in S : \A o \in S : Rank(m) <= Rank(o)

\* crash a member; drop or duplicate a message; delay one, so that a wait times
\* out although its acknowledgement is still on its way; make a DASD write fail;
\* the operator clears a member's new register with the TKE (clearNew).
FaultNames == {"crash", "drop", "duplicate", "delay", "ioError", "clearNew"}

ConstantsOK ==
    /\ Members # {} /\ Members \subseteq {NameOrder[i] : i \in 1..8}
    /\ Initiators \subseteq Members /\ UncommittedNew \subseteq Members
    /\ OtherNew \subseteq Members
    /\ NumUpdates \in Nat /\ RefusedUpdates \subseteq 1..NumUpdates
    /\ FaultKinds \subseteq FaultNames /\ FaultBudget \in Nat
ASSUME ConstantsOK

None == "none"
OldKey == 1
NewKey == 2
OtherKey == 3  \* another key the TKE loaded into some `new` registers (OtherNew)
OldDS == "CSF.TKDS"       \* the active data set when the change starts
Target == "CSF.TKDS.NEW"  \* the target data set
DataSets == {OldDS, Target}

(* A TKDS image (a data set's contents, or a live or staged copy of one):  *)
(* ds, the header MKVP hdr, the token's last sequence number seq, and the  *)
(* records: handle h (a sequence number), kind, key, val, and attr (the    *)
(* ids of the updates that changed its attributes).                       *)
SecureHandle == 1
ClearHandle == 2
InitialRecords ==
    {[h |-> SecureHandle, kind |-> "secure", key |-> OldKey, val |-> 1, attr |-> {}],
     [h |-> ClearHandle, kind |-> "clear", key |-> 0, val |-> 2, attr |-> {}]}
NoCopy == [ds |-> None, hdr |-> 0, seq |-> 0, recs |-> {}]

(* Dynamic update u is always the same operation, in turn:                *)
Updates == 1..NumUpdates
OpOf(u) == CASE u % 3 = 1 -> "createObject"   \* a new secure key object
             [] u % 3 = 2 -> "updateObject"   \* new attributes for the clear key object
             [] u % 3 = 0 -> "createClear"    \* a new clear key object
ValueOf(u) == 10 + u
ClearValues == {2} \cup {ValueOf(u) : u \in {x \in Updates : OpOf(x) = "createClear"}}

MemberStates == {"down", "restartCheck", "serving", "routing", "staged", "switched", "fenced"}
Operating == {"serving", "routing", "staged", "switched"}  \* up and serving secure work
InitiatorStates == {"idle", "validate", "refused", "beginRouting", "reencipher", "suspend",
                    "applyDelta", "reload", "commit", "switch", "finish", "completed",
                    "backout", "backedOut", "fenced"}
Driving == {"beginRouting", "reencipher", "suspend", "applyDelta", "reload", "commit",
            "switch", "finish", "backout"}
Resting == {"idle", "refused", "completed", "backedOut", "fenced"}
Suspending == {"suspend", "applyDelta", "reload", "commit", "switch", "finish", "backout"}

VARIABLES
    mstate,        \* each member's state (docs/protocol.md "States")
    cur, new, newCommitted,  \* its coprocessor's master key registers
    live, staged,  \* its in-store copies (images)
    dsets,         \* the data sets on shared DASD: an image with a status
    record,        \* the cluster record: active data set and change
    istate,        \* each member's initiator state: the step it has done
    seen,          \* the cluster record as each initiator's validate read it
    initiator,     \* who drives the change: the initiator, or the member that took over
    waiting,       \* the members whose acknowledgement of its last request the initiator awaits
    delta,         \* handles the routed updates wrote since beginRouting
    lost,          \* members that left the group during the change (memberLost), until
                   \* the initiator hears they are back (memberJoined)
    msgs, sent,    \* sysplex messages on their way, and all ever sent
    upd,           \* each dynamic update's [phase, at]
    faults         \* faults injected so far

regs == <<cur, new, newCommitted>>
copies == <<live, staged>>
net == <<msgs, sent>>
coordination == <<istate, seen, initiator, waiting, delta, lost>>
vars == <<mstate, regs, copies, dsets, record, coordination, net, upd, faults>>

Max(a, b) == IF a >= b THEN a ELSE b
Image(d) == [ds |-> d, hdr |-> dsets[d].hdr, seq |-> dsets[d].seq, recs |-> dsets[d].recs]
\* Put record r into an image, replacing the record with its handle.
Put(img, r) == [img EXCEPT !.recs = {x \in @ : x.h # r.h} \cup {r}, !.seq = Max(@, r.h)]

\* The active data set as the cluster record tells it: "the target, if a
\* change is committed".
RecordActive == IF record.change = "committed" THEN Target ELSE record.active

\* In the sysplex group: up and serving.  A restarting member rejoins after
\* its restart check; a fenced member's ICSF is down.
InGroup(m) == mstate[m] \in Operating
Others(i) == Members \ {i}
Group(i) == {m \in Others(i) : InGroup(m)}  \* the others in the group
Switched(m) == live[m].ds = Target
LocalUpdateAt(m) == \E u \in Updates : upd[u] = [phase |-> "request", at |-> m]

(* Messages: a request names the step it asks for; its acknowledgement is *)
(* `<step>Ack`.  Sysplex messaging delivers only to members in the group.  *)
Req(s, i, m) == [kind |-> "request", step |-> s, from |-> i, to |-> m]
Ack(s, m, i) == [kind |-> "ack", step |-> s, from |-> m, to |-> i]
\* A member that cannot do its part says so instead of acknowledging (reloadRefused).
Refusal(s, m, i) == [kind |-> "refusal", step |-> s, from |-> m, to |-> i]
Send(S) == LET out == {x \in S : InGroup(x.to)} IN msgs' = msgs \cup out /\ sent' = sent \cup out
SendAll(s, i, T) == Send({Req(s, i, m) : m \in T})
Consume(x) == msgs' = msgs \ {x} /\ UNCHANGED sent
Answer(x, a) == IF InGroup(x.from) THEN msgs' = (msgs \ {x}) \cup {a} /\ sent' = sent \cup {a}
                                   ELSE Consume(x)
Reply(x) == Answer(x, Ack(x.step, x.to, x.from))
Received(x, s, m) == x.kind = "request" /\ x.step = s /\ x.to = m /\ mstate[m] \in Operating

\* The step whose acknowledgements the initiator awaits.  It waits for the
\* members it sent the request to (before commit, every member) until they
\* acknowledge or leave the group.
AwaitedStep(i) ==
    CASE istate[i] \in {"beginRouting", "reload", "switch", "finish"} -> istate[i]
      [] istate[i] = "backout" /\ record.change = "none"          -> "backout"
      [] OTHER                                                    -> None
\* The awaited members whose acknowledgement cannot come: the member left
\* the group, or neither the request nor its answer (its acknowledgement or
\* refusal) is on its way.
Stuck(i) ==
    LET s == AwaitedStep(i) IN
    {m \in waiting : ~InGroup(m) \/ (Req(s, i, m) \notin msgs /\ Ack(s, m, i) \notin msgs
                                    /\ Refusal(s, m, i) \notin msgs)}

\* The environment injects a fault of a kind it may, within the budget.
Fault(kind) == kind \in FaultKinds /\ faults < FaultBudget /\ faults' = faults + 1

\* The record states a initiator backs out from: "before commit" only.
BackoutFrom == {"running"}
\* Initiator i is to back out: after a timeout or a takeover, or because a
\* member was lost (memberLost during the change, or not in the group).
BackoutDue(i) ==
    /\ initiator = i /\ record.change \in BackoutFrom
    /\ \/ istate[i] = "backout"
       \/ istate[i] \in Driving /\ (lost # {} \/ \E m \in Others(i) : ~InGroup(m))

\* Re-encipherment of one record: "secure values rewrapped from cur to new;
\* clear values copied as they are".
RewrapSecure(r) == [r EXCEPT !.key = NewKey]  \* unwrapped under cur, wrapped under new
CopyClear(r) == r
Rewrap(r) == IF r.kind = "secure" THEN RewrapSecure(r) ELSE CopyClear(r)

\* The record update u writes to data set d, its blob under key k.
UpdatedRecord(u, d, k) ==
    CASE OpOf(u) = "createObject" ->
           [h |-> dsets[d].seq + 1, kind |-> "secure", key |-> k, val |-> ValueOf(u), attr |-> {}]
      [] OpOf(u) = "createClear" ->
           [h |-> dsets[d].seq + 1, kind |-> "clear", key |-> 0, val |-> ValueOf(u), attr |-> {}]
      [] OpOf(u) = "updateObject" ->
           LET r == CHOOSE x \in dsets[d].recs : x.h = ClearHandle IN [r EXCEPT !.attr = @ \cup {u}]

\* The disk write of record r to data set d, and its liveUpdate.
Write(r, d) ==
    /\ dsets' = [dsets EXCEPT ![d] = Put(@, r)]
    /\ live' = [m \in Members |-> IF live[m].ds = d THEN Put(live[m], r) ELSE live[m]]

\* The effect of update u is in data set d.
Present(u, d) ==
    IF OpOf(u) = "updateObject"
    THEN \E r \in dsets[d].recs : r.h = ClearHandle /\ u \in r.attr
    ELSE \E r \in dsets[d].recs : r.val = ValueOf(u)

(* A member leaves the group: it loses its in-store copies and its memory  *)
(* (DASD and the coprocessor registers are durable) and the group reports  *)
(* it lost.  Its own update in process, and the routed updates a lost      *)
(* initiator had not acknowledged, end as `out`: "reported to their      *)
(* callers as of unknown outcome" when it crashes, failed when it is       *)
(* fenced (ICSF shuts down, CSFM621I).  It leaves as state s, its          *)
(* initiator state is, and nothing reaches it any more.                    *)
LeaveAs(m, s, is, out) ==
    /\ mstate' = [mstate EXCEPT ![m] = s]
    /\ live' = [live EXCEPT ![m] = NoCopy]
    /\ staged' = [staged EXCEPT ![m] = NoCopy]
    /\ istate' = [istate EXCEPT ![m] = is]
    /\ initiator' = IF initiator = m THEN None ELSE initiator
    \* lost during the change: while the record shows it, or while its initiator still awaits
    \* the acknowledgements of finish or backout (it tells a member that rejoins again)
    /\ lost' = IF \/ record.change # "none"
                  \/ initiator # None /\ istate[initiator] \in {"finish", "backout"}
               THEN lost \cup {m} ELSE lost
    /\ upd' = [u \in Updates |->
                 IF upd[u] = [phase |-> "request", at |-> m] \/ (upd[u].phase = "route" /\ initiator = m)
                 THEN [upd[u] EXCEPT !.phase = out] ELSE upd[u]]
    /\ waiting' = waiting \ {m}
    /\ UNCHANGED <<regs, dsets, record, seen, delta>>

NotTo(m) == {x \in msgs : x.to # m}

Leave(m) == LeaveAs(m, "down", "idle", "unknown") /\ msgs' = NotTo(m) /\ UNCHANGED sent

-----------------------------------------------------------------------------
\* The `new` registers as the TKE loaded them.
LoadedNew == [m \in Members |-> IF m \in OtherNew THEN OtherKey ELSE NewKey]

Init ==
    /\ mstate = [m \in Members |-> "serving"]
    /\ cur = [m \in Members |-> OldKey]
    /\ new = LoadedNew
    /\ newCommitted = [m \in Members |-> m \notin UncommittedNew]
    /\ dsets = [d \in DataSets |->
                  IF d = OldDS
                  THEN [status |-> "inUse", hdr |-> OldKey, seq |-> 2, recs |-> InitialRecords]
                  ELSE [status |-> "empty", hdr |-> 0, seq |-> 0, recs |-> {}]]
    /\ live = [m \in Members |-> [ds |-> OldDS, hdr |-> OldKey, seq |-> 2, recs |-> InitialRecords]]
    /\ staged = [m \in Members |-> NoCopy]
    /\ record = [active |-> OldDS, change |-> "none", init |-> None]
    /\ istate = [m \in Members |-> "idle"]
    /\ seen = [m \in Members |-> record]
    /\ initiator = None
    /\ waiting = {} /\ delta = {} /\ lost = {}
    /\ msgs = {} /\ sent = {}
    /\ upd = [u \in Updates |-> [phase |-> None, at |-> None]]
    /\ faults = 0

-----------------------------------------------------------------------------
(* 1. validate: "nothing changes.  Refuse ... if: another coordinated      *)
(* change is running; any cluster member is not active ... or has a new    *)
(* register that is not committed or whose MKVP differs from the           *)
(* initiator's; the target data set is missing, not empty, or the active   *)
(* one."  The initiator remembers the cluster record it read.              *)
Refusals(i) ==
    (IF record.change # "none" THEN {"changeRunning"} ELSE {})
    \cup (IF \E m \in Members : mstate[m] \notin Operating THEN {"memberNotActive"} ELSE {})
    \cup (IF \E m \in Members : ~newCommitted[m] THEN {"newNotCommitted"} ELSE {})
    \cup (IF \E m \in Members : new[m] # new[i] THEN {"newMkvpDiffers"} ELSE {})
    \cup (IF dsets[Target].status # "empty" THEN {"targetNotEmpty"} ELSE {})
    \cup (IF record.active = Target THEN {"targetIsActive"} ELSE {})

validate(i) ==
    /\ i \in Initiators /\ istate[i] = "idle" /\ mstate[i] \in Operating
    /\ istate' = [istate EXCEPT ![i] = IF Refusals(i) = {} THEN "validate" ELSE "refused"]
    /\ seen' = [seen EXCEPT ![i] = record]
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, initiator, waiting, delta, lost, net, upd,
                   faults>>

(* 2. beginRouting: "the cluster record goes from none to running; every   *)
(* member finishes any update it is processing and routes its dynamic      *)
(* updates to the initiator from now on (each acknowledges)."  The         *)
(* compare-and-set compares the whole record validate read, not only       *)
(* `change`: an initiator that validated before another's change finished  *)
(* must lose, for the active data set has moved on since.                  *)
RecordAsSeen(i) == record = seen[i]
\* A backout of another change since validate leaves the record as validate read
\* it, but marks the target unusable: beginRouting refuses it as validate would
\* (targetNotEmpty), rather than re-encipher into it.
TargetEmpty == dsets[Target].status = "empty"

BeginRoutingByInitiator(i) ==
    /\ istate[i] = "validate" /\ mstate[i] \in Operating
    /\ IF RecordAsSeen(i) /\ TargetEmpty
       THEN /\ record' = [active |-> record.active, change |-> "running", init |-> i]
            /\ istate' = [istate EXCEPT ![i] = "beginRouting"]
            /\ initiator' = i
            /\ mstate' = [mstate EXCEPT ![i] = "routing"]
            /\ waiting' = Others(i) /\ delta' = {} /\ lost' = {}
            /\ SendAll("beginRouting", i, Group(i))
       ELSE /\ istate' = [istate EXCEPT ![i] = "refused"]  \* changeRunning, targetNotEmpty
            /\ UNCHANGED <<record, initiator, mstate, waiting, delta, lost, net>>
    /\ UNCHANGED <<seen, regs, copies, dsets, upd, faults>>

BeginRoutingAtMember(i) ==
    \E x \in msgs :
    /\ Received(x, "beginRouting", i) /\ ~LocalUpdateAt(i)
    /\ mstate' = [mstate EXCEPT ![i] = IF record.change = "running" /\ @ = "serving"
                                       THEN "routing" ELSE @]
    /\ Reply(x)
    /\ UNCHANGED <<regs, copies, dsets, record, coordination, upd, faults>>

beginRouting(i) == BeginRoutingByInitiator(i) \/ BeginRoutingAtMember(i)

(* 3. reencipher: "every record of the active data set is written to the   *)
(* target, secure values rewrapped from cur to new; clear values copied as *)
(* they are."  It starts once every member routes and the initiator has no *)
(* update of its own in process.  The header gets its MKVP at applyDelta.  *)
ReencipherReady(i) == waiting = {} /\ ~LocalUpdateAt(i)

\* The target's records re-enciphered from the old data set's records recs,
\* and what reading them leaves of the old data set (all of it).
Reenciphered(recs) == {Rewrap(r) : r \in recs}
OldAfterReencipher(recs) == recs

reencipher(i) ==
    /\ initiator = i /\ istate[i] = "beginRouting"
    /\ ReencipherReady(i)
    /\ dsets' = [dsets EXCEPT ![Target] =
                   [status |-> "inUse", hdr |-> 0, seq |-> dsets[OldDS].seq,
                    recs |-> Reenciphered(dsets[OldDS].recs)],
                 ![OldDS].recs = OldAfterReencipher(@)]
    /\ istate' = [istate EXCEPT ![i] = "reencipher"]
    /\ UNCHANGED <<mstate, regs, copies, record, seen, initiator, waiting, delta, lost, net, upd,
                   faults>>

(* 4. suspend: "dynamic update processing pauses (requests wait)"; the     *)
(* suspension lasts until resume.                                          *)
suspend(i) ==
    /\ initiator = i /\ istate[i] = "reencipher"
    /\ istate' = [istate EXCEPT ![i] = "suspend"]
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, seen, initiator, waiting, delta, lost, net,
                   upd, faults>>

(* 4. applyDelta: "the delta is applied to the target, and the target      *)
(* header gets the new MKVP."  The token record (the last sequence number  *)
(* given out) is written with it.                                          *)
\* The target's records recs with the delta applied: each handle it wrote,
\* re-enciphered from the old data set.
DeltaApplied(recs) ==
    {r \in recs : r.h \notin delta} \cup {Rewrap(r) : r \in {x \in dsets[OldDS].recs : x.h \in delta}}
\* The target's last sequence number seq once the token record is written.
TokenWritten(seq) == dsets[OldDS].seq

applyDelta(i) ==
    /\ initiator = i /\ istate[i] = "suspend"
    /\ dsets' = [dsets EXCEPT ![Target] =
         [@ EXCEPT !.hdr = NewKey, !.recs = DeltaApplied(@), !.seq = TokenWritten(@)]]
    /\ istate' = [istate EXCEPT ![i] = "applyDelta"]
    /\ UNCHANGED <<mstate, regs, copies, record, seen, initiator, waiting, delta, lost, net, upd,
                   faults>>

(* 5. reload (phase 1): "each member builds a staged copy from the target  *)
(* and acknowledges.  It still serves from its live copy under cur."       *)
Stage(m) ==
    /\ staged' = [staged EXCEPT ![m] = Image(Target)]
    /\ mstate' = [mstate EXCEPT ![m] = "staged"]

\* The initiator reloads once it has applied the delta.
ReloadAfter(i) == istate[i] = "applyDelta"

ReloadByInitiator(i) ==
    /\ initiator = i /\ ReloadAfter(i)
    /\ Stage(i)
    /\ istate' = [istate EXCEPT ![i] = "reload"]
    /\ SendAll("reload", i, Group(i))
    /\ waiting' = Others(i)
    /\ UNCHANGED <<regs, live, dsets, record, seen, initiator, delta, lost, upd, faults>>

\* Phase 1's register check: member m could switch to key k (the key validate
\* checked every new register against), its cur or its committed new register
\* holding it.  (The implementation checks against the target's header, which
\* holds NewKey from applyDelta on, before any reload.)
CanSwitchTo(m, k) == cur[m] = k \/ (newCommitted[m] /\ new[m] = k)

ReloadAtMember(i) ==
    \E x \in msgs :
    /\ Received(x, "reload", i)
    /\ IF record.change = "running"
       THEN CanSwitchTo(i, NewKey) /\ Stage(i) /\ Reply(x)
       ELSE Consume(x) /\ UNCHANGED <<staged, mstate>>  \* a late copy
    /\ UNCHANGED <<regs, live, dsets, record, coordination, upd, faults>>

reload(i) == ReloadByInitiator(i) \/ ReloadAtMember(i)

(* reloadRefused: a member whose registers cannot switch to the target     *)
(* (its new register changed since validate: clearNew) stages nothing and  *)
(* answers reload with a refusal instead of its reloadAck; the initiator *)
(* that takes it while it waits for the reloadAcks backs out (before       *)
(* commit: "any refusal ... makes the initiator backout").  A refusal that *)
(* reaches a member no longer waiting for them is read and ignored.        *)
ReloadRefusedAtMember(i) ==
    \E x \in msgs :
    /\ Received(x, "reload", i)
    /\ record.change = "running" /\ ~CanSwitchTo(i, NewKey)
    /\ Answer(x, Refusal("reload", i, x.from))
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, coordination, upd, faults>>

ReloadRefusedByInitiator(i, x) ==
    /\ x \in msgs /\ x.kind = "refusal" /\ x.to = i
    /\ istate' = IF initiator = i /\ istate[i] = "reload" /\ record.change = "running"
                 THEN [istate EXCEPT ![i] = "backout"] ELSE istate
    /\ Consume(x)
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, seen, initiator, waiting, delta, lost, upd,
                   faults>>

reloadRefused(i) == ReloadRefusedAtMember(i) \/ \E x \in msgs : ReloadRefusedByInitiator(i, x)

(* 6. commit: "the point of no return: the cluster record goes from        *)
(* running to committed (durably, first)".  Its second half, the initiator *)
(* setting its master key and going live on the target, is the            *)
(* initiator's own `switch`, so a crash between the two is a state here.   *)
(* It waits for every reloadAck, and for no member lost.                   *)
CommitReady(i) == waiting = {} /\ lost = {}

commit(i) ==
    /\ initiator = i /\ istate[i] = "reload"
    /\ CommitReady(i)
    /\ record.change = "running"
    /\ record' = [record EXCEPT !.change = "committed"]
    /\ istate' = [istate EXCEPT ![i] = "commit"]
    /\ UNCHANGED <<mstate, regs, copies, dsets, seen, initiator, waiting, delta, lost, net, upd,
                   faults>>

(* A member "sets its master key, makes the target active and its staged  *)
(* copy live" (setMasterKey: new becomes cur, new becomes empty).          *)
SwitchedKey(m) == new[m]  \* the master key m runs under once switched

SwitchTo(m) ==
    /\ cur' = [cur EXCEPT ![m] = SwitchedKey(m)]
    /\ new' = [new EXCEPT ![m] = 0]
    /\ newCommitted' = [newCommitted EXCEPT ![m] = FALSE]
    /\ live' = [live EXCEPT ![m] = staged[m]]
    /\ staged' = [staged EXCEPT ![m] = NoCopy]
    /\ mstate' = [mstate EXCEPT ![m] = "switched"]

(* 7. switch (phase 2): the initiator first, then "each member sets its  *)
(* master key, makes the target active and its staged copy live, and       *)
(* acknowledges."  From commit on it is retried, never undone.             *)
SwitchByInitiator(i) ==
    /\ initiator = i /\ istate[i] = "commit"
    /\ IF Switched(i) THEN UNCHANGED <<regs, copies, mstate>>
                      ELSE staged[i] # NoCopy /\ SwitchTo(i)
    /\ istate' = [istate EXCEPT ![i] = "switch"]
    /\ SendAll("switch", i, Group(i))
    /\ waiting' = Group(i)
    /\ UNCHANGED <<dsets, record, seen, initiator, delta, lost, upd, faults>>

\* A member already switched acknowledges a switch again.
AckAgain(x) == Reply(x)

SwitchAtMember(i) ==
    \E x \in msgs :
    /\ Received(x, "switch", i)
    /\ CASE Switched(i) ->  \* again: acknowledge again
              /\ AckAgain(x)
              /\ UNCHANGED <<regs, copies, mstate>>
         [] record.change = "committed" /\ staged[i] # NoCopy ->
              SwitchTo(i) /\ Reply(x)
         [] OTHER ->  \* a late copy
              Consume(x) /\ UNCHANGED <<regs, copies, mstate>>
    /\ UNCHANGED <<dsets, record, coordination, upd, faults>>

switch(i) == SwitchByInitiator(i) \/ SwitchAtMember(i)

(* 8. finish: "the cluster record names the target as active and goes     *)
(* back to none; optionally the old data set is archived under a new name  *)
(* (never deleted); routing ends".  "finish waits for the members that are *)
(* up; a member that is down switches ... when it restarts."              *)
FinishedActive == Target  \* the data set finish names active
Archive(ds) == [ds EXCEPT !.status = "archived"]  \* what finish does to the old data set

FinishByInitiator(i) ==
    /\ initiator = i /\ istate[i] = "switch"
    /\ waiting = {}
    /\ record.change = "committed"
    /\ record' = [active |-> FinishedActive, change |-> "none", init |-> None]
    /\ dsets' = [dsets EXCEPT ![OldDS] = Archive(@)]
    /\ mstate' = [mstate EXCEPT ![i] = "serving"]
    /\ istate' = [istate EXCEPT ![i] = "finish"]
    /\ SendAll("finish", i, Group(i))
    /\ waiting' = Group(i)
    /\ UNCHANGED <<regs, copies, seen, initiator, delta, lost, upd, faults>>

FinishAtMember(i) ==
    \E x \in msgs :
    /\ Received(x, "finish", i)
    /\ mstate' = [mstate EXCEPT ![i] = IF Switched(i) THEN "serving" ELSE @]
    /\ Reply(x)
    /\ UNCHANGED <<regs, copies, dsets, record, coordination, upd, faults>>

\* A switched member whose initiator was lost once the record went back to
\* none (its `finish` may never come) learns the outcome from the record.
FinishFromRecord(i) ==
    /\ initiator = None /\ record.change = "none" /\ record.active = Target
    /\ mstate[i] = "switched"
    /\ mstate' = [mstate EXCEPT ![i] = "serving"]
    /\ UNCHANGED <<regs, copies, dsets, record, coordination, net, upd, faults>>

finish(i) == FinishByInitiator(i) \/ FinishAtMember(i) \/ FinishFromRecord(i)

(* 8. resume: "waiting updates are processed against the new active data  *)
(* set", once every member in the group has finished.  A backout ends the  *)
(* same way, once every member in the group has backed out.                *)
resume(i) ==
    /\ initiator = i /\ istate[i] \in {"finish", "backout"} /\ record.change = "none"
    /\ waiting = {}
    /\ istate' = [istate EXCEPT ![i] = IF istate[i] = "finish" THEN "completed" ELSE "backedOut"]
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, seen, initiator, waiting, delta, lost, net,
                   upd, faults>>

(* backout: "Before commit: any refusal, lost member, timeout or error     *)
(* makes the initiator backout: staged copies are dropped, the target is   *)
(* marked unusable, routing ends, and the cluster goes on with the old     *)
(* data set and old key".  The record goes from running to none; the      *)
(* initiator holds updates until resume, once every member in the group  *)
(* has backed out.                                                         *)
BackoutByInitiator(i) ==
    /\ BackoutDue(i)
    /\ record' = [active |-> record.active, change |-> "none", init |-> None]
    /\ dsets' = [dsets EXCEPT ![Target].status = "unusable"]
    /\ staged' = [staged EXCEPT ![i] = NoCopy]
    /\ mstate' = [mstate EXCEPT ![i] = "serving"]
    /\ istate' = [istate EXCEPT ![i] = "backout"]
    /\ SendAll("backout", i, Group(i))
    /\ waiting' = Group(i)
    /\ UNCHANGED <<regs, live, seen, initiator, delta, lost, upd, faults>>

\* (A backout is written to the record before it is sent: while the record
\* shows a change, a backout message is a late copy from an earlier one.)
BackoutAtMember(i) ==
    \E x \in msgs :
    /\ Received(x, "backout", i)
    /\ IF record.change = "none"
       THEN /\ staged' = [staged EXCEPT ![i] = NoCopy]
            /\ mstate' = [mstate EXCEPT ![i] = IF @ \in {"routing", "staged"} THEN "serving" ELSE @]
            /\ Reply(x)
       ELSE Consume(x) /\ UNCHANGED <<staged, mstate>>
    /\ UNCHANGED <<regs, live, dsets, record, coordination, upd, faults>>

\* A member whose initiator was lost once the record went back to none
\* with the old data set active learns the outcome from the record.
BackoutFromRecord(i) ==
    /\ initiator = None /\ record.change = "none" /\ record.active = OldDS
    /\ mstate[i] \in {"routing", "staged"}
    /\ staged' = [staged EXCEPT ![i] = NoCopy]
    /\ mstate' = [mstate EXCEPT ![i] = "serving"]
    /\ UNCHANGED <<regs, live, dsets, record, coordination, net, upd, faults>>

backout(i) ==
    BackoutByInitiator(i) \/ BackoutAtMember(i) \/ BackoutFromRecord(i)

(* The initiator takes an acknowledgement (`<step>Ack`); a late one, or  *)
(* one addressed to a member that no longer drives the change, is read and       *)
(* ignored.                                                                *)
ReceiveAck(i, x) ==
    /\ x \in msgs /\ x.kind = "ack" /\ x.to = i
    /\ waiting' = IF initiator = i /\ x.step = AwaitedStep(i) THEN waiting \ {x.from} ELSE waiting
    /\ Consume(x)
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, istate, seen, initiator, delta, lost, upd,
                   faults>>

receiveAck(i) == \E x \in msgs : ReceiveAck(i, x)

(* timeout: "an initiator's wait for acknowledgements ran out": a request  *)
(* or its acknowledgement was lost, or the member left the group (or, with *)
(* a delay fault, it is only late).  "A request whose acknowledgement does *)
(* not arrive is sent again ..., and after the retry budget the member     *)
(* counts as lost": before commit the initiator then backs out; from     *)
(* commit on "there is no backout, only roll-forward", so it resends.      *)
timeout(i) ==
    /\ initiator = i /\ AwaitedStep(i) # None /\ waiting # {}
    /\ IF Stuck(i) # {} THEN UNCHANGED faults ELSE Fault("delay")
    /\ \/ /\ SendAll(AwaitedStep(i), i, waiting)  \* sent again
          /\ UNCHANGED istate
       \/ /\ record.change \in BackoutFrom          \* the member counts as lost
          /\ istate' = [istate EXCEPT ![i] = "backout"]
          /\ UNCHANGED net
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, seen, initiator, waiting, delta, lost, upd>>

(* takeover: "If the initiator is lost, a surviving member (the first by   *)
(* name) reads the cluster record: running means backout; committed means  *)
(* it takes over and completes the change."                                *)
takeover(m) ==
    /\ initiator = None /\ record.change # "none"
    /\ mstate[m] \in Operating
    /\ m = FirstByName({x \in Members : InGroup(x)})
    /\ initiator' = m
    /\ istate' = [istate EXCEPT ![m] = IF record.change \in BackoutFrom THEN "backout" ELSE "commit"]
    /\ waiting' = {}
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, seen, delta, lost, net, upd, faults>>

(* memberJoined: a member that was lost comes back to the group while the  *)
(* initiator waits, from commit on or in backout: it is sent the request *)
(* and waited for.                                                         *)
memberJoined(i, m) ==
    LET s == AwaitedStep(i) IN
    /\ initiator = i /\ s \in {"switch", "finish", "backout"}
    /\ m \in Group(i) /\ m \in lost
    /\ SendAll(s, i, {m})
    /\ waiting' = waiting \cup {m}
    /\ lost' = lost \ {m}
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, istate, seen, initiator, delta, upd, faults>>

(* expel: "the initiator gave up on a member after the retry budget (from  *)
(* commit on, and in backout and fence); the member leaves the group and   *)
(* rejoins later through its restart check" (docs/protocol.md).            *)
Expel(i, m) ==
    /\ initiator = i /\ AwaitedStep(i) # None /\ record.change # "running"
    /\ m \in waiting /\ InGroup(m)
    /\ IF m \in Stuck(i) THEN UNCHANGED faults ELSE Fault("delay")
    /\ Leave(m)

expel(i) == \E m \in Members : Expel(i, m)

(* restartCheck: "A member that restarts reads the cluster record to learn *)
(* the active data set (the target, if a change is committed), then checks *)
(* its coprocessor against that data set's header: if cur matches it       *)
(* serves; if a committed new matches it sets the master key first".       *)
restartCheck(m) ==
    LET a == RecordActive
        hdr == dsets[a].hdr
    IN
    /\ mstate[m] = "restartCheck"
    /\ \/ cur[m] = hdr /\ UNCHANGED regs
       \/ /\ cur[m] # hdr /\ newCommitted[m] /\ new[m] = hdr
          /\ cur' = [cur EXCEPT ![m] = new[m]]
          /\ new' = [new EXCEPT ![m] = 0]
          /\ newCommitted' = [newCommitted EXCEPT ![m] = FALSE]
    /\ live' = [live EXCEPT ![m] = Image(a)]
    /\ mstate' = [mstate EXCEPT ![m] = CASE record.change = "none" -> "serving"
                                         [] a = Target            -> "switched"
                                         [] OTHER                 -> "routing"]
    /\ UNCHANGED <<staged, dsets, record, coordination, net, upd, faults>>

(* fence: "If backout itself cannot finish, members are fenced: they      *)
(* refuse secure PKCS #11 work rather than run with mixed keys"; ICSF shuts *)
(* down (CSFM621I).  A fenced member leaves the group, acknowledges        *)
(* nothing, and comes back only by a restart and its restart check.  A    *)
(* DASD write of the backout fails (ioError): the initiator tells every  *)
(* member to fence and shuts down; the updates it holds fail.  The record  *)
(* stays running, so the first member still in the group by name takes    *)
(* over and backs out again.  A member told to fence shuts down too, even  *)
(* if it took the backout over meanwhile: the next one takes over.  A      *)
(* restarting member whose restart check finds no register that matches   *)
(* the header "stays fenced".                                              *)
FenceOnIoError(m) ==
    /\ BackoutDue(m) /\ Fault("ioError")
    /\ LeaveAs(m, "fenced", "fenced", "fail")
    /\ LET out == {Req("fence", m, o) : o \in Group(m)} IN
       msgs' = NotTo(m) \cup out /\ sent' = sent \cup out

FenceAtMember(m) ==
    \E x \in msgs :
    /\ Received(x, "fence", m)
    /\ LeaveAs(m, "fenced", IF initiator = m THEN "fenced" ELSE "idle", "fail")
    /\ msgs' = NotTo(m) /\ UNCHANGED sent
    /\ UNCHANGED faults

\* m's registers fit the active data set's header: cur, or a committed new.
RegistersFit(m) ==
    LET hdr == dsets[RecordActive].hdr IN cur[m] = hdr \/ (newCommitted[m] /\ new[m] = hdr)

FenceOnRestartCheck(m) ==
    /\ mstate[m] = "restartCheck"
    /\ ~RegistersFit(m)
    /\ mstate' = [mstate EXCEPT ![m] = "fenced"]
    /\ UNCHANGED <<regs, copies, dsets, record, coordination, net, upd, faults>>

fence(m) == FenceOnIoError(m) \/ FenceAtMember(m) \/ FenceOnRestartCheck(m)

-----------------------------------------------------------------------------
(* Dynamic updates: the phases of docs/protocol.md.                        *)

(* A member routes its updates to the initiator while the cluster record *)
(* shows a change (the record is read under the data set's serialization); *)
(* the initiator holds its own while it suspends updates.                *)
Routes(m) == record.change # "none" \/ (initiator = m /\ istate[m] \in Suspending)

(* request: member m takes update u: it processes u itself, or routes it.  *)
request(m, u) ==
    /\ upd[u].phase = None /\ mstate[m] \in Operating /\ ~LocalUpdateAt(m)
    /\ upd' = [upd EXCEPT ![u] = [phase |-> IF Routes(m) THEN "route" ELSE "request", at |-> m]]
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, coordination, net, faults>>

(* apply: the update is written and acknowledged to its caller.  A member  *)
(* writes its own update to its active data set.  The initiator writes a *)
(* routed one "against the active data set" and keeps it in the delta,     *)
(* unless the suspension holds it: then it waits.                          *)
ApplyOwn(m, u) ==
    /\ u \notin RefusedUpdates
    /\ mstate[m] \in Operating /\ upd[u] = [phase |-> "request", at |-> m]
    /\ Write(UpdatedRecord(u, live[m].ds, cur[m]), live[m].ds)
    /\ upd' = [upd EXCEPT ![u].phase = "ack"]
    /\ UNCHANGED <<mstate, regs, staged, record, coordination, net, faults>>

ApplyRouted(m, u) ==
    /\ u \notin RefusedUpdates
    /\ mstate[m] \in Operating /\ upd[u].phase = "route" /\ initiator = m /\ istate[m] \notin Suspending
    /\ LET r == UpdatedRecord(u, record.active, cur[m]) IN
       /\ Write(r, record.active)
       /\ delta' = IF record.change = "running" THEN delta \cup {r.h} ELSE delta
    /\ upd' = [upd EXCEPT ![u].phase = "ack"]
    /\ UNCHANGED <<mstate, regs, staged, record, istate, seen, initiator, waiting, lost, net, faults>>

\* The update is refused (not valid for its token or object, its write failed,
\* or dynamic updates are disallowed): it fails and nothing is written.
ApplyRefused(m, u) ==
    /\ u \in RefusedUpdates
    /\ mstate[m] \in Operating
    /\ upd[u] = [phase |-> "request", at |-> m] \/ (upd[u].phase = "route" /\ initiator = m)
    /\ upd' = [upd EXCEPT ![u].phase = "fail"]
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, coordination, net, faults>>

apply(m, u) == ApplyOwn(m, u) \/ ApplyRouted(m, u) \/ ApplyRefused(m, u)

-----------------------------------------------------------------------------
(* The environment: docs/protocol.md "Environment events".                 *)

crash(m) == mstate[m] \notin {"down", "fenced"} /\ Fault("crash") /\ Leave(m)

(* ioError: a DASD write of the initiator fails before commit: "any ...  *)
(* error makes the initiator backout".  If it was beginRouting's write of  *)
(* the cluster record, the change never began: the record stays none, no   *)
(* member routes for it, so there is nothing to undo and no one to tell;   *)
(* it ends backed out.  (A failed write of the backout itself fences:      *)
(* fence; a failed update write refuses the update: apply.)               *)
ioError(i) ==
    \/ /\ initiator = i /\ record.change = "running" /\ istate[i] \in Driving \ {"backout"}
       /\ Fault("ioError")
       /\ istate' = [istate EXCEPT ![i] = "backout"]
       /\ UNCHANGED <<mstate, regs, copies, dsets, record, seen, initiator, waiting, delta, lost, net,
                      upd>>
    \/ /\ istate[i] = "validate" /\ mstate[i] \in Operating
       /\ Fault("ioError")
       /\ istate' = [istate EXCEPT ![i] = "backedOut"]
       /\ UNCHANGED <<mstate, regs, copies, dsets, record, seen, initiator, waiting, delta, lost, net,
                      upd>>

(* restart: the member comes back (a fenced one, when the operator starts  *)
(* ICSF again) and runs its restartCheck.  (A fenced member whose registers *)
(* fit no header is fenced again at once: restarted over and over, it      *)
(* starves no one else, as each member's own steps are fair: Spec.)       *)
restart(m) ==
    /\ mstate[m] \in {"down", "fenced"}
    /\ mstate' = [mstate EXCEPT ![m] = "restartCheck"]
    /\ UNCHANGED <<regs, copies, dsets, record, coordination, net, upd, faults>>

(* clearNew: the operator clears member m's new master key register with  *)
(* the TKE while a change runs, before m staged the target: phase 1's     *)
(* register check (reloadRefused) finds it; or, once the change is        *)
(* committed, while m is down: its restart check fences it                 *)
(* (FenceOnRestartCheck).  (Cleared after m staged the target, m could not *)
(* switch: the implementation fences it at switch; this spec leaves that   *)
(* out, and the initiator's own check at commit.)                          *)
clearNew(m) ==
    /\ record.change \in {"running", "committed"} /\ initiator # m
    /\ newCommitted[m] /\ staged[m] = NoCopy /\ ~Switched(m)
    /\ Fault("clearNew")
    /\ new' = [new EXCEPT ![m] = 0]
    /\ newCommitted' = [newCommitted EXCEPT ![m] = FALSE]
    /\ UNCHANGED <<mstate, cur, copies, dsets, record, coordination, net, upd>>

drop(x) ==
    /\ x \in msgs /\ Fault("drop")
    /\ msgs' = msgs \ {x}
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, coordination, sent, upd>>

\* A copy of a message sent earlier arrives (again, or late).
duplicate(x) ==
    /\ x \in sent \ msgs /\ InGroup(x.to) /\ Fault("duplicate")
    /\ msgs' = msgs \cup {x}
    /\ UNCHANGED <<mstate, regs, copies, dsets, record, coordination, sent, upd>>

-----------------------------------------------------------------------------
\* Nothing in flight: no change in the record (or every member fenced), nobody
\* driving or restarting, no message on its way, routing over everywhere.
Quiescent ==
    /\ record.change = "none" \/ \A m \in Members : mstate[m] = "fenced"
    /\ msgs = {}
    /\ \A m \in Members : istate[m] \in Resting /\ mstate[m] \in {"down", "serving", "fenced"}

\* ... and no dynamic update in process or waiting.
Settled == Quiescent /\ \A u \in Updates : upd[u].phase \notin {"request", "route"}

\* The protocol's steps, weakly fair; a restart belongs to them ("members
\* come back").  The environment's steps are not fair.
StepsOf(m) ==
    \/ validate(m) \/ beginRouting(m) \/ reencipher(m) \/ suspend(m) \/ applyDelta(m)
    \/ reload(m) \/ reloadRefused(m) \/ commit(m) \/ switch(m) \/ finish(m) \/ resume(m) \/ backout(m)
    \/ receiveAck(m) \/ timeout(m) \/ expel(m) \/ takeover(m) \/ restartCheck(m) \/ fence(m)
    \/ \E j \in Members : memberJoined(m, j)
    \/ \E u \in Updates : apply(m, u)

Protocol == \E m \in Members : StepsOf(m) \/ restart(m)

Environment ==
    \/ \E m \in Members : crash(m) \/ ioError(m) \/ clearNew(m) \/ \E u \in Updates : request(m, u)
    \/ \E x \in msgs : drop(x)
    \/ \E x \in sent : duplicate(x)

\* A settled system may rest; any other state without a step is a deadlock.
Done == Settled /\ UNCHANGED vars

Next == Protocol \/ Environment \/ Done

\* Taking an acknowledgement (or a refusal) is fair on its own: a retry may ask
\* a member again while its answer is on its way.
\* Each member's own steps are fair too: another member restarted over and
\* over (and fenced again each time) does not starve them.
TakeRefusal(m) == \E x \in msgs : ReloadRefusedByInitiator(m, x)
Spec == Init /\ [][Next]_vars /\ WF_vars(Protocol)
        /\ \A m \in Members : WF_vars(receiveAck(m)) /\ WF_vars(TakeRefusal(m)) /\ WF_vars(StepsOf(m))

-----------------------------------------------------------------------------
(* Invariants: DESIGN.md "Invariants", one operator each.                  *)

Images == {Image(d) : d \in DataSets} \cup {live[m] : m \in Members} \cup {staged[m] : m \in Members}

\* "every acknowledged dynamic update is in the data set that ends up
\* active": the one the cluster record names (the target once committed).
NoLostUpdate ==
    \A u \in Updates : upd[u].phase = "ack" => Present(u, RecordActive)

\* "a serving member's cur MKVP equals the MKVP of its live copy and of its
\* active data set's header, and every secure blob in its live copy is
\* under that MKVP."
KeyAgreement ==
    \A m \in Members : mstate[m] \in Operating =>
        /\ cur[m] = live[m].hdr
        /\ live[m].hdr = dsets[live[m].ds].hdr
        /\ \A r \in live[m].recs : r.kind = "secure" => r.key = cur[m]

\* "during a change only the initiator writes TKDS data sets": once the
\* target is being written, no member has an update of its own in process
\* (the initiator writes routed updates in single steps).
SingleWriter ==
    (record.change # "none" /\ dsets[Target].status = "inUse") =>
        \A u \in Updates : upd[u].phase # "request"

\* "at most one coordinated change runs per cluster."
OneChangeAtATime ==
    Cardinality({m \in Members : istate[m] \in Driving}) <= 1

\* "the target is active nowhere before the delta is applied" (applyDelta
\* writes the MKVP into the target's header): not in the cluster record,
\* not at any member.
NoEarlyActivation ==
    dsets[Target].hdr # NewKey =>
        /\ RecordActive # Target
        /\ \A m \in Members : ~Switched(m)

\* A member shows it has staged the target: it holds a staged copy, it is on
\* the target, or it sent a reload message (its reloadAck, sent once staged,
\* or, as the initiator, which stages first, its reload requests).
ShownStaged(m) ==
    staged[m] # NoCopy \/ Switched(m) \/ \E x \in sent : x.step = "reload" /\ x.from = m

\* "no member switches before every member has staged the target": no step
\* puts a member on the target unless every other member has staged it (the
\* member itself makes its staged copy live, or its restart check finds the
\* change committed).  An action property: checked on each step.
StagedBeforeSwitchStep ==
    \A m \in Members : ~Switched(m) /\ Switched(m)' => \A o \in Others(m) : ShownStaged(o)
StagedBeforeSwitch == [][StagedBeforeSwitchStep]_vars

\* No backout once the record went to committed, and no commit after a
\* backout: from a record naming the target active, no step marks the target
\* unusable (as a backout does), and while it is marked so, no step names it
\* active.  An action property: checked on each step.
Unusable == dsets[Target].status = "unusable"
NoBackoutAfterCommitStep ==
    /\ RecordActive = Target => ~Unusable'
    /\ Unusable => RecordActive' # Target
NoBackoutAfterCommit == [][NoBackoutAfterCommitStep]_vars

\* "the change never alters the old data set other than by the routed
\* updates, and never deletes it": it stays (archived or not), its header
\* under the old key, every initial record still there, and every record it
\* holds explained by the updates (history-free: against InitialRecords and
\* the acknowledged updates of upd, the only writers of the old data set):
\* an initial record whose attributes only acknowledged updateObject updates
\* changed, or the record an acknowledged update made, under the old key.
Acked(u) == upd[u].phase = "ack"
MadeByUpdate(r, u) ==
    /\ Acked(u) /\ OpOf(u) # "updateObject"
    /\ r.val = ValueOf(u) /\ r.attr = {}
    /\ r.kind = IF OpOf(u) = "createObject" THEN "secure" ELSE "clear"
    /\ r.key = IF r.kind = "secure" THEN OldKey ELSE 0
ExplainedInOld(r) ==
    \/ \E i \in InitialRecords :
          /\ r = [i EXCEPT !.attr = r.attr]
          /\ \A u \in r.attr : Acked(u) /\ OpOf(u) = "updateObject"
    \/ \E u \in Updates : MadeByUpdate(r, u)
OldDataSetPreserved ==
    /\ dsets[OldDS].status \in {"inUse", "archived"}
    /\ dsets[OldDS].hdr = OldKey
    /\ \A i \in InitialRecords : \E r \in dsets[OldDS].recs : r.h = i.h
    /\ \A r \in dsets[OldDS].recs : ExplainedInOld(r)

\* TargetComplete (this project's addition, docs/protocol.md): "the target
\* holds every record of the old data set, plus the delta", re-enciphered.
\* It must hold from applyDelta on (the target's header has the new MKVP)
\* while the target is in use for the change: not marked unusable by a
\* backout, and the cluster record still shows the change (from finish on
\* the target is the active data set and ordinary updates change it).
TargetComplete ==
    (dsets[Target].hdr = NewKey /\ dsets[Target].status = "inUse" /\ record.change # "none") =>
        /\ \A r \in dsets[OldDS].recs : Rewrap(r) \in dsets[Target].recs
        /\ \A h \in delta : \E t \in dsets[Target].recs : t.h = h

\* "once nothing is in flight, every member that is up is on (target, new
\* key), or every one on (old data set, old key), or fenced; and the
\* cluster record agrees."
AllOn(d, k) ==
    \A m \in Members : mstate[m] \in {"down", "fenced"} \/ (live[m].ds = d /\ cur[m] = k)
SettledOutcome ==
    Quiescent =>
        \/ AllOn(Target, NewKey) /\ record.active = Target
        \/ AllOn(OldDS, OldKey) /\ record.active = OldDS

\* "every secure key has the same value (same key check value) after":
\* wherever a secure object's handle appears, its value is the same.
SecureValuesPreserved ==
    \A i1, i2 \in Images : \A r1 \in i1.recs, r2 \in i2.recs :
        (r1.h = r2.h /\ r1.kind = "secure") => r2.val = r1.val

\* "a clear key object is not enciphered and a change leaves it
\* byte-for-byte as it was": never wrapped, its value the one it was made with.
ClearObjectsUnchanged ==
    \A img \in Images : \A r \in img.recs :
        r.kind = "clear" => r.key = 0 /\ r.val \in ClearValues

\* Handles are unique in every data set and copy, and none is beyond the
\* token's last sequence number, so the next one given out is fresh.
UniqueHandles ==
    \A img \in Images : \A r1, r2 \in img.recs :
        /\ r1.h = r2.h => r1 = r2
        /\ r1.h <= img.seq

\* "with members that stay up and messages that are delivered, the change
\* ends and updates resume": faults are bounded, and once they are spent
\* the fair protocol steps settle the cluster again, and again.
EventuallySettled == []<>Settled

TypeOK ==
    /\ mstate \in [Members -> MemberStates]
    /\ istate \in [Members -> InitiatorStates]
    /\ cur \in [Members -> {OldKey, NewKey}] /\ new \in [Members -> {0, NewKey, OtherKey}]
    /\ newCommitted \in [Members -> BOOLEAN]
    /\ record.change \in {"none", "running", "committed"} /\ record.active \in DataSets
    /\ initiator \in Members \cup {None}
    /\ lost \subseteq Members
    /\ faults \in 0..FaultBudget

\* The abstract spec (ChangeMasterKey.tla) this one refines: the active data
\* set as the record tells it, its header's key, the acknowledged updates and
\* those the active data set holds.
CMK == INSTANCE ChangeMasterKey WITH
    active <- RecordActive, key <- dsets[RecordActive].hdr,
    acked <- {u \in Updates : upd[u].phase = "ack"},
    holds <- {u \in Updates : Present(u, RecordActive)}
RefinesChangeMasterKey == CMK!Spec

\* For models/refused.cfg: when validate refuses, no change starts and no
\* data set or register changes.
RefusalChangesNothing ==
    /\ record = [active |-> OldDS, change |-> "none", init |-> None]
    /\ dsets[Target].status = "empty"
    /\ cur = [m \in Members |-> OldKey] /\ new = LoadedNew
=============================================================================
