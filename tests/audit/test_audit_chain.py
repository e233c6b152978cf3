"""The audit log is tamper-evident: every entry's hash covers it and the entry before it, and
`corridor audit verify` names the first entry that was changed, removed or slipped in behind the app's back."""

import asyncio
import contextlib
import importlib
import os
import re
import subprocess
import sys

import pytest
from piccolo.engine.postgres import PostgresEngine

from app import db
from app.domain.audit import service as audit
from app.domain.audit.service import GENESIS, Origin
from app.domain.audit.tables import AuditEvent
from app.domain.schools import service as schools

CHAIN_MIGRATION = "app.migrations.corridor_2026_12_02t11_30_01_000000"


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=60)


def postgres() -> bool:
    return isinstance(AuditEvent._meta.db, PostgresEngine)


async def entries() -> list[dict]:
    return await AuditEvent.select().order_by(AuditEvent.id)


async def replace_behind_the_apps_back(row: dict, **changes) -> None:
    """What someone with the database's password can do although updates are refused: delete and re-insert."""
    await AuditEvent.delete().where(AuditEvent.id == row["id"])
    await AuditEvent.insert(AuditEvent(**{**row, **changes}))


async def ddl(statement: str) -> None:
    """Change the schema behind the app's back. On SQLite a pooled connection may still hold the schema from
    before the last change (and call a dropped trigger "already exists"): read it afresh first, on one connection."""
    async with db.atomic():
        if not postgres():
            await AuditEvent._meta.db.run_ddl("SELECT count(*) FROM sqlite_master")
        await AuditEvent._meta.db.run_ddl(statement)


@contextlib.asynccontextmanager
async def append_only_trigger_lifted():
    if postgres():
        await ddl("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
    else:
        await ddl("DROP TRIGGER audit_event_no_update")
    try:
        yield
    finally:
        if postgres():
            await ddl("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update")
        else:
            await ddl(importlib.import_module(CHAIN_MIGRATION).SQLITE_NO_UPDATE)


async def test_it_chains_every_entry_to_the_one_before(cast):
    rows = await entries()
    assert len(rows) >= 8  # the cast's people and roles
    assert rows[0]["prev_hash"] == GENESIS
    for before, row in zip(rows, rows[1:]):
        assert row["prev_hash"] == before["entry_hash"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["entry_hash"]) for r in rows)
    assert len({r["entry_hash"] for r in rows}) == len(rows)
    report = await audit.verify_chain()
    assert report.broken is None and report.count == len(rows) and report.head == rows[-1]["entry_hash"]


async def test_an_entry_written_outside_a_transaction_joins_the_chain(cast):
    head = (await entries())[-1]["entry_hash"]
    await audit.record("signin.failed", origin=Origin(ip="198.51.100.4"), detail={"reason": "unknown passkey"})
    last = (await entries())[-1]
    assert last["action"] == "signin.failed" and last["prev_hash"] == head
    assert (await audit.verify_chain()).broken is None


async def test_verify_names_an_entry_whose_contents_were_changed(cast):
    rows = await entries()
    target = rows[4]
    await replace_behind_the_apps_back(target, subject_label="someone.else@northbridge.example")
    report = await audit.verify_chain()
    assert report.broken["id"] == target["id"] and report.broken["action"] == target["action"]
    assert report.broken["at"] == target["at"] and "changed" in report.broken["why"]
    assert report.count == 4  # the entries before it still check out


async def test_verify_names_a_changed_entry_even_with_the_trigger_out_of_the_way(cast):
    target = (await entries())[2]
    async with append_only_trigger_lifted():
        await AuditEvent.update({AuditEvent.detail: '{"added": ["dsl"]}'}).where(AuditEvent.id == target["id"])
    assert (await audit.verify_chain()).broken["id"] == target["id"]


async def test_verify_names_the_entry_after_a_removed_one(cast):
    rows = await entries()
    await AuditEvent.delete().where(AuditEvent.id == rows[3]["id"])
    report = await audit.verify_chain()
    assert report.broken["id"] == rows[4]["id"] and "removed" in report.broken["why"]


async def test_verify_names_the_entry_after_a_forgery_even_when_its_own_hash_is_right(cast):
    rows = await entries()
    forged = {**rows[5], "actor_label": "Nobody <nobody@example.com>", "ip": "10.0.0.1"}
    forged["entry_hash"] = audit.entry_hash(forged["prev_hash"], forged)
    await replace_behind_the_apps_back(rows[5], **forged)
    report = await audit.verify_chain()
    assert report.broken["id"] == rows[6]["id"] and report.count == 6


