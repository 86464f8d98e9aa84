------------------------ MODULE MC_fenceInGroup ------------------------
\* Non-vacuity of EventuallySettled in tla/models/fence-3.cfg: fenced as it
\* was before fenced meant shut down.  A member told to fence stays in its
\* place: it acknowledges the fence, and one that took a backout over goes on
\* driving it, waiting for fenced members whose requests are never read.
\* MC_fenceInGroup.cfg puts FenceInGroup_FenceAtMember in place of
\* CoordinatedCMK's FenceAtMember.
EXTENDS CoordinatedCMK

FenceInGroup_FenceAtMember(m) ==
    \E x \in msgs :
    /\ Received(x, "fence", m)
    /\ mstate' = [mstate EXCEPT ![m] = "fenced"]
    /\ staged' = [staged EXCEPT ![m] = NoCopy]
    /\ upd' = [u \in Updates |-> IF upd[u].at = m /\ upd[u].phase \in {"request", "route"}
                                THEN [upd[u] EXCEPT !.phase = "fail"] ELSE upd[u]]
    /\ Reply(x)
    /\ UNCHANGED <<regs, live, dsets, record, coordination, faults>>
=============================================================================
