"""Indexes for incidents, notifications and idempotency receipts (after their tables exist)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-24T12:00:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for incidents, notifications and receipts"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        # One receipt per person and key: this unique index is what makes a double submit create one record.
        await engine.run_ddl("CREATE UNIQUE INDEX idempotency_receipt_person_key ON idempotency_receipt (person, key)")
        await engine.run_ddl("CREATE INDEX incident_pupil_status ON incident_pupil (status, pupil)")
        await engine.run_ddl("CREATE INDEX notification_person_unread ON notification (person, read_at, id)")

    manager.add_raw(indexes)
    return manager
