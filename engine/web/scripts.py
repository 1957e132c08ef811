"""
Call scripts: what the operator says, stored per campaign.

A script lives in ``campaigns.settings -> 'script'`` as a JSON object with the
parts below; the desktop shows them in this order. ``{institution}`` and
``{operator}`` in the text are filled in when the desktop shows it.
"""

from typing import Any

import asyncpg

from engine.db.audit import audit
from engine.exceptions import ConfigError

TEXT_PARTS = ("opening", "identity_check", "purpose", "body", "closing")
MAX_TEXT = 4000
MAX_QUESTIONS = 50


def validate_script(script: Any) -> dict[str, Any]:
    """A clean script from JSON input, or ConfigError naming what is wrong."""
    if not isinstance(script, dict):
        raise ConfigError("script must be a JSON object")
    unknown = set(script) - {*TEXT_PARTS, "questions"}
    if unknown:
        raise ConfigError(f"unknown script parts: {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for part in TEXT_PARTS:
        value = script.get(part, "")
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ConfigError(f"script part {part} must be text of at most {MAX_TEXT}")
        clean[part] = value
    clean["questions"] = _validate_questions(script.get("questions", []))

    return clean


def _validate_questions(questions: Any) -> list[dict[str, str]]:
    if not isinstance(questions, list) or len(questions) > MAX_QUESTIONS:
        raise ConfigError(f"script questions must be a list of at most {MAX_QUESTIONS}")
    clean = []
    for number, item in enumerate(questions, 1):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise ConfigError(f"script question {number} needs a text 'q'")
        answer = item.get("a", "")
        if not isinstance(answer, str):
            raise ConfigError(f"script question {number}: 'a' must be text")
        clean.append({"q": item["q"][:MAX_TEXT], "a": answer[:MAX_TEXT]})

    return clean


def fill_script(
    script: dict[str, Any] | None, *, institution: str, operator: str
) -> dict[str, Any]:
    """The script with its placeholders filled; an empty script if none is set."""
    clean = validate_script(script or {})

    def fill(text: str) -> str:
        return text.replace("{institution}", institution).replace(
            "{operator}", operator
        )

    filled: dict[str, Any] = {part: fill(clean[part]) for part in TEXT_PARTS}
    filled["questions"] = [
        {"q": fill(item["q"]), "a": fill(item["a"])} for item in clean["questions"]
    ]

    return filled


async def load_script(pool: asyncpg.Pool, campaign_id: int) -> dict[str, Any] | None:
    """The campaign's stored script, or None."""
    script: dict[str, Any] | None = await pool.fetchval(
        "SELECT settings -> 'script' FROM campaigns WHERE id = $1", campaign_id
    )

    return script


async def save_script(
    pool: asyncpg.Pool, campaign_id: int, script: Any, *, actor: str
) -> dict[str, Any]:
    """Validate and store a campaign's script, audited; return what was stored."""
    clean = validate_script(script)
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            "UPDATE campaigns SET settings = jsonb_set(settings, '{script}', $2),"
            " updated_at = now() WHERE id = $1 RETURNING id",
            campaign_id,
            clean,
        )
        if done is None:
            raise ConfigError(f"no campaign {campaign_id}")
        await audit(conn, actor, "campaign_script_saved", "campaign", campaign_id)

    return clean
