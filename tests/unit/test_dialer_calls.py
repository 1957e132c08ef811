"""Tests of the call state machine and the archive's file handling."""

import hashlib
import io
import wave
from pathlib import Path

from engine.dialer.archive import backoff_s, wav_duration, write_atomically
from engine.dialer.calls import ANSWERED, CREATED, ENDED, ORIGINATING, RINGING
from engine.dialer.services import DialPlan


def test_call_state_happy_path_reaches_answered() -> None:
    state = CREATED.originate_sent().dialled("RINGING").stasis_started()

    assert state is ANSWERED


def test_call_state_late_events_after_end_change_nothing() -> None:
    ended = RINGING.ended()

    assert ended is ENDED
    assert ended.stasis_started() is ENDED
    assert ended.dialled("ANSWER") is ENDED
    assert ended.ended() is ENDED


def test_call_state_stasis_before_ringing_answers() -> None:
    """Events may overtake each other: StasisStart without a RINGING Dial."""
    assert ORIGINATING.stasis_started() is ANSWERED
    assert CREATED.stasis_started() is CREATED


def test_dial_plan_template_fills_number_and_e164() -> None:
    plan = DialPlan("Local/{number}@sim-customers/{e164}")

    assert plan.endpoint("+8613800000001") == (
        "Local/8613800000001@sim-customers/+8613800000001"
    )


def _wav(seconds: float, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\0\0" * int(seconds * rate))

    return buffer.getvalue()


def test_write_atomically_stores_checksum_size_duration(tmp_path: Path) -> None:
    data = _wav(2.5)
    target = tmp_path / "2026" / "12" / "03" / "000123-abc.wav"

    stored = write_atomically(target, data)

    assert target.read_bytes() == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (stored.size, stored.duration_s) == (len(data), 2.5)
    assert [p.name for p in target.parent.iterdir()] == ["000123-abc.wav"]


def test_wav_duration_not_a_wav_is_none() -> None:
    assert wav_duration(b"not audio") is None


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff_s(n) for n in range(1, 12)]

    assert delays == sorted(delays)
    assert delays[0] == 4.0
    assert delays[-1] == 900.0
