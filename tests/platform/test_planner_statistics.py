"""The query planners get fresh statistics (ANALYZE) after an import and at start and then daily: without them
SQLite guessed, and "recently viewed" read a school's whole audit log (65 ms at 300,000 rows, 0.03 ms after)."""

import asyncio
import datetime as dt

from app.domain.imports import service as imports
from app.domain.pupils.tables import Pupil
from app.main import create_app, refresh_statistics_daily
from tests.imports.files import actor_of, corridor_set


async def forget_statistics() -> dt.datetime | None:
    """Drop what the planner knows (SQLite), or note the time (PostgreSQL keeps a last-ANALYZE time per table)."""
    engine = Pupil._meta.db
    if engine.engine_type == "sqlite":
        await engine.run_ddl("DROP TABLE IF EXISTS sqlite_stat1")
        return None
    return (await Pupil.raw("SELECT now() AS now"))[0]["now"]


async def pupil_statistics(since: dt.datetime | None) -> bool:
    """Whether the planner has statistics for the pupil table (on PostgreSQL: from an ANALYZE since `since`)."""
    engine = Pupil._meta.db
    if engine.engine_type == "sqlite":
        if not await Pupil.raw("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"):
            return False
        return bool(await Pupil.raw("SELECT stat FROM sqlite_stat1 WHERE tbl = 'pupil'"))
    row = (await Pupil.raw("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'pupil'"))[0]
    return row["last_analyze"] is not None and row["last_analyze"] >= since


async def test_an_import_leaves_the_planner_statistics_of_what_it_wrote(cast):
    admin = await actor_of(cast.admin)
    since = await forget_statistics()
    key = await imports.store_upload(admin, imports.Upload(filename="export.zip", data=corridor_set()))
    assert not await pupil_statistics(since)  # a preview is not an import
    await imports.apply(admin, key)
    assert await Pupil.count() > 0 and await pupil_statistics(since)


async def eventually_analyzed(since: dt.datetime | None) -> bool:
    for _ in range(200):
        if await pupil_statistics(since):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_the_server_refreshes_the_statistics_when_it_starts(cast, settings):
    admin = await actor_of(cast.admin)
    await imports.apply(admin, await imports.store_upload(admin, imports.Upload(filename="x.zip", data=corridor_set())))
    since = await forget_statistics()
    async with create_app(settings).lifespan():
        assert await eventually_analyzed(since)


async def test_the_statistics_are_refreshed_again_on_a_schedule(cast):
    admin = await actor_of(cast.admin)
    await imports.apply(admin, await imports.store_upload(admin, imports.Upload(filename="x.zip", data=corridor_set())))
    since = await forget_statistics()
    task = asyncio.create_task(refresh_statistics_daily(Pupil._meta.db, every=0.05))
    try:
        assert await eventually_analyzed(since)  # the first at once
        since = await forget_statistics()
        assert await eventually_analyzed(since)  # and the next on the schedule
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_on_postgresql_one_analyze_runs_at_a_time_and_the_schedule_skips_its_turn_while_one_is_under_way(cast):
    """Each worker of `corridor serve --workers N` runs the schedule from its start: while one process's ANALYZE is
    under way (its lock held, here by another connection) the schedule's turn in another is skipped, not queued;
    an import's waits for it and then runs its own, since the one under way may not have seen the import's rows."""
    import asyncpg
    import pytest

    from app import db
    from app.settings import Settings

    engine = Pupil._meta.db
    if engine.engine_type == "sqlite":
        pytest.skip("SQLite has one process and no advisory locks")
    other = await asyncpg.connect(Settings.from_env().database_url)
    try:
        held = other.transaction()
        await held.start()
        await other.execute(f"SELECT pg_advisory_xact_lock({db.ANALYZE_LOCK})")
        since = await forget_statistics()
        assert await db.refresh_statistics(engine, if_free=True) is False
        waiting = asyncio.create_task(db.refresh_statistics(engine))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the import's ANALYZE waits for the one under way
        await held.rollback()
        assert await asyncio.wait_for(waiting, 30) is True
        assert await eventually_analyzed(since)
        assert await db.refresh_statistics(engine, if_free=True) is True  # free again: the schedule's turn runs
    finally:
        await other.close()
