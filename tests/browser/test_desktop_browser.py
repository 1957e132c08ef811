"""
The operator desktop in a real headless chromium, on the real engine.

The engine (``build_engine`` with the operators attached, as ``outdial run``
builds it) dials through the project's ARI simulator; the web app is served
on a local port on top of the engine's own operators service. In the browser
the operator signs in, starts the shift (the engine calls the simulated
softphone), takes the customer the engine bridges to them, verifies the
identity, and saves a disposition; then a director finds the call on the live
board and listens in. Screenshots land in tests/artifacts/.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from playwright.async_api import expect

from engine.ari import AriClient
from engine.clock import SystemClock
from engine.dialer.engine import build_engine
from engine.operators.wiring import build_operators
from engine.settings import Settings
from engine.sim import Behaviour, Simulator
from engine.web.app import create_app

pytestmark = pytest.mark.browser

PASSWORD = "browser test password"
PHONE = "+8613800000001"
NAME = "王小明"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SCRIPT = {
    "opening": "Good afternoon, this is {operator} calling from {institution}.",
    "identity_check": "Before we go on, please confirm your date of birth.",
    "purpose": "We are calling about the overdue balance on your credit card.",
    "body": "Offer the standard payment plan; note any hardship.",
    "questions": [
        {"q": "Can I pay in instalments?", "a": "Yes, up to 12 monthly payments."},
        {"q": "Will this affect my credit?", "a": "Paying within 30 days avoids it."},
    ],
    "closing": "Thank you for your time. Goodbye.",
}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """The simulator, 100 times faster than real time."""
    simulator = Simulator(username="outdial", password="outdial", time_scale=0.01)
    await simulator.start(host="127.0.0.1", port=0)
    yield simulator
    await simulator.stop()


@pytest.fixture
def settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """Engine and web settings on the simulator and the test database."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_dsn,
        ari_url=sim.url,
        engine_id=f"browser-{uuid.uuid4().hex[:6]}",
        recordings_dir=tmp_path / "recordings",
        drain_seconds=2,
        operator_wrap_up_s=120.0,
    )


async def _seed(pool: asyncpg.Pool, sim: Simulator) -> int:
    now = await pool.fetchval("SELECT now()")
    await pool.execute(
        "INSERT INTO operators (id, name, role, endpoint, password_hash,"
        " password_changed_at, password_expires_at, must_change_password)"
        " VALUES ('op7', 'Li Na', 'operator', 'PJSIP/6007', $1, $2,"
        " $2::timestamptz + interval '90 days', false)",
        FAST_HASHER.hash(PASSWORD),
        now,
    )
    await pool.execute(
        "INSERT INTO operators (id, name, role, endpoint, password_hash,"
        " password_changed_at, password_expires_at, must_change_password)"
        " VALUES ('boss', 'Zhao Min', 'director', 'PJSIP/6100', $1, $2,"
        " $2::timestamptz + interval '90 days', false)",
        FAST_HASHER.hash(PASSWORD),
        now,
    )
    sim.softphones.register("6007", answer_after=0.5)
    sim.softphones.register("6100", answer_after=0.5)
    # The customer answers after 2 simulated seconds and stays on the line
    # (an hour, simulated) until the test hangs up.
    sim.parties.set(PHONE.lstrip("+"), Behaviour.answer(after=2.0, hangup_after=3600))
    campaign_id: int = await pool.fetchval(
        "INSERT INTO campaigns (name, kind, caller_id, state, calls_per_second,"
        " settings) VALUES ('Card arrears December', 'collections', '95555',"
        " 'running', 50, $1) RETURNING id",
        {"operators": {"ratio": 1.0}, "script": SCRIPT},
    )
    await pool.execute(
        "INSERT INTO contacts (campaign_id, phone, name) VALUES ($1, $2, $3)",
        campaign_id,
        PHONE,
        NAME,
    )

    return campaign_id


