"""
The asyncpg pool, with JSON codecs installed on every connection.
"""

import json
from typing import Any

import asyncpg
import orjson


def _encode_json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=_encode_json, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """Open a pool whose connections speak JSON as Python objects."""
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs
    )
    assert pool is not None

    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    """Open a single connection with the same codecs as the pool."""
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)

    return conn
