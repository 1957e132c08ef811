"""
DTMF from called parties: the keys a customer presses in answer to a prompt.

A party whose ``Behaviour.dtmf`` holds digits presses the next one a moment
after each playback to its channel ends ``done``; the app then gets a
``ChannelDtmfReceived`` (``digit``, ``duration_ms``, ``channel``) for that
channel, as Asterisk sends it when the key is released. Tests can also press
keys directly (``Simulator.press_dtmf``).
"""

from typing import TYPE_CHECKING

from engine.sim.exceptions import SimError

if TYPE_CHECKING:
    from engine.sim.channels import Channel
    from engine.sim.pbx import Pbx

DIGITS = frozenset("0123456789ABCD#*")
# how long a key is held, and how long after a prompt ends it is pressed
KEY_DURATION_MS = 120
PRESS_DELAY_S = 0.8


def press(pbx: "Pbx", ch: "Channel", digit: str) -> None:
    """The party on ``ch`` presses ``digit`` (the event comes on release)."""
    if digit not in DIGITS:
        raise SimError(f"not a DTMF digit: {digit!r}")
    if not ch.alive:
        return
    pbx.channel_event(
        ch, "ChannelDtmfReceived", digit=digit, duration_ms=KEY_DURATION_MS
    )


def after_playback(pbx: "Pbx", target_uri: str) -> None:
    """A playback ended ``done``: the party on that channel may answer it."""
    kind, _, channel_id = target_uri.partition(":")
    if kind != "channel":
        return
    ch = pbx.channels.get(channel_id)
    if ch is None or not ch.alive or ch.call is None or ch.call.leg is not ch:
        return
    keys = ch.call.behaviour.dtmf or ""
    pressed = ch.call.dtmf_pressed
    if pressed >= len(keys):
        return
    ch.call.dtmf_pressed = pressed + 1
    # a call timer: cancelled if the call hangs up before the key is pressed
    ch.call.later(PRESS_DELAY_S, press, pbx, ch, keys[pressed])
