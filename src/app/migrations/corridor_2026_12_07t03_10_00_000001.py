"""Chronology's indexes, once its table exists: one significant flag per (pupil, entry), so two colleagues marking
the same entry at once make one row; and on_call_pupil(pupil), which the chronology reads by pupil."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T03:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "chronology_flag (pupil, ref) unique index; on_call_pupil (pupil) index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        await engine.run_ddl("CREATE UNIQUE INDEX chronology_flag_pupil_ref ON chronology_flag (pupil, ref)")
        # LOCKS: on_call_pupil: a few rows per on-call request naming a pupil: the build is brief.
        await engine.run_ddl("CREATE INDEX on_call_pupil_pupil ON on_call_pupil (pupil)")

    manager.add_raw(indexes)
    return manager
