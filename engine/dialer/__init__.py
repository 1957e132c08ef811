"""
The call controller: leases contacts, places calls through ARI, records every
answered call, closes attempts, archives recordings, and finds its calls again
after a restart.

Modules::

    engine.py      build_engine(...) -> Engine: the composition root; Engine.run
    controller.py  one CampaignRunner per running campaign (lease, pace, place)
    services.py    CallService: place / answer / finish one call
    stasis.py      CallEvents: the ARI event handlers (one subscribe() table)
    calls.py       Call and its state machine; CallRegistry keyed by channel id
    pacing.py      TokenBucket (calls per second) and Pacer (concurrency caps)
    outcomes.py    classify(dialstatus, cause) and dispose(...) (retry policy)
    repository.py  CallRepository: asyncpg queries (SKIP LOCKED leases, ...)
    recovery.py    Recovery: ARI re-sync snapshots, restart, dead engines
    archive.py     Archiver: stored recordings -> recordings/YYYY/MM/DD/

Seams (``engine.dialer.seams``), passed to ``build_engine``::

    build_engine(settings, pool, ari, clock, *, gates, answer_handler=None,
                 capacity=None, dsn=None) -> Engine

    class DialGate(Protocol):
        async def check(self, conn, campaign: Campaign, contact: Contact,
                        now: datetime, stage: Literal["lease", "originate"]
                        ) -> GateDecision  # (allowed, reason, retry_at, final)
    # Asked when a contact is leased and again right before the originate,
    # after the attempt row is committed. A refusal at "lease" reschedules the
    # contact to retry_at (or closes it, state 'cancelled', when final or no
    # retry_at) with state_reason = reason; at "originate" the attempt row is
    # also closed with outcome 'cancelled' and never originated. A gate that
    # raises counts as a refusal for 60 s.

    class AnswerHandler(Protocol):
        async def on_answered(self, call: Call) -> None
    # Runs in its own task once the customer is in the mixing bridge
    # call.bridge_id and the bridge recording has started. Call gives: id
    # (= channel id = attempt id), campaign, contact, bridge_id, ari,
    # play(media) (waits for the end), hangup(), ended (asyncio.Event).
    # Optional: async def on_resumed(call) for an answered call re-adopted
    # after a restart; without it such a call is hung up. Default: PlayMessage
    # (settings.answer_media, then hang up).

    class CapacityProvider(Protocol):
        async def capacity(self, campaign: Campaign) -> int
    # New calls the campaign may start now. Default MaxConcurrent: its
    # max_concurrent minus its calls in progress. The engine-wide cap
    # settings.max_calls and the calls-per-second bucket apply on top.

Identifiers: attempt id = customer channel id (UUID string); bridge
``bridge-<attempt>``; recording ``outdial-<campaign>-<attempt>``; appArgs
``customer,<attempt>``; channel variables CAMPAIGN_ID, CONTACT_ID, ATTEMPT_ID.
A campaign with nothing left to dial is set to ``finished`` (NOTIFY sent).

Logs: ``call_answered``, ``call_ended`` (one INFO line per call: call_id,
campaign_id, outcome, duration_ms, masked number), ``contact_refused``,
``originate_failed``, ``recording_archived``, ``recording_fetch_failed``,
``calls_resynced``, ``call_adopted``, ``attempt_closed_on_recovery``.
"""
