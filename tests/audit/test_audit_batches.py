"""On PostgreSQL the audit chain is sealed in batches (migration corridor_2026_12_07t13_00_00_000000): a transaction
that commits while another holds the chain does not wait for it. Its entries are committed with its change and wait
in audit_unsealed until the next transaction to find the chain free chains them with its own, or a sweeper does.
Whatever must see an entry at once sees a waiting one too: failed sign-ins still lock a passkey, a profile just
opened is still "recently viewed", the audit log and `verify` hold every committed entry."""

import asyncio
import contextlib
import json
from dataclasses import replace

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app import db
from app.domain.audit import service as audit
from app.domain.audit.service import Origin
from app.domain.audit.tables import AuditEvent
from app.main import create_app
from tests.accounts.test_signin_limits import client_from
from tests.conftest import add_pupil, enrol, passkey_sign_in, sign_in

CHAIN_LOCK = 7_240_120_001  # the chain's advisory lock (migration corridor_2026_12_02t11_30_01_000000)

pytestmark = pytest.mark.skipif("not __import__('os').environ.get('DATABASE_URL', '').startswith('postgres')",
                                reason="SQLite's writers take turns and chain each entry as it is written")


@contextlib.asynccontextmanager
async def chain_held_elsewhere(settings):
    """Another transaction, on its own connection, holding the chain (as one committing in another process does)."""
    connection = await asyncpg.connect(settings.database_url)
    try:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
        yield
        await transaction.commit()
    finally:
        await connection.close()


async def waiting() -> list[dict]:
    return await AuditEvent.raw("SELECT action, detail FROM audit_unsealed ORDER BY id")


async def chained(action_prefix: str = "test.") -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.action.like(action_prefix + "%")).order_by(AuditEvent.id)
    return [f"{r['action']}:{json.loads(r['detail'])['n']}" if r["detail"] else r["action"] for r in rows]


async def test_a_commit_does_not_wait_for_the_chain_and_its_entry_waits_committed(settings, cast):
    async with chain_held_elsewhere(settings):
        async def write():
            async with db.atomic():
                await audit.record("test.busy", origin=Origin(ip="test"), detail={"n": 1})
        # Before batches, the deferred trigger waited for the lock here, until the other transaction ended.
        await asyncio.wait_for(write(), timeout=10)
        assert await chained() == []
        assert [r["action"] for r in await waiting()] == ["test.busy"]
        # Found as soon as it is committed, by what must see it at once.
        assert await audit.find({"action": "test.busy"}, columns=("action", "ip")) == [
            {"action": "test.busy", "ip": "test"}]
    assert await audit.sweep() == 1
    assert await chained() == ["test.busy:1"] and await waiting() == []
    assert (await audit.verify_chain()).broken is None


async def test_the_next_writer_to_find_the_chain_free_chains_what_waits_each_transaction_together(settings, cast):
    a_wrote, b_wrote = asyncio.Event(), asyncio.Event()

    async def transaction(tag: str, mine: asyncio.Event, theirs: asyncio.Event, first: bool):
        async with db.atomic():
            if not first:
                await theirs.wait()
            await audit.record("test.batch", origin=Origin(ip=tag), detail={"n": f"{tag}1"})
            mine.set()
            await theirs.wait()
            await audit.record("test.batch", origin=Origin(ip=tag), detail={"n": f"{tag}2"})
            await asyncio.sleep(0.05)  # the other's second entry has its id by now: the ids interleave

    async with chain_held_elsewhere(settings):
        await asyncio.gather(transaction("a", a_wrote, b_wrote, True), transaction("b", b_wrote, a_wrote, False))
        assert len(await waiting()) == 4 and await chained() == []
    # The chain is free again: this transaction's COMMIT chains the four waiting with its own, in one go.
    async with db.atomic():
        await audit.record("test.batch", origin=Origin(ip="c"), detail={"n": "c1"})
    assert await waiting() == []
    assert await chained() == ["test.batch:a1", "test.batch:a2", "test.batch:b1", "test.batch:b2", "test.batch:c1"]
    report = await audit.verify_chain()
    assert report.broken is None and report.count == await AuditEvent.count()


async def test_the_app_sweeps_what_waits_with_no_other_write(settings, cast):
    app = create_app(settings)
    async with app.lifespan():  # what `corridor serve` runs: it starts the sweeper
        async with chain_held_elsewhere(settings):
            await audit.record("test.swept", origin=Origin(ip="test"), detail={"n": 1})
            assert len(await waiting()) == 1
        for _ in range(100):  # the sweeper looks every second
            if not await waiting():
                break
            await asyncio.sleep(0.1)
    assert await waiting() == []
    assert await chained() == ["test.swept:1"]


