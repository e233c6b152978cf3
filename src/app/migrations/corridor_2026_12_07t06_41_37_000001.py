"""Home visits' alarm texts: one per visit, tier, kind and person (after the table exists)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T06:41:37:000001"
VERSION = "1.38.0"
DESCRIPTION = "home visit text once"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def once():
        # One text per visit, tier, kind and person, whichever process queues it.
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX home_visit_text_once ON home_visit_text (visit, tier, kind, person)")

    manager.add_raw(once)
    return manager
