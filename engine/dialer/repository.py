"""
The dialer's Postgres queries: engines, contact leases, call attempts, recordings.

Every state change a restarted engine must be able to rely on is committed
before the action it describes: the attempt row before the originate, the
recording row before the recording starts. Leases have an owner and an expiry
renewed by the heartbeat, so the work of a dead engine can be taken over.
"""

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from engine.db.audit import audit
from engine.dialer.models import Campaign, Contact, OpenAttempt, PendingRecording
from engine.dialer.outcomes import Disposition, Outcome, dispose

_LEASE = "now() + make_interval(secs => $%d)"

_LEASE_CONTACTS = f"""
WITH due AS (
    SELECT id FROM contacts
    WHERE campaign_id = $1 AND state = 'pending' AND next_attempt_at <= $2
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE contacts c
SET state = 'leased', lease_owner = $4, lease_expires_at = {_LEASE % 5},
    updated_at = now()
FROM due WHERE c.id = due.id
RETURNING c.*
"""

_CREATE_ATTEMPT = f"""
INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,
    caller_id, dial_string, engine_id, lease_expires_at)
SELECT $1, $2, $3, coalesce(max(attempt_no), 0) + 1, $4, $5, $6, $7, {_LEASE % 8}
FROM call_attempts WHERE contact_id = $3
RETURNING attempt_no
"""

_FINISH_CAMPAIGN = """
UPDATE campaigns SET state = 'finished', state_reason = 'all contacts done',
    updated_at = now()
WHERE id = $1 AND state = 'running'
AND NOT EXISTS (SELECT 1 FROM contacts WHERE campaign_id = $1
    AND state IN ('pending', 'leased'))
AND NOT EXISTS (SELECT 1 FROM call_attempts WHERE campaign_id = $1
    AND state <> 'ended')
"""

_END_ATTEMPT = """
UPDATE call_attempts
SET state = 'ended', outcome = $2, dialstatus = coalesce($3, dialstatus),
    hangup_cause = $4, hangup_cause_txt = $5, ended_at = $6
WHERE id = $1 AND state <> 'ended'
RETURNING contact_id, campaign_id
"""

_UPDATE_CONTACT = """
UPDATE contacts
SET state = $2, next_attempt_at = coalesce($3, next_attempt_at),
    last_outcome = coalesce($4, last_outcome), state_reason = $5, lease_owner = NULL,
    lease_expires_at = NULL, updated_at = now()
WHERE id = $1
"""


