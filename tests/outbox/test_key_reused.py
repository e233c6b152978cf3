"""The same key with different content answers 422; a refused form frees its key for the corrected entry."""

from __future__ import annotations

from app.domain.incidents.tables import Incident
from tests.conftest import sign_in
from tests.outbox.conftest import incident, new_key, receipts, replay_post


async def test_the_same_key_with_different_content_answers_422_and_saves_nothing(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    first = await replay_post(client, "/incidents/", incident(school), key=key)
    other = await replay_post(client, "/incidents/", incident(school, pupil_id=str(school.ben)), key=key)
    assert first.status_code == 303
    assert other.status_code == 422
    assert "different content" in other.json()["error"]
    assert await Incident.count() == 1
    # The first entry's receipt is untouched: its own replay still gets its answer.
    again = await replay_post(client, "/incidents/", incident(school), key=key)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]


async def test_a_refused_form_frees_its_key_for_the_corrected_entry(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    refused = await replay_post(client, "/incidents/", incident(school, category_id="999999"), key=key)
    assert refused.status_code == 400 and "Choose what happened from the list." in refused.text
    assert f'value="{key}"' in refused.text  # the form comes back with the same key
    assert await receipts() == []
    # Sent again unchanged: refused again with its messages (not "still being saved").
    again = await replay_post(client, "/incidents/", incident(school, category_id="999999"), key=key)
    assert again.status_code == 400
    fixed = await replay_post(client, "/incidents/", incident(school), key=key)
    assert fixed.status_code == 303
    assert await Incident.count() == 1


async def test_another_persons_different_content_under_the_same_key_is_not_a_conflict(client, settings, school):
    key = new_key()
    await sign_in(client, settings, school.teacher)
    assert (await replay_post(client, "/incidents/", incident(school), key=key)).status_code == 303
    client.cookies.clear()
    await sign_in(client, settings, school.head_of_year)
    response = await replay_post(client, "/incidents/", incident(school, pupil_id=str(school.ben)), key=key)
    assert response.status_code == 303
    assert await Incident.count() == 2
