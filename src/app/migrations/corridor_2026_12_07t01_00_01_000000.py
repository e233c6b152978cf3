"""Existing notifications move to alert + alert_recipient, and `notification` becomes a view of the two.

Rows that were one event told to several people (same school, kind, text, link and time) become one alert;
each person's row keeps its id (links and pages already sent name it) and its read state. The view keeps the
columns the table had, so readers are unchanged; deleting from it deletes that person's copy.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-07T01:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications as one alert per event with its recipients"

MOVE = [
    """INSERT INTO alert (id, school, kind, text, link, created_at)
       SELECT MIN(id), school, kind, text, link, created_at FROM notification
       GROUP BY school, kind, text, link, created_at""",
    """INSERT INTO alert_recipient (id, alert, person, school, read_at)
       SELECT n.id, a.id, n.person, n.school, n.read_at FROM notification n
       JOIN alert a ON a.school = n.school AND a.kind = n.kind AND a.text = n.text AND a.link = n.link
                   AND a.created_at = n.created_at""",
    "DROP TABLE notification",
    """CREATE VIEW notification AS
       SELECT r.id, r.person, r.school, a.kind, a.text, a.link, a.created_at, r.read_at
       FROM alert_recipient r JOIN alert a ON a.id = r.alert""",
    # The header's unread count and the alerts page: one person's unread alerts at one school.
    "CREATE INDEX alert_recipient_unread ON alert_recipient (person, school, id) WHERE read_at IS NULL",
    # Withdrawing the alerts about an undone record finds them by link.
    "CREATE INDEX alert_school_link ON alert (school, link)",
]
POSTGRES = [
    # Ids were copied in: the sequences go on from the highest.
    "SELECT setval(pg_get_serial_sequence('alert', 'id'), COALESCE((SELECT MAX(id) FROM alert), 0) + 1, false)",
    """SELECT setval(pg_get_serial_sequence('alert_recipient', 'id'),
                     COALESCE((SELECT MAX(id) FROM alert_recipient), 0) + 1, false)""",
    """CREATE FUNCTION notification_delete() RETURNS trigger AS $$
       BEGIN DELETE FROM alert_recipient WHERE id = OLD.id; RETURN OLD; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER notification_delete INSTEAD OF DELETE ON notification
       FOR EACH ROW EXECUTE FUNCTION notification_delete()""",
]
SQLITE = [
    """CREATE TRIGGER notification_delete INSTEAD OF DELETE ON notification
       BEGIN DELETE FROM alert_recipient WHERE id = OLD.id; END""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in MOVE + (POSTGRES if isinstance(engine, PostgresEngine) else SQLITE):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
