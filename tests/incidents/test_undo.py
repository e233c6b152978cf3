"""Undo: the person who logged an entry takes it back within 30 seconds; nobody else, and not later."""

from app.domain.audit.tables import AuditEvent
from app.domain.incidents import service as incidents
from app.domain.incidents.tables import Incident
from app.domain.notifications.tables import Notification
from tests.conftest import csrf, sign_in
from tests.incidents.conftest import log


async def logged(client, settings, school) -> int:
    await sign_in(client, settings, school.teacher)
    response = await log(client, {"pupil_id": school.ava, "role": "instigator", "category_id": school.disruption,
                                  "location_id": school.canteen})
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("=", 1)[1])


async def undo(client, incident_id: int):
    token = await csrf(client, "/incidents/new")
    return await client.post(f"/incidents/{incident_id}/undo", data={"_csrf_token": token}, follow_redirects=False)


async def test_the_confirmation_names_what_was_logged_and_for_whom_with_undo(client, settings, school, frozen_clock):
    incident_id = await logged(client, settings, school)
    page = (await client.get(f"/incidents/new?logged={incident_id}")).text
    assert "Low-level disruption for" in page and "Ava Okafor (instigator, -1 points)" in page and "Canteen" in page
    assert f'action="/incidents/{incident_id}/undo"' in page and 'data-seconds="30"' in page
    frozen_clock.advance(seconds=31)
    page = (await client.get(f"/incidents/new?logged={incident_id}")).text
    assert "Ava Okafor (instigator" in page and "/undo" not in page


async def test_the_author_undoes_within_30_seconds(client, settings, school, frozen_clock):
    incident_id = await logged(client, settings, school)
    assert await Notification.count() == 2  # the head of year and the pastoral team were told
    frozen_clock.advance(seconds=29)
    response = await undo(client, incident_id)
    assert response.status_code == 303 and response.headers["location"] == "/incidents/new?undone=1"
    row = await Incident.select().where(Incident.id == incident_id).first()
    assert row["deleted_at"] is not None and row["deleted_by"] == school.teacher.id
    assert await AuditEvent.count().where(AuditEvent.action == "incident.undone") == 1
    assert await Notification.count() == 0  # nobody is sent to a record that is gone
    assert await incidents.timeline_entries(school.ava) == []
    assert "Undone" in (await client.get(response.headers["location"])).text


async def test_after_30_seconds_undo_is_refused_and_the_entry_kept(client, settings, school, frozen_clock):
    incident_id = await logged(client, settings, school)
    frozen_clock.advance(seconds=31)
    response = await undo(client, incident_id)
    assert response.status_code == 409
    assert "more than 30 seconds" in response.text and "delete it, with a reason" in response.text
    assert (await Incident.select().where(Incident.id == incident_id).first())["deleted_at"] is None
    assert await AuditEvent.count().where(AuditEvent.action == "incident.undone") == 0


async def test_someone_else_at_the_school_gets_404(client, settings, school, frozen_clock):
    incident_id = await logged(client, settings, school)
    client.cookies.clear()
    await sign_in(client, settings, school.pastoral)  # follows it up, but did not log it
    assert (await undo(client, incident_id)).status_code == 404
    assert "Low-level disruption for" not in (await client.get(f"/incidents/new?logged={incident_id}")).text
    assert (await Incident.select().where(Incident.id == incident_id).first())["deleted_at"] is None


async def test_another_school_gets_404(client, settings, school, frozen_clock):
    incident_id = await logged(client, settings, school)
    client.cookies.clear()
    await sign_in(client, settings, school.outsider)
    assert (await undo(client, incident_id)).status_code == 404
    assert (await Incident.select().where(Incident.id == incident_id).first())["deleted_at"] is None


async def test_undoing_twice_or_an_unknown_entry_gets_404(client, settings, school, frozen_clock):
    incident_id = await logged(client, settings, school)
    assert (await undo(client, incident_id)).status_code == 303
    assert (await undo(client, incident_id)).status_code == 404
    assert (await undo(client, 999_999)).status_code == 404
