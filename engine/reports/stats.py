"""
Campaign statistics per campaign, operator, team, day and hour.

Every figure has one definition, used by the tables, the exports and the charts.
Attempt figures count **ended** attempts only (``call_attempts.state =
'ended'``); a call in progress appears once it ends. A group's day or hour is
that of the attempt's ``created_at`` in the campaign's time zone.

records received
    contacts loaded into the campaign (rows of ``contacts``).
suppressed
    contacts in state ``suppressed`` (do-not-call or another block).
completed
    contacts in a final state: ``done``, ``exhausted``, ``suppressed`` or
    ``cancelled``. **completion rate** = completed / records received.
dialled
    ended attempts whose outcome is not ``cancelled`` (a cancelled attempt was
    withdrawn before it reached the network).
connected
    dialled attempts the customer answered: outcome ``answered`` or
    ``abandoned``. **connect rate** = connected / dialled.
failed (by reason)
    dialled attempts with outcome ``busy``, ``no_answer``, ``rejected``,
    ``congestion``, ``failed`` or ``unreachable``, counted per outcome.
abandoned
    attempts with outcome ``abandoned``: answered, then dropped because no
    operator took the call. **abandon rate** = abandoned / connected.
average talk time
    mean of ``ended_at - answered_at`` over attempts with outcome ``answered``.
average wrap-up time
    mean of ``dispositions.created_at - operator_calls.ended_at``: from the end
    of a bridged call to the operator's disposition (a disposition saved before
    the call ended has no wrap-up and is left out of the mean).
dispositions by code
    dispositions per ``dispositions.outcome``.
callbacks pending
    dispositions whose ``callback_at`` is at or after the report's ``as_of``.
complaints
    dispositions flagged ``complaint``.

Per operator and per team, only what an operator did is attributable:
**connected** counts the operator's bridged calls that have ended, and their
**average talk time** is the time with the operator, ``operator_calls.ended_at
- bridged_at``; wrap-up, dispositions, callbacks and complaints as above.
Contact and dialling figures are not attributable and are left empty. A day's
(or hour's) dispositions are those of calls made that day (hour).

Figures come from trigger-maintained counters (``source="counters"``):
``report_hourly`` (0005) for attempts, ``report_operator_hourly`` and
``report_disposition_hourly`` (0006) for operators and dispositions; callbacks
pending are counted live through a partial index. ``source="raw"`` computes
everything from the source rows and must give the same numbers.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import asyncpg

from engine.reports.exceptions import ReportError, UnknownCampaignError

FINAL_STATES = ("done", "exhausted", "suppressed", "cancelled")
FAILED_OUTCOMES = (
    "busy",
    "no_answer",
    "rejected",
    "congestion",
    "failed",
    "unreachable",
)
CONNECTED_OUTCOMES = ("answered", "abandoned")


class Grouping(StrEnum):
    """What one row of a report stands for."""

    CAMPAIGN = "campaign"
    OPERATOR = "operator"
    TEAM = "team"
    DAY = "day"
    HOUR = "hour"


def _ratio(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


@dataclass
class GroupStats:
    """The figures of one group (a campaign, operator, team, day or hour)."""

    key: str
    received: int | None = None
    suppressed: int | None = None
    completed: int | None = None
    dialled: int | None = None
    connected: int = 0
    failed: dict[str, int] | None = None
    abandoned: int | None = None
    talk_n: int = 0
    talk_s: float = 0.0
    wrap_n: int = 0
    wrap_s: float = 0.0
    dispositions: dict[str, int] = field(default_factory=dict)
    callbacks_pending: int = 0
    complaints: int = 0

    @property
    def completion_rate(self) -> float | None:
        """Completed contacts over records received."""
        return _ratio(self.completed, self.received)

    @property
    def connect_rate(self) -> float | None:
        """Connected attempts over dialled attempts."""
        return _ratio(self.connected, self.dialled)

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned attempts over connected attempts."""
        return _ratio(self.abandoned, self.connected)

    @property
    def failed_total(self) -> int | None:
        """Failed attempts of every reason."""
        return None if self.failed is None else sum(self.failed.values())

    @property
    def avg_talk_s(self) -> float | None:
        """Mean talk time of answered attempts, in seconds."""
        return self.talk_s / self.talk_n if self.talk_n else None

    @property
    def avg_wrap_s(self) -> float | None:
        """Mean wrap-up time, in seconds."""
        return self.wrap_s / self.wrap_n if self.wrap_n else None