async def test_failed_sign_ins_waiting_to_be_chained_still_lock_the_passkey(client, settings, cast, authenticator):
    from app.domain.accounts import service as accounts

    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=accounts.Origin(ip="test"))
    assert (await enrol(client, authenticator, link)).status_code == 200
    strict = replace(settings, signin_failures_per_passkey=3)
    forged = ec.generate_private_key(ec.SECP256R1())
    statuses = []
    async with chain_held_elsewhere(settings):
        for i in range(4):
            async with client_from(create_app(strict), f"198.51.100.{i + 1}") as elsewhere:
                statuses.append((await passkey_sign_in(elsewhere, authenticator, sign_with=forged)).status_code)
        assert [r["action"] for r in await waiting()].count("signin.failed") == 3
    assert statuses == [400, 400, 400, 429]


async def test_a_profile_opened_while_the_chain_is_busy_is_recently_viewed_at_once(client, settings, cast):
    first = await add_pupil(cast.school_id, "Kwame", "Mensah")
    second = await add_pupil(cast.school_id, "Jessica", "Smithson")
    await sign_in(client, settings, cast.teacher)
    await client.get(f"/pupils/{first}")
    async with chain_held_elsewhere(settings):
        assert (await client.get(f"/pupils/{second}")).status_code == 200
        assert [r["action"] for r in await waiting()] == ["pupil.viewed"]
        page = await client.get("/pupils/")
    assert "Recently viewed" in page.text
    assert page.text.index("Jessica Smithson") < page.text.index("Kwame Mensah")


async def test_the_audit_log_an_admin_reads_holds_entries_that_were_waiting(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    async with chain_held_elsewhere(settings):
        await audit.record("test.in_the_log", school_id=cast.school_id, subject_type="t", subject_id=1,
                           origin=Origin(ip="test"), detail={"n": 1})
        assert len(await waiting()) == 1
    page = await client.get("/admin/audit")
    assert page.status_code == 200 and "test.in_the_log" in page.text
    assert await waiting() == []


def test_the_batch_chainer_keeps_the_hash_expression():
    """The batch chainer hashes exactly as the trigger it replaces: same canonical form, over the waiting row."""
    from app.migrations import corridor_2026_12_07t03_47_12_000000 as before
    from app.migrations import corridor_2026_12_07t13_00_00_000000 as after

    assert after._CANONICAL == before._CANONICAL.replace("NEW.", "w.")


async def test_chaining_reads_the_waiting_entries_through_the_index_not_every_page_the_queue_ever_used(settings, cast):
    """audit_unsealed is a queue: each audited write adds a row and the chain deletes it, and the deleted rows stay in
    its pages until a vacuum. Chaining once read the whole table on every COMMIT (75 pages, 0.45 ms, after the
    benchmark's profile views on the trust); through the primary key it reads a few pages however many were used."""
    connection = await asyncpg.connect(settings.database_url)
    try:
        await connection.execute("ALTER TABLE audit_unsealed SET (autovacuum_enabled = false)")
        for n in range(900):  # each in its own transaction, chained and deleted at its COMMIT
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO audit_unsealed (at, actor, actor_label, action, school, subject_type, subject_id, "
                    "subject_label, ip, detail) VALUES (now(), NULL, $1, 'test.queue', NULL, '', '', '', '', $2)",
                    "A member of staff with a long enough label " * 3, json.dumps({"n": n}))
        pages = await connection.fetchval("SELECT pg_relation_size('audit_unsealed') / 8192")
        assert pages >= 20 and not await waiting()  # the queue's pages are full of deleted rows

        async def pages_read() -> int:
            await connection.execute("SELECT pg_stat_force_next_flush()")
            await connection.execute("SELECT pg_stat_clear_snapshot()")
            return await connection.fetchval("SELECT COALESCE(heap_blks_hit, 0) + COALESCE(heap_blks_read, 0) "
                                             "FROM pg_statio_user_tables WHERE relname = 'audit_unsealed'")
        before = await pages_read()
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO audit_unsealed (at, actor, actor_label, action, school, subject_type, subject_id, "
                "subject_label, ip, detail) VALUES (now(), NULL, '', 'test.queue', NULL, '', '', '', '', '{\"n\": 900}')")
        read = await pages_read() - before
        assert read <= 10, f"one audited COMMIT read {read} of audit_unsealed's {pages} pages"
        assert (await chained("test.queue"))[-1] == "test.queue:900" and not await waiting()
    finally:
        await connection.execute("ALTER TABLE audit_unsealed RESET (autovacuum_enabled)")
        await connection.close()