async def _sign_in(page: Any, base: str, operator_id: str, home: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#operator_id", operator_id)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(f"{base}{home}")


async def _desktop_session(page: Any, base: str) -> None:
    await _sign_in(page, base, "op7", "/")
    await page.click("#btn-start")
    # The engine may bridge the customer before the next poll shows "ready".
    await page.wait_for_selector(
        "#state-badge[data-state=ready], #state-badge[data-state=on_call]",
        timeout=10_000,
    )


async def _take_call(page: Any) -> tuple[str, str]:
    await page.wait_for_selector("#state-badge[data-state=on_call]", timeout=15_000)
    await page.wait_for_selector("#call-panel:not([hidden])")
    masked = await page.text_content("#cust-phone")
    await page.click("#btn-verified")
    # Locator assertions, not wait_for_function: the page's CSP forbids eval.
    await expect(page.locator("#cust-phone")).to_have_text(PHONE)

    return masked or "", await page.text_content("#cust-name") or ""


async def _dispose(page: Any, artifacts: Path) -> None:
    await page.select_option("#dispo-outcome", "promise_to_pay")
    await page.fill("#dispo-notes", "Will pay 2,000 CNY on Friday; sent payment link.")
    await page.screenshot(path=str(artifacts / "desktop_call.png"), full_page=True)
    await page.click("#btn-dispo")
    await page.wait_for_selector("#dispo-done:not([hidden])")
    await expect(page.locator("#call-status")).to_have_text("disposed: Promise to pay")


async def _board(page: Any, base: str, artifacts: Path) -> str:
    """Sign the operator out of the web page and look at the board as director."""
    await page.click("#web-logout")
    await page.wait_for_url(f"{base}/login")
    await _sign_in(page, base, "boss", "/board")
    row = page.locator("#board-operators tbody tr[data-state=on_call]")
    await expect(row).to_have_count(1)
    await expect(page.locator("#board-campaigns tbody tr")).to_have_count(1)
    # Listen in: the engine calls the director's softphone and joins it.
    await page.click("#board-calls button[data-mode=listen]")
    joined = page.locator("#board-supervising tbody tr td:nth-child(3)")
    await expect(joined).to_have_text("connected", timeout=10_000)
    await page.screenshot(path=str(artifacts / "board.png"), full_page=True)

    return await row.inner_text()


async def test_desktop_operator_takes_call_and_disposes_in_browser(
    sim: Simulator,
    settings: Settings,
    pool: asyncpg.Pool,
    browser_context: Any,
    artifacts: Path,
) -> None:
    await _seed(pool, sim)
    ari = AriClient.from_settings(settings)
    clock = SystemClock()
    engine = build_engine(settings, pool, ari, clock, gates=())
    operators = build_operators(settings, pool, ari, clock)
    operators.service.accounts._hasher = FAST_HASHER
    operators.attach(engine)
    app = create_app(settings, pool, clock=clock, operators=operators.service)
    server = TestServer(app, host="127.0.0.1")
    try:
        async with operators.running():
            await engine.start()
            await server.start_server()
            tasks = [
                asyncio.create_task(engine.controller.run()),
                asyncio.create_task(engine.archiver.run()),
            ]
            try:
                base = str(server.make_url("")).rstrip("/")
                page = await browser_context.new_page()
                await _desktop_session(page, base)
                masked, name = await _take_call(page)
                await _dispose(page, artifacts)
                await page.screenshot(
                    path=str(artifacts / "desktop.png"), full_page=True
                )
                row = await pool.fetchrow("SELECT * FROM dispositions")
                board_line = await _board(page, base, artifacts)
                account = await operators.service.account("op7")
                await operators.service.hang_up(account, row["call_id"])
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await server.close()
        await ari.close()

    assert "*" in masked
    assert PHONE not in masked
    assert name == NAME
    assert (row["operator_id"], row["outcome"]) == ("op7", "promise_to_pay")
    assert row["notes"].startswith("Will pay 2,000 CNY")
    bridged = await pool.fetchval(
        "SELECT operator_id FROM operator_calls WHERE call_id = $1", row["call_id"]
    )
    assert bridged == "op7"
    assert board_line.startswith("op7")
    listened = await pool.fetchrow("SELECT * FROM supervision_sessions")
    assert (listened["supervisor_id"], listened["mode"]) == ("boss", "listen")
    assert listened["supervisor_channel_id"] is not None
    for shot in ("desktop_call.png", "desktop.png", "board.png"):
        assert (artifacts / shot).stat().st_size > 10_000
