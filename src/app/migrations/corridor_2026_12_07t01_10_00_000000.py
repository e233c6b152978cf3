"""Indexes the query plans ask for (issue 12): the quick-entry page's "logged today" (one person's incidents
since midnight), the follow-up list (a school's open items, newest first, a page at a time, with the categories
a person watches) and "recently viewed" (one person's pupil.viewed events at one school, newest first)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for logged today, the follow-up list and recently viewed"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    # LOCKS: incident: each CREATE INDEX blocks writes to its table while it builds (a migration runs in a transaction,
    # so CONCURRENTLY is not available); the build time grows with the table: upgrade outside the school day.
    # LOCKS: incident_pupil: as above (partial index: only open items).
    # LOCKS: category_watcher: small (a row per person per watched category).
    # LOCKS: audit_event: as incident; the audit log is the biggest table, so upgrade outside the school day.
    async def indexes():
        engine = engine_finder()
        # Without it "logged today" read every incident_pupil row of the school (1.08 million in the benchmark).
        await engine.run_ddl("CREATE INDEX incident_recorded_by_recorded_at ON incident (recorded_by, recorded_at)")
        # The follow-up list walks one school's live incidents newest first and stops after a page; with only
        # incident(occurred_at) PostgreSQL walked every school's incidents (trust p99 6 s). Partial: the walk
        # then never reads a deleted incident's row, and every query of live incidents can use it.
        await engine.run_ddl("CREATE INDEX incident_school_occurred_at ON incident (school, occurred_at) "
                             "WHERE deleted_at IS NULL")
        # For each incident on that walk: its open items, if any. Only open and in-progress rows are in it (not
        # the million resolved reward points), so an incident with none costs one look in a small index.
        await engine.run_ddl("CREATE INDEX incident_pupil_open ON incident_pupil (incident) "
                             "WHERE status IN ('open', 'in_progress')")
        # Whose categories a person watches: asked on every follow-up page (the rows a watcher may see), and
        # category_watcher had an index on the category only.
        await engine.run_ddl("CREATE INDEX category_watcher_person ON category_watcher (person, category)")
        # "Recently viewed" also names the school: with (actor, action, id) SQLite without statistics chose
        # audit_event(school) and read the school's whole audit log (65 ms at 300,000 rows). The school column
        # in the index makes every condition an index equality, statistics or not. Only that query used the
        # old index, so it is replaced (an audit write still updates one index for it, not two).
        await engine.run_ddl("CREATE INDEX audit_event_actor_action_school ON audit_event (actor, action, school, id)")
        await engine.run_ddl("DROP INDEX audit_event_actor_action")

    manager.add_raw(indexes)
    return manager
