"""
The kinds of call a campaign may make: one fixed list shared by every part.

Compliance rules (calling windows, consent, limits) are keyed on these names,
so adding a kind here is a decision for compliance as much as for campaigns.
"""

from enum import StrEnum

from engine.campaigns.exceptions import UnknownKindError


class CallKind(StrEnum):
    """Why the bank calls: the purpose a campaign declares."""

    COLLECTIONS = "collections"
    TRANSACTION_CHECK = "transaction_check"
    FRAUD_ALERT = "fraud_alert"
    CARD_RENEWAL = "card_renewal"
    DORMANT_ACCOUNT = "dormant_account"
    MARKETING = "marketing"
    INSURANCE = "insurance"
    GREETING = "greeting"
    SURVEY = "survey"
    FOLLOW_UP = "follow_up"
    CUSTOMER_CARE = "customer_care"


KINDS: tuple[str, ...] = tuple(kind.value for kind in CallKind)


def parse_kind(value: str) -> CallKind:
    """The kind named by ``value`` (case and dashes forgiven), or an error."""
    key = value.strip().lower().replace("-", "_")
    try:
        return CallKind(key)
    except ValueError:
        raise UnknownKindError(value, KINDS) from None
