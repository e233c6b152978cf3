"""A retry of an entry already saved is answered as the first attempt was, whatever changed since: on PostgreSQL the
incident is written in one statement without reading the key's receipt first (issue 12), so a retry is refused by
the receipt's unique index, or by the form's checks when the school's lists changed, and only then answered."""

from __future__ import annotations

import json

from app import clock
from app.domain.audit.service import verify_chain
from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Category, Incident, IncidentPupil
from app.domain.notifications.tables import AlertRecipient, IdempotencyReceipt
from tests.conftest import sign_in
from tests.outbox.conftest import incident, new_key, replay_post


async def test_a_retry_after_the_category_was_retired_is_answered_as_the_first(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    first = await replay_post(client, "/incidents/", incident(school), key=key)
    assert first.status_code == 303
    await Category.update({Category.retired_at: clock.now()}).where(Category.id == school.disruption)
    retry = await replay_post(client, "/incidents/", incident(school), key=key)
    assert retry.status_code == 303 and retry.headers["location"] == first.headers["location"]
    assert await Incident.count() == 1
    # A new entry with the retired category is refused, and leaves nothing behind.
    refused = await replay_post(client, "/incidents/", incident(school), key=new_key())
    assert refused.status_code == 400
    assert await Incident.count() == 1 and await IdempotencyReceipt.count() == 1


async def test_a_retry_with_other_content_is_refused_and_changes_nothing(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    assert (await replay_post(client, "/incidents/", incident(school), key=key)).status_code == 303
    other = await replay_post(client, "/incidents/", incident(school, note="Changed"), key=key)
    assert other.status_code == 422
    assert await Incident.count() == 1 and await IncidentPupil.count() == 1
    assert await AuditEvent.count().where(AuditEvent.action == "incident.created") == 1


async def test_the_rows_of_a_saved_entry_are_whole_and_its_audit_entry_is_chained(client, settings, school):
    await sign_in(client, settings, school.teacher)
    fields = incident(school, pupil_id=[str(school.ava), str(school.ben)], role=["instigator", "target"],
                      category_id=str(school.fighting), location_id=str(school.canteen), note="At lunch")
    answer = await replay_post(client, "/incidents/", fields, key=new_key())
    assert answer.status_code == 303
    [made] = await Incident.select()
    assert made["note"] == "At lunch" and made["location"] == school.canteen and made["recorded_by"] == school.teacher.id
    parts = {(p["pupil"], p["role"], p["status"]) for p in await IncidentPupil.select().where(
        IncidentPupil.incident == made["id"])}
    assert parts == {(school.ava, "instigator", "open"), (school.ben, "target", "resolved")}
    [entry] = await AuditEvent.select().where(AuditEvent.action == "incident.created")
    assert (entry["subject_type"], entry["subject_id"], entry["actor"], entry["school"]) == (
        "incident", str(made["id"]), school.teacher.id, school.school_id)
    assert json.loads(entry["detail"]) == {"pupils": 2}
    report = await verify_chain()
    assert report.broken is None and report.count == await AuditEvent.count()
    told = {r["person"] for r in await AlertRecipient.select()}
    assert told == {school.head_of_year.id, school.pastoral.id}
    [receipt] = await IdempotencyReceipt.select()
    assert json.loads(receipt["response_body"]) == {"incident": made["id"]} and receipt["status_code"] == "303"
    assert answer.headers["location"].endswith(f"logged={made['id']}")
