--------------------------- MODULE MC_skipClear ---------------------------
\* Non-vacuity of TargetComplete: reencipher writes only the secure records
\* to the target and leaves the clear key objects behind.
\* MC_skipClear.cfg puts SkipClear_Reenciphered in place of CoordinatedCMK's
\* Reenciphered.
EXTENDS CoordinatedCMK

SkipClear_Reenciphered(recs) == {Rewrap(r) : r \in {x \in recs : x.kind = "secure"}}
=============================================================================