@dataclass(frozen=True)
class Scope:
    """Whose calls a report may show: None means every operator's."""

    operators: frozenset[str] | None = None
    teams: frozenset[str] | None = None

    def as_arrays(self) -> tuple[list[str] | None, list[str] | None]:
        """
        The operators and teams as SQL array arguments (None: no limit).

        Sorted, so the same scope always sends the same parameters.
        """
        operators = None if self.operators is None else sorted(self.operators)
        teams = None if self.teams is None else sorted(self.teams)

        return operators, teams


@dataclass
class CampaignReport:
    """A campaign's statistics grouped one way."""

    campaign_id: int
    campaign_name: str
    timezone: str
    grouping: Grouping
    as_of: datetime
    rows: list[GroupStats]


async def load_campaign(
    conn: asyncpg.Connection | asyncpg.Pool, campaign: str | int
) -> asyncpg.Record:
    """The campaign named (or numbered) ``campaign``, or an error."""
    if isinstance(campaign, int) or str(campaign).isdigit():
        row = await conn.fetchrow(
            "SELECT id, name, kind, timezone FROM campaigns WHERE id = $1",
            int(campaign),
        )
    else:
        row = await conn.fetchrow(
            "SELECT id, name, kind, timezone FROM campaigns WHERE name = $1", campaign
        )
    if row is None:
        raise UnknownCampaignError(str(campaign))

    return row


async def campaign_report(
    conn: asyncpg.Connection,
    campaign: str | int,
    grouping: Grouping | str = Grouping.CAMPAIGN,
    *,
    as_of: datetime,
    scope: Scope | None = None,
    source: str = "counters",
) -> CampaignReport:
    """Compute a campaign's statistics, one row per group, ordered by key."""
    grouping = Grouping(grouping)
    if source not in ("counters", "raw"):
        raise ReportError(f"unknown statistics source: {source}")
    scope = scope or Scope()
    camp = await load_campaign(conn, campaign)
    groups: dict[str, GroupStats] = {}

    def group(key: Any) -> GroupStats:
        label = _label(key)
        if label not in groups:
            groups[label] = GroupStats(label)
        return groups[label]

    args = (conn, camp["id"], camp["timezone"], grouping)
    if grouping in (Grouping.CAMPAIGN, Grouping.DAY, Grouping.HOUR):
        await _add_contacts(*args, group)
        await _add_attempts(*args, group, source)
    else:
        await _add_operator_calls(*args, group, scope, source)
    await _add_dispositions(*args, group, scope, source)
    await _add_callbacks(*args, group, as_of, scope)
    if grouping == Grouping.CAMPAIGN and not groups:
        group(camp["name"])
    elif grouping == Grouping.CAMPAIGN:
        groups = {camp["name"]: _merge_single(groups, camp["name"])}
    rows = [groups[k] for k in sorted(groups)]

    return CampaignReport(
        camp["id"], camp["name"], camp["timezone"], grouping, as_of, rows
    )


def _label(key: Any) -> str:
    if key is None:
        return "(none)"
    if isinstance(key, date | datetime):
        return key.isoformat()
    if isinstance(key, int | float):
        return f"{int(key):02d}"
    return str(key)


def _merge_single(groups: dict[str, GroupStats], name: str) -> GroupStats:
    only = next(iter(groups.values()))
    only.key = name
    return only


def _key_sql(grouping: Grouping, column: str) -> str:
    """The SQL expression of a row's group key from a timestamp column."""
    if grouping == Grouping.DAY:
        return f"({column} AT TIME ZONE $2)::date"
    if grouping == Grouping.HOUR:
        return f"extract(hour FROM {column} AT TIME ZONE $2)::int"
    return "$2::text"


async def _add_contacts(
    conn: asyncpg.Connection, campaign_id: int, tz: str, grouping: Grouping, group: Any
) -> None:
    if grouping == Grouping.HOUR:
        return
    rows = await conn.fetch(
        f"""
        SELECT {_key_sql(grouping, "created_at")} AS key, count(*) AS received,
               count(*) FILTER (WHERE state = 'suppressed') AS suppressed,
               count(*) FILTER (WHERE state = ANY($3::text[])) AS completed
        FROM contacts WHERE campaign_id = $1 GROUP BY 1
        """,
        campaign_id,
        tz,
        list(FINAL_STATES),
    )
    for row in rows:
        stats = group(row["key"])
        stats.received = row["received"]
        stats.suppressed = row["suppressed"]
        stats.completed = row["completed"]


