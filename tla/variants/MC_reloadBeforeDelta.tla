----------------------- MODULE MC_reloadBeforeDelta -----------------------
\* Non-vacuity of NoEarlyActivation: reload (then commit) may come before
\* applyDelta: the record names a target whose header has no MKVP yet.
\* MC_reloadBeforeDelta.cfg puts ReloadBeforeDelta_ReloadAfter in place of
\* CoordinatedCMK's ReloadAfter.
EXTENDS CoordinatedCMK

ReloadBeforeDelta_ReloadAfter(i) == istate[i] \in {"suspend", "applyDelta"}
=============================================================================
