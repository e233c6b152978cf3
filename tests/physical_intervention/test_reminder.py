"""The deadline: the owner is reminded once when the record is not complete by then (clock moved, not slept)."""

from __future__ import annotations

import datetime as dt

from app.domain.audit.tables import AuditEvent
from app.domain.notifications.tables import Alert, AlertRecipient
from app.domain.physical_intervention import service as pi
from app.domain.physical_intervention.tables import PhysicalInterventionSettings
from tests.conftest import add_pupil, post_form, sign_in
from tests.physical_intervention.kit import full_form, incident, record_id_of, row, start


async def test_the_owner_is_reminded_at_the_deadline_exactly_once(client, settings, cast, frozen_clock):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy], at=frozen_clock.current)
    record_id = record_id_of(await start(client, settings, cast.dsl, incident_id=incident_id))
    frozen_clock.advance(hours=23, minutes=59)
    assert await pi.remind_due() == 0
    frozen_clock.advance(minutes=1)
    assert await pi.remind_due() == 1
    assert await pi.remind_due() == 0
    alerts = await Alert.select().where(Alert.kind == "physical_intervention.reminder")
    assert len(alerts) == 1 and "Archer" not in alerts[0]["text"] and "Amy" not in alerts[0]["text"]
    recipients = await AlertRecipient.select(AlertRecipient.person).where(AlertRecipient.alert == alerts[0]["id"])
    assert [r["person"] for r in recipients] == [cast.dsl.id]
    assert await AuditEvent.count().where(AuditEvent.action == "physical_intervention.reminded") == 1
    await sign_in(client, settings, cast.dsl)  # the morning's session has expired by now
    page = await client.get("/physical-interventions/")
    assert "Overdue" in page.text


async def test_a_record_completed_in_time_is_not_reminded(client, settings, cast, frozen_clock):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy], at=frozen_clock.current)
    record_id = record_id_of(await start(client, settings, cast.dsl, incident_id=incident_id))
    frozen_clock.advance(hours=3)
    await sign_in(client, settings, cast.dsl)
    response = await post_form(client, f"/physical-interventions/{record_id}",
                               full_form(await row(record_id), [amy], [cast.dsl.id]))
    assert response.status_code == 200 and "the record is complete" in response.text
    frozen_clock.advance(days=2)
    assert await pi.remind_due() == 0


async def test_the_school_sets_the_hours_allowed(client, settings, cast, frozen_clock):
    await PhysicalInterventionSettings.insert(PhysicalInterventionSettings(school=cast.school_id,
                                                                           complete_within_hours=8))
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy], at=frozen_clock.current)
    record_id = record_id_of(await start(client, settings, cast.dsl, incident_id=incident_id))
    assert (await row(record_id))["due_at"] == frozen_clock.current + dt.timedelta(hours=8)
    frozen_clock.advance(hours=8)
    assert await pi.remind_due() == 1
