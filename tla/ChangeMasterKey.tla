-------------------------- MODULE ChangeMasterKey --------------------------
(***************************************************************************)
(* The coordinated change master key as its users see it (DESIGN.md "The *)
(* mission"): the cluster serves one active data set under one key; a     *)
(* change switches both at once, from the old data set and key to the     *)
(* target and the new key, at most once and never back; an acknowledged   *)
(* update is in the active data set, and stays there across the switch.   *)
(* CoordinatedCMK refines this spec (its RefinesChangeMasterKey, checked  *)
(* by TLC in the models of tla/models.json).                              *)
(***************************************************************************)
CONSTANTS Updates, OldDS, Target, OldKey, NewKey

VARIABLES
    active,  \* the data set the cluster record names active
    key,     \* the key of the active data set's header
    acked,   \* the updates acknowledged to their callers
    holds    \* the updates whose effect the active data set holds

vars == <<active, key, acked, holds>>

Init == active = OldDS /\ key = OldKey /\ acked = {} /\ holds = {}

\* A dynamic update is written to the active data set and acknowledged.
Acknowledge(u) ==
    /\ u \notin acked
    /\ acked' = acked \cup {u} /\ holds' = holds \cup {u}
    /\ UNCHANGED <<active, key>>

\* The point of no return: the target, under the new key, with every update.
Switch ==
    /\ active = OldDS
    /\ active' = Target /\ key' = NewKey
    /\ UNCHANGED <<acked, holds>>

Next == Switch \/ \E u \in Updates : Acknowledge(u)

Spec == Init /\ [][Next]_vars

\* "every acknowledged dynamic update is in the data set that ends up active".
NoLostUpdate == acked \subseteq holds
=============================================================================
