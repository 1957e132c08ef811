"""
The recordings archive: fetch finished recordings from Asterisk, keep them safe.

A file is written under ``<root>/YYYY/MM/DD/<id:06d>-<attempt>.wav`` (the
number is ``recordings.id``, so files sort in the order calls were answered),
to a temporary name first, fsynced and renamed, so a crash never leaves a
half file under the final name. Its SHA-256, size and duration are stored, and
only then is the copy on Asterisk deleted. A failed fetch is retried with
exponential backoff; the row keeps state ``finished`` until it succeeds, so a
recording is never dropped, and another engine's archiver picks up what a
crashed one left.
"""

import asyncio
import contextlib
import hashlib
import io
import wave
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

import structlog

from engine.ari import AriClient, AriError, AriNotFoundError
from engine.clock import Clock
from engine.dialer.models import PendingRecording
from engine.dialer.repository import CallRepository
from engine.files import write_durably

log = structlog.get_logger(__name__)

# A recording Asterisk says does not exist is retried this many times (it may
# still be being written) before its row is marked failed.
_MAX_NOT_FOUND = 8
_MAX_BACKOFF_S = 900.0


@dataclass(frozen=True)
class ArchivedFile:
    """What was written: where, and the facts stored in Postgres."""

    path: Path
    sha256: str
    size: int
    duration_s: float | None


def wav_duration(data: bytes) -> float | None:
    """Seconds of audio in a WAV file, from its header; None if not a WAV."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else None
    except (wave.Error, EOFError):
        return None


def write_atomically(path: Path, data: bytes) -> ArchivedFile:
    """Write ``data`` durably to ``path``; what to store about it in Postgres."""
    write_durably(path, data)

    return ArchivedFile(
        path, hashlib.sha256(data).hexdigest(), len(data), wav_duration(data)
    )


def backoff_s(fetch_attempts: int) -> float:
    """Seconds before the next fetch after ``fetch_attempts`` failures."""
    return min(_MAX_BACKOFF_S, 2.0 * 2.0 ** max(0, fetch_attempts))


class Archiver:
    """Moves finished recordings from Asterisk into the local archive."""

    def __init__(
        self,
        repo: CallRepository,
        ari: AriClient,
        clock: Clock,
        root: Path,
        *,
        batch: int = 16,
        hold_s: float = 120.0,
        orphan_grace_s: float = 10.0,
        poll_s: float = 2.0,
    ) -> None:
        self.repo = repo
        self.ari = ari
        self.clock = clock
        self.root = root
        self.batch = batch
        self.hold_s = hold_s
        self.orphan_grace_s = orphan_grace_s
        self.poll_s = poll_s
        self.wake = asyncio.Event()
        self.stopping = False

    def stop(self) -> None:
        """Ask ``run()`` to return after its next complete pass."""
        self.stopping = True
        self.wake.set()

    def path_for(self, recording: PendingRecording) -> Path:
        """Where a recording goes in the archive."""
        day = recording.started_at.astimezone(UTC)
        name = f"{recording.id:06d}-{recording.attempt_id}.{recording.format}"

        return self.root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / name

    async def run(self) -> None:
        """
        Archive, woken by finished recordings or a poll, until ``stop()``.

        After ``stop()`` it finishes the pass in hand and one more, so that a
        fetch is never cut off halfway by a clean shutdown.
        """
        while True:
            try:
                while await self.run_once() == self.batch:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("archiver_pass_failed")
            if self.stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self.wake.wait()
            self.wake.clear()

    async def run_once(self) -> int:
        """One pass: queue orphans, fetch what is due; return how many were due."""
        now = self.clock.now()
        await self.repo.finish_orphan_recordings(now, self.orphan_grace_s)
        due = await self.repo.claim_recordings(now, self.batch, self.hold_s)
        await asyncio.gather(*(self.fetch(r) for r in due))

        return len(due)

    async def fetch(self, recording: PendingRecording) -> bool:
        """Fetch one recording into the archive; False if it must be retried."""
        with structlog.contextvars.bound_contextvars(
            recording_id=recording.id, call_id=recording.attempt_id
        ):
            try:
                data = await self.ari.download_recording(recording.name)
            except AriNotFoundError:
                await self._failed(recording, "not found on asterisk", not_found=True)
                return False
            except AriError as exc:
                await self._failed(recording, str(exc))
                return False
            stored = await asyncio.to_thread(
                write_atomically, self.path_for(recording), data
            )
            await self.repo.mark_archived(
                recording.id,
                str(stored.path),
                stored.sha256,
                stored.size,
                stored.duration_s or 0.0,
                self.clock.now(),
            )
            await self._delete_on_asterisk(recording.name)
            log.info(
                "recording_archived",
                size_bytes=stored.size,
                duration_s=stored.duration_s,
                path=str(stored.path),
            )

        return True

    async def _failed(
        self, recording: PendingRecording, error: str, *, not_found: bool = False
    ) -> None:
        attempts = recording.fetch_attempts + 1
        if not_found and attempts >= _MAX_NOT_FOUND:
            await self.repo.mark_fetch_failed(recording.id, error, None)
            log.error("recording_lost", attempts=attempts, error=error)
            return
        retry_at = self.clock.now() + timedelta(seconds=backoff_s(attempts))
        await self.repo.mark_fetch_failed(recording.id, error, retry_at)
        log.warning("recording_fetch_failed", attempts=attempts, error=error)

    async def _delete_on_asterisk(self, name: str) -> None:
        try:
            await self.ari.delete_stored_recording(name)
        except AriNotFoundError:
            log.info("stored_recording_already_gone")
        except AriError as exc:
            log.warning("stored_recording_delete_failed", error=str(exc))
