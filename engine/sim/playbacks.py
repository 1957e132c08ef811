"""
Playbacks of media on channels and bridges.

A known sound plays for its length and ends ``done``; a missing one still
gets ``201`` and then ``PlaybackStarted`` and ``PlaybackFinished`` with
``state: failed`` (trace 07). ``DELETE /playbacks/{id}`` ends it ``done``.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.sim import dtmf
from engine.sim.exceptions import AriResponseError, not_found

if TYPE_CHECKING:
    import asyncio

    from engine.sim.channels import Channel
    from engine.sim.pbx import Pbx

# Sound lengths in seconds; tests and demos may add their own.
SOUNDS = {
    "beep": 0.42,
    "demo-congrats": 12.0,
    "hello-world": 1.6,
    "tt-monkeys": 9.0,
    "vm-goodbye": 0.9,
    "auth-thankyou": 1.0,
    "pls-hold-while-try": 2.5,
}


@dataclass(eq=False)
class Playback:
    """One playback."""

    id: str
    media_uri: str
    target_uri: str
    language: str
    apps: list[str]
    state: str = "queued"
    timer: "asyncio.TimerHandle | None" = None

    def to_json(self) -> dict[str, Any]:
        """The ARI ``Playback`` model."""
        return {
            "id": self.id,
            "media_uri": self.media_uri,
            "target_uri": self.target_uri,
            "language": self.language,
            "state": self.state,
        }


class Playbacks:
    """Every running playback."""

    def __init__(self, pbx: "Pbx") -> None:
        self._pbx = pbx
        self.all: dict[str, Playback] = {}
        self.sounds = dict(SOUNDS)

    def get(self, playback_id: str) -> Playback:
        """The playback, or 404 ``Playback not found``."""
        found = self.all.get(playback_id)
        if found is None:
            raise not_found("Playback")

        return found

    def start(
        self,
        target_uri: str,
        apps: list[str],
        media: str,
        playback_id: str | None,
        language: str | None,
    ) -> Playback:
        """Queue a playback; events follow on the next loop turns."""
        if not media:
            raise AriResponseError(400, "media: Missing required field")
        if playback_id and playback_id in self.all:
            raise AriResponseError(409, "Playback with this ID already exists")
        playback = Playback(
            playback_id or self._pbx.ids.uuid(),
            media,
            target_uri,
            language or "en",
            apps,
        )
        self.all[playback.id] = playback
        self._pbx.clock.soon(self._begin, playback)

        return playback

    def length(self, media: str) -> float | None:
        """How long the media plays, or None when it does not exist."""
        total = 0.0
        for item in media.split(","):
            scheme, _, name = item.partition(":")
            if scheme == "sound":
                seconds = self.sounds.get(name)
            elif scheme == "recording":
                stored = self._pbx.recordings.stored.get(name)
                seconds = None if stored is None else float(stored.duration)
            elif scheme in ("digits", "number", "characters"):
                seconds = 0.5 * len(name)
            elif scheme == "tone":
                seconds = 3600.0
            else:
                seconds = None
            if seconds is None:
                return None
            total += seconds

        return total

    def _begin(self, playback: Playback) -> None:
        if playback.id not in self.all:
            return
        playback.state = "playing"
        self._event(playback, "PlaybackStarted")
        seconds = self.length(playback.media_uri)
        if seconds is None:
            self._end(playback, "failed")
            return
        playback.timer = self._pbx.clock.later(seconds, self._played, playback)

    def _played(self, playback: Playback) -> None:
        """The media played to its end: a party may answer the prompt."""
        self._end(playback, "done")
        dtmf.after_playback(self._pbx, playback.target_uri)

    def _end(self, playback: Playback, state: str) -> None:
        if self.all.pop(playback.id, None) is None:
            return
        if playback.timer is not None:
            playback.timer.cancel()
        playback.state = state
        self._event(playback, "PlaybackFinished")

    def stop(self, playback_id: str) -> None:
        """``DELETE /playbacks/{id}``."""
        self._end(self.get(playback_id), "done")

    def target_gone(self, target_uri: str) -> None:
        """The channel or bridge went away: its playbacks end."""
        for playback in list(self.all.values()):
            if playback.target_uri == target_uri:
                self._end(playback, "done")

    def channel_gone(self, ch: "Channel") -> None:
        """A channel died."""
        self.target_gone(f"channel:{ch.id}")

    def _event(self, playback: Playback, event_type: str) -> None:
        self._pbx.hub.emit(
            playback.apps, {"type": event_type, "playback": playback.to_json()}
        )
