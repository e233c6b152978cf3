"""A query whose caller is cancelled (a page that goes away cancels its live stream, sometimes in the middle of
the stream's session check) leaves no connection behind that still reads the database as it was then."""

import asyncio
import sqlite3

import pytest

from app.domain.schools.tables import Person


async def test_a_read_cancelled_midway_leaves_no_connection_reading_the_past(cast):
    reading = asyncio.ensure_future(Person.select(Person.id).first())
    await asyncio.sleep(0)  # the query is on its way to the database
    reading.cancel()
    # A SELECT now runs on the event loop's thread, start to end, so it may well have finished already; a
    # statement sent to aiosqlite's thread is cancelled (test_a_write_cancelled_midway... below).
    try:
        await reading
    except asyncio.CancelledError:
        pass

    await Person.update({Person.display_name: "Tara Renamed"}).where(Person.id == cast.teacher.id)

    # Every read after the write sees it, whichever pooled connection it runs on (the pool holds a few:
    # enough reads to use each of them twice). A connection given back while the cancelled read still held
    # its statement open would answer the first read on it from before the write: a session created since
    # would be "no session".
    for _ in range(8):
        row = await Person.select(Person.display_name).where(Person.id == cast.teacher.id).first()
        assert row["display_name"] == "Tara Renamed"


async def test_a_write_cancelled_midway_leaves_no_connection_behind(cast):
    """The same for a statement that goes to a pooled connection's thread (a write outside a transaction): its
    caller is cancelled, the statement still runs to its end and commits, and its connection goes back clean."""
    from app.db import atomic

    writing = asyncio.ensure_future(
        Person.update({Person.display_name: "Written"}).where(Person.id == cast.teacher.id))
    await asyncio.sleep(0)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    await asyncio.sleep(0.2)  # the statement finishes on its own
    async with atomic():  # the write lock is free: a connection left mid-write would hold it
        await Person.update({Person.display_name: "Again"}).where(Person.id == cast.head_of_year.id)
    for _ in range(8):
        names = {r["id"]: r["display_name"] for r in await Person.select(Person.id, Person.display_name)}
        assert names[cast.teacher.id] == "Written" and names[cast.head_of_year.id] == "Again"


def _sqlite_engine():
    from app.db import PooledSQLiteEngine

    engine = Person._meta.db
    if not isinstance(engine, PooledSQLiteEngine):
        pytest.skip("the SQLite engine's own connection handling")
    return engine


async def test_every_sqlite_connection_commits_to_disk_and_checks_foreign_keys(cast):
    """synchronous=FULL: an answer that says "saved" (after which the outbox deletes its copy) comes only after
    the commit is on disk. Checked on the pooled readers and on the writer that runs transactions."""
    from app.db import atomic

    engine = _sqlite_engine()
    for _ in range(engine.POOL_SIZE * 2):
        assert await engine.run_ddl("PRAGMA synchronous") == [{"synchronous": 2}]  # 2 = FULL
        assert await engine.run_ddl("PRAGMA foreign_keys") == [{"foreign_keys": 1}]
    async with atomic():
        assert await engine.run_ddl("PRAGMA synchronous") == [{"synchronous": 2}]
        assert await engine.run_ddl("PRAGMA foreign_keys") == [{"foreign_keys": 1}]


async def test_transactions_take_turns_on_one_writer_connection(cast):
    """A transaction no longer opens a connection (and its thread) of its own: the process's transactions,
    which take turns anyway, share one long-lived writer."""
    from app.db import atomic

    engine = _sqlite_engine()
    seen = []
    for n in range(3):
        async with atomic() as tx:
            seen.append(tx.connection)  # the objects, so that an id is never reused by a later connection
            await Person.update({Person.display_name: f"Name {n}"}).where(Person.id == cast.teacher.id)
    assert all(c is seen[0] for c in seen)
    row = await Person.select(Person.display_name).where(Person.id == cast.teacher.id).first()
    assert row["display_name"] == "Name 2"


async def test_a_transaction_cancelled_midway_leaves_the_writer_clean(cast):
    """A request cancelled inside its transaction rolls back; the next transaction on the shared writer starts
    clean (no half-done writes committed with it, no transaction left open holding the write lock)."""
    from app.db import atomic

    engine = _sqlite_engine()
    started = asyncio.Event()

    async def half_done():
        async with atomic():
            await Person.update({Person.display_name: "Half done"}).where(Person.id == cast.teacher.id)
            started.set()
            await asyncio.sleep(30)

    task = asyncio.ensure_future(half_done())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async with atomic():
        await Person.update({Person.display_name: "Whole"}).where(Person.id == cast.head_of_year.id)
    names = {r["id"]: r["display_name"] for r in await Person.select(Person.id, Person.display_name)}
    assert names[cast.teacher.id] != "Half done"
    assert names[cast.head_of_year.id] == "Whole"
    writer = await engine.writer()
    assert not writer._conn.in_transaction
    assert not engine.write_lock().locked()


async def test_a_failed_transaction_rolls_back_and_the_next_one_succeeds(cast):
    from app.db import atomic

    _sqlite_engine()
    with pytest.raises(RuntimeError):
        async with atomic():
            await Person.update({Person.display_name: "Never"}).where(Person.id == cast.teacher.id)
            raise RuntimeError("a check failed after the first write")
    async with atomic():
        await Person.update({Person.display_name: "Kept"}).where(Person.id == cast.teacher.id)
    row = await Person.select(Person.display_name).where(Person.id == cast.teacher.id).first()
    assert row["display_name"] == "Kept"


