"""
The dialling loop: one runner per running campaign, started and stopped as
campaigns change state.

A runner leases about a second's worth of contacts at a time (never more than
the free slots), then starts each call when the campaign's calls-per-second
bucket allows. Pause and stop arrive by NOTIFY (or the fallback poll): the
runner stops leasing and gives its unstarted contacts back; calls already in
progress finish on their own.
"""

import asyncio
import contextlib
import math
from collections import deque

import structlog

from engine.clock import Clock
from engine.dialer.models import Campaign, Contact
from engine.dialer.pacing import Pacer
from engine.dialer.repository import CallRepository
from engine.dialer.seams import CapacityProvider
from engine.dialer.services import CallService

log = structlog.get_logger(__name__)


class CampaignRunner:
    """Dials one campaign until it is no longer running."""

    def __init__(
        self,
        campaign: Campaign,
        *,
        service: CallService,
        repo: CallRepository,
        pacer: Pacer,
        capacity: CapacityProvider,
        clock: Clock,
        idle_poll_s: float = 1.0,
    ) -> None:
        self.campaign = campaign
        self.service = service
        self.repo = repo
        self.pacer = pacer
        self.capacity = capacity
        self.clock = clock
        self.idle_poll_s = idle_poll_s
        self.queue: deque[Contact] = deque()
        self.finished = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the runner's task."""
        self.task = asyncio.create_task(self.run(), name=f"campaign-{self.campaign.id}")

    async def stop(self) -> None:
        """Stop leasing, and give back contacts that were leased but not dialled."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.queue:
            await self.repo.release_contacts([c.id for c in self.queue])
            self.queue.clear()

    async def run(self) -> None:
        """Lease, pace and place calls until cancelled or the campaign is done."""
        with structlog.contextvars.bound_contextvars(campaign_id=self.campaign.id):
            log.info("campaign_runner_started")
            while not self.finished:
                try:
                    await self._step()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("campaign_runner_step_failed")
                    await asyncio.sleep(self.idle_poll_s)
            log.info("campaign_finished")

    async def _step(self) -> None:
        campaign = self.campaign
        free = min(
            await self.capacity.capacity(campaign),
            self.pacer.free(campaign.id, campaign.max_concurrent),
        )
        if free <= 0:
            await self._wait(self.pacer.changed, 0.25)
            return
        if not self.queue and not await self._lease(free):
            return
        await self.pacer.bucket(campaign.id, campaign.calls_per_second).take()
        contact = self.queue.popleft()
        self.pacer.started(campaign.id)
        self.service.spawn(self._place(campaign, contact))

    async def _lease(self, free: int) -> bool:
        batch = min(free, max(1, math.ceil(self.campaign.calls_per_second)))
        leased = await self.repo.lease_contacts(
            self.campaign.id, batch, self.clock.now()
        )
        if leased:
            self.queue.extend(leased)
            return True
        if self.pacer.active(self.campaign.id) == 0:
            self.finished = await self.repo.finish_campaign_if_done(self.campaign.id)
        if not self.finished:
            await self._wait(self.pacer.changed, self.idle_poll_s)

        return False

    async def _place(self, campaign: Campaign, contact: Contact) -> None:
        try:
            await self.service.place(campaign, contact)
        except Exception:
            # Nothing was written for this contact: give its lease back.
            log.exception("call_place_failed", contact_id=contact.id)
            await self.repo.release_contacts([contact.id])

    @staticmethod
    async def _wait(event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()
        event.clear()


class Controller:
    """Keeps one runner per running campaign."""

    def __init__(
        self,
        *,
        service: CallService,
        repo: CallRepository,
        pacer: Pacer,
        capacity: CapacityProvider,
        clock: Clock,
        poll_s: float = 2.0,
    ) -> None:
        self.service = service
        self.repo = repo
        self.pacer = pacer
        self.capacity = capacity
        self.clock = clock
        self.poll_s = poll_s
        self.runners: dict[int, CampaignRunner] = {}
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Follow campaign states until cancelled; then stop every runner."""
        try:
            while True:
                try:
                    await self.refresh()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("campaign_refresh_failed")
                await CampaignRunner._wait(self.wake, self.poll_s)
        finally:
            await self.stop_all()

    async def refresh(self) -> None:
        """Start runners for running campaigns; stop the others."""
        running = {c.id: c for c in await self.repo.running_campaigns()}
        for campaign_id in list(self.runners):
            runner = self.runners[campaign_id]
            if campaign_id not in running or runner.finished:
                await self.runners.pop(campaign_id).stop()
                if campaign_id not in running:
                    log.info("campaign_runner_stopped", campaign_id=campaign_id)
        for campaign_id, campaign in running.items():
            known = self.runners.get(campaign_id)
            if known is None:
                fresh = self.runners[campaign_id] = self._runner(campaign)
                fresh.start()
            else:
                known.campaign = campaign

    def _runner(self, campaign: Campaign) -> CampaignRunner:
        return CampaignRunner(
            campaign,
            service=self.service,
            repo=self.repo,
            pacer=self.pacer,
            capacity=self.capacity,
            clock=self.clock,
        )

    async def stop_all(self) -> None:
        """Stop every runner (no new calls); calls in progress go on."""
        runners, self.runners = list(self.runners.values()), {}
        for runner in runners:
            await runner.stop()

    @property
    def idle(self) -> bool:
        """True when no campaign is being dialled."""
        return not any(not r.finished for r in self.runners.values())
