"""On PostgreSQL the chain's lock, which every audited write of the install waits for, is taken as the transaction
commits, not where a service calls `audit.record`: the entry goes into audit_unsealed and a deferred trigger chains
it into audit_event at COMMIT (migration corridor_2026_12_07t03_47_12_000000), so the lock is held from there to the
COMMIT's end, with no round trip to the app inside it. The database hashes exactly as `verify` does; writers in two
processes leave one chain that `verify` accepts, and a changed entry is still named."""

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest
from piccolo.engine.postgres import PostgresEngine

from app import db
from app.domain.audit import service as audit
from app.domain.audit.service import Origin
from app.domain.audit.tables import AuditEvent

from tests.audit.test_audit_chain import append_only_trigger_lifted, replace_behind_the_apps_back


def postgres() -> bool:
    return isinstance(AuditEvent._meta.db, PostgresEngine)


async def advisory_locks() -> int:
    # pg_locks is the whole server's: only this database's (other databases' tests may hold their own).
    rows = await AuditEvent.raw("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = "
                                "(SELECT oid FROM pg_database WHERE datname = current_database())")
    return rows[0]["n"]


async def test_the_chain_lock_is_taken_at_commit_not_where_the_entry_is_recorded(cast):
    if not postgres():
        pytest.skip("SQLite's write transactions take turns: there is no chain lock")
    before = await AuditEvent.count()
    async with db.atomic():
        await audit.record("test.first", origin=Origin(ip="test"), detail={"n": 1})
        await audit.record("test.second", origin=Origin(ip="test"), detail={"n": 2})
        assert await advisory_locks() == 0  # recorded, not yet appended: nobody waits for this transaction
        assert await AuditEvent.count() == before
    rows = await AuditEvent.select().order_by(AuditEvent.id, ascending=False).limit(2)
    assert [r["action"] for r in rows] == ["test.second", "test.first"]  # in the order recorded, chained
    assert rows[0]["prev_hash"] == rows[1]["entry_hash"]
    assert (await audit.verify_chain()).broken is None


async def test_a_transaction_that_fails_after_recording_appends_nothing(cast):
    before = await AuditEvent.count()
    with pytest.raises(RuntimeError):
        async with db.atomic():
            await audit.record("test.rolled_back", origin=Origin(ip="test"))
            raise RuntimeError("the change failed")
    assert await AuditEvent.count() == before
    await audit.record("test.after", origin=Origin(ip="test"))
    assert (await audit.verify_chain()).broken is None


async def test_a_change_whose_entry_is_refused_is_rolled_back_and_its_connection_freed(cast):
    if not postgres():
        pytest.skip("SQLite does not enforce a column's length")
    from app.domain.schools.tables import Trust

    before_trusts, before = await Trust.count(), await AuditEvent.count()
    with pytest.raises(Exception, match="(?i)too long"):
        async with db.atomic():
            await Trust.insert(Trust(name="Rolled back with its entry"))
            await audit.record("x" * 200, origin=Origin(ip="test"))  # longer than the column
    assert await Trust.count() == before_trusts and await AuditEvent.count() == before
    for _ in range(12):  # more than the pool holds: a connection kept by the failure would make this hang
        async with db.atomic():
            await audit.record("test.after_failure", origin=Origin(ip="test"))
    assert (await audit.verify_chain()).broken is None
    # Nothing is left waiting to be chained.
    assert (await AuditEvent.raw("SELECT count(*) AS n FROM audit_unsealed"))[0]["n"] == 0


WRITER = textwrap.dedent("""
    import asyncio, sys
    from app import db
    from app.domain.audit import service as audit
    from app.domain.audit.service import Origin
    from app.settings import Settings

    async def main(tag):
        settings = Settings.from_env()
        engine = db.bind(settings.database_url)
        postgres = settings.is_postgres
        if postgres:
            await engine.start_connection_pool(min_size=2, max_size=6)
        try:
            async def one(i):
                async with db.atomic():
                    await audit.record("test.two_processes", origin=Origin(ip=tag), detail={"i": i})
                    await audit.record("test.two_processes", origin=Origin(ip=tag), detail={"i": i, "part": 2})
            await asyncio.gather(*(one(i) for i in range(40)))
        finally:
            if postgres:
                await engine.close_connection_pool()
            await db.close(engine)

    asyncio.run(main(sys.argv[1]))
""")


async def test_writers_in_two_processes_leave_one_chain_that_verifies(cast):
    before = await AuditEvent.count()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, tag], env=os.environ.copy(), stderr=subprocess.PIPE,
                              text=True) for tag in ("process-a", "process-b")]
    for proc in procs:
        _, err = await asyncio.to_thread(proc.communicate, timeout=120)
        assert proc.returncode == 0, err[-2000:]
    report = await audit.verify_chain()
    assert report.broken is None
    assert report.count == await AuditEvent.count() == before + 160
    # Each transaction's two entries are next to each other in the chain (appended together under the lock).
    rows = await AuditEvent.select(AuditEvent.ip, AuditEvent.detail).where(
        AuditEvent.action == "test.two_processes").order_by(AuditEvent.id)
    assert all(a["ip"] == b["ip"] and '"part": 2' in b["detail"] for a, b in zip(rows[::2], rows[1::2]))
    # And a changed entry among them is still named.
    victim = (await AuditEvent.select().where(AuditEvent.action == "test.two_processes").order_by(AuditEvent.id)
              .offset(57).first())
    async with append_only_trigger_lifted():
        await replace_behind_the_apps_back(victim, ip="203.0.113.9")
    broken = (await audit.verify_chain()).broken
    assert broken is not None and broken["why"].startswith("its contents do not match")


AWKWARD = ["", "O'Brien \"Jo\" \\ back", "Zoë Ñúñez 🙂 中文", "tab\tnew\nline\x01\x1f", "</script>&amp;", "a" * 290]


async def test_the_database_hashes_an_entry_exactly_as_entry_hash_does(cast):
    """On PostgreSQL every entry is hashed by the database (corridor_audit_seal); verify recomputes every hash in
    Python, so any difference, in escaping or in the time's form, would show as a broken chain."""
    import datetime as dt

    for i, text in enumerate(AWKWARD):
        async with db.atomic():
            await audit.record(f"test.awkward{i}", actor_label=text[:300], subject_label=text[::-1][:300],
                               subject_type="t", subject_id=text[:64] if i % 2 else i,
                               origin=Origin(ip=text[:64]), detail={"text": text, "n": [i, None, True]})
    row = (await AuditEvent.select().order_by(AuditEvent.id, ascending=False).first())
    assert row["entry_hash"] == audit.entry_hash(row["prev_hash"], row)
    # A time with no microseconds, and one far from UTC, hashed the same way too.
    from app import clock

    for at in (dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone.utc),
               dt.datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30)))):
        original = clock.now
        clock.now = lambda at=at: at
        try:
            await audit.record("test.time", origin=Origin(ip="test"))
        finally:
            clock.now = original
    report = await audit.verify_chain()
    assert report.broken is None, report.broken
