--------------------- MODULE MC_reencipherBeforeAcks ---------------------
\* Non-vacuity of SingleWriter: reencipher starts before every member
\* acknowledged beginRouting: a member still writes its own update.
\* MC_reencipherBeforeAcks.cfg puts ReencipherBeforeAcks_ReencipherReady in
\* place of CoordinatedCMK's ReencipherReady.
EXTENDS CoordinatedCMK

ReencipherBeforeAcks_ReencipherReady(i) == ~LocalUpdateAt(i)
=============================================================================
