----------------------- MODULE MC_deltaWithoutToken -----------------------
\* Non-vacuity of UniqueHandles: applyDelta leaves out the token record: the
\* target's last sequence number is behind its handles.
\* MC_deltaWithoutToken.cfg puts DeltaWithoutToken_TokenWritten in place of
\* CoordinatedCMK's TokenWritten.
EXTENDS CoordinatedCMK

DeltaWithoutToken_TokenWritten(seq) == seq
=============================================================================
