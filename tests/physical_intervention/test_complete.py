"""Writing and completing a record: every part required to complete, a message per field with what was typed kept."""

from __future__ import annotations

import datetime as dt

from app.domain.audit.tables import AuditEvent
from app.domain.physical_intervention.tables import PhysicalInterventionStaff
from tests.conftest import add_pupil, post_form
from tests.physical_intervention.kit import full_form, incident, record_id_of, row, start


async def _started(client, settings, cast, frozen_clock):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy],
                                 at=frozen_clock.current - dt.timedelta(hours=2))
    record_id = record_id_of(await start(client, settings, cast.dsl, incident_id=incident_id))
    return amy, record_id


async def test_it_completes_within_the_deadline(client, settings, cast, frozen_clock):
    amy, record_id = await _started(client, settings, cast, frozen_clock)
    record = await row(record_id)
    response = await post_form(client, f"/physical-interventions/{record_id}",
                               full_form(record, [amy], [cast.responder.id, cast.dsl.id]))
    assert response.status_code == 200, response.text
    assert "the record is complete" in response.text
    record = await row(record_id)
    assert record["completed_at"] == frozen_clock.current and record["completed_at"] < record["due_at"]
    assert record["techniques"] == "Escort (single elbow)" and record["duration_minutes"] == 4
    assert record["parent_informed_how"] == "phone"
    staff = {r["person"] for r in await PhysicalInterventionStaff.select().where(
        PhysicalInterventionStaff.record == record_id)}
    assert staff == {cast.responder.id, cast.dsl.id}
    audit = await AuditEvent.select(AuditEvent.detail).where(
        AuditEvent.action == "physical_intervention.completed").first()
    assert '"late": false' in audit["detail"] or "'late': False" in str(audit["detail"])


async def test_a_draft_saves_what_is_written_and_stays_incomplete(client, settings, cast, frozen_clock):
    amy, record_id = await _started(client, settings, cast, frozen_clock)
    record = await row(record_id)
    form = {**full_form(record, [amy], []), "lead_up": "Fight in the corridor", "debrief_pupil": "", "action": "save"}
    response = await post_form(client, f"/physical-interventions/{record_id}", form)
    assert response.status_code == 200, response.text
    record = await row(record_id)
    assert record["lead_up"] == "Fight in the corridor" and record["completed_at"] is None


async def test_completing_with_parts_missing_names_each_and_keeps_what_was_typed(client, settings, cast,
                                                                                frozen_clock):
    amy, record_id = await _started(client, settings, cast, frozen_clock)
    record = await row(record_id)
    form = full_form(record, [amy], [cast.dsl.id], deescalation="", techniques=[], duration_minutes="ten",
                     parent_informed="yes", parent_informed_how="", lead_up="Typed and kept <b>")
    response = await post_form(client, f"/physical-interventions/{record_id}", form)
    assert response.status_code == 400
    for field in ("deescalation-error", "techniques-error", "duration_minutes-error", "parent_informed_how-error"):
        assert f'id="{field}"' in response.text, field
    assert "Typed and kept &lt;b&gt;" in response.text and 'value="ten"' in response.text
    assert (await row(record_id))["completed_at"] is None and (await row(record_id))["lead_up"] == ""


async def test_a_parent_not_told_needs_a_reason(client, settings, cast, frozen_clock):
    amy, record_id = await _started(client, settings, cast, frozen_clock)
    record = await row(record_id)
    form = full_form(record, [amy], [cast.dsl.id], parent_informed="no", parent_not_informed_why="")
    response = await post_form(client, f"/physical-interventions/{record_id}", form)
    assert response.status_code == 400 and 'id="parent_not_informed_why-error"' in response.text
    form["parent_not_informed_why"] = "No answer on either number; letter going home tonight."
    assert (await post_form(client, f"/physical-interventions/{record_id}", form)).status_code == 200
    assert (await row(record_id))["completed_at"] is not None


async def test_a_future_time_another_schools_place_or_an_unknown_technique_is_refused(client, settings, cast,
                                                                                     frozen_clock):
    from tests.physical_intervention.kit import place

    amy, record_id = await _started(client, settings, cast, frozen_clock)
    record = await row(record_id)
    later = frozen_clock.current + dt.timedelta(days=2)
    form = full_form(record, [amy], [cast.dsl.id], occurred_date=later.date().isoformat(),
                     location_id=str(await place(cast.other_school_id, "Their hall")),
                     techniques=["Prone restraint"], staff_ids=[str(cast.outsider.id)])
    response = await post_form(client, f"/physical-interventions/{record_id}", form)
    assert response.status_code == 400
    for field in ("occurred_at-error", "location_id-error", "techniques-error", "staff_ids-error"):
        assert f'id="{field}"' in response.text, field
