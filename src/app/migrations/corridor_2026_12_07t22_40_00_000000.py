"""PostgreSQL: the audit chain finds its waiting entries through audit_unsealed's index, not by reading the table.

audit_unsealed is a queue: every audited write inserts a row and the next COMMIT to take the chain moves it to
audit_event and deletes it. Its deleted rows stay in the heap until autovacuum comes (at most once a minute, and not
at all in the benchmark's runs), and `corridor_audit_chain_waiting()` and the sweeper read the whole heap on every
audited COMMIT: after the benchmark's 5,500 profile views on the trust, 4,769 dead rows in 75 pages, 0.45 ms a
COMMIT, and the trust's incident POST p50 went from 3.4 to 4.1 ms. Through the primary key (an index scan, which
marks the index entries of rows dead to everyone and then skips them) the same look reads 5 pages, 0.04 ms.

Both functions are as before (corridor_2026_12_07t13_00_00_000000) but for how they look: the waiting rows in id
order from the index, then grouped by transaction as before, so the chain's order and hashes are unchanged; and
sequential scans off inside them (a function's own setting), since the planner's estimate of a table it has never
seen vacuumed favours reading it whole.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-07T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "PostgreSQL: the audit chain reads audit_unsealed through its index"

# The chain's lock (corridor_2026_12_02t11_30_01_000000.ADVISORY_LOCK_KEY) and starting value.
ADVISORY_LOCK_KEY = 7_240_120_001
GENESIS = "0" * 64

# The canonical form of corridor_2026_12_07t13_00_00_000000, over the waiting row `w` (kept here as written).
_CANONICAL = " || ',' || ".join([
    "to_json(head)::text",
    """to_json(to_char(w.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00')::text""",
    "COALESCE(w.actor::text, 'null')", "to_json(w.actor_label)::text", "to_json(w.action)::text",
    "COALESCE(w.school::text, 'null')", "to_json(w.subject_type)::text", "to_json(w.subject_id)::text",
    "to_json(w.subject_label)::text", "to_json(w.ip)::text", "to_json(w.detail)::text",
])

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION corridor_audit_chain_waiting() RETURNS integer AS $$
DECLARE
    head varchar;
    prev varchar;
    w record;
    done bigint[] := '{{}}';
BEGIN
    head := COALESCE((SELECT entry_hash FROM audit_event ORDER BY id DESC LIMIT 1), '{GENESIS}');
    FOR w IN SELECT waiting.* FROM (SELECT * FROM audit_unsealed ORDER BY id) AS waiting
             ORDER BY min(waiting.id) OVER (PARTITION BY waiting.txn), waiting.id LOOP
        prev := head;
        head := encode(sha256(convert_to('[' || {_CANONICAL} || ']', 'UTF8')), 'hex');
        INSERT INTO audit_event (at, actor, actor_label, action, school, subject_type, subject_id, subject_label,
                                 ip, detail, prev_hash, entry_hash)
        VALUES (w.at, w.actor, w.actor_label, w.action, w.school, w.subject_type, w.subject_id, w.subject_label,
                w.ip, w.detail, prev, head);
        done := done || w.id;
    END LOOP;
    DELETE FROM audit_unsealed WHERE id = ANY(done);
    RETURN cardinality(done);
END; $$ LANGUAGE plpgsql VOLATILE SET enable_seqscan = off""",  # nosec B608  # only the constants above
    f"""CREATE OR REPLACE FUNCTION corridor_audit_sweep() RETURNS integer AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_unsealed ORDER BY id LIMIT 1) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock({ADVISORY_LOCK_KEY});
    RETURN corridor_audit_chain_waiting();
END; $$ LANGUAGE plpgsql VOLATILE SET enable_seqscan = off""",  # nosec B608  # only the lock's key
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
