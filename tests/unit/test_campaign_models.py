"""Campaign settings, kinds of call and the state machine, without a database."""

from decimal import Decimal

import pytest

from engine.campaigns.exceptions import InvalidCampaignError, UnknownKindError
from engine.campaigns.kinds import KINDS, CallKind, parse_kind
from engine.campaigns.models import (
    TRANSITIONS,
    CampaignSpec,
    CampaignState,
    RetryPolicy,
)


def test_kinds_fixed_list_has_the_eleven_kinds():
    assert set(KINDS) == {
        "collections", "transaction_check", "fraud_alert", "card_renewal",
        "dormant_account", "marketing", "insurance", "greeting", "survey",
        "follow_up", "customer_care",
    }  # fmt: skip


def test_parse_kind_forgives_case_and_dashes():
    assert parse_kind(" Fraud-Alert ") is CallKind.FRAUD_ALERT


def test_parse_kind_unknown_raises_naming_known_kinds():
    with pytest.raises(
        UnknownKindError, match=r"unknown kind of call 'lottery'.*survey"
    ):
        parse_kind("lottery")


def test_spec_defaults_are_valid_and_normalised():
    spec = CampaignSpec(" q1 ", "survey", "+8695555", calls_per_second=2.5)

    assert (spec.name, spec.kind, spec.calls_per_second) == (
        "q1",
        CallKind.SURVEY,
        Decimal("2.5"),
    )
    assert spec.retry.delay_after("busy") == 300
    assert spec.retry.delay_after("answered") is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "name must be 1 to 200"),
        ({"caller_id": "bank"}, "caller id 'bank' is not a number"),
        ({"max_concurrent": 0}, "max concurrent calls"),
        ({"calls_per_second": 0}, "calls per second"),
        ({"ring_timeout_s": 2}, "ring timeout"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"default_region": "XX"}, "unknown region 'XX'"),
    ],
)
def test_spec_out_of_range_raises_clear_error(changes: dict, message: str):
    values = {"name": "q1", "kind": "survey", "caller_id": "95555"} | changes

    with pytest.raises(InvalidCampaignError, match=message):
        CampaignSpec(**values)


def test_retry_policy_unretryable_outcome_refused():
    with pytest.raises(
        InvalidCampaignError, match="cannot retry on outcome 'answered'"
    ):
        RetryPolicy(3, {"answered": 60})


def test_transitions_pause_only_from_running_and_stop_not_from_ended():
    pause_from, pause_to = TRANSITIONS["pause"]
    stop_from, _ = TRANSITIONS["stop"]

    assert pause_from == {CampaignState.RUNNING}
    assert pause_to is CampaignState.PAUSED
    assert CampaignState.STOPPED not in stop_from
    assert CampaignState.FINISHED not in stop_from
