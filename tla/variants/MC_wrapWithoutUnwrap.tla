----------------------- MODULE MC_wrapWithoutUnwrap -----------------------
\* Non-vacuity of SecureValuesPreserved: reencipher wraps each blob again
\* under the new key instead of rewrapping it: the key value changes.
\* MC_wrapWithoutUnwrap.cfg puts WrapWithoutUnwrap_RewrapSecure in place of
\* CoordinatedCMK's RewrapSecure.
EXTENDS CoordinatedCMK

Garbled(v) == v + 100  \* what a blob wrapped twice gives back instead of v

WrapWithoutUnwrap_RewrapSecure(r) == [r EXCEPT !.key = NewKey, !.val = Garbled(@)]
=============================================================================
