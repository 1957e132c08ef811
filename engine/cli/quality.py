"""
``outdial quality``: evaluation forms and per-operator quality reports.
"""

import click
from rich.console import Console
from rich.table import Table

from engine.cli.common import database, run, setup
from engine.reports.access import viewer
from engine.reports.quality import (
    Criterion,
    Form,
    OperatorQuality,
    create_form,
    operator_quality,
)
from engine.reports.satisfaction import OperatorSatisfaction, operator_satisfaction
from engine.reports.stats import load_campaign


def _criterion(value: str) -> Criterion:
    """LABEL:WEIGHT[:MAX_POINTS], e.g. "greeting:1:5"."""
    parts = value.rsplit(":", 2)
    try:
        if len(parts) == 3:
            return Criterion(parts[0], float(parts[1]), int(parts[2]))
        if len(parts) == 2:
            return Criterion(parts[0], float(parts[1]))
    except ValueError:
        pass
    raise click.BadParameter(f"criterion must be LABEL:WEIGHT[:MAX], not {value!r}")


@click.group()
def quality() -> None:
    """Quality review: evaluation forms and operator quality."""


@quality.command("form")
@click.argument("campaign")
@click.option("--name", required=True)
@click.option("--pass-mark", type=click.FloatRange(0, 100), required=True)
@click.option(
    "--criterion",
    "criteria",
    multiple=True,
    required=True,
    help="LABEL:WEIGHT[:MAX_POINTS]; repeat for each.",
)
@click.option("--actor", envvar="OUTDIAL_ACTOR", required=True)
def form_command(
    campaign: str, name: str, pass_mark: float, criteria: tuple[str, ...], actor: str
) -> None:
    """Create CAMPAIGN's evaluation form (directors and admins)."""
    settings = setup()
    parsed = [_criterion(c) for c in criteria]

    async def go() -> Form:
        async with database(settings) as pool, pool.acquire() as conn:
            return await create_form(
                conn, await viewer(conn, actor), campaign, name, pass_mark, parsed
            )

    form = run(go())
    click.echo(
        f"form #{form.id} {form.name}: {len(form.criteria)} criteria, "
        f"pass mark {form.pass_mark:g}"
    )


@quality.command("report")
@click.argument("campaign")
@click.option("--actor", envvar="OUTDIAL_ACTOR", required=True)
def report_command(campaign: str, actor: str) -> None:
    """
    Quality per operator (an operator sees their own; a director their team).

    Evaluations by reviewers, and customer satisfaction from the post-call
    survey: answers, mean key pressed and that mean as a share of the scale.
    """
    settings = setup()

    async def go() -> tuple[list[OperatorQuality], list[OperatorSatisfaction]]:
        async with database(settings) as pool, pool.acquire() as conn:
            who = await viewer(conn, actor)
            camp = await load_campaign(conn, campaign)
            return (
                await operator_quality(conn, camp["id"], who.scope),
                await operator_satisfaction(conn, camp["id"], who.scope),
            )

    evaluated, surveyed = run(go())
    Console().print(_quality_table(evaluated, surveyed))


def _quality_table(
    evaluated: list[OperatorQuality], surveyed: list[OperatorSatisfaction]
) -> Table:
    """One row per operator with evaluations or survey answers."""
    table = Table(
        "operator",
        "team",
        "evaluations",
        "average score",
        "passed",
        "pass rate",
        "survey answers",
        "satisfaction",
        header_style="bold cyan",
    )
    quality = {q.operator: q for q in evaluated}
    satisfaction = {s.operator: s for s in surveyed}
    for operator in sorted(quality.keys() | satisfaction.keys()):
        q, s = quality.get(operator), satisfaction.get(operator)
        team = q.team if q is not None else s.team if s is not None else None
        table.add_row(
            operator,
            team or "",
            str(q.evaluations) if q else "0",
            f"{q.average_score:.1f}" if q else "-",
            str(q.passed) if q else "-",
            f"{100 * q.pass_rate:.0f}%" if q else "-",
            str(s.answers) if s else "0",
            f"{s.average_score:.1f} ({s.average_pct:.0f}%)" if s else "-",
        )

    return table


COMMANDS = [quality]
