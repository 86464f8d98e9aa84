-------------------- MODULE MC_commitWithoutReloadAcks --------------------
\* Non-vacuity of StagedBeforeSwitch: commit does not wait for every
\* reloadAck: the initiator switches before the others have staged.
\* MC_commitWithoutReloadAcks.cfg puts CommitWithoutReloadAcks_CommitReady in
\* place of CoordinatedCMK's CommitReady.
EXTENDS CoordinatedCMK

CommitWithoutReloadAcks_CommitReady(i) == lost = {}
=============================================================================
