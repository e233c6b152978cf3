"""Attendance's indexes, once its tables exist (a raw step runs before the same migration's new tables are made)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T03:10:20:000001"
VERSION = "1.38.0"
DESCRIPTION = "attendance indexes: one mark per pupil, day and session; a school's marks by day; one school day"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        # One mark per pupil, day and session: what makes a re-import change nothing. It also serves every read
        # of one pupil's marks by date (pupil, day).
        await engine.run_ddl("CREATE UNIQUE INDEX attendance_mark_pupil_day_session "
                             "ON attendance_mark (pupil, day, session)")
        # A school's marks of a day or a date range (the import's school days, later the data review).
        await engine.run_ddl("CREATE INDEX attendance_mark_school_day ON attendance_mark (school, day)")
        await engine.run_ddl("CREATE UNIQUE INDEX attendance_school_day_school_day "
                             "ON attendance_school_day (school, day)")

    manager.add_raw(indexes)
    return manager
