"""Retention's indexes, once its tables exist: one period per (school, kind), so two admins saving at once make
one row; and at most one hold in force per pupil (a partial index: lifted holds stay as history)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T03:50:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "retention_policy (school, kind) unique index; legal_hold (pupil) unique while in force"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        await engine.run_ddl("CREATE UNIQUE INDEX retention_policy_school_kind ON retention_policy (school, kind)")
        await engine.run_ddl("CREATE UNIQUE INDEX legal_hold_in_force ON legal_hold (pupil) WHERE lifted_at IS NULL")

    manager.add_raw(indexes)
    return manager
