"""Review and sign-off by a senior leader who was not involved; a signed-off record no longer changes."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from app.domain.physical_intervention.tables import PhysicalIntervention
from tests.conftest import _member, add_pupil, post_form, sign_in
from tests.physical_intervention.kit import full_form, incident, name_slt, record_id_of, row, senior, start


async def _completed(client, settings, cast, owner):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy])
    record_id = record_id_of(await start(client, settings, owner, incident_id=incident_id))
    response = await post_form(client, f"/physical-interventions/{record_id}",
                               full_form(await row(record_id), [amy], [cast.responder.id, owner.id]))
    assert response.status_code == 200 and "the record is complete" in response.text
    return amy, record_id


async def test_a_named_senior_leader_signs_off_a_completed_record(client, settings, cast):
    deputy = await senior(cast.school_id)
    await name_slt(cast.school_id, deputy.id)
    amy, record_id = await _completed(client, settings, cast, cast.dsl)
    # The DSL who wrote it may not sign off their own record, nor is offered to.
    page = await client.get(f"/physical-interventions/{record_id}")
    assert 'id="sign-off"' not in page.text and "Waiting for sign-off" in page.text
    assert (await post_form(client, f"/physical-interventions/{record_id}/sign-off", {})).status_code == 404
    await sign_in(client, settings, deputy)
    page = await client.get(f"/physical-interventions/{record_id}")
    assert 'id="sign-off"' in page.text
    response = await post_form(client, f"/physical-interventions/{record_id}/sign-off",
                               {"review_note": "Proportionate; consider a positive handling plan."})
    assert response.status_code == 200 and "Signed off" in response.text and "Sam Senior" in response.text
    record = await row(record_id)
    assert record["signed_off_by"] == deputy.id and record["review_note"].startswith("Proportionate")
    assert await AuditEvent.count().where(AuditEvent.action == "physical_intervention.signed_off") == 1
    # Twice is still once; and the record is locked.
    await post_form(client, f"/physical-interventions/{record_id}/sign-off", {"review_note": "again"})
    assert (await row(record_id))["review_note"].startswith("Proportionate")
    await sign_in(client, settings, cast.dsl)
    locked = await post_form(client, f"/physical-interventions/{record_id}", full_form(record, [amy], [cast.dsl.id]))
    assert locked.status_code == 409


async def test_when_slt_is_named_the_dsl_team_may_not_sign_off(client, settings, cast):
    deputy = await senior(cast.school_id)
    await name_slt(cast.school_id, deputy.id)
    lead = await _member("lead@northbridge.example", "Lee Lead", cast.school_id, ["pastoral_lead"])
    _, record_id = await _completed(client, settings, cast, lead)
    await sign_in(client, settings, cast.dsl)
    assert (await post_form(client, f"/physical-interventions/{record_id}/sign-off", {})).status_code == 404
    assert (await row(record_id))["signed_off_at"] is None


async def test_with_no_slt_named_another_dsl_or_pastoral_lead_signs_off(client, settings, cast):
    lead = await _member("lead@northbridge.example", "Lee Lead", cast.school_id, ["pastoral_lead"])
    _, record_id = await _completed(client, settings, cast, lead)
    await sign_in(client, settings, cast.dsl)
    assert (await post_form(client, f"/physical-interventions/{record_id}/sign-off", {})).status_code == 200
    assert (await row(record_id))["signed_off_by"] == cast.dsl.id


async def test_staff_involved_may_not_sign_off_and_an_incomplete_record_waits(client, settings, cast):
    deputy = await senior(cast.school_id)
    await name_slt(cast.school_id, deputy.id, cast.responder.id)
    _, record_id = await _completed(client, settings, cast, cast.dsl)
    await sign_in(client, settings, cast.responder)  # SLT, but held the pupil
    assert (await post_form(client, f"/physical-interventions/{record_id}/sign-off", {})).status_code == 404
    await PhysicalIntervention.update({PhysicalIntervention.completed_at: None}).where(
        PhysicalIntervention.id == record_id)
    await sign_in(client, settings, deputy)
    response = await post_form(client, f"/physical-interventions/{record_id}/sign-off", {"review_note": "kept"})
    assert response.status_code == 400 and "must be completed" in response.text
    assert (await row(record_id))["signed_off_at"] is None
