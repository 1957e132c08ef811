"""
``outdial web`` and ``outdial script`` as an admin runs them: real subprocesses
on the test database.
"""

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import aiohttp
import asyncpg

OUTDIAL = Path(sys.executable).with_name("outdial")


def _env(db_dsn: str) -> dict[str, str]:
    return os.environ | {
        "OUTDIAL_DATABASE_URL": db_dsn,
        "OUTDIAL_LOG_FORMAT": "json",
        "OUTDIAL_ENV_FILE": "/nonexistent",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _outdial(db_dsn: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(OUTDIAL),
        *args,
        env=_env(db_dsn),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()

    return proc.returncode or 0, out.decode()


async def _get_when_up(url: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(url, allow_redirects=False) as response:
                    return response.status, dict(response.headers)
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def test_web_command_serves_login_and_health(db_dsn: str) -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        str(OUTDIAL),
        "web",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=_env(db_dsn),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        health, _ = await _get_when_up(f"http://127.0.0.1:{port}/healthz")
        login, headers = await _get_when_up(f"http://127.0.0.1:{port}/login")
        desktop, where = await _get_when_up(f"http://127.0.0.1:{port}/")
    finally:
        proc.terminate()
        await proc.wait()

    assert health == 200
    assert login == 200
    assert headers["X-Frame-Options"] == "DENY"
    assert desktop == 303
    assert where["Location"] == "/login"


async def test_script_command_stores_and_refuses_bad_script(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await pool.execute(
        "INSERT INTO campaigns (name, kind, caller_id) VALUES ('Cards', 'card_renewal',"
        " '95555')"
    )
    good = tmp_path / "script.json"
    good.write_text(
        json.dumps({"opening": "Hello", "questions": [{"q": "a", "a": "b"}]})
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"opening": "Hello", "jokes": "none"}))

    saved = await _outdial(db_dsn, "script", "set", "Cards", str(good))
    refused = await _outdial(db_dsn, "script", "set", "Cards", str(bad))
    missing = await _outdial(db_dsn, "script", "set", "Loans", str(good))
    shown = await _outdial(db_dsn, "script", "show", "Cards")

    assert saved[0] == 0
    assert refused[0] == 1
    assert "unknown script parts: jokes" in refused[1]
    assert missing[0] == 1
    assert "no campaign 'Loans'" in missing[1]
    assert json.loads(shown[1])["opening"] == "Hello"
    stored = await pool.fetchval("SELECT settings -> 'script' FROM campaigns")
    assert stored["questions"] == [{"q": "a", "a": "b"}]
