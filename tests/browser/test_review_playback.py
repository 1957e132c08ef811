"""
Quality review in headless Chromium: a director signs in, opens a team call's
recording, the browser loads and plays the WAV, and scores the call; an
operator of another team is refused the same recording.
"""

import hashlib
import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from engine.clock import SystemClock
from engine.operators.accounts import AccountStore
from engine.operators.service import OperatorService
from engine.reports.access import viewer
from engine.reports.quality import Criterion, create_form
from engine.settings import Settings
from engine.web.app import create_app

pytestmark = pytest.mark.browser

SEED = Path(__file__).parents[1] / "integration" / "report_seed.sql"
PASSWORD = "browser review password"


def _wav(seconds: float = 1.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x10" * int(seconds * rate))
    return buffer.getvalue()


@pytest.fixture
async def site(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    """The web app on a local port, over the seeded calls with alice's recording."""
    await pool.execute(SEED.read_text())
    clock = SystemClock()
    accounts = AccountStore(pool, clock)
    for name in ("bob", "dora"):
        await accounts.set_password(name, PASSWORD, actor="test", must_change=False)
    audio = _wav()
    path = tmp_path / "000001-a1.wav"
    path.write_bytes(audio)
    await pool.execute(
        "UPDATE recordings SET state = 'archived', archive_path = $1, sha256 = $2,"
        " size_bytes = $3, duration_s = 1.5 WHERE id = 1",
        str(path),
        hashlib.sha256(audio).hexdigest(),
        len(audio),
    )
    async with pool.acquire() as conn:
        await create_form(
            conn,
            await viewer(conn, "dora"),
            "Cards",
            "QA",
            70,
            [Criterion("greeting", 1, 5), Criterion("accuracy", 2, 5)],
        )
    settings = Settings(_env_file=None, web_max_body_bytes=16384)
    app = create_app(
        settings, pool, clock=clock, operators=OperatorService(pool, clock, accounts)
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def _sign_in(page: Any, base: str, who: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#operator_id", who)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_load_state()


async def test_review_director_plays_and_scores_in_chromium(
    pool: asyncpg.Pool, site: str, browser_context: Any, artifacts: Path
) -> None:
    page = await browser_context.new_page()
    await _sign_in(page, site, "dora")
    await page.goto(f"{site}/review/1")
    loaded = await page.evaluate(
        """async () => {
            const a = document.querySelector('#player');
            a.muted = true;
            a.load();
            await new Promise((ok, no) => {
                a.addEventListener('loadedmetadata', ok, {once: true});
                a.addEventListener('error', () => no(a.error.code), {once: true});
            });
            await a.play();
            return a.duration;
        }"""
    )
    await page.fill("input[name^=points_] >> nth=0", "5")
    await page.fill("input[name^=points_] >> nth=1", "3")
    await page.fill("textarea[name=comment]", "Clear greeting; one figure misread.")
    await page.click("#score-form button[type=submit]")
    await expect(page.locator(".evaluation .score")).to_contain_text("73.3")
    await page.screenshot(path=str(artifacts / "review_call.png"), full_page=True)
    played = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'recording_played'"
        " AND actor = 'dora' AND object_id = '1'"
    )

    assert loaded == pytest.approx(1.5, abs=0.05)
    assert played >= 1


async def test_review_other_team_operator_refused_in_chromium(
    site: str, browser_context: Any
) -> None:
    page = await browser_context.new_page()
    await _sign_in(page, site, "bob")
    response = await page.goto(f"{site}/review/1")

    assert response.status == 403
    await expect(page.locator("[role=alert]")).to_contain_text(
        "bob may not play recording 1"
    )
