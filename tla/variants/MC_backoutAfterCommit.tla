---------------------- MODULE MC_backoutAfterCommit ----------------------
\* Non-vacuity of NoBackoutAfterCommit: a lost member makes the initiator
\* back out even after commit.
\* MC_backoutAfterCommit.cfg puts BackoutAfterCommit_BackoutFrom in place of
\* CoordinatedCMK's BackoutFrom.
EXTENDS CoordinatedCMK

BackoutAfterCommit_BackoutFrom == {"running", "committed"}
=============================================================================
