--------------------------- MODULE MC_deleteOld ---------------------------
\* Non-vacuity of OldDataSetPreserved: finish deletes the old data set
\* instead of archiving it.
\* MC_deleteOld.cfg puts DeleteOld_Archive in place of CoordinatedCMK's
\* Archive.
EXTENDS CoordinatedCMK

DeleteOld_Archive(ds) == [ds EXCEPT !.status = "deleted", !.recs = {}]
=============================================================================
