--------------------------- MODULE MC_moveRecords ---------------------------
\* Non-vacuity of OldDataSetPreserved's contents: reencipher moves the
\* records to the target instead of copying them, leaving the old data set
\* empty (its status and header unchanged).
\* MC_moveRecords.cfg puts MoveRecords_OldAfterReencipher in place of
\* CoordinatedCMK's OldAfterReencipher.
EXTENDS CoordinatedCMK

MoveRecords_OldAfterReencipher(recs) == {}
=============================================================================
