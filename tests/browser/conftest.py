"""
Fixtures of the browser tests: Debian's chromium driven by Playwright.

Nothing downloads a browser: Playwright's wheel carries its driver, and the
browser is ``/usr/bin/chromium`` from Debian. Without it the tests skip.
"""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (gitignored), created on demand."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    return ARTIFACTS


@pytest.fixture
def chromium() -> Path:
    """Debian's chromium, or a skip saying it is missing."""
    if shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")

    return CHROMIUM


@pytest.fixture
async def browser_context(chromium: Path, tmp_path: Path) -> AsyncIterator[Any]:
    """A headless chromium with its own throw-away profile."""
    from playwright.async_api import async_playwright, expect

    # Generous waits: CI machines are shared, and the page polls once a second.
    expect.set_options(timeout=10_000)

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            locale="en-GB",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await context.close()
