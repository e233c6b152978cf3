"""The phone deletes an entry only once the server says it holds it: a redirect or a page on the way back
could come from a Wi-Fi login page rather than from Corridor."""

from __future__ import annotations

from app import clock
from app.domain.notifications.tables import IdempotencyReceipt
from tests.conftest import sign_in
from tests.outbox.conftest import incident, new_key, replay_post

JSON = {"accept": "application/json"}


async def test_the_server_confirms_an_entry_it_holds(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    assert (await client.get(f"/outbox/receipts/{key}", headers=JSON)).status_code == 404
    await replay_post(client, "/incidents/", incident(school), key=key)
    response = await client.get(f"/outbox/receipts/{key}", headers=JSON)
    assert response.status_code == 200 and response.json() == {"key": key, "received": True}
    assert response.headers["cache-control"] == "no-store"


async def test_an_entry_still_being_saved_is_not_confirmed(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    await IdempotencyReceipt.insert(IdempotencyReceipt(key=key, person=school.teacher.id, request_hash="x" * 64,
                                                       status_code="", created_at=clock.now()))
    assert (await client.get(f"/outbox/receipts/{key}", headers=JSON)).status_code == 404


async def test_a_malformed_key_is_refused(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await client.get("/outbox/receipts/not%20a%20key", headers=JSON)
    assert response.status_code == 400 and "malformed" in response.json()["error"]


async def test_someone_elses_entry_is_not_confirmed_and_signed_out_gets_401(client, settings, school):
    key = new_key()
    await sign_in(client, settings, school.teacher)
    await replay_post(client, "/incidents/", incident(school), key=key)
    client.cookies.clear()
    await sign_in(client, settings, school.pastoral)
    assert (await client.get(f"/outbox/receipts/{key}", headers=JSON)).status_code == 404
    client.cookies.clear()
    assert (await client.get(f"/outbox/receipts/{key}", headers=JSON)).status_code == 401
