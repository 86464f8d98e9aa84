--------------------------- MODULE MC_skipDelta ---------------------------
\* Non-vacuity of NoLostUpdate (and, with refinement-skipDelta.cfg, of
\* RefinesChangeMasterKey): applyDelta writes the target's header but not
\* the delta: an update routed during re-encipherment is lost at commit.
\* MC_skipDelta.cfg puts SkipDelta_DeltaApplied in place of CoordinatedCMK's
\* DeltaApplied.
EXTENDS CoordinatedCMK

SkipDelta_DeltaApplied(recs) == recs
=============================================================================
