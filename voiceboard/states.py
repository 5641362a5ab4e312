"""Channel states and which operations each allows.

This module imports nothing from the project, so every layer can use it without cycles.
Edges (the board performs them; each is commented where it happens):

    IDLE -> RINGING           ring detected (FXO) or seizure (E1)
    RINGING -> CONNECTED      answer()
    RINGING -> IDLE           the caller gave up (no ring within the ring timeout)
    IDLE -> DIALING           dial(): off-hook, dial tone, digits, call-progress analysis;
                              ring(): ringing a phone on an FXS port
    IDLE -> CONNECTED         the phone on an FXS port was lifted (it originates a call)
    DIALING -> CONNECTED      the far end answered
    DIALING -> IDLE           busy, no answer, no dial tone, SIT, or hangup()
    CONNECTED -> IDLE         hangup(), or the far end hung up
    any -> OUT_OF_SERVICE     alarm, device error, or block()
    OUT_OF_SERVICE -> IDLE    recovered, or unblock()
"""
import enum


class ChannelState(enum.Enum):
    IDLE = "idle"
    RINGING = "ringing"
    DIALING = "dialing"
    CONNECTED = "connected"
    OUT_OF_SERVICE = "out_of_service"


_ANY_CALL = (ChannelState.RINGING, ChannelState.DIALING, ChannelState.CONNECTED)

# Operation -> the states it is allowed in.
ALLOWED = {
    "answer": (ChannelState.RINGING,),
    "hangup": _ANY_CALL,
    "flash": (ChannelState.CONNECTED,),
    "play": (ChannelState.CONNECTED,),
    "record": (ChannelState.CONNECTED,),
    "collect": (ChannelState.CONNECTED,),
    "dial": (ChannelState.IDLE,),
    "ring": (ChannelState.IDLE,),
    "bridge": (ChannelState.CONNECTED,),
    "unbridge": (ChannelState.CONNECTED,),
    "block": (ChannelState.IDLE, ChannelState.OUT_OF_SERVICE) + _ANY_CALL,
    "unblock": (ChannelState.OUT_OF_SERVICE,),
}
