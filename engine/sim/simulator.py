"""
``Simulator``: the Python face of the simulated Asterisk (see the package doc).
"""

import asyncio
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog
from aiohttp import web

from engine.sim import control, dtmf
from engine.sim.bridges import Bridges
from engine.sim.channels import Channel
from engine.sim.clock import SimClock
from engine.sim.exceptions import SimError
from engine.sim.faults import Faults
from engine.sim.parties import PartyRules, load_trace_dialplan
from engine.sim.pbx import Origination, Pbx, PbxConfig, Snoop
from engine.sim.playbacks import Playbacks
from engine.sim.recordings import Recordings
from engine.sim.server import build_app
from engine.sim.softphones import Softphones

log = structlog.get_logger(__name__)


class Simulator:
    """An ARI-compatible Asterisk 22 on a real HTTP port."""

    def __init__(
        self,
        username: str = "outdial",
        password: str = "outdial",
        app_names: list[str] | None = None,
        time_scale: float = 1.0,
        seed: int | None = None,
        *,
        channelvars: tuple[str, ...] = ("CAMPAIGN_ID", "CONTACT_ID"),
        recordings_dir: Path | None = None,
        trunks: set[str] | None = None,
    ) -> None:
        self.clock = SimClock(time_scale)
        config = PbxConfig(
            username=username, password=password, channelvars=channelvars, trunks=trunks
        )
        self.pbx = Pbx(config, self.clock, seed)
        self.pbx.bridges = Bridges(self.pbx)
        self.pbx.recordings = Recordings(self.pbx, recordings_dir)
        self.pbx.playbacks = Playbacks(self.pbx)
        self.app_names = app_names
        self.faults = Faults(self.pbx.hub)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._restarts = 0
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle ------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0: a free port; see ``url``)."""
        app = build_app(self.pbx, self.faults, [control.routes])
        app[control.SIM] = self
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await self._listen(host, port)
        log.info("sim_started", url=self.url, time_scale=self.clock.time_scale)

    async def _listen(self, host: str, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await self._site.start()
        server = self._site._server
        sockets: list[socket.socket] = list(getattr(server, "sockets", []) or [])
        self.host, self.port = host, sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        """Close every socket and stop listening."""
        await self.pbx.hub.close_all()
        self.pbx.reset()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("sim_stopped", url=self.url)

    async def __aenter__(self) -> "Simulator":
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def restart(self, down_for: float = 0.0) -> None:
        """
        An Asterisk restart: channels, bridges and sockets gone, new asterisk_id.

        With ``down_for`` (wall seconds) the port refuses connections that
        long, as a real restart does, then listens again on the same port.
        """
        await self.pbx.hub.close_all(abort=True)
        if down_for > 0 and self._site is not None:
            await self._site.stop()
            await asyncio.sleep(down_for)
            await self._listen(self.host, self.port)
        self.pbx.reset()
        self.pbx.bridges.reset()
        for rec in list(self.pbx.recordings.live.values()):
            if rec.timer is not None:
                rec.timer.cancel()
        self.pbx.recordings.live.clear()
        for playback in self.pbx.playbacks.all.values():
            if playback.timer is not None:
                playback.timer.cancel()
        self.pbx.playbacks.all.clear()
        self.pbx.hub.apps.clear()
        self._restarts += 1
        serial = self._restarts + 1
        self.pbx.hub.asterisk_id = f"02:fc:00:00:{serial // 256:02x}:{serial % 256:02x}"
        self.pbx.startup = self.clock.stamp()
        log.info("sim_restarted", asterisk_id=self.pbx.hub.asterisk_id)

    # -- what tests read and drive ---------------------------------------------

    @property
    def url(self) -> str:
        """Base URL without ``/ari``, e.g. ``http://127.0.0.1:8088``."""
        return f"http://{self.host}:{self.port}"

    @property
    def asterisk_id(self) -> str:
        """The current ``asterisk_id`` (changes on restart)."""
        return self.pbx.hub.asterisk_id

    @property
    def parties(self) -> PartyRules:
        """Number -> behaviour rules for customers."""
        return self.pbx.parties

    @property
    def softphones(self) -> Softphones:
        """The ``PJSIP/<ext>`` operator endpoints."""
        return self.pbx.softphones

    @property
    def snoops(self) -> list[Snoop]:
        """Every snoop channel started: id, target, spy and whisper directions."""
        return self.pbx.snoop_log

    @property
    def originations(self) -> list[Origination]:
        """Every origination attempt, in order."""
        return self.pbx.originations

    @property
    def channels(self) -> dict[str, Channel]:
        """Live channels by id."""
        return self.pbx.channels

    @property
    def globals(self) -> dict[str, str]:
        """Global dialplan variables (``GET /asterisk/variable``)."""
        return self.pbx.globals

    @property
    def sounds(self) -> dict[str, float]:
        """Known sounds and their lengths in seconds."""
        return self.pbx.playbacks.sounds

    @property
    def local_contexts(self) -> dict[str, str]:
        """Local contexts: ``customer`` or ``operator`` dialplan per context name."""
        return self.pbx.config.local_contexts

    def load_trace_dialplan(self) -> None:
        """Behave like the test dialplan of the reference traces."""
        load_trace_dialplan(self.parties)
        self.globals.setdefault("SIM_GLOBAL", "test-dialplan")

    async def wait_connected(
        self, app: str | None = None, within: float = 10.0
    ) -> None:
        """Wait until an events WebSocket serves ``app`` (default: first of app_names)."""
        name = app or (self.app_names[0] if self.app_names else None)
        if name is None:
            raise SimError("no app named: pass app= or app_names=")
        async with asyncio.timeout(within):
            while not self.pbx.hub.registered(name):
                self.pbx.hub.attached.clear()
                await self.pbx.hub.attached.wait()

    def hangup_far_end(self, channel_id: str, cause: int = 16) -> None:
        """The called party hangs up the call whose leg is ``channel_id``."""
        ch = self.pbx.channels.get(channel_id)
        if ch is None or ch.call is None:
            raise SimError(f"no call on channel {channel_id}")
        ch.call.remote_hangup(cause)

    def press_dtmf(self, channel_id: str, digits: str) -> None:
        """The party on ``channel_id`` presses ``digits`` (one event each)."""
        ch = self.pbx.channels.get(channel_id)
        if ch is None:
            raise SimError(f"no channel {channel_id}")
        for digit in digits:
            dtmf.press(self.pbx, ch, digit)

    def state(self) -> dict[str, Any]:
        """A summary for the control API."""
        return {
            "asterisk_id": self.asterisk_id,
            "channels": len(self.pbx.channels),
            "bridges": len(self.pbx.bridges.all),
            "live_recordings": len(self.pbx.recordings.live),
            "stored_recordings": len(self.pbx.recordings.stored),
            "originations": len(self.pbx.originations),
            "apps": {n: a.registered for n, a in self.pbx.hub.apps.items()},
            "time_scale": self.clock.time_scale,
        }
