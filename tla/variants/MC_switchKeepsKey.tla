------------------------ MODULE MC_switchKeepsKey ------------------------
\* Non-vacuity of KeyAgreement: switch goes live on the target without
\* setting the master key.
\* MC_switchKeepsKey.cfg puts SwitchKeepsKey_SwitchedKey in place of
\* CoordinatedCMK's SwitchedKey.
EXTENDS CoordinatedCMK

SwitchKeepsKey_SwitchedKey(m) == cur[m]
=============================================================================
