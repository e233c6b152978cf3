"""Form tutors: one row per form and person (after the table exists)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T07:13:47:000317"
VERSION = "1.38.0"
DESCRIPTION = "form_tutor once"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def once():
        # Naming the same tutor twice (a double submission) stays one row.
        await engine_finder().run_ddl("CREATE UNIQUE INDEX form_tutor_once ON form_tutor (tutor_group, person)")

    manager.add_raw(once)
    return manager
