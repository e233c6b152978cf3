"""A replayed entry gets the answer its first attempt got, and the record exists once."""

from __future__ import annotations

import datetime as dt

from app.domain.concerns.tables import Concern
from app.domain.incidents.service import LONDON
from app.domain.incidents.tables import Incident
from tests.conftest import sign_in
from tests.outbox.conftest import incident, new_key, receipts, replay_post


async def test_it_answers_a_replay_with_the_stored_answer_and_makes_one_record(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    first = await replay_post(client, "/incidents/", incident(school), key=key, person=school.teacher.id)
    # The answer was lost on the way back: the phone sends the same entry again, twice.
    again = await replay_post(client, "/incidents/", incident(school), key=key, person=school.teacher.id)
    third = await replay_post(client, "/incidents/", incident(school), key=key, person=school.teacher.id)
    assert first.status_code == again.status_code == third.status_code == 303
    assert first.headers["location"] == again.headers["location"] == third.headers["location"]
    assert await Incident.count() == 1
    [receipt] = await receipts()
    assert receipt["key"] == key and receipt["person"] == school.teacher.id and receipt["status_code"] == "303"


async def test_a_replayed_concern_gets_the_same_receipt(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    fields = {"pupil_id": str(school.ava), "seen_or_said": "Said she is scared to go home"}
    first = await replay_post(client, "/concerns/", fields, key=key, page="/concerns/new")
    again = await replay_post(client, "/concerns/", fields, key=key, page="/concerns/new")
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert await Concern.count() == 1


async def test_a_replayed_entry_keeps_the_time_it_was_made(client, settings, school):
    await sign_in(client, settings, school.teacher)
    made = (dt.datetime.now(LONDON) - dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    response = await replay_post(client, "/incidents/", incident(school, occurred_at=made.strftime("%Y-%m-%dT%H:%M")),
                                 key=new_key())
    assert response.status_code == 303
    row = await Incident.select(Incident.occurred_at, Incident.recorded_at).first()
    assert row["occurred_at"] == made.astimezone(dt.UTC)
    assert row["recorded_at"] - row["occurred_at"] >= dt.timedelta(hours=3)


async def test_transport_fields_are_not_part_of_the_content(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    plain = await replay_post(client, "/incidents/", incident(school), key=key)
    # The same entry posted by the page with its outbox fields (who made it, the list's summary): not a new entry.
    with_extras = await replay_post(client, "/incidents/", incident(school, _person=str(school.teacher.id),
                                    _summary='{"pupils": ["Ava Okafor"]}'), key=key)
    assert plain.status_code == with_extras.status_code == 303
    assert plain.headers["location"] == with_extras.headers["location"]
    assert await Incident.count() == 1


async def test_a_malformed_key_is_refused_and_nothing_is_saved(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await replay_post(client, "/incidents/", incident(school), key="not a key; drop table")
    assert response.status_code == 400 and "malformed" in response.json()["error"]
    assert await Incident.count() == 0 and await receipts() == []


async def test_keys_belong_to_one_person(client, settings, school):
    # Someone else's key is not a replay of their entry: it is another person's own submission.
    key = new_key()
    await sign_in(client, settings, school.teacher)
    mine = await replay_post(client, "/incidents/", incident(school), key=key)
    client.cookies.clear()
    await sign_in(client, settings, school.pastoral)
    theirs = await replay_post(client, "/incidents/", incident(school), key=key)
    assert mine.status_code == theirs.status_code == 303
    assert mine.headers["location"] != theirs.headers["location"]
    assert {r["recorded_by"] for r in await Incident.select(Incident.recorded_by)} == {school.teacher.id,
                                                                                       school.pastoral.id}


async def test_someone_at_another_school_cannot_log_for_these_pupils_and_leaves_no_receipt(client, settings, school):
    await sign_in(client, settings, school.outsider)
    response = await replay_post(client, "/incidents/", incident(school), key=new_key())
    assert response.status_code == 400 and "not on roll at this school" in response.text
    assert await Incident.count() == 0 and await receipts() == []
