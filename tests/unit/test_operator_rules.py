"""Pure rules of the operators package: outcome codes, validation, thresholds."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.dialer.models import Campaign
from engine.operators.accounts import check_password_policy
from engine.operators.complaints import ComplaintThreshold
from engine.operators.dispositions import DispositionForm, outcome_codes, validate
from engine.operators.exceptions import DispositionError, PasswordPolicyError
from engine.operators.pacing import ProgressiveCapacity, uses_operators
from engine.operators.sessions import Session, SessionState

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _campaign(settings: dict[str, Any]) -> Campaign:
    return Campaign(
        id=1, name="c", kind="collections", caller_id="95555", state="running",
        max_concurrent=10, calls_per_second=5.0, ring_timeout_s=30, max_attempts=3,
        retry_delays={}, timezone="Asia/Shanghai", default_region="CN",
        settings=settings,
    )  # fmt: skip


def test_outcome_codes_fit_kind_and_share_common_ones() -> None:
    collections = outcome_codes("collections")
    survey = outcome_codes("survey")

    assert "promise_to_pay" in collections
    assert "promise_to_pay" not in survey
    assert {"refused", "complaint", "callback_requested"} <= set(survey)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (DispositionForm("c1", "sale"), "not one of"),
        (DispositionForm("c1", "completed", notes="x" * 4001), "notes longer"),
        (
            DispositionForm("c1", "completed", callback_at=NOW - timedelta(hours=1)),
            "next 90 days",
        ),
        (
            DispositionForm("c1", "completed", callback_at=datetime(2026, 12, 4, 9)),
            "time zone",
        ),
        (DispositionForm("c1", "callback_requested"), "needs a callback time"),
        (
            DispositionForm(
                "c1", "refused", refusal=True, callback_at=NOW + timedelta(days=1)
            ),
            "cannot also ask",
        ),
    ],
)
def test_disposition_validate_bad_form_names_problem(
    form: DispositionForm, message: str
) -> None:
    with pytest.raises(DispositionError, match=message):
        validate(form, "collections", NOW)


def test_disposition_validate_good_callback_passes() -> None:
    form = DispositionForm(
        "c1", "callback_requested", callback_at=NOW + timedelta(days=2)
    )

    validate(form, "collections", NOW)


def test_complaint_threshold_defaults_and_overrides() -> None:
    default = ComplaintThreshold.from_settings({"operators": True})
    custom = ComplaintThreshold.from_settings(
        {"operators": {"complaints": {"max": 2, "window_min": 15, "max_share": 0.1}}}
    )

    assert (default.max, default.window_min, default.max_share) == (5, 60.0, None)
    assert (custom.max, custom.window_min, custom.max_share) == (2, 15.0, 0.1)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, False),
        ({"operators": True}, True),
        ({"operators": False}, False),
        ({"operators": {"ratio": 2}}, True),
        ({"operators": {"enabled": False, "ratio": 2}}, False),
    ],
)
def test_uses_operators_follows_campaign_settings(
    settings: dict[str, Any], expected: bool
) -> None:
    assert uses_operators(_campaign(settings)) is expected


def test_ratio_bad_or_missing_falls_back_to_default() -> None:
    pacing = ProgressiveCapacity(None, None, ratio=1.5)  # type: ignore[arg-type]

    assert pacing.ratio_for(_campaign({"operators": {"ratio": 2.5}})) == 2.5
    assert pacing.ratio_for(_campaign({"operators": {"ratio": "lots"}})) == 1.5
    assert pacing.ratio_for(_campaign({"operators": {"ratio": 0}})) == 1.5
    assert pacing.ratio_for(_campaign({"operators": True})) == 1.5


def test_session_finished_wrap_up_is_effectively_ready() -> None:
    session = Session(
        id=1, operator_id="op", campaign_id=None, state=SessionState.WRAP_UP,
        state_since=NOW, idle_since=NOW + timedelta(seconds=30),
        wrap_up_until=NOW + timedelta(seconds=30), pause_reason=None,
        engine_id="e", channel_id="ch", holding_bridge_id="h", call_id="c",
        calls_taken=1, started_at=NOW, ended_at=None, end_reason=None,
        endpoint="PJSIP/6001",
    )  # fmt: skip

    assert session.effective_state(NOW) is SessionState.WRAP_UP
    assert session.effective_state(NOW + timedelta(seconds=31)) is SessionState.READY


@pytest.mark.parametrize("password", ["short", "x" * 300, "my-op42-password"])
def test_password_policy_rejects_weak(password: str) -> None:
    with pytest.raises(PasswordPolicyError):
        check_password_policy("op42", password)
