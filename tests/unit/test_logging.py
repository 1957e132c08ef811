"""The privacy processor: phones and names masked, secrets dropped."""

import io
import json
import logging
import traceback

import asyncpg
import pytest
import structlog

from engine.logging import configure_logging, mask_phone, protect


def test_mask_phone_keeps_first_three_and_last_four_digits():
    masked = mask_phone("call +8613812345678 now")

    assert masked == "call +861******5678 now"


def test_mask_phone_leaves_channel_ids_and_timestamps_alone():
    text = "channel 1796313393.0 at 2026-12-03T15:56:33.291+0000"

    assert mask_phone(text) == text


def test_protect_drops_secrets_in_nested_values():
    event = {
        "event": "settings_loaded",
        "ari_password": "engine-secret",
        "extra": {"api_key": "engine:engine-secret", "url": "http://h/?api_key=a:b"},
        "database_url": "postgresql://u:hunter2@db/outdial",
    }

    out = protect(None, "info", event)

    assert "engine-secret" not in json.dumps(out)
    assert "hunter2" not in json.dumps(out)
    assert out["database_url"] == "postgresql://u:[secure]@db/outdial"


def test_protect_masks_customer_name_but_not_channel_name():
    out = protect(None, "info", {"event": "x", "name": "张三丰"})
    chan = protect(None, "info", {"event": "x", "name": "PJSIP/6001-00000001"})

    assert out["name"] == "张**"
    assert chan["name"] == "PJSIP/6001-00000001"


def test_configured_json_output_is_masked_end_to_end():
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    structlog.get_logger("t").info("call_ended", phone="+8613812345678")
    structlog.reset_defaults()

    line = json.loads(stream.getvalue().strip().splitlines()[-1])

    assert line["phone"] == "+861******5678"
    assert line["event"] == "call_ended"


async def test_protect_postgres_failing_row_in_traceback_withheld(
    pool: asyncpg.Pool,
) -> None:
    """asyncpg puts Postgres's DETAIL (the whole failing row) into str(exc)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TEMP TABLE person (name text, phone text CHECK (phone <> phone))"
        )
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await conn.execute(
                "INSERT INTO person VALUES ('Zhang Sanfeng', '+8613812345678')"
            )
    text = "".join(traceback.format_exception(caught.value))

    out = protect(None, "error", {"event": "x", "exception": text, "error": text})

    assert "Zhang Sanfeng" in text
    assert "Zhang Sanfeng" not in json.dumps(out, ensure_ascii=False)
    assert "Failing row contains ([secure])" in out["exception"]
    assert "violates check constraint" in out["error"]


def test_stdlib_log_with_traceback_is_masked():
    """Library logs (asyncio, aiohttp) go through the same masking chain."""
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    try:
        raise ValueError("dial to +8613812345678 failed, password=hunter2")
    except ValueError:
        logging.getLogger("asyncio").exception("Task exception was never retrieved")
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()

    line = json.loads(stream.getvalue().strip().splitlines()[-1])

    assert line["event"] == "Task exception was never retrieved"
    assert line["logger"] == "asyncio"
    assert "+861******5678" in line["exception"]
    assert "13812345678" not in stream.getvalue()
    assert "hunter2" not in stream.getvalue()
