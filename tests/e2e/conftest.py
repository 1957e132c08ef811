"""
Fixtures of the end-to-end tests: the ARI simulator, campaigns, engine settings.

The engine under test is the real one (``build_engine`` in-process, or the
``outdial run`` command in a subprocess) against the project's simulator and
the real PostgreSQL; the tests check Postgres, the archive and what the
simulator saw (``sim.originations``).
"""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.settings import Settings
from engine.sim import Simulator

TIME_SCALE = 0.01


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A running simulator where a simulated minute lasts 0.6 s."""
    simulator = Simulator(
        username="outdial", password="outdial", time_scale=TIME_SCALE, seed=7
    )
    await simulator.start(host="127.0.0.1", port=0)
    yield simulator
    await simulator.stop()


@pytest.fixture
def settings(sim: Simulator, db_dsn: str, tmp_path: Path) -> Settings:
    """Engine settings pointing at the simulator and the test database."""
    return Settings(
        database_url=db_dsn,
        ari_url=sim.url,
        ari_app="outdial",
        engine_id=f"e2e-{uuid.uuid4().hex[:6]}",
        lease_seconds=10,
        recordings_dir=tmp_path / "recordings",
        drain_seconds=20,
        dial_template="PJSIP/{number}@trunk",
    )
