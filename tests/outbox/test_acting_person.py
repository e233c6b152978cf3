"""A replay goes through after a restart (fresh CSRF token, the same session) and only as the person who made it."""

from __future__ import annotations

from app.domain.incidents.tables import Incident
from tests.conftest import sign_in
from tests.outbox.conftest import incident, new_key, receipts, replay_post


async def test_the_session_page_says_who_is_signed_in_with_a_csrf_token(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await client.get("/outbox/session", headers={"accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["person"] == str(school.teacher.id) and body["label"] == school.teacher.name
    assert body["csrf"] == client.cookies.get(settings.csrf_cookie)


async def test_a_replay_after_the_browser_restarted_uses_a_fresh_token(client, settings, school):
    await sign_in(client, settings, school.teacher)
    stale = (await client.get("/outbox/session", headers={"accept": "application/json"})).json()["csrf"]
    # The browser restarted: the CSRF cookie (a session cookie) is gone; the session cookie is not.
    client.cookies.delete(settings.csrf_cookie)
    refused = await replay_post(client, "/incidents/", incident(school), key=new_key(), token=stale)
    assert refused.status_code == 403
    fresh = (await client.get("/outbox/session", headers={"accept": "application/json"})).json()["csrf"]
    assert fresh != stale
    sent = await replay_post(client, "/incidents/", incident(school), key=new_key(), token=fresh,
                             person=school.teacher.id)
    assert sent.status_code == 303
    assert await Incident.count() == 1


async def test_a_replay_when_signed_out_answers_401_and_waits(client, settings, school):
    await sign_in(client, settings, school.teacher)
    token = (await client.get("/outbox/session", headers={"accept": "application/json"})).json()["csrf"]
    client.cookies.delete(settings.session_cookie)
    response = await replay_post(client, "/incidents/", incident(school), key=new_key(), token=token,
                                 person=school.teacher.id)
    assert response.status_code == 401 and "sign in" in response.json()["error"].lower()
    assert (await client.get("/outbox/session", headers={"accept": "application/json"})).status_code == 401
    assert await Incident.count() == 0


async def test_a_replay_is_never_made_as_someone_else(client, settings, school):
    # The teacher made the entry; the head of year signed in on the same phone afterwards.
    await sign_in(client, settings, school.head_of_year)
    key = new_key()
    response = await replay_post(client, "/incidents/", incident(school), key=key, person=school.teacher.id)
    assert response.status_code == 401
    assert "made by someone else" in response.json()["error"]
    assert await Incident.count() == 0 and await receipts() == []
    # The same check on the form field, for a page whose worker is older than the page.
    as_field = await replay_post(client, "/incidents/", incident(school, _person=str(school.teacher.id)), key=key)
    assert as_field.status_code == 401
    # Once its maker is signed in again it goes through, recorded as theirs.
    client.cookies.clear()
    await sign_in(client, settings, school.teacher)
    sent = await replay_post(client, "/incidents/", incident(school), key=key, person=school.teacher.id)
    assert sent.status_code == 303
    assert [r["recorded_by"] for r in await Incident.select(Incident.recorded_by)] == [school.teacher.id]


async def test_a_malformed_person_is_refused_too(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await replay_post(client, "/incidents/", incident(school), key=new_key(), person="1 OR 1=1")
    assert response.status_code == 401
    assert await Incident.count() == 0
