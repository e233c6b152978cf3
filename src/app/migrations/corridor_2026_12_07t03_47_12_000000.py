"""PostgreSQL: audit entries are chained by the database as their transaction commits (issue 12, the burst).

The app inserts an entry into `audit_unsealed`; a deferred constraint trigger, run by PostgreSQL as the transaction
commits, takes the chain's advisory lock, reads the newest hash, inserts the entry into `audit_event` with its
hashes, and deletes it from `audit_unsealed`. The chain's lock, which every audited write of the install waits
for, is then held from that moment to the end of the COMMIT, with no round trip to the app inside it: taken when the
app asked for the head, it was held across the rest of the transaction's statements, each a round trip through a
busy event loop, and 250 incident POSTs at once queued on it for seconds. An entry is in `audit_event` as soon as
its change is committed, and never before; `audit_unsealed` holds rows only inside transactions not yet committed.

The hash is the app's (app.domain.audit.service.entry_hash): SHA-256 over the JSON array of the previous hash and
the entry's fields, compact, non-ASCII as is. PostgreSQL's to_json escapes text exactly as Python's json.dumps with
ensure_ascii=False (", \\, \\b \\f \\n \\r \\t, other control characters as \\u00xx), and the time is written as
Python's isoformat in UTC with microseconds; tests/audit/test_audit_chain_lock.py checks awkward text and times,
and `corridor audit verify` recomputes every hash in Python. SQLite is unchanged: its writers take turns, and the
app chains each entry as it writes it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-07T03:47:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "PostgreSQL: audit entries chained as their transaction commits"

# The chain migration's lock (corridor_2026_12_02t11_30_01_000000.ADVISORY_LOCK_KEY) and starting value.
ADVISORY_LOCK_KEY = 7_240_120_001
GENESIS = "0" * 64

_CANONICAL = " || ',' || ".join([
    "to_json(head)::text",
    """to_json(to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00')::text""",
    "COALESCE(NEW.actor::text, 'null')", "to_json(NEW.actor_label)::text", "to_json(NEW.action)::text",
    "COALESCE(NEW.school::text, 'null')", "to_json(NEW.subject_type)::text", "to_json(NEW.subject_id)::text",
    "to_json(NEW.subject_label)::text", "to_json(NEW.ip)::text", "to_json(NEW.detail)::text",
])

POSTGRES = [
    # Rows live here only until their transaction commits. No foreign keys: audit_event's own check them.
    """CREATE TABLE audit_unsealed (
        id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, actor INTEGER, actor_label VARCHAR(300) NOT NULL,
        action VARCHAR(60) NOT NULL, school INTEGER, subject_type VARCHAR(40) NOT NULL,
        subject_id VARCHAR(64) NOT NULL, subject_label VARCHAR(300) NOT NULL, ip VARCHAR(64) NOT NULL,
        detail TEXT NOT NULL)""",
    f"""CREATE OR REPLACE FUNCTION corridor_audit_seal() RETURNS trigger AS $$
DECLARE
    head varchar;
BEGIN
    -- Held until this transaction's COMMIT has ended, so entries are chained one at a time in every process.
    PERFORM pg_advisory_xact_lock({ADVISORY_LOCK_KEY});
    -- A VOLATILE function's query takes a fresh snapshot (READ COMMITTED): it sees the previous holder's entry.
    -- audit_event's ids are taken under the lock, so the newest id is the chain's head.
    head := COALESCE((SELECT entry_hash FROM audit_event ORDER BY id DESC LIMIT 1), '{GENESIS}');
    INSERT INTO audit_event (at, actor, actor_label, action, school, subject_type, subject_id, subject_label, ip,
                             detail, prev_hash, entry_hash)
    VALUES (NEW.at, NEW.actor, NEW.actor_label, NEW.action, NEW.school, NEW.subject_type, NEW.subject_id,
            NEW.subject_label, NEW.ip, NEW.detail, head,
            encode(sha256(convert_to('[' || {_CANONICAL} || ']', 'UTF8')), 'hex'));
    DELETE FROM audit_unsealed WHERE id = NEW.id;
    RETURN NULL;
END; $$ LANGUAGE plpgsql VOLATILE""",  # nosec B608  # only the constants above are formatted in
    # Deferred: run as the transaction commits, in the order the entries were written.
    """CREATE CONSTRAINT TRIGGER audit_unsealed_seal AFTER INSERT ON audit_unsealed
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION corridor_audit_seal()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES:
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
