"""Referrals' indexes, once the tables exist (a raw step runs before the same migration's new tables are made)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T01:40:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral indexes: one service of a name per school; the referrals waiting to be chased"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        # One service of a name per school, whatever its case: a double-submitted "add" makes one row.
        await engine.run_ddl("CREATE UNIQUE INDEX referral_service_school_name ON referral_service (school, lower(name))")
        # The chase check reads only the sent, not yet chased referrals whose day has come.
        await engine.run_ddl("CREATE INDEX referral_to_chase ON referral (chase_due_on) "
                             "WHERE state = 'sent' AND chased_at IS NULL")

    manager.add_raw(indexes)
    return manager
