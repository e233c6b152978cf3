"""Alert recipients: one index for a person's alerts instead of two (issue 12, the incident POST).

An incident tells about 25 people: every recipient's row went into two indexes led by the person
(alert_recipient_person, for the foreign key, and the partial alert_recipient_unread), each row on a different
page, so each POST wrote about 50 index pages to disk at its COMMIT. One index (person, school, read_at, id) serves
both: the foreign key's look-ups (person first), and a person's unread alerts at a school, newest first (read_at
IS NULL is an equality for the index). Measured in-process on the bench school: 0.15-0.2 ms of CPU less per POST.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T07:31:23:000512"
VERSION = "1.38.0"
DESCRIPTION = "alert_recipient: one person index"

# LOCKS: alert_recipient: CREATE INDEX blocks writes to the table (every alert's recipients) while it builds; the
# table is about 25 rows per incident and on-call alert, so a school's year is a few million rows and seconds of
# build: run the upgrade outside the school day (docs/upgrading.md), as for the earlier index migrations.
STATEMENTS = [
    "CREATE INDEX alert_recipient_person_unread ON alert_recipient (person, school, read_at, id)",
    "DROP INDEX IF EXISTS alert_recipient_unread",
    "DROP INDEX IF EXISTS alert_recipient_person",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
