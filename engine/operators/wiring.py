"""
How the engine process takes operators on board: build the parts, wrap the seams.

Campaigns opt in per campaign (``settings.operators``); the others keep the
dialer's defaults. So the dialer's answer handler and capacity provider are
wrapped, not replaced: each call or campaign is sent to the operators' part or
to the default one.
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

from engine.ari import AriClient
from engine.clock import Clock
from engine.operators.accounts import AccountStore
from engine.operators.bridging import OperatorBridge
from engine.operators.pacing import ProgressiveCapacity, uses_operators
from engine.operators.service import OperatorService
from engine.operators.softphones import SoftphoneManager
from engine.operators.supervision import Supervisor
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.dialer.calls import Call
    from engine.dialer.engine import Engine
    from engine.dialer.models import Campaign
    from engine.dialer.seams import AnswerHandler, CapacityProvider


class PerCampaignAnswer:
    """AnswerHandler: operators for campaigns that use them, else the default."""

    def __init__(self, operators: OperatorBridge, default: "AnswerHandler") -> None:
        self.operators = operators
        self.default = default

    async def on_answered(self, call: "Call") -> None:
        """Hand the call to the handler its campaign asks for."""
        if uses_operators(call.campaign):
            await self.operators.on_answered(call)
        else:
            await self.default.on_answered(call)

    async def on_resumed(self, call: "Call") -> None:
        """
        An answered call adopted after its engine died.

        The dead engine's operator legs are hung up (``SoftphoneManager``), so
        an operator campaign's customer is put through to a free operator
        again, or hears the apology; other calls go to the default handler's
        ``on_resumed``, or are hung up cleanly without one.
        """
        if uses_operators(call.campaign):
            await self.operators.on_answered(call)
            return
        resume = getattr(self.default, "on_resumed", None)
        if resume is not None:
            await resume(call)
        else:
            await call.hangup()


class PerCampaignCapacity:
    """CapacityProvider: progressive for operator campaigns, else the default."""

    def __init__(
        self, progressive: ProgressiveCapacity, default: "CapacityProvider"
    ) -> None:
        self.progressive = progressive
        self.default = default

    async def capacity(self, campaign: "Campaign") -> int:
        """Capacity from the provider the campaign asks for."""
        if uses_operators(campaign):
            return min(
                await self.progressive.capacity(campaign),
                await self.default.capacity(campaign),
            )

        return await self.default.capacity(campaign)


@dataclass
class Operators:
    """The operators' parts of one engine process."""

    manager: SoftphoneManager
    supervisor: Supervisor
    bridge: OperatorBridge
    pacing: ProgressiveCapacity
    service: OperatorService

    def attach(self, engine: "Engine") -> None:
        """Wrap the engine's answer handler and capacity provider."""
        engine.service.answer_handler = PerCampaignAnswer(
            self.bridge, engine.service.answer_handler
        )
        engine.controller.capacity = PerCampaignCapacity(
            self.pacing, engine.controller.capacity
        )
        self.pacing.bind_local(
            self.manager.engine_id, engine.pacer.active, self.manager.bridged_count
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["Operators"]:
        """Keep softphone sessions served while the block runs."""
        self.manager.extra_ticks.append(self.supervisor.tick)
        await self.manager.start()
        try:
            yield self
        finally:
            await self.supervisor.close()
            await self.manager.stop()


def build_operators(
    settings: Settings, pool: asyncpg.Pool, ari: AriClient, clock: Clock
) -> Operators:
    """Build every operators part from the settings."""
    manager = SoftphoneManager(
        ari,
        pool,
        clock,
        engine_id=settings.engine_id,
        ari_url=settings.ari_url,
        ring_timeout_s=settings.operator_ring_timeout_s,
        wrap_up_s=settings.operator_wrap_up_s,
    )
    supervisor = Supervisor(
        ari,
        pool,
        clock,
        engine_id=settings.engine_id,
        ring_timeout_s=settings.operator_ring_timeout_s,
    )
    accounts = AccountStore.from_settings(settings, pool, clock)

    return Operators(
        manager=manager,
        supervisor=supervisor,
        bridge=OperatorBridge(
            manager,
            pool,
            clock,
            answer_timeout_s=settings.operator_answer_timeout_s,
            apology_media=settings.apology_media,
            institution_name=settings.institution_name,
            callback_number=settings.callback_number,
        ),
        pacing=ProgressiveCapacity(pool, clock, ratio=settings.operator_ratio),
        service=OperatorService(pool, clock, accounts, manager=manager),
    )
