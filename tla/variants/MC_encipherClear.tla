------------------------- MODULE MC_encipherClear -------------------------
\* Non-vacuity of ClearObjectsUnchanged: reencipher wraps clear key objects
\* under the new key too.
\* MC_encipherClear.cfg puts EncipherClear_CopyClear in place of
\* CoordinatedCMK's CopyClear.
EXTENDS CoordinatedCMK

EncipherClear_CopyClear(r) == [r EXCEPT !.key = NewKey]
=============================================================================
