------------------------ MODULE MC_noCompareAndSet ------------------------
\* Non-vacuity of OneChangeAtATime: beginRouting writes the cluster record
\* without comparing: both initiators start a change.
\* MC_noCompareAndSet.cfg puts NoCompareAndSet_RecordAsSeen in place of
\* CoordinatedCMK's RecordAsSeen.
EXTENDS CoordinatedCMK

NoCompareAndSet_RecordAsSeen(i) == TRUE
=============================================================================
