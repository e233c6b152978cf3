"""Starting a record in one tap from an incident or a resolved on-call request, with pupils, time and place copied."""

from __future__ import annotations

import datetime as dt
import uuid

from app.domain.audit.tables import AuditEvent
from app.domain.physical_intervention.tables import (PhysicalIntervention, PhysicalInterventionPupil,
                                                     PhysicalInterventionStaff)
from tests.conftest import add_pupil, sign_in
from tests.physical_intervention.kit import incident, record_id_of, resolved_request, row, start


async def test_it_starts_from_an_incident_with_the_pupils_time_and_place(client, settings, cast, frozen_clock):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    ben = await add_pupil(cast.school_id, "Ben", "Baker")
    at = frozen_clock.current - dt.timedelta(hours=1)
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy, ben], at=at)
    await sign_in(client, settings, cast.dsl)
    page = await client.get(f"/incidents/{incident_id}")
    assert "Record physical intervention" in page.text
    response = await start(client, settings, cast.dsl, incident_id=incident_id)
    assert response.status_code == 200
    record_id = record_id_of(response)
    record = await row(record_id)
    assert record["occurred_at"] == at and record["incident"] == incident_id and record["owner"] == cast.dsl.id
    assert record["due_at"] == at + dt.timedelta(hours=24)
    assert record["completed_at"] is None
    pupils = {r["pupil"] for r in await PhysicalInterventionPupil.select().where(
        PhysicalInterventionPupil.record == record_id)}
    assert pupils == {amy, ben}
    assert "Amy Archer" in response.text and "Science corridor" in response.text
    assert response.headers["cache-control"] == "no-store"
    audit = await AuditEvent.select(AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.action == "physical_intervention.started").first()
    assert "Archer" not in str(audit)


async def test_it_starts_from_a_resolved_on_call_request_with_the_responder_as_staff(client, settings, cast,
                                                                                    frozen_clock):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    at = frozen_clock.current - dt.timedelta(minutes=30)
    request_id = await resolved_request(cast.school_id, cast.teacher.id, cast.responder.id, [amy], at=at)
    await sign_in(client, settings, cast.dsl)
    page = await client.get(f"/oncall/{request_id}")
    assert "Record physical intervention" in page.text
    response = await start(client, settings, cast.dsl, oncall_id=request_id)
    record_id = record_id_of(response)
    record = await row(record_id)
    assert record["oncall_request"] == request_id
    assert record["occurred_at"] == at + dt.timedelta(minutes=3)  # when the responder got there
    staff = {r["person"] for r in await PhysicalInterventionStaff.select().where(
        PhysicalInterventionStaff.record == record_id)}
    assert staff == {cast.responder.id, cast.dsl.id}
    assert "Sports hall" in response.text


async def test_the_same_tap_twice_makes_one_record(client, settings, cast):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy])
    key = str(uuid.uuid4())
    first = await start(client, settings, cast.dsl, incident_id=incident_id, key=key)
    second = await start(client, settings, cast.dsl, incident_id=incident_id, key=key)
    assert record_id_of(first) == record_id_of(second)
    assert await PhysicalIntervention.count() == 1


async def test_those_who_may_not_record_get_no_button_and_not_found(client, settings, cast):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy])
    for member in (cast.teacher, cast.head_of_year, cast.pastoral, cast.admin):
        await sign_in(client, settings, member)
        page = await client.get(f"/incidents/{incident_id}")
        if page.status_code == 200:
            assert "Record physical intervention" not in page.text
        response = await start(client, settings, member, incident_id=incident_id)
        assert response.status_code == 404, member.email
    assert await PhysicalIntervention.count() == 0


async def test_an_unresolved_request_or_another_schools_incident_is_not_found(client, settings, cast):
    from app.domain.oncall.tables import OnCallRequest

    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    request_id = await resolved_request(cast.school_id, cast.teacher.id, cast.responder.id, [amy])
    await OnCallRequest.update({OnCallRequest.state: "on_scene"}).where(OnCallRequest.id == request_id)
    assert (await start(client, settings, cast.dsl, oncall_id=request_id)).status_code == 404
    zed = await add_pupil(cast.other_school_id, "Zed", "Zulu")
    other = await incident(cast.other_school_id, cast.outsider.id, [zed])
    assert (await start(client, settings, cast.dsl, incident_id=other)).status_code == 404
    assert (await start(client, settings, cast.dsl)).status_code == 404
    assert await PhysicalIntervention.count() == 0


async def test_a_request_without_a_pupil_is_refused_with_a_message(client, settings, cast):
    request_id = await resolved_request(cast.school_id, cast.teacher.id, cast.responder.id, [])
    response = await start(client, settings, cast.dsl, oncall_id=request_id)
    assert response.status_code == 400
    assert "Name the pupil" in response.text
    assert await PhysicalIntervention.count() == 0
