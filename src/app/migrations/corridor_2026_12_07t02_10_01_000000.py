"""Interventions' unique indexes, once the tables exist: a double-submitted form makes one row."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T02:10:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "intervention unique indexes: a pupil once a programme, one session a day, one mark, one measure a stage"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        await engine.run_ddl("CREATE UNIQUE INDEX intervention_participant_once "
                             "ON intervention_participant (programme, pupil)")
        await engine.run_ddl("CREATE UNIQUE INDEX intervention_session_day ON intervention_session (programme, held_on)")
        await engine.run_ddl("CREATE UNIQUE INDEX intervention_attendance_once "
                             "ON intervention_attendance (session, participant)")
        await engine.run_ddl("CREATE UNIQUE INDEX intervention_measure_stage ON intervention_measure (participant, stage)")

    manager.add_raw(indexes)
    return manager
