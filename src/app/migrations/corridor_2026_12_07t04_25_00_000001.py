"""On report: one rating per target, period and day (after the tables exist)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T04:25:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "on_report rating once"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        # A second tap (or a replayed one) updates the rating, never adds a row: the index makes a race safe too.
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX on_report_rating_once ON on_report_rating (target, period, day)")

    manager.add_raw(indexes)
    return manager
