"""
Live and stored recordings.

A live recording becomes a stored one when it stops: on
``POST /recordings/live/{name}/stop``, after ``maxDurationSeconds``, or by
itself when the last channel leaves its bridge (or its channel hangs up).
``duration`` is in whole simulated seconds and the stored file has exactly
that much audio; the WAV bytes are built when downloaded.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.sim import wav
from engine.sim.exceptions import AriResponseError, bad_request, not_found

if TYPE_CHECKING:
    import asyncio

    from engine.sim.pbx import Pbx

FORMATS = {"wav", "gsm", "ulaw", "alaw", "sln", "g722", "g729", "wav49", "sln16"}
IF_EXISTS = {"fail", "overwrite", "append"}


@dataclass(eq=False)
class LiveRecording:
    """A recording in progress."""

    name: str
    format: str
    target_uri: str
    started: float
    recorder: str
    apps: list[str]
    state: str = "recording"
    timer: "asyncio.TimerHandle | None" = None

    def to_json(self, state: str | None = None) -> dict[str, Any]:
        """The ARI ``LiveRecording`` model."""
        return {
            "name": self.name,
            "format": self.format,
            "state": state or self.state,
            "target_uri": self.target_uri,
        }


@dataclass
class StoredRecording:
    """A finished recording."""

    name: str
    format: str
    duration: int

    def to_json(self) -> dict[str, Any]:
        """The ARI ``StoredRecording`` model."""
        return {"name": self.name, "format": self.format}


class Recordings:
    """Every live and stored recording of the simulated Asterisk."""

    def __init__(self, pbx: "Pbx", spool: Path | None = None) -> None:
        self._pbx = pbx
        self.spool = spool
        self.live: dict[str, LiveRecording] = {}
        self.stored: dict[str, StoredRecording] = {}

    def start(
        self, target_uri: str, apps: list[str], params: dict[str, Any]
    ) -> LiveRecording:
        """Start recording a bridge or channel (after the caller checked it exists)."""
        name, fmt, if_exists = self._validate(params)
        recorder = f"Recorder/ARI-{self._pbx.ids.pair_suffix()};2"
        self._pbx.ids.channel_id()
        self._pbx.ids.channel_id()
        bridge = self._pbx.bridges.all.get(target_uri.partition(":")[2])
        if target_uri.startswith("bridge:") and bridge is not None:
            self._pbx.bridges.add_recorder(bridge, recorder)
        if name in self.live or (name in self.stored and if_exists == "fail"):
            # The recorder had already joined the bridge when the name
            # clash is found; it leaves again (trace 07's BRIDGEPEER flips).
            if bridge is not None:
                self._pbx.bridges.remove_recorder(bridge, recorder)
            raise AriResponseError(
                409, f"Recording '{name}' already exists and can not be overwritten"
            )
        rec = LiveRecording(
            name, fmt, target_uri, self._pbx.clock.now(), recorder, apps
        )
        self.live[name] = rec
        self._limit(rec, params.get("maxDurationSeconds"))
        self._pbx.hub.emit(
            apps, {"type": "RecordingStarted", "recording": rec.to_json()}
        )

        return rec

    @staticmethod
    def _validate(params: dict[str, Any]) -> tuple[str, str, str]:
        """Name, format and ifExists, checked as Asterisk checks them."""
        name, fmt = params.get("name"), params.get("format")
        if not name:
            raise bad_request("Recording name is required")
        if not fmt:
            raise bad_request("Recording format is required")
        if_exists = params.get("ifExists") or "fail"
        if if_exists not in IF_EXISTS:
            raise bad_request("ifExists invalid")
        if fmt not in FORMATS:
            raise AriResponseError(422, "specified format is unknown on this system")

        return str(name), str(fmt), str(if_exists)

    def _limit(self, rec: LiveRecording, value: Any) -> None:
        try:
            seconds = float(value or 0)
        except ValueError as exc:
            raise bad_request("maxDurationSeconds must be a number") from exc
        if seconds > 0:
            rec.timer = self._pbx.clock.later(seconds, self.finish, rec)

    def _bridge_of(self, rec: LiveRecording) -> Any:
        kind, _, ident = rec.target_uri.partition(":")

        return self._pbx.bridges.all.get(ident) if kind == "bridge" else None

    def get_live(self, name: str) -> LiveRecording:
        """A live recording, or 404 ``Recording not found``."""
        rec = self.live.get(name)
        if rec is None:
            raise not_found("Recording")

        return rec

    def finish(self, rec: LiveRecording) -> None:
        """Stop a recording: RecordingFinished, and it becomes a stored one."""
        if self.live.get(rec.name) is not rec:
            return
        del self.live[rec.name]
        if rec.timer is not None:
            rec.timer.cancel()
        duration = max(math.floor(self._pbx.clock.now() - rec.started), 0)
        self.stored[rec.name] = StoredRecording(rec.name, rec.format, duration)
        self._write(rec.name, duration)
        finished = {**rec.to_json("done"), "duration": duration}
        self._pbx.hub.emit(
            rec.apps, {"type": "RecordingFinished", "recording": finished}
        )
        bridge = self._bridge_of(rec)
        if bridge is not None:
            self._pbx.bridges.remove_recorder(bridge, rec.recorder)

    def discard(self, rec: LiveRecording) -> None:
        """``DELETE /recordings/live/{name}``: stop and keep nothing."""
        self.finish(rec)
        self.stored.pop(rec.name, None)

    def target_emptied(self, target_uri: str) -> None:
        """The last channel left the bridge (or the channel died): recordings end."""
        for rec in list(self.live.values()):
            if rec.target_uri == target_uri:
                self._pbx.clock.soon(self.finish, rec)

    def get_stored(self, name: str) -> StoredRecording:
        """A stored recording, or 404 ``Recording not found``."""
        found = self.stored.get(name)
        if found is None:
            raise not_found("Recording")

        return found

    def file(self, name: str) -> bytes:
        """The audio of a stored recording, as a WAV file."""
        return wav.wav_bytes(self.get_stored(name).duration)

    def delete(self, name: str) -> None:
        """Delete a stored recording."""
        self.get_stored(name)
        del self.stored[name]
        if self.spool is not None:
            (self.spool / f"{name}.wav").unlink(missing_ok=True)

    def _write(self, name: str, duration: int) -> None:
        if self.spool is None:
            return
        path = self.spool / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav.wav_bytes(duration))
