"""
The review pages of the web app: playback rights, audit per playback, scoring.
"""

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from web_helpers import PASSWORD, login, page_csrf, web_client

from engine.clock import FakeClock
from engine.operators.accounts import AccountStore
from engine.reports.access import viewer
from engine.reports.quality import Criterion, create_form

SEED = Path(__file__).with_name("report_seed.sql")
WAV = b"RIFF" + bytes(range(256)) * 64


@pytest.fixture
async def site(pool: asyncpg.Pool, tmp_path: Path) -> AccountStore:
    """Seeded calls with recordings 1 (alice's) and 2 (bob's) archived."""
    await pool.execute(SEED.read_text())
    clock = FakeClock()
    accounts = AccountStore(pool, clock)
    for name in ("alice", "bob", "dora"):
        await accounts.set_password(name, PASSWORD, actor="test", must_change=False)
    for rec_id in (1, 2):
        path = tmp_path / f"{rec_id:06d}.wav"
        path.write_bytes(WAV)
        await pool.execute(
            "UPDATE recordings SET state = 'archived', archive_path = $2,"
            " sha256 = $3, size_bytes = $4, duration_s = 60 WHERE id = $1",
            rec_id,
            str(path),
            hashlib.sha256(WAV).hexdigest(),
            len(WAV),
        )
    return accounts


@pytest.fixture
async def browser(pool: asyncpg.Pool, site: AccountStore) -> AsyncIterator[TestClient]:
    """A web client on the app (not logged in)."""
    clock = FakeClock()
    async with web_client(pool, clock, site) as client:
        yield client


async def _audits(pool: asyncpg.Pool, action: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT actor, object_id FROM audit_log WHERE action = $1 ORDER BY id", action
    )
    return [tuple(r) for r in rows]


async def test_operator_other_operators_recording_refused(
    pool: asyncpg.Pool, browser: TestClient
) -> None:
    await login(browser, "bob")
    audio = await browser.get("/review/1/audio")
    page = await browser.get("/review/1")

    assert audio.status == 403
    assert page.status == 403
    assert "bob may not play recording 1" in await page.text()
    assert await _audits(pool, "recording_refused") == [("bob", "1"), ("bob", "1")]
    assert await _audits(pool, "recording_played") == []


async def test_operator_own_recording_streams_and_is_audited_once(
    pool: asyncpg.Pool, browser: TestClient
) -> None:
    await login(browser, "bob")
    whole = await browser.get("/review/2/audio")
    body = await whole.read()
    part = await browser.get("/review/2/audio", headers={"Range": "bytes=100-199"})
    listing = await (await browser.get("/review")).text()

    assert whole.status == 200
    assert whole.headers["Content-Type"] == "audio/wav"
    assert body == WAV
    assert part.status == 206
    assert await part.read() == WAV[100:200]
    assert await _audits(pool, "recording_played") == [("bob", "2")]
    assert "/review/2" in listing
    assert "/review/1" not in listing
    assert "+861******0005" in listing
    assert "+8613800000005" not in listing


async def test_director_scores_team_call_and_operator_reads_it(
    pool: asyncpg.Pool, browser: TestClient
) -> None:
    async with pool.acquire() as conn:
        form = await create_form(
            conn,
            await viewer(conn, "dora"),
            "Cards",
            "QA",
            75,
            [Criterion("greeting", 1, 5), Criterion("resolution", 1, 5)],
        )
    (c1, _), (c2, _) = form.criteria
    await login(browser, "dora")
    token = await page_csrf(browser, "/review/1")
    posted = await browser.post(
        "/review/1/evaluation",
        data={
            f"points_{c1}": "5",
            f"points_{c2}": "3",
            "comment": "<b>good</b> opening",
            "csrf_token": token,
        },
        allow_redirects=False,
    )
    other_team = await browser.get("/review/2/audio")
    await browser.post("/logout", data={"csrf_token": token})
    await login(browser, "alice")
    seen = await (await browser.get("/review/1")).text()

    assert posted.status == 303
    assert other_team.status == 403
    assert "80.0" in seen
    assert "&lt;b&gt;good&lt;/b&gt; opening" in seen
    assert 'id="score-form"' not in seen
    assert await _audits(pool, "call_evaluated") == [("dora", "a1")]


async def test_score_without_csrf_refused(
    pool: asyncpg.Pool, browser: TestClient
) -> None:
    await login(browser, "dora")
    posted = await browser.post("/review/1/evaluation", data={"comment": "x"})

    assert posted.status == 403
    assert await _audits(pool, "call_evaluated") == []


async def test_live_scoring_api_needs_listen_in(
    pool: asyncpg.Pool, browser: TestClient
) -> None:
    await pool.execute(
        "INSERT INTO call_attempts (id, campaign_id, contact_id, attempt_no, phone,"
        " caller_id, dial_string, engine_id, lease_expires_at, state, answered_at)"
        " VALUES ('live', 1, 1, 9, '+8613800000001', '+1', 'x', 'e', now(), 'answered',"
        " now());"
        "INSERT INTO operator_calls (call_id, campaign_id, contact_id, operator_id,"
        " session_id, bridge_id, wait_ms, bridged_at) VALUES ('live', 1, 1, 'alice',"
        " 1, 'b', 100, now())"
    )
    async with pool.acquire() as conn:
        await create_form(
            conn,
            await viewer(conn, "dora"),
            "Cards",
            "QA",
            60,
            [Criterion("tone", 1, 4)],
        )
    await login(browser, "dora")
    token = await page_csrf(browser, "/review")
    form = await (await browser.get("/api/review/calls/live/form")).json()
    body = {"points": {str(form["criteria"][0]["id"]): 3}, "comment": "calm"}
    headers = {"X-CSRF-Token": token}
    path = "/api/review/calls/live/evaluation"
    refused = await browser.post(path, json=body, headers=headers)
    await pool.execute(
        "INSERT INTO supervision_sessions (supervisor_id, call_id, operator_id, mode,"
        " engine_id, started_at) VALUES ('dora', 'live', 'alice', 'listen', 'e', now())"
    )
    scored = await browser.post(path, json=body, headers=headers)
    bad = await browser.post(path, json={"points": {"x": "y"}}, headers=headers)

    assert form["name"] == "QA"
    assert refused.status == 403
    assert "without listening in" in (await refused.json())["error"]["message"]
    assert scored.status == 200
    result = await scored.json()
    assert (result["score"], result["passed"], result["live"]) == (75.0, True, True)
    assert bad.status == 422
