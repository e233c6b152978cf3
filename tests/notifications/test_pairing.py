"""Each person's live alert names their own notification, whatever order the database returns new rows in.

SQLite documents the order of RETURNING rows as arbitrary ("not necessarily the same order as the rows
processed"), and PostgreSQL promises no order either. The `returned_in_another_order` fixture makes the
database's answer to every INSERT ... RETURNING come back reversed, an order both are free to use, so a
notify() that pairs recipients with ids by position tells each person about someone else's alert: their
stream drops it (it is not theirs) and opening it answers "not found".
"""

import json

import pytest

from app.db import atomic
from app.domain.notifications import service as notifications
from app.domain.notifications.tables import Notification
from tests.conftest import post_form, sign_in
from tests.incidents.conftest import log
from tests.incidents.conftest import school  # noqa: F401  (the fixture)


@pytest.fixture
def returned_in_another_order(database, monkeypatch):
    engine_class = type(database)
    run = engine_class.run_querystring

    async def reversed_returning(self, querystring, *args, **kwargs):
        rows = await run(self, querystring, *args, **kwargs)
        sql = querystring.compile_string(engine_type=self.engine_type)[0].upper()
        if sql.lstrip().startswith("INSERT") and "RETURNING" in sql and isinstance(rows, list):
            return list(reversed(rows))
        return rows

    monkeypatch.setattr(engine_class, "run_querystring", reversed_returning)


@pytest.fixture
def published(monkeypatch) -> list[dict]:
    """What live delivery was asked to send (the channels backend is the boundary)."""
    sent: list[dict] = []

    async def publish(channels, message):
        sent.append(json.loads(message) if isinstance(message, str) else message)

    monkeypatch.setattr(notifications, "_publisher", publish)
    return sent


async def owners(to: dict[str, int]) -> dict[str, int]:
    rows = await Notification.select(Notification.id, Notification.person).where(
        Notification.id.is_in(list(to.values())))
    by_id = {r["id"]: r["person"] for r in rows}
    return {person: by_id.get(notification_id) for person, notification_id in to.items()}


async def test_it_pairs_each_recipient_with_their_own_alert(cast, returned_in_another_order, published):
    people = {cast.dsl.id, cast.pastoral.id, cast.head_of_year.id, cast.responder.id}
    async with atomic():
        pending = await notifications.notify(people, school_id=cast.school_id, kind="concern.new",
                                             text="New safeguarding concern C-PAIR01.", link="/concerns/7")
    await notifications.deliver(pending)

    (message,) = published
    assert set(message["to"]) == {str(p) for p in people}
    assert await owners(message["to"]) == {str(p): p for p in people}
    alerts = await Notification.select().where(Notification.person.is_in(list(people)))
    assert {(a["person"], a["text"], a["link"]) for a in alerts} == {
        (p, "New safeguarding concern C-PAIR01.", "/concerns/7") for p in people}


async def test_the_alert_an_incident_sends_each_person_opens_their_own_record(
        client, settings, school, returned_in_another_order, published):  # noqa: F811
    await sign_in(client, settings, school.teacher)
    response = await log(client, {"pupil_id": school.ava, "role": "instigator", "category_id": school.fighting})
    assert response.status_code == 303

    (message,) = published
    assert set(message["to"]) == {str(school.head_of_year.id), str(school.pastoral.id)}
    assert await owners(message["to"]) == {str(school.head_of_year.id): school.head_of_year.id,
                                           str(school.pastoral.id): school.pastoral.id}
    # What the person notices: the alert their page was sent opens, and takes them to the incident.
    client.cookies.clear()
    await sign_in(client, settings, school.pastoral)
    await client.get("/")
    opened = await post_form(client, f"/notifications/{message['to'][str(school.pastoral.id)]}/open")
    assert opened.status_code == 200 and opened.url.path.startswith("/incidents/")