async def test_verify_names_a_forged_entry_added_at_the_end(cast):
    head = (await entries())[-1]
    forged = AuditEvent(at=head["at"], action="roles.changed", actor_label="Ada Admin <admin@northbridge.example>",
                        subject_label="intruder@example.com", prev_hash=head["entry_hash"], entry_hash="f" * 64)
    await AuditEvent.insert(forged)
    report = await audit.verify_chain()
    assert report.broken["id"] == forged.id and report.broken["action"] == "roles.changed"


async def test_the_database_refuses_a_fork(cast):
    head = (await entries())[-1]
    twin = AuditEvent(at=head["at"], action="signin.failed", prev_hash=head["prev_hash"])
    twin.entry_hash = audit.entry_hash(twin.prev_hash, {name: getattr(twin, name) for name in audit.HASHED})
    with pytest.raises(Exception, match="(?i)unique"):
        await AuditEvent.insert(twin)
    assert (await audit.verify_chain()).broken is None


async def test_concurrent_writers_leave_one_chain(cast):
    before = await AuditEvent.count()
    # add_person writes two entries in its transaction; a failed sign-in writes one outside any; on
    # PostgreSQL these run at once on the pool's connections.
    await asyncio.gather(*[
        schools.add_person(email=f"new{i}@northbridge.example", display_name=f"New {i}", school_id=cast.school_id,
                           roles=["staff"], actor=None, origin=Origin(ip="test"))
        for i in range(12)
    ], *[
        audit.record("signin.failed", origin=Origin(ip=f"198.51.100.{i}"), detail={"reason": "unknown passkey"})
        for i in range(12)
    ])
    report = await audit.verify_chain()
    assert report.broken is None
    assert report.count == await AuditEvent.count() >= before + 24


async def test_the_upgrade_chains_entries_written_before_it(cast):
    from app.domain.audit.service import entry_hash

    count = await AuditEvent.count()
    # Back to the database as it was before the chain: no index, no hashes.
    await ddl("DROP INDEX audit_event_prev_hash")
    try:
        async with append_only_trigger_lifted():
            await AuditEvent.update({AuditEvent.prev_hash: "", AuditEvent.entry_hash: ""}, force=True)
        assert (await audit.verify_chain()).broken["id"] == (await entries())[0]["id"]
        manager = await importlib.import_module(CHAIN_MIGRATION).forwards()
        await manager.run()
    finally:
        await ddl("CREATE UNIQUE INDEX IF NOT EXISTS audit_event_prev_hash ON audit_event (prev_hash)")
    report = await audit.verify_chain()
    assert report.broken is None and report.count == count
    rows = await entries()
    assert rows[1]["entry_hash"] == entry_hash(rows[0]["entry_hash"], rows[1])
    await audit.record("signin.failed", origin=Origin(ip="198.51.100.9"))
    assert (await audit.verify_chain()).count == count + 1
    # The migration put the append-only trigger back.
    with pytest.raises(Exception, match="append-only"):
        await AuditEvent.update({AuditEvent.ip: "elsewhere"}, force=True)


def test_help_explains_audit_verify():
    text = " ".join(corridor("audit", "verify", "--help").stdout.split())
    assert "hash chain" in text and "--anchor" in text and "exits non-zero" in text
    assert "audit" in corridor("--help").stdout


async def test_the_command_prints_ok_with_the_count_or_names_the_broken_entry(cast):
    count = await AuditEvent.count()
    result = corridor("audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    head = (await entries())[-1]["entry_hash"]
    assert f"OK: {count} audit entries" in result.stdout and head in result.stdout

    target = (await entries())[3]
    await replace_behind_the_apps_back(target, ip="192.0.2.1")
    result = corridor("audit", "verify")
    assert result.returncode == 1
    assert f"breaks at entry {target['id']} ({target['at']:%Y-%m-%d %H:%M:%S} UTC, {target['action']})" in result.stdout
    assert "The 3 audit entries before it check out" in result.stdout


async def test_the_command_fails_when_the_newest_entries_were_cut_off(cast):
    rows = await entries()
    anchor = rows[-1]["entry_hash"]
    assert corridor("audit", "verify", "--anchor", anchor).returncode == 0
    await AuditEvent.delete().where(AuditEvent.id == rows[-1]["id"])
    assert corridor("audit", "verify").returncode == 0  # a shorter chain is still a chain...
    result = corridor("audit", "verify", "--anchor", anchor)
    assert result.returncode == 1 and f"no entry has the hash {anchor}" in result.stdout  # ...but not the one recorded
