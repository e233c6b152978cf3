"""Casework: the due and overdue lists read a school's cases by their next review date (the tables are made by
the migration before this one, whose raw steps would run before its tables exist)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T01:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "index for the casework due and overdue lists"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        await engine_finder().run_ddl("CREATE INDEX pupil_case_school_next_review ON pupil_case (school, next_review_on)")

    manager.add_raw(indexes)
    return manager
