"""Variants of the app for the experiments (bench/experiments.py): each is the app as `create_app()` makes it,
with one proposed change applied from outside, so its effect can be measured before anyone edits src/app/.
Served with `python -m bench.serve_app bench.variants:NAME` (the same uvicorn configuration as the app).
"""

from __future__ import annotations

import asyncio
import functools


def gzip():
    """The app with Litestar's own response compression (gzip, level 6, bodies of 500 bytes and more)."""
    from litestar import Litestar
    from litestar.config.compression import CompressionConfig

    from app import main

    main.Litestar = functools.partial(Litestar, compression_config=CompressionConfig(
        backend="gzip", gzip_compress_level=6, minimum_size=500))
    return main.create_app()


def _long_lived_sqlite_connections() -> None:
    """SQLite queries outside a transaction run on 4 long-lived connections (Piccolo's SQLiteEngine opens a new
    connection, with its own thread, for every one of them)."""
    import aiosqlite
    from piccolo.engine.sqlite import SQLiteEngine, dict_factory

    pools: dict[int, asyncio.Queue] = {}
    lock = asyncio.Lock()

    async def pool_of(engine: SQLiteEngine) -> asyncio.Queue:
        if id(engine) not in pools:
            async with lock:
                if id(engine) not in pools:
                    q: asyncio.Queue = asyncio.Queue()
                    for _ in range(4):
                        con = await aiosqlite.connect(**engine.connection_kwargs)
                        await con.execute("PRAGMA foreign_keys = 1")
                        con.row_factory = dict_factory
                        q.put_nowait(con)
                    pools[id(engine)] = q
        return pools[id(engine)]

    async def run(self, query, args=None, query_type="generic", table=None):
        q = await pool_of(self)
        con = await q.get()
        try:
            async with con.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
            await con.commit()
            return rows
        finally:
            q.put_nowait(con)

    SQLiteEngine._run_in_new_connection = run


def _one_writer_at_a_time() -> None:
    """Outermost SQLite transactions wait their turn on an asyncio lock in the process, instead of on SQLite's
    busy handler (which sleeps in steps of up to 100 ms while another connection holds the write lock)."""
    from piccolo.engine.sqlite import SQLiteTransaction

    lock = asyncio.Lock()
    enter, leave = SQLiteTransaction.__aenter__, SQLiteTransaction.__aexit__

    async def locked_enter(self):
        if self._parent is not None:
            return await enter(self)
        await lock.acquire()
        try:
            return await enter(self)
        except BaseException:
            lock.release()
            raise

    async def locked_exit(self, *exc):
        try:
            return await leave(self, *exc)
        finally:
            if self._parent is None and lock.locked():
                lock.release()

    SQLiteTransaction.__aenter__ = locked_enter
    SQLiteTransaction.__aexit__ = locked_exit


def sqlite_connections():
    """The app with long-lived SQLite connections."""
    _long_lived_sqlite_connections()
    from app.main import create_app

    return create_app()


def sqlite_serial_writes():
    """The app with long-lived SQLite connections and one writer at a time in the process."""
    _long_lived_sqlite_connections()
    _one_writer_at_a_time()
    from app.main import create_app

    return create_app()
