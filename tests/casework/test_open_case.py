"""Opening a case: the form, its checks (a message per field, what was typed kept, nothing written), one
case per submission, the audit entry, and who may open one."""

from __future__ import annotations

import uuid

from app.domain.audit.tables import AuditEvent
from app.domain.casework.tables import Case
from tests.casework.kit import case_row, open_case, type_id
from tests.conftest import add_pupil, audit_actions, post_form, sign_in


async def test_it_opens_a_case_with_the_types_cadence_and_audits_it(client, settings, cast, frozen_clock):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook", year="9")
    case_id = await open_case(client, settings, cast.pastoral, pupil, kind="Attendance")
    row = await case_row(case_id)
    assert row["status"] == "open" and row["keyworker"] == cast.pastoral.id and row["review_weeks"] == 4
    assert (row["next_review_on"] - row["started_on"]).days == 28
    page = await client.get(f"/casework/{case_id}")
    assert "Mia Brook: Attendance" in page.text and "Pat Pastoral" in page.text
    event = await AuditEvent.select().where(AuditEvent.action == "case.opened").first()
    assert event["subject_id"] == str(case_id) and event["actor"] == cast.pastoral.id
    assert "Mia" not in event["detail"] + event["subject_label"]  # no pupil name in the audit log
    assert "case.viewed" in await audit_actions()


async def test_it_refuses_bad_input_with_a_message_per_field_and_keeps_what_was_typed(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    await sign_in(client, settings, cast.pastoral)
    response = await post_form(client, "/casework/", {
        "pupil_id": str(pupil), "keyworker_id": str(cast.pastoral.id), "type_id": "", "reason": "Kept <b>reason</b>",
        "started_on": "2099-01-01", "review_weeks": "99", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400
    assert "Choose the type of case." in response.text
    assert "no later than today" in response.text
    assert "Reviews are every 1 to 26 weeks." in response.text
    assert "Kept &lt;b&gt;reason&lt;/b&gt;" in response.text and 'value="2099-01-01"' in response.text
    assert await Case.count() == 0 and "case.opened" not in await audit_actions()


async def test_a_double_submission_makes_one_case(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    key = str(uuid.uuid4())
    first = await open_case(client, settings, cast.pastoral, pupil, key=key)
    again = await open_case(client, settings, cast.pastoral, pupil, key=key)
    assert first == again and await Case.count() == 1
    assert (await audit_actions()).count("case.opened") == 1


async def test_a_second_open_case_of_the_same_type_is_refused(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    await open_case(client, settings, cast.pastoral, pupil)
    response = await post_form(client, "/casework/", {
        "pupil_id": str(pupil), "keyworker_id": str(cast.pastoral.id),
        "type_id": str(await type_id(cast.school_id, "Pastoral")), "reason": "Again", "started_on": "2020-01-01",
        "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400 and "already has an open pastoral case" in response.text
    assert await Case.count() == 1


async def test_a_pastoral_officer_opens_cases_only_for_themself(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    await sign_in(client, settings, cast.pastoral)
    response = await post_form(client, "/casework/", {
        "pupil_id": str(pupil), "keyworker_id": str(cast.dsl.id), "type_id": str(await type_id(cast.school_id, "SEMH")),
        "reason": "Low mood", "started_on": "2020-01-01", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400 and "Choose the keyworker from the list." in response.text
    assert await Case.count() == 0


async def test_a_head_of_year_names_a_keyworker_for_their_years_only(client, settings, cast):
    from app.domain.schools.tables import Membership

    await Membership.update({Membership.years: "9"}).where(Membership.person == cast.head_of_year.id)
    in_year = await add_pupil(cast.school_id, "Mia", "Brook", year="9", form="9A")
    other = await add_pupil(cast.school_id, "Leo", "Stone", year="11", form="11B")
    case_id = await open_case(client, settings, cast.head_of_year, in_year, keyworker=cast.pastoral)
    assert (await case_row(case_id))["keyworker"] == cast.pastoral.id
    response = await post_form(client, "/casework/", {
        "pupil_id": str(other), "keyworker_id": str(cast.pastoral.id),
        "type_id": str(await type_id(cast.school_id, "SEMH")), "reason": "Low mood", "started_on": "2020-01-01",
        "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400 and "Choose a pupil of your school" in response.text
    assert await Case.count() == 1


async def test_staff_admins_and_other_schools_cannot_open_cases(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    for member in (cast.teacher, cast.admin, cast.guest, cast.outsider):
        await sign_in(client, settings, member)
        assert (await client.get(f"/casework/new?pupil={pupil}")).status_code == 404
        response = await post_form(client, "/casework/", {
            "pupil_id": str(pupil), "keyworker_id": str(member.id), "type_id": "1", "reason": "x",
            "started_on": "2020-01-01"})
        assert response.status_code == 404, member.name
    # A pastoral officer of another school naming this school's pupil: no such pupil there.
    assert await Case.count() == 0


async def test_the_form_needs_its_csrf_token(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    await sign_in(client, settings, cast.pastoral)
    await client.get("/")
    response = await client.post("/casework/", data={"pupil_id": str(pupil), "keyworker_id": str(cast.pastoral.id),
                                                    "type_id": str(await type_id(cast.school_id, "SEMH")),
                                                    "reason": "x", "started_on": "2020-01-01"})
    assert response.status_code == 403 and await Case.count() == 0