class CallRepository:
    """Queries of the call controller, on one asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, engine_id: str, lease_seconds: int) -> None:
        self.pool = pool
        self.engine_id = engine_id
        self.lease_seconds = lease_seconds

    # Engines ------------------------------------------------------------------

    async def register_engine(self, hostname: str, pid: int, ari_url: str) -> None:
        """Insert or refresh this engine's row."""
        await self.pool.execute(
            "INSERT INTO engines (id, hostname, pid, ari_url) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (id) DO UPDATE SET hostname = $2, pid = $3, ari_url = $4,"
            " started_at = now(), heartbeat_at = now()",
            self.engine_id,
            hostname,
            pid,
            ari_url,
        )

    async def heartbeat(self) -> None:
        """Stamp this engine alive and renew its contact and attempt leases."""
        # Three separate statements, no transaction: end_attempt locks an
        # attempt then its contact, so renewing both in one transaction here
        # could deadlock with it.
        secs = float(self.lease_seconds)
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE engines SET heartbeat_at = now() WHERE id = $1", self.engine_id
            )
            await conn.execute(
                "UPDATE contacts SET lease_expires_at = now() + make_interval(secs => $2)"
                " WHERE lease_owner = $1 AND state = 'leased'",
                self.engine_id,
                secs,
            )
            await conn.execute(
                "UPDATE call_attempts"
                " SET lease_expires_at = now() + make_interval(secs => $2)"
                " WHERE engine_id = $1 AND state <> 'ended'",
                self.engine_id,
                secs,
            )

    async def deregister_engine(self) -> None:
        """Remove this engine's row at a clean shutdown."""
        await self.pool.execute("DELETE FROM engines WHERE id = $1", self.engine_id)

    # Campaigns ----------------------------------------------------------------

    async def running_campaigns(self) -> list[Campaign]:
        """Every campaign in state running."""
        rows = await self.pool.fetch(
            "SELECT * FROM campaigns WHERE state = 'running' ORDER BY id"
        )

        return [Campaign.from_row(r) for r in rows]

    async def campaign(self, campaign_id: int) -> Campaign | None:
        """One campaign by id."""
        row = await self.pool.fetchrow(
            "SELECT * FROM campaigns WHERE id = $1", campaign_id
        )

        return None if row is None else Campaign.from_row(row)

    async def finish_campaign_if_done(self, campaign_id: int) -> bool:
        """
        Mark a running campaign finished once no contact is left to dial.

        The state change, its audit row and the NOTIFY commit together, as
        every other campaign state change does.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            result = await conn.execute(_FINISH_CAMPAIGN, campaign_id)
            done: bool = result.endswith(" 1")
            if done:
                await audit(
                    conn,
                    f"engine:{self.engine_id}",
                    "campaign_finished",
                    "campaign",
                    campaign_id,
                    reason="all contacts done",
                )
                await conn.execute(
                    "SELECT pg_notify('outdial_campaign', $1)",
                    f"{campaign_id}:finished",
                )

        return done

    # Contacts -----------------------------------------------------------------

    async def lease_contacts(
        self, campaign_id: int, limit: int, now: datetime
    ) -> list[Contact]:
        """Lease up to ``limit`` due contacts no other engine holds."""
        rows = await self.pool.fetch(
            _LEASE_CONTACTS,
            campaign_id,
            now,
            limit,
            self.engine_id,
            float(self.lease_seconds),
        )

        return sorted((Contact.from_row(r) for r in rows), key=lambda c: c.id)

    async def release_contacts(self, contact_ids: Sequence[int]) -> None:
        """Give back leased contacts that were never dialled."""
        await self.pool.execute(
            "UPDATE contacts SET state = 'pending', lease_owner = NULL,"
            " lease_expires_at = NULL, updated_at = now()"
            " WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND state = 'leased'",
            list(contact_ids),
            self.engine_id,
        )

    async def refuse_contact(
        self,
        contact_id: int,
        reason: str,
        retry_at: datetime | None,
        final: bool,
        closes_as: str = "cancelled",
    ) -> None:
        """A gate said no: reschedule the contact, or close it if final."""
        state = closes_as if final or retry_at is None else "pending"
        await self.pool.execute(
            "UPDATE contacts SET state = $2, state_reason = $3,"
            " next_attempt_at = coalesce($4, next_attempt_at), lease_owner = NULL,"
            " lease_expires_at = NULL, updated_at = now() WHERE id = $1",
            contact_id,
            state,
            reason,
            None if final else retry_at,
        )

    async def reclaim_expired_leases(self) -> int:
        """Return to the queue contacts whose lease lapsed with no open attempt."""
        result = await self.pool.execute(
            "UPDATE contacts c SET state = 'pending', lease_owner = NULL,"
            " lease_expires_at = NULL, updated_at = now()"
            " WHERE c.state = 'leased' AND c.lease_expires_at < now()"
            " AND NOT EXISTS (SELECT 1 FROM call_attempts a"
            "   WHERE a.contact_id = c.id AND a.state <> 'ended')"
        )

        return int(result.split()[-1])

    async def release_idle_leases(self) -> int:
        """At start-up: contacts this engine id leased but never dialled."""
        result = await self.pool.execute(
            "UPDATE contacts c SET state = 'pending', lease_owner = NULL,"
            " lease_expires_at = NULL, updated_at = now()"
            " WHERE c.state = 'leased' AND c.lease_owner = $1"
            " AND NOT EXISTS (SELECT 1 FROM call_attempts a"
            "   WHERE a.contact_id = c.id AND a.state <> 'ended')",
            self.engine_id,
        )

        return int(result.split()[-1])

    # Call attempts ------------------------------------------------------------

    async def campaign_state(self, conn: asyncpg.Connection, campaign_id: int) -> str:
        """The campaign's state as committed now (not as this engine last saw)."""
        state: str = await conn.fetchval(
            "SELECT state FROM campaigns WHERE id = $1", campaign_id
        )

        return state

    async def create_attempt(
        self, attempt_id: str, campaign: Campaign, contact: Contact, dial_string: str
    ) -> int:
        """Write (and commit) the attempt row; return its attempt number."""
        attempt_no: int = await self.pool.fetchval(
            _CREATE_ATTEMPT,
            attempt_id,
            campaign.id,
            contact.id,
            contact.phone,
            campaign.caller_id,
            dial_string,
            self.engine_id,
            float(self.lease_seconds),
        )

        return attempt_no

    async def mark_originating(
        self, attempt_id: str, contact_id: int, at: datetime
    ) -> None:
        """Record that the originate is being sent and count the dial."""
        # One statement, one round trip: this sits right before every originate.
        await self.pool.execute(
            "WITH sent AS (UPDATE call_attempts SET state = 'originating',"
            "   originated_at = $2 WHERE id = $1 AND state = 'created'"
            "   RETURNING contact_id)"
            " UPDATE contacts SET attempts = attempts + 1, updated_at = now()"
            " WHERE id = $3 AND EXISTS (SELECT 1 FROM sent)",
            attempt_id,
            at,
            contact_id,
        )

    async def mark_answered(
        self, attempt_id: str, bridge_id: str, at: datetime
    ) -> None:
        """Record the answer and the bridge that holds the call."""
        await self.pool.execute(
            "UPDATE call_attempts SET state = 'answered', answered_at = $2,"
            " bridge_id = $3, dialstatus = 'ANSWER' WHERE id = $1 AND state <> 'ended'",
            attempt_id,
            at,
            bridge_id,
        )

    async def end_attempt(
        self,
        attempt_id: str,
        campaign: Campaign,
        outcome: Outcome,
        at: datetime,
        *,
        dialstatus: str | None = None,
        cause: int | None = None,
        cause_txt: str | None = None,
        disposition: Disposition | None = None,
    ) -> Disposition | None:
        """
        Close an attempt and move its contact on per the retry policy.

        Returns None when the attempt was already closed (a second signal of
        the same end), so callers can finish a call from any path safely.
        ``disposition`` overrides the retry policy (a gate's refusal).
        """
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                _END_ATTEMPT,
                attempt_id,
                outcome.value,
                dialstatus,
                cause,
                cause_txt,
                at,
            )
            if row is None:
                return None
            attempts = await conn.fetchval(
                "SELECT attempts FROM contacts WHERE id = $1 FOR UPDATE",
                row["contact_id"],
            )
            result = disposition or dispose(
                outcome, attempts, campaign.max_attempts, campaign.retry_delays, at
            )
            reason = None if outcome is not Outcome.CANCELLED else cause_txt
            await conn.execute(
                _UPDATE_CONTACT,
                row["contact_id"],
                result.state,
                result.next_attempt_at,
                outcome.value if result.counted else None,
                reason,
            )

        return result

    async def open_attempts(self) -> list[OpenAttempt]:
        """This engine's attempts that are not ended."""
        rows = await self.pool.fetch(
            "SELECT * FROM call_attempts WHERE engine_id = $1 AND state <> 'ended'",
            self.engine_id,
        )

        return [OpenAttempt.from_row(r) for r in rows]

    async def take_over_expired_attempts(self) -> list[OpenAttempt]:
        """
        Claim open attempts whose owner stopped renewing their lease.

        Only attempts placed through the same Asterisk as this engine (or by an
        engine no longer registered): a call on another Asterisk cannot be
        seen from here and must not be closed as gone.
        """
        rows = await self.pool.fetch(
            "UPDATE call_attempts SET engine_id = $1,"
            " lease_expires_at = now() + make_interval(secs => $2)"
            " WHERE id IN (SELECT a.id FROM call_attempts a"
            "   LEFT JOIN engines e ON e.id = a.engine_id"
            "   WHERE a.state <> 'ended' AND a.engine_id <> $1"
            "   AND a.lease_expires_at < now()"
            "   AND (e.id IS NULL OR e.ari_url = (SELECT ari_url FROM engines"
            "     WHERE id = $1))"
            "   FOR UPDATE OF a SKIP LOCKED) RETURNING *",
            self.engine_id,
            float(self.lease_seconds),
        )
        if rows:
            await self.pool.execute(
                "UPDATE contacts SET lease_owner = $1 WHERE id = ANY($2::bigint[])",
                self.engine_id,
                [r["contact_id"] for r in rows],
            )

        return [OpenAttempt.from_row(r) for r in rows]

    async def claim_attempt(self, attempt_id: str) -> OpenAttempt | None:
        """Take one open attempt over (its customer answered on our socket)."""
        row = await self.pool.fetchrow(
            "UPDATE call_attempts SET engine_id = $2,"
            " lease_expires_at = now() + make_interval(secs => $3)"
            " WHERE id = $1 AND state <> 'ended' RETURNING *",
            attempt_id,
            self.engine_id,
            float(self.lease_seconds),
        )
        if row is None:
            return None
        await self.pool.execute(
            "UPDATE contacts SET lease_owner = $2 WHERE id = $1 AND state = 'leased'",
            row["contact_id"],
            self.engine_id,
        )

        return OpenAttempt.from_row(row)

    # Recordings ---------------------------------------------------------------

    async def create_recording(
        self, attempt_id: str, campaign_id: int, name: str
    ) -> int:
        """Write the recording row before the recording starts; return its id."""
        recording_id: int = await self.pool.fetchval(
            "INSERT INTO recordings (attempt_id, campaign_id, name) VALUES ($1, $2, $3)"
            " ON CONFLICT (attempt_id) DO UPDATE SET name = recordings.name"
            " RETURNING id",
            attempt_id,
            campaign_id,
            name,
        )

        return recording_id

    async def recording_failed_to_start(self, name: str, error: str) -> None:
        """The recording never started: nothing exists to fetch."""
        await self.pool.execute(
            "UPDATE recordings SET state = 'failed', last_error = $2"
            " WHERE name = $1 AND state = 'recording'",
            name,
            error[:500],
        )

    async def recording_finished(self, name: str, at: datetime) -> bool:
        """Mark a recording ready to fetch now; False if it was not recording."""
        result = await self.pool.execute(
            "UPDATE recordings SET state = 'finished', finished_at = $2,"
            " next_fetch_at = $2 WHERE name = $1 AND state = 'recording'",
            name,
            at,
        )
        changed: bool = result.endswith(" 1")

        return changed

    async def finish_orphan_recordings(self, now: datetime, grace_s: float) -> int:
        """
        Queue recordings left in state recording by calls that already ended.

        A crashed engine (or a lost RecordingFinished) leaves such rows; the
        file is on Asterisk all the same, so the archiver fetches it.
        """
        result = await self.pool.execute(
            "UPDATE recordings r SET state = 'finished',"
            " finished_at = coalesce(r.finished_at, $1), next_fetch_at = $1"
            " FROM call_attempts a WHERE a.id = r.attempt_id AND r.state = 'recording'"
            " AND a.state = 'ended'"
            " AND a.ended_at < $1::timestamptz - make_interval(secs => $2)",
            now,
            float(grace_s),
        )

        return int(result.split()[-1])

    async def claim_recordings(
        self, now: datetime, limit: int, hold_s: float
    ) -> list[PendingRecording]:
        """Take finished recordings due for a fetch, hiding them from others."""
        rows = await self.pool.fetch(
            "UPDATE recordings SET next_fetch_at = $1 + make_interval(secs => $3)"
            " WHERE id IN (SELECT id FROM recordings WHERE state = 'finished'"
            "   AND next_fetch_at <= $1 ORDER BY next_fetch_at, id LIMIT $2"
            "   FOR UPDATE SKIP LOCKED)"
            " RETURNING id, attempt_id, campaign_id, name, format, fetch_attempts,"
            "   started_at",
            now,
            limit,
            float(hold_s),
        )

        return [PendingRecording(**dict(r)) for r in rows]

    async def mark_archived(
        self,
        recording_id: int,
        path: str,
        sha256: str,
        size: int,
        duration_s: float,
        at: datetime,
    ) -> None:
        """Store where the file went and what it is."""
        await self.pool.execute(
            "UPDATE recordings SET state = 'archived', archive_path = $2, sha256 = $3,"
            " size_bytes = $4, duration_s = $5, archived_at = $6, last_error = NULL,"
            " fetch_attempts = fetch_attempts + 1 WHERE id = $1",
            recording_id,
            path,
            sha256,
            size,
            duration_s,
            at,
        )

    async def mark_fetch_failed(
        self, recording_id: int, error: str, retry_at: datetime | None
    ) -> None:
        """Count a failed fetch; retry at ``retry_at``, or give up when None."""
        await self.pool.execute(
            "UPDATE recordings SET fetch_attempts = fetch_attempts + 1,"
            " last_error = $2, next_fetch_at = $3,"
            " state = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE state END"
            " WHERE id = $1",
            recording_id,
            error[:500],
            retry_at,
        )

    async def contact(self, contact_id: int) -> Contact | None:
        """One contact by id (recovery rebuilds its calls from it)."""
        row = await self.pool.fetchrow(
            "SELECT * FROM contacts WHERE id = $1", contact_id
        )

        return None if row is None else Contact.from_row(row)

    async def recording_of(self, attempt_id: str) -> tuple[int, str] | None:
        """The id and name of an attempt's recording, if it has one."""
        row = await self.pool.fetchrow(
            "SELECT id, name FROM recordings WHERE attempt_id = $1", attempt_id
        )

        return None if row is None else (row["id"], row["name"])

    async def release_recording_claims(self, now: datetime) -> int:
        """
        At start-up: make this engine's queued recordings due at once.

        A claim hides a recording from other archivers for a while; the claims
        of a previous process with this engine id died with it.
        """
        result = await self.pool.execute(
            "UPDATE recordings r SET next_fetch_at = $2 FROM call_attempts a"
            " WHERE a.id = r.attempt_id AND a.engine_id = $1"
            " AND r.state = 'finished' AND r.next_fetch_at > $2",
            self.engine_id,
            now,
        )

        return int(result.split()[-1])
