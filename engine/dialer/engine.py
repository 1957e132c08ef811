"""
The composition root: every dialer part built and wired in one place.

Compliance and operators add their parts here with one argument each::

    engine = build_engine(settings, pool, ari, clock,
                          gates=[ComplianceGate(...)],
                          answer_handler=OperatorBridge(...),
                          capacity=ProgressivePacing(...))
    await engine.run(stop_event)
"""

import asyncio
import contextlib
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from engine.ari import AriClient
from engine.clock import Clock
from engine.dialer.archive import Archiver
from engine.dialer.calls import CallRegistry
from engine.dialer.controller import Controller
from engine.dialer.pacing import Pacer
from engine.dialer.recovery import Recovery
from engine.dialer.repository import CallRepository
from engine.dialer.seams import (
    AnswerHandler,
    CapacityProvider,
    DialGate,
    MaxConcurrent,
    PlayMessage,
)
from engine.dialer.services import CallService, DialPlan
from engine.dialer.stasis import CallEvents
from engine.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class Engine:
    """One dialer process's parts; ``run`` drives them until told to stop."""

    settings: Settings
    ari: AriClient
    repo: CallRepository
    registry: CallRegistry
    pacer: Pacer
    service: CallService
    events: CallEvents
    recovery: Recovery
    controller: Controller
    archiver: Archiver
    dsn: str | None = None

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """
        Dial until ``stop`` is set (or, with ``until_idle``, until no campaign
        is left running and every call and recording is done).

        On the way out no new call starts; calls in progress get
        ``settings.drain_seconds`` to finish.
        """
        if not await self.start(stop):
            return
        tasks = [
            asyncio.create_task(self.controller.run(), name="controller"),
            asyncio.create_task(self.archiver.run(), name="archiver"),
            asyncio.create_task(self._heartbeat(), name="heartbeat"),
        ]
        try:
            async with self._campaign_events():
                await self._wait(stop, until_idle)
        finally:
            await self._shutdown(tasks)

    async def start(self, stop: asyncio.Event | None = None) -> bool:
        """
        Register, subscribe, connect and wait for the first reconciliation.

        Returns False when ``stop`` came first (Asterisk never answered).
        """
        await self.repo.register_engine(
            socket.gethostname(), os.getpid(), self.settings.ari_url
        )
        released = await self.repo.release_idle_leases()
        await self.repo.release_recording_claims(self.recovery.clock.now())
        self.events.subscribe(self.ari)
        self.ari.on_reconnect(self.recovery.on_snapshot)
        await self.ari.connect()
        synced = asyncio.ensure_future(self.recovery.synced.wait())
        stopped = asyncio.ensure_future((stop or asyncio.Event()).wait())
        await asyncio.wait({synced, stopped}, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        stopped.cancel()
        if not self.recovery.synced.is_set():
            log.warning("engine_stopped_before_ari_answered")
            return False
        log.info(
            "engine_started",
            engine_id=self.repo.engine_id,
            ari_app=self.settings.ari_app,
            leases_released=released,
        )

        return True

    async def _wait(self, stop: asyncio.Event, until_idle: bool) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await stop.wait()
            if until_idle and await self.is_idle():
                log.info("engine_idle")
                return
            if self.ari.replaced.is_set():
                # Another process took the Stasis app: its events go there now.
                log.error("engine_app_taken_over", ari_app=self.settings.ari_app)
                return

    async def is_idle(self) -> bool:
        """No running campaign, no call in progress, no recording to fetch."""
        if len(self.registry) or await self.repo.running_campaigns():
            return False
        pending: int = await self.repo.pool.fetchval(
            "SELECT count(*) FROM recordings WHERE state IN ('recording', 'finished')"
        )

        return pending == 0

    def _campaign_events(self) -> contextlib.AbstractAsyncContextManager[object]:
        if self.dsn is None:
            return contextlib.nullcontext()
        from engine.campaigns.notify import on_campaign_event

        async def wake(_: object) -> None:
            self.controller.wake.set()

        return on_campaign_event(self.dsn, wake)

    async def _heartbeat(self) -> None:
        every = max(1.0, self.settings.lease_seconds / 3)
        while True:
            try:
                await self.repo.heartbeat()
                await self.repo.reclaim_expired_leases()
                await self.recovery.take_over()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat_failed")
            await asyncio.sleep(every)

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        controller, archiver, heartbeat = tasks
        controller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await controller
        drained = await self._drain()
        self.archiver.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(archiver, 15)
        heartbeat.cancel()
        await asyncio.gather(archiver, heartbeat, return_exceptions=True)
        await self.service.drain()
        if drained:
            await self.repo.deregister_engine()
        log.info(
            "engine_stopped",
            calls_left=len(self.registry),
            **self.events.latency.summary(),
        )

    async def _drain(self) -> bool:
        if len(self.registry):
            log.info("engine_draining", calls=len(self.registry))
        try:
            async with asyncio.timeout(self.settings.drain_seconds):
                await self.registry.empty.wait()
        except TimeoutError:
            return False

        return True


def build_engine(
    settings: Settings,
    pool: asyncpg.Pool,
    ari: AriClient,
    clock: Clock,
    *,
    gates: Sequence[DialGate],
    answer_handler: AnswerHandler | None = None,
    capacity: CapacityProvider | None = None,
    dsn: str | None = None,
) -> Engine:
    """
    Build a dialer engine; ``dsn`` enables LISTEN for campaign changes.

    ``gates`` has no default so that no caller forgets compliance: a real
    engine passes ``[ComplianceGate(settings)]``; ``()`` is for tests of
    something else.
    """
    repo = CallRepository(pool, settings.engine_id, settings.lease_seconds)
    registry = CallRegistry()
    pacer = Pacer(settings.max_calls)
    archiver = Archiver(repo, ari, clock, settings.recordings_dir)
    service = CallService(
        ari=ari,
        repo=repo,
        registry=registry,
        pacer=pacer,
        clock=clock,
        plan=DialPlan(settings.dial_template),
        gates=gates,
        answer_handler=answer_handler or PlayMessage(settings.answer_media),
        on_recording_done=archiver.wake.set,
    )
    controller = Controller(
        service=service,
        repo=repo,
        pacer=pacer,
        capacity=capacity or MaxConcurrent(pacer),
        clock=clock,
    )

    events = CallEvents(settings.ari_app, registry, service)
    recovery = Recovery(repo, registry, service, pacer, ari, clock)
    events.adopt_unknown = recovery.adopt_answered

    return Engine(
        settings=settings,
        ari=ari,
        repo=repo,
        registry=registry,
        pacer=pacer,
        service=service,
        events=events,
        recovery=recovery,
        controller=controller,
        archiver=archiver,
        dsn=dsn,
    )
