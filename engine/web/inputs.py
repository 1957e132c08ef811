"""
Reading JSON request bodies strictly: the right content type, an object, only
known fields, each of the right type. Anything else is a 4xx naming the field.
"""

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from engine.web.exceptions import ApiError


async def read_json(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, refusing other bodies and unknown fields."""
    if request.content_type != "application/json":
        raise ApiError(
            415, "unsupported_media_type", "send the body as application/json"
        )
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "body is not valid json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "body must be a json object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(422, "unknown_field", f"unknown field: {', '.join(unknown)}")

    return body


def text_field(
    body: dict[str, Any], name: str, *, required: bool = False, max_length: int = 200
) -> str | None:
    """A string field, trimmed; None when absent and not required."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(422, "missing_field", f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"{name} must be text")
    value = value.strip()
    if len(value) > max_length:
        raise ApiError(
            422, "invalid_field", f"{name} is longer than {max_length} characters"
        )

    return value


def bool_field(body: dict[str, Any], name: str) -> bool:
    """A true/false field; absent means false."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(422, "invalid_field", f"{name} must be true or false")

    return value


def int_field(body: dict[str, Any], name: str) -> int | None:
    """An optional whole-number field."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(422, "invalid_field", f"{name} must be a whole number")

    return value


def datetime_field(body: dict[str, Any], name: str, timezone: str) -> datetime | None:
    """An optional ISO date-time; one without an offset is read in ``timezone``."""
    value = text_field(body, name, max_length=40)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422, "invalid_field", f"{name} must be a date and time"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))

    return when
