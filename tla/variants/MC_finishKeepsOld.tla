------------------------ MODULE MC_finishKeepsOld ------------------------
\* Non-vacuity of SettledOutcome: finish leaves the old data set active in
\* the cluster record: the members are on the target, the record on the old
\* data set.
\* MC_finishKeepsOld.cfg puts FinishKeepsOld_FinishedActive in place of
\* CoordinatedCMK's FinishedActive.
EXTENDS CoordinatedCMK

FinishKeepsOld_FinishedActive == record.active
=============================================================================
