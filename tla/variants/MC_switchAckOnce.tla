------------------------- MODULE MC_switchAckOnce -------------------------
\* Non-vacuity of EventuallySettled: a member already switched does not
\* acknowledge a repeated switch: after a lost switchAck the initiator may
\* retry for ever.
\* MC_switchAckOnce.cfg puts SwitchAckOnce_AckAgain in place of
\* CoordinatedCMK's AckAgain.
EXTENDS CoordinatedCMK

SwitchAckOnce_AckAgain(x) == Consume(x)
=============================================================================