async def test_postgresql_commits_wait_for_the_disk(cast):
    """synchronous_commit on for Corridor's connections, whatever the database's default: an answer that says
    "saved" comes only after the commit's WAL record is flushed."""
    from piccolo.engine.postgres import PostgresEngine

    from app.db import engine_for

    engine = Person._meta.db
    if not isinstance(engine, PostgresEngine):
        pytest.skip("PostgreSQL's commit setting")
    name = engine.config["database"]
    await engine.run_ddl(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        # New connections, made after the database's default changed (the tests' pool was opened before).
        plain = PostgresEngine(config={k: v for k, v in engine.config.items() if k != "server_settings"})
        c = engine.config
        ours = engine_for.__wrapped__(f"postgres://{c['user']}@{c['host']}:{c['port']}/{name}")
        assert [dict(r) for r in await plain.run_ddl("SHOW synchronous_commit")] == [{"synchronous_commit": "off"}]
        assert [dict(r) for r in await ours.run_ddl("SHOW synchronous_commit")] == [{"synchronous_commit": "on"}]
    finally:
        await engine.run_ddl(f'ALTER DATABASE "{name}" RESET synchronous_commit')


# Group commit (SQLite): writers that wait for their turn share one COMMIT, each in a savepoint of its own.

async def _audited(n: int, *, fail: bool = False, hold: float = 0.0) -> None:
    from app.db import atomic
    from app.domain.audit import service as audit

    async with atomic():
        await audit.record("test.write", subject_type="n", subject_id=n)
        if hold:
            await asyncio.sleep(hold)
        if fail:
            raise RuntimeError(f"write {n} failed after its first statement")


async def _written() -> set[int]:
    from app.domain.audit.tables import AuditEvent

    rows = await AuditEvent.select(AuditEvent.subject_id).where(AuditEvent.action == "test.write")
    return {int(r["subject_id"]) for r in rows}


def _count_commits(engine, monkeypatch) -> list[int]:
    commits = [0]
    real = engine.commit_batch

    async def counting():
        if engine.open_batch() is not None:
            commits[0] += 1
        await real()

    monkeypatch.setattr(engine, "commit_batch", counting)
    return commits


async def test_writers_that_wait_share_one_commit_and_each_is_on_disk_when_it_returns(cast, monkeypatch):
    from app.domain.audit.service import verify_chain

    engine = _sqlite_engine()
    commits = _count_commits(engine, monkeypatch)
    finished: list[int] = []

    async def one(n):
        await _audited(n, hold=0.001)
        # Returned: committed. A fresh connection (another process, in effect) sees it at once.
        other = sqlite3.connect(engine.path)
        try:
            seen = other.execute("SELECT count(*) FROM audit_event WHERE action = 'test.write' AND subject_id = ?",
                                 (str(n),)).fetchone()[0]
        finally:
            other.close()
        assert seen == 1
        finished.append(n)

    await asyncio.gather(*(one(n) for n in range(40)))
    assert sorted(finished) == list(range(40))
    assert await _written() == set(range(40))
    assert 1 <= commits[0] < 40, commits  # without group commit: 40
    assert (await verify_chain()).broken is None


async def test_a_failed_writer_in_a_batch_takes_only_its_own_writes_with_it(cast):
    _sqlite_engine()
    results = await asyncio.gather(*(_audited(n, fail=(n % 7 == 3), hold=0.001) for n in range(30)),
                                   return_exceptions=True)
    failed = {n for n, r in enumerate(results) if isinstance(r, RuntimeError)}
    assert failed == {n for n in range(30) if n % 7 == 3}
    assert all(r is None for n, r in enumerate(results) if n not in failed)
    assert await _written() == set(range(30)) - failed


async def test_a_writer_cancelled_while_its_batch_commits_is_still_saved(cast):
    engine = _sqlite_engine()
    tasks = [asyncio.ensure_future(_audited(n, hold=0.01)) for n in range(6)]
    await asyncio.sleep(0.015)  # the first has finished its turn and waits for the batch; the others queue
    tasks[0].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await _written() == set(range(6))
    assert engine.open_batch() is None and not engine.write_lock().locked()


async def test_a_batch_handed_to_writers_cancelled_before_their_turn_is_still_committed(cast, monkeypatch):
    engine = _sqlite_engine()
    queued: list[asyncio.Task] = []
    real = engine._commit_when_free

    async def cancel_the_queue_first(batch):
        # The first writer saw them waiting and left the batch open for them; now they go away.
        for task in queued:
            task.cancel()
        await real(batch)

    monkeypatch.setattr(engine, "_commit_when_free", cancel_the_queue_first)
    first = asyncio.ensure_future(_audited(1, hold=0.05))
    await asyncio.sleep(0.01)  # the first holds the lock
    queued += [asyncio.ensure_future(_audited(n)) for n in (2, 3)]
    await asyncio.wait_for(first, 5)  # returns: its batch was committed though nobody after it took a turn
    await asyncio.gather(*queued, return_exceptions=True)
    assert all(task.cancelled() for task in queued)
    assert await _written() == {1}
    assert engine.open_batch() is None and not engine.write_lock().locked()
