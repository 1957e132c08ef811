"""
The HTML report rendered by headless Chromium (Debian's), and screenshotted.

The screenshot lands in tests/artifacts/ for a person to look at; the test
itself checks what the browser laid out: the charts are drawn with size, the
tables hold the figures, and nothing was fetched from the network.
"""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from engine.reports.access import viewer
from engine.reports.export import ExportFormat, ExportRequest, build_export
from engine.reports.stats import Grouping

CHROMIUM = "/usr/bin/chromium"
SEED = Path(__file__).parents[1] / "integration" / "report_seed.sql"
ARTIFACTS = Path(__file__).parents[1] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason="Debian chromium not at /usr/bin/chromium",
    ),
]


async def test_report_html_in_chromium_draws_charts(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    await pool.execute(SEED.read_text())
    async with pool.acquire() as conn:
        who = await viewer(conn, "root")
        request = ExportRequest(
            "Cards", Grouping.DAY, ExportFormat.HTML, include_calls=True
        )
        _, content = await build_export(
            conn, who, request, datetime(2026, 3, 3, tzinfo=UTC)
        )
    page_file = tmp_path / "report.html"
    page_file.write_bytes(content)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report_html.png"
    requests: list[str] = []

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        await page.goto(page_file.as_uri())
        charts = await page.eval_on_selector_all(
            "svg.chart",
            "els => els.map(e => [e.getAttribute('aria-label'),"
            " e.getBoundingClientRect().width, e.querySelectorAll('rect,path').length])",
        )
        total_row = await page.inner_text("tr.total")
        await page.screenshot(path=str(shot), full_page=True)
        await browser.close()

    assert [c[0] for c in charts] == [
        "Calls and connects per hour",
        "Outcome mix",
        "Operator comparison",
        "Dispositions",
    ]
    assert all(width > 200 for _, width, _ in charts)
    assert all(shapes > 0 for _, _, shapes in charts)
    assert total_row.split()[:4] == ["total", "6", "1", "5"]
    assert [u for u in requests if not u.startswith("file://")] == []
    assert shot.stat().st_size > 10_000
