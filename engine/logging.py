"""
structlog configuration, done once per process, and the privacy processors.

Customer data must never reach a log unmasked and secrets must never reach it
at all, whoever wrote the log call. So masking is not left to call sites: the
``protect`` processor walks every event dict, masks phone numbers and names,
and drops secrets before any renderer sees the event.
"""

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

SECURE = "[secure]"

# A phone number in free text: 7 to 15 digits, optionally after "+", not part of
# a longer word, a dotted number or a "-" suffix. The look-arounds keep channel ids
# ("1796313393.0"), channel name suffixes ("-00000001") and timestamps readable.
_PHONE_RE = re.compile(r"(?<![\w.+-])(\+?)(\d{7,15})(?![\w]|\.\d)")
_URL_SECRET_RE = re.compile(r"((?:api_key|password|token|secret)=)[^&\s]+", re.I)
_DSN_PASSWORD_RE = re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+(@)")
_BASIC_RE = re.compile(r"(Basic|Bearer)\s+[A-Za-z0-9+/=._-]+")
# Postgres quotes the whole offending row in a constraint error's DETAIL, and
# asyncpg puts the DETAIL into str(exc): a customer's name would reach the log
# through any traceback or error=str(exc) field. The row is dropped.
_PG_ROW_RE = re.compile(r"(Failing row contains )[^\n]*")

_SECRET_KEYS = ("password", "passwd", "secret", "token", "api_key", "authorization")
_DSN_KEYS = ("database_url", "dsn")
_NAME_KEYS = frozenset(
    {"name", "customer_name", "full_name", "contact_name", "caller_name"}
)


def mask_digits(digits: str) -> str:
    """Keep the first 3 and last 4 digits of a number, star the rest."""
    if len(digits) <= 7:
        return digits[:1] + "*" * (len(digits) - 1)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_phone(value: str) -> str:
    """Mask every phone-like run of digits in a string."""
    return _PHONE_RE.sub(lambda m: m.group(1) + mask_digits(m.group(2)), value)


def mask_name(value: str) -> str:
    """Keep a name's first character only: enough to tell two calls apart."""
    return value[:1] + "*" * max(len(value) - 1, 2) if value else value


def scrub_text(value: str) -> str:
    """Mask phones, blank out credentials and database rows inside free text."""
    value = _URL_SECRET_RE.sub(r"\1" + SECURE, value)
    value = _DSN_PASSWORD_RE.sub(r"\1" + SECURE + r"\2", value)
    value = _BASIC_RE.sub(r"\1 " + SECURE, value)
    value = _PG_ROW_RE.sub(r"\1(" + SECURE + ")", value)
    return mask_phone(value)


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEYS)


def _scrub(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in _NAME_KEYS and not _looks_technical(value):
            return mask_name(value)
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: _scrub_item(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(key, v) for v in value]
    return value


def _scrub_item(key: str, value: Any) -> Any:
    if _is_secret_key(key):
        return SECURE
    if key.lower() in _DSN_KEYS and value is not None:
        return scrub_text(str(value))
    return _scrub(key, value)


def _looks_technical(value: str) -> bool:
    # Channel and bridge names ("PJSIP/6001-00000001") are not people's names.
    return "/" in value or "@" in value


def protect(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Mask phone numbers and names, and drop secrets, anywhere in an event."""
    for key in list(event_dict):
        if key in ("timestamp", "level", "logger"):
            continue
        value = event_dict[key]
        if _is_secret_key(key):
            event_dict[key] = SECURE
        elif key == "exception" and isinstance(value, str):
            event_dict[key] = scrub_text(value)
        else:
            event_dict[key] = _scrub_item(key, value)

    return event_dict


def configure_logging(
    level: str = "INFO", fmt: str = "auto", stream: Any = None
) -> None:
    """Set up structlog and the stdlib root logger once for this process."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer: Any
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        protect,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    _route_stdlib_logging(level, stream, shared, renderer)


def _route_stdlib_logging(
    level: str, stream: Any, shared: list[Any], renderer: Any
) -> None:
    # asyncio ("Task exception was never retrieved"), aiohttp and asyncpg log
    # through the standard library, often with tracebacks that quote customer
    # data; they go through the same masking chain as the engine's own events.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