async def _add_attempts(
    conn: asyncpg.Connection,
    campaign_id: int,
    tz: str,
    grouping: Grouping,
    group: Any,
    source: str,
) -> None:
    if source == "counters":
        sql = f"""
            SELECT {_key_sql(grouping, "hour")} AS key, outcome,
                   sum(attempts)::bigint AS n, sum(talk_n)::bigint AS talk_n,
                   sum(talk_s)::float8 AS talk_s
            FROM report_hourly WHERE campaign_id = $1 GROUP BY 1, 2
        """
    else:
        sql = f"""
            SELECT {_key_sql(grouping, "created_at")} AS key,
                   coalesce(outcome, 'unknown') AS outcome, count(*) AS n,
                   count(*) FILTER (WHERE outcome = 'answered'
                       AND answered_at IS NOT NULL AND ended_at IS NOT NULL) AS talk_n,
                   coalesce(sum(extract(epoch FROM ended_at - answered_at))
                       FILTER (WHERE outcome = 'answered'), 0)::float8 AS talk_s
            FROM call_attempts WHERE campaign_id = $1 AND state = 'ended'
            GROUP BY 1, 2
        """
    for row in await conn.fetch(sql, campaign_id, tz):
        _fold_outcome(group(row["key"]), row)


def _fold_outcome(stats: GroupStats, row: asyncpg.Record) -> None:
    outcome, n = row["outcome"], row["n"]
    if stats.failed is None:
        stats.failed = {}
        stats.dialled = 0
        stats.abandoned = 0
    if outcome != "cancelled":
        stats.dialled = (stats.dialled or 0) + n
    if outcome in CONNECTED_OUTCOMES:
        stats.connected += n
    if outcome == "abandoned":
        stats.abandoned = (stats.abandoned or 0) + n
    if outcome in FAILED_OUTCOMES:
        stats.failed[outcome] = stats.failed.get(outcome, 0) + n
    stats.talk_n += row["talk_n"]
    stats.talk_s += row["talk_s"]


def _operator_key(grouping: Grouping) -> str:
    return "o.team" if grouping == Grouping.TEAM else "o.id"


def _scope_sql(scope: Scope, first: int) -> tuple[str, list[Any]]:
    """A WHERE fragment limiting rows to the scope's operators and teams."""
    parts, args = [], []
    if scope.operators is not None:
        parts.append(f"o.id = ANY(${first + len(args)}::text[])")
        args.append(sorted(scope.operators))
    if scope.teams is not None:
        parts.append(f"o.team = ANY(${first + len(args)}::text[])")
        args.append(sorted(scope.teams))
    return "".join(f" AND {p}" for p in parts), args


async def _add_operator_calls(
    conn: asyncpg.Connection,
    campaign_id: int,
    tz: str,
    grouping: Grouping,
    group: Any,
    scope: Scope,
    source: str,
) -> None:
    where, extra = _scope_sql(scope, 2)
    if source == "counters":
        sql = f"""
            SELECT {_operator_key(grouping)} AS key, sum(r.calls)::bigint AS calls,
                   sum(r.talk_s)::float8 AS talk_s
            FROM report_operator_hourly r JOIN operators o ON o.id = r.operator_id
            WHERE r.campaign_id = $1{where} GROUP BY 1
        """
    else:
        sql = f"""
            SELECT {_operator_key(grouping)} AS key, count(*) AS calls,
                   sum(extract(epoch FROM c.ended_at - c.bridged_at))::float8 AS talk_s
            FROM operator_calls c JOIN operators o ON o.id = c.operator_id
            WHERE c.campaign_id = $1 AND c.ended_at IS NOT NULL{where} GROUP BY 1
        """
    for row in await conn.fetch(sql, campaign_id, *extra):
        stats = group(row["key"])
        stats.connected += row["calls"]
        stats.talk_n += row["calls"]
        stats.talk_s += row["talk_s"]


def _disposition_key(grouping: Grouping, hour_column: str) -> str:
    if grouping in (Grouping.OPERATOR, Grouping.TEAM):
        return _operator_key(grouping)
    return _key_sql(grouping, hour_column)


