"""Drop incident(occurred_at): every query of incidents by time is one school's, served by the partial index
incident_school_occurred_at (school, occurred_at) of live incidents. With both, PostgreSQL could walk every
school's incidents by time for one school's follow-up list (cheap on a small table, where it chose it now and
then; a walk of the whole trust's incidents on a big one)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop incident(occurred_at), which incident(school, occurred_at) replaces"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def drop():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS incident_occurred_at")

    manager.add_raw(drop)
    return manager
