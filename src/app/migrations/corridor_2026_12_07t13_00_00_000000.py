"""PostgreSQL: audit entries are chained in batches, by whoever finds the chain free (issue 12, the burst).

Until now every committing transaction's deferred trigger (corridor_2026_12_07t03_47_12_000000) waited for the chain's
advisory lock and held it to the end of its COMMIT, WAL flush included: 250 incident POSTs at once committed one at
a time, each flush after the last, and PostgreSQL could not flush them together.

Now the trigger only tries the lock. The transaction that gets it chains, in one go, every entry waiting in
audit_unsealed that it can see (its own and those of transactions already committed), grouped by transaction and
in the order written. A transaction that finds the chain busy commits with its entries left in audit_unsealed: they
are committed with the change they describe, and the next transaction to get the lock chains them, or each app
process's sweeper does within a second (corridor_audit_sweep, app.domain.audit.service.sweep_forever). Readers
that must see an entry at once (failed sign-ins, recently viewed, the audit log) read audit_unsealed too or sweep
first. With no other writer committing at that moment, an entry is chained at its own COMMIT, as before.

The hashing is unchanged (the previous migration's expression, over the waiting row instead of NEW).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "PostgreSQL: audit entries chained in batches by whoever finds the chain free"

# The chain migration's lock (corridor_2026_12_02t11_30_01_000000.ADVISORY_LOCK_KEY) and starting value.
ADVISORY_LOCK_KEY = 7_240_120_001
GENESIS = "0" * 64

# The previous migration's canonical form, over the waiting row `w` (kept here as written, so that a later change
# there cannot change what this migration did).
_CANONICAL = " || ',' || ".join([
    "to_json(head)::text",
    """to_json(to_char(w.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00')::text""",
    "COALESCE(w.actor::text, 'null')", "to_json(w.actor_label)::text", "to_json(w.action)::text",
    "COALESCE(w.school::text, 'null')", "to_json(w.subject_type)::text", "to_json(w.subject_id)::text",
    "to_json(w.subject_label)::text", "to_json(w.ip)::text", "to_json(w.detail)::text",
])

POSTGRES = [
    # Which transaction wrote the entry, so that a transaction's entries stay together in the chain.
    "ALTER TABLE audit_unsealed ADD COLUMN txn BIGINT NOT NULL DEFAULT txid_current()",
    # An entry now waits past its own transaction: what it names must stay until it is chained, or the next
    # holder's COMMIT would fail on audit_event's foreign keys. A person or school in the log cannot be deleted
    # (audit_event is append-only, so its SET NULL is refused): one with an entry waiting cannot be either.
    # LOCKS: audit_unsealed: it holds no rows between transactions before this migration, so the check reads none;
    # person and school are locked against writes (not reads) only for that moment.
    "ALTER TABLE audit_unsealed ADD FOREIGN KEY (actor) REFERENCES person(id) ON UPDATE CASCADE",
    "ALTER TABLE audit_unsealed ADD FOREIGN KEY (school) REFERENCES school(id) ON UPDATE CASCADE",
    # Chains every entry waiting that this transaction can see. The caller holds the chain's lock.
    f"""CREATE OR REPLACE FUNCTION corridor_audit_chain_waiting() RETURNS integer AS $$
DECLARE
    head varchar;
    prev varchar;
    w record;
    done bigint[] := '{{}}';
BEGIN
    -- A VOLATILE function's query takes a fresh snapshot (READ COMMITTED): it sees the previous holder's entries,
    -- and audit_event's ids are taken under the lock, so the newest id is the chain's head.
    head := COALESCE((SELECT entry_hash FROM audit_event ORDER BY id DESC LIMIT 1), '{GENESIS}');
    FOR w IN SELECT * FROM audit_unsealed ORDER BY min(id) OVER (PARTITION BY txn), id LOOP
        prev := head;
        head := encode(sha256(convert_to('[' || {_CANONICAL} || ']', 'UTF8')), 'hex');
        INSERT INTO audit_event (at, actor, actor_label, action, school, subject_type, subject_id, subject_label,
                                 ip, detail, prev_hash, entry_hash)
        VALUES (w.at, w.actor, w.actor_label, w.action, w.school, w.subject_type, w.subject_id, w.subject_label,
                w.ip, w.detail, prev, head);
        done := done || w.id;
    END LOOP;
    -- Only what was chained: an entry committed since the loop began waits for the next holder.
    DELETE FROM audit_unsealed WHERE id = ANY(done);
    RETURN cardinality(done);
END; $$ LANGUAGE plpgsql VOLATILE""",  # nosec B608  # only the constants above are formatted in
    # The deferred trigger: chain if the chain is free, else leave the entries, committed, for the next holder.
    f"""CREATE OR REPLACE FUNCTION corridor_audit_seal() RETURNS trigger AS $$
BEGIN
    -- Held, if taken, until this transaction's COMMIT has ended. Taken already by this transaction's earlier
    -- entry, it is taken again, and what it chained is gone.
    IF pg_try_advisory_xact_lock({ADVISORY_LOCK_KEY}) THEN
        PERFORM corridor_audit_chain_waiting();
    END IF;
    RETURN NULL;
END; $$ LANGUAGE plpgsql VOLATILE""",
    # The sweeper's: one cheap look, and the lock (waited for) only when something is waiting.
    f"""CREATE OR REPLACE FUNCTION corridor_audit_sweep() RETURNS integer AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_unsealed) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock({ADVISORY_LOCK_KEY});
    RETURN corridor_audit_chain_waiting();
END; $$ LANGUAGE plpgsql VOLATILE""",  # nosec B608  # only the lock's key is formatted in
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