async def _add_dispositions(
    conn: asyncpg.Connection,
    campaign_id: int,
    tz: str,
    grouping: Grouping,
    group: Any,
    scope: Scope,
    source: str,
) -> None:
    where, extra = _scope_sql(scope, 3)
    if source == "counters":
        sql = f"""
            SELECT {_disposition_key(grouping, "r.hour")} AS key, r.code,
                   sum(r.n)::bigint AS n, sum(r.complaints)::bigint AS complaints,
                   sum(r.wrap_n)::bigint AS wrap_n, sum(r.wrap_s)::float8 AS wrap_s
            FROM report_disposition_hourly r JOIN operators o ON o.id = r.operator_id
            WHERE r.campaign_id = $1 AND $2::text IS NOT NULL{where} GROUP BY 1, 2
        """
    else:
        sql = f"""
            SELECT {_disposition_key(grouping, "a.created_at")} AS key,
                   d.outcome AS code, count(*) AS n,
                   count(*) FILTER (WHERE d.complaint) AS complaints,
                   count(*) FILTER (WHERE d.created_at >= c.ended_at) AS wrap_n,
                   coalesce(sum(extract(epoch FROM d.created_at - c.ended_at))
                       FILTER (WHERE d.created_at >= c.ended_at), 0)::float8 AS wrap_s
            FROM dispositions d
            JOIN call_attempts a ON a.id = d.call_id
            JOIN operators o ON o.id = d.operator_id
            LEFT JOIN operator_calls c ON c.call_id = d.call_id
            WHERE d.campaign_id = $1 AND $2::text IS NOT NULL{where} GROUP BY 1, 2
        """
    for row in await conn.fetch(sql, campaign_id, tz, *extra):
        stats = group(row["key"])
        stats.dispositions[row["code"]] = (
            stats.dispositions.get(row["code"], 0) + row["n"]
        )
        stats.complaints += row["complaints"]
        stats.wrap_n += row["wrap_n"]
        stats.wrap_s += row["wrap_s"]


async def _add_callbacks(
    conn: asyncpg.Connection,
    campaign_id: int,
    tz: str,
    grouping: Grouping,
    group: Any,
    as_of: datetime,
    scope: Scope,
) -> None:
    # Pending callbacks depend on as_of, so they are counted live; the partial
    # index dispositions_callbacks_idx keeps this to the future callbacks.
    where, extra = _scope_sql(scope, 4)
    rows = await conn.fetch(
        f"""
        SELECT {_disposition_key(grouping, "a.created_at")} AS key, count(*) AS n
        FROM dispositions d
        JOIN call_attempts a ON a.id = d.call_id
        JOIN operators o ON o.id = d.operator_id
        WHERE d.campaign_id = $1 AND d.callback_at >= $3
          AND $2::text IS NOT NULL{where}
        GROUP BY 1
        """,
        campaign_id,
        tz,
        as_of,
        *extra,
    )
    for row in rows:
        group(row["key"]).callbacks_pending += row["n"]


def totals(rows: list[GroupStats], key: str = "total") -> GroupStats:
    """Sum groups into one (rates follow from the summed counts)."""
    total = GroupStats(key)
    for row in rows:
        for name in ("received", "suppressed", "completed", "dialled", "abandoned"):
            value = getattr(row, name)
            if value is not None:
                setattr(total, name, (getattr(total, name) or 0) + value)
        if row.failed is not None:
            total.failed = total.failed or {}
            for reason, n in row.failed.items():
                total.failed[reason] = total.failed.get(reason, 0) + n
        for name in ("connected", "talk_n", "talk_s", "wrap_n", "wrap_s"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.callbacks_pending += row.callbacks_pending
        total.complaints += row.complaints
        for code, n in row.dispositions.items():
            total.dispositions[code] = total.dispositions.get(code, 0) + n

    return total


def by_outcome(rows: list[GroupStats]) -> dict[str, int]:
    """The outcome mix over rows: connected, abandoned and each failure reason."""
    mix: dict[str, int] = defaultdict(int)
    for row in rows:
        mix["answered"] += row.connected - (row.abandoned or 0)
        mix["abandoned"] += row.abandoned or 0
        for reason, n in (row.failed or {}).items():
            mix[reason] += n

    return dict(mix)
