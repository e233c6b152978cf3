"""The data review's version read (issue 15, point 5): one school's deleted incidents, newest deletion last, so
that reading "has anything been deleted since" costs a look in a small index instead of a walk of every incident."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T04:20:10:000001"
VERSION = "1.38.0"
DESCRIPTION = "index for the data review's version"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    # LOCKS: incident: CREATE INDEX blocks writes to it while it builds; partial (deleted incidents only, a few), so
    # the build reads the table once and writes a small index.
    async def indexes():
        await engine_finder().run_ddl("CREATE INDEX incident_school_deleted_at ON incident (school, deleted_at) "
                                      "WHERE deleted_at IS NOT NULL")

    manager.add_raw(indexes)
    return manager
