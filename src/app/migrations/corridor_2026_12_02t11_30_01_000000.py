"""Chain the audit entries already written, then make the chain impossible to fork.

Existing entries are hashed here, oldest first, exactly as the app hashes new ones, so `corridor audit verify`
covers the whole history of an upgraded database (from the upgrade on: what was changed before it cannot be
told). The append-only trigger is lifted only inside this migration's transaction.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Text, Timestamptz, Varchar
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-02T11:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit event hash chain"

BATCH = 500
# Any fixed number; every writer of the audit log takes this lock (see corridor_audit_chain_head).
ADVISORY_LOCK_KEY = 7_240_120_001

CHAIN_HEAD = f"""
CREATE OR REPLACE FUNCTION corridor_audit_chain_head() RETURNS varchar AS $$
BEGIN
    -- Held until the caller's transaction ends, so writers in every process append one at a time.
    PERFORM pg_advisory_xact_lock({ADVISORY_LOCK_KEY});
    -- A VOLATILE function's query takes a fresh snapshot (under READ COMMITTED), so it sees the entry that the
    -- previous lock holder committed; one SELECT doing both would read with a snapshot from before the wait.
    RETURN (SELECT entry_hash FROM audit_event ORDER BY id DESC LIMIT 1);
END; $$ LANGUAGE plpgsql VOLATILE"""  # nosec B608  # only the integer constant above is formatted in
SQLITE_NO_UPDATE = """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""


class AuditEvent(Table, tablename="audit_event"):
    """The audit table as this migration knows it (the app's class may grow later)."""

    at = Timestamptz()
    actor = Integer(null=True)
    actor_label = Varchar(length=300)
    action = Varchar(length=60)
    school = Integer(null=True)
    subject_type = Varchar(length=40)
    subject_id = Varchar(length=64)
    subject_label = Varchar(length=300)
    ip = Varchar(length=64)
    detail = Text()
    prev_hash = Varchar(length=64)
    entry_hash = Varchar(length=64)


# LOCKS: audit_event: chaining rewrites every existing entry (UPDATE in batches) and builds a unique index, inside
# the migration's transaction: audited writes wait until it ends. It ran before any school used Corridor; on a
# big log, upgrade outside the school day.
async def chain_existing(engine) -> None:
    # The app's own hash function: verify must agree with what is written here.
    from app.domain.audit.service import GENESIS, HASHED, entry_hash

    AuditEvent._meta.db = engine
    columns = [AuditEvent.id] + [getattr(AuditEvent, name) for name in HASHED]
    previous, last_id = GENESIS, 0
    while True:
        rows = await AuditEvent.select(*columns).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(BATCH)
        if not rows:
            return
        links = []
        for row in rows:
            current = entry_hash(previous, row)
            links.append((row["id"], previous, current))
            previous = current
        ids = ", ".join("{}" for _ in links)
        cases = " ".join("WHEN {} THEN {}" for _ in links)
        args = [value for id_, prev, _ in links for value in (id_, prev)]
        args += [value for id_, _, current in links for value in (id_, current)]
        args += [id_ for id_, _, _ in links]
        # Only placeholders are formatted in; the values travel as parameters.
        await AuditEvent.raw(
            f"UPDATE audit_event SET prev_hash = CASE id {cases} END, entry_hash = CASE id {cases} END "
            f"WHERE id IN ({ids})", *args)  # nosec B608
        last_id = rows[-1]["id"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        postgres = isinstance(engine, PostgresEngine)
        if postgres:
            await engine.run_ddl("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
        else:
            await engine.run_ddl("DROP TRIGGER audit_event_no_update")
        await chain_existing(engine)
        if postgres:
            await engine.run_ddl("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update")
            await engine.run_ddl(CHAIN_HEAD)
        else:
            await engine.run_ddl(SQLITE_NO_UPDATE)
        # Two entries claiming the same predecessor would fork the chain: the database refuses the second.
        await engine.run_ddl("CREATE UNIQUE INDEX audit_event_prev_hash ON audit_event (prev_hash)")

    manager.add_raw(run)
    return manager
