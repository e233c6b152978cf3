"""Notifications stored before alerts had their own table move forward: one alert per event, each person's row
keeping its id, its text and link, and whether they had opened it (SQLite and PostgreSQL).

Runs the migrations in a child process on a database of its own: first every migration before these two, then
rows as the old app wrote them, then the rest.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

FIRST = "corridor_2026_12_07t01_00_00_000000"

SCRIPT = textwrap.dedent('''
    import asyncio, datetime, json, shutil, sys, tempfile
    from pathlib import Path
    from app import db
    from app.piccolo_app import APP_CONFIG

    FIRST = sys.argv[1]
    URL = sys.argv[2]
    OLD = [
        # (person, school, kind, text, link, created_at, read_at): one incident told to three people (one has
        # opened it), a concern told to one.
        (1, 1, "incident.routed", "Fighting · 9A · Canteen: needs follow-up.", "/incidents/5",
         "2026-12-01 10:00:00+00:00", None),
        (2, 1, "incident.routed", "Fighting · 9A · Canteen: needs follow-up.", "/incidents/5",
         "2026-12-01 10:00:00+00:00", "2026-12-01 10:05:00+00:00"),
        (3, 1, "incident.routed", "Fighting · 9A · Canteen: needs follow-up.", "/incidents/5",
         "2026-12-01 10:00:00+00:00", None),
        (3, 1, "concern.new", "New safeguarding concern C-ABC123.", "/concerns/9", "2026-12-01 11:00:00+00:00", None),
    ]

    async def main():
        folder = Path(APP_CONFIG.migrations_folder_path)
        before = Path(tempfile.mkdtemp())
        for path in folder.glob("corridor_*.py"):
            if path.stem < FIRST:
                shutil.copy(path, before / path.name)
        APP_CONFIG.migrations_folder_path = str(before)
        await db.migrate(URL)
        engine = db.bind(URL)
        from app.domain.schools.tables import Trust
        postgres = not URL.startswith("sqlite")
        if postgres:
            await engine.start_connection_pool(min_size=1, max_size=2)
        at = datetime.datetime.fromisoformat
        await Trust.raw("INSERT INTO trust (name, slug, created_at) VALUES ('T', 't', {})",
                        at("2026-12-01 09:00:00+00:00"))
        trust = (await Trust.raw("SELECT id FROM trust"))[0]["id"]
        await Trust.raw("INSERT INTO school (trust, name, slug, created_at) VALUES ({}, 'S', 's', {})", trust,
                        at("2026-12-01 09:00:00+00:00"))
        school = (await Trust.raw("SELECT id FROM school"))[0]["id"]
        people = []
        for n in range(3):
            rows = await Trust.raw("INSERT INTO person (email, display_name, user_handle, created_at) "
                                   "VALUES ({}, {}, {}, {}) RETURNING id", f"p{n}@s.example", f"P{n}", f"h{n}",
                                   at("2026-12-01 09:00:00+00:00"))
            people.append(rows[0]["id"])
        ids = []
        for person, _, kind, text, link, created, read in OLD:
            rows = await Trust.raw(
                "INSERT INTO notification (person, school, kind, text, link, created_at, read_at) "
                "VALUES ({}, {}, {}, {}, {}, {}, {}) RETURNING id",
                people[person - 1], school, kind, text, link, at(created), read and at(read))
            ids.append(rows[0]["id"])
        if postgres:
            await engine.close_connection_pool()
        await db.close(engine)

        APP_CONFIG.migrations_folder_path = str(folder)
        await db.migrate(URL)
        engine = db.bind(URL)
        if postgres:
            await engine.start_connection_pool(min_size=1, max_size=2)
        from app.domain.notifications.tables import Alert, AlertRecipient, Notification
        from app.domain.notifications import service as notifications
        from app.domain.schools.service import Actor
        view = await Notification.select().order_by(Notification.id)
        out = {
            "people": people, "ids": ids, "alerts": await Alert.count(),
            "recipients": await AlertRecipient.count(),
            "view": [[r["id"], r["person"], r["kind"], r["text"], r["link"], r["read_at"] is not None] for r in view],
            "unread": [await AlertRecipient.count().where((AlertRecipient.person == p) & AlertRecipient.read_at.is_null())
                       for p in people],
        }
        # A new alert after the move gets a fresh id (PostgreSQL's sequence went on from the copied ids).
        pending = await notifications.notify(set(people), school_id=school, kind="concern.new", text="New.",
                                             link="/concerns/10")
        out["new_ids"] = sorted(n for _, n, _ in pending)
        if postgres:
            await engine.close_connection_pool()
        await db.close(engine)
        print(json.dumps(out))

    asyncio.run(main())
''')


@pytest.fixture
def fresh_url(tmp_path):
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'before.sqlite3'}"
        return
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_alerts"
    fresh = urlunsplit(parts._replace(path="/" + name))
    tool = Path(__file__).resolve().parents[2] / "tools" / "pg_test_db.py"
    subprocess.run([sys.executable, str(tool), fresh], check=True, timeout=60)
    yield fresh
    import asyncio

    import asyncpg

    async def drop():
        conn = await asyncpg.connect(host=parts.hostname, port=parts.port or 5432,
                                     user=parts.username or "postgres", database="postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def test_it_moves_each_notification_to_one_alert_per_event_keeping_ids_and_read_state(fresh_url):
    env = {**os.environ, "DATABASE_URL": fresh_url}
    done = subprocess.run([sys.executable, "-c", SCRIPT, FIRST, fresh_url], capture_output=True, text=True, env=env,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    p1, p2, p3 = out["people"]
    assert out["alerts"] == 2 and out["recipients"] == 4  # the incident told three people is one alert
    fight, concern = "Fighting · 9A · Canteen: needs follow-up.", "New safeguarding concern C-ABC123."
    assert out["view"] == [
        [out["ids"][0], p1, "incident.routed", fight, "/incidents/5", False],
        [out["ids"][1], p2, "incident.routed", fight, "/incidents/5", True],
        [out["ids"][2], p3, "incident.routed", fight, "/incidents/5", False],
        [out["ids"][3], p3, "concern.new", concern, "/concerns/9", False],
    ]
    assert out["unread"] == [1, 0, 2]
    assert min(out["new_ids"]) > max(out["ids"])
