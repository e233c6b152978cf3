"""Home visits' indexes, once the tables exist: one escalation row per visit and tier (a second process firing the
same tier cannot add a second), and one pupil per visit once."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T03:20:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "home_visit_escalation (visit, tier) unique; home_visit_pupil (visit, pupil) unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        await engine.run_ddl("CREATE UNIQUE INDEX home_visit_escalation_visit_tier ON home_visit_escalation "
                             "(visit, tier)")
        await engine.run_ddl("CREATE UNIQUE INDEX home_visit_pupil_visit_pupil ON home_visit_pupil (visit, pupil)")

    manager.add_raw(indexes)
    return manager
