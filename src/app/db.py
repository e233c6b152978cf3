"""The database engine, chosen by DATABASE_URL, and the forward-only migration runner."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")


@cache
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # A busy writer should make others wait, not fail; see tune_sqlite for WAL.
        return SQLiteEngine(path=str(path), timeout=15)
    parts = urlsplit(url)
    return PostgresEngine(
        config={
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password or "") or None,
            "database": parts.path.lstrip("/") or "corridor",
        }
    )


def bind(url: str) -> Engine:
    """Point every table at the engine for `url` (the one source of truth is the settings object)."""
    from app.piccolo_app import TABLES

    engine = engine_for(url)
    for table in TABLES:
        table._meta.db = engine
    return engine


async def tune_sqlite(engine: Engine) -> None:
    # WAL lets readers go on while one writer commits; it is a property of the file, so once is enough.
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL;")


async def migrate(url: str) -> None:
    """Run every migration not yet applied, forward only."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    engine = bind(url)
    await tune_sqlite(engine)
    # Piccolo's migration manager asks piccolo_conf for its engine; make sure it is this one.
    import app.piccolo_conf as conf

    conf.DB = engine
    result = await run_forwards(app_name="corridor")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")


async def database_answers(timeout: float = 2.0) -> bool:
    """True when the database answers a trivial query within the timeout."""
    import asyncio

    from app.domain.schools.tables import Trust

    try:
        await asyncio.wait_for(Trust._meta.db.run_ddl("SELECT 1"), timeout)
        return True
    except Exception:
        return False


def atomic():
    """A write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so two writers queue
    for it instead of one failing when a read turns into a write; PostgreSQL needs nothing special."""
    from piccolo.engine.sqlite import TransactionType

    from app.domain.schools.tables import Trust

    engine = Trust._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
