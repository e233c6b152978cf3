"""Starting a request and deciding on safeguarding records: the one-month clock, a message per field that keeps
what was typed, a reason needed to withhold, one request for a double submission, decisions that survive a reload
and are audited without their reasons."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.subject_access import service as sar
from app.domain.subject_access.tables import SubjectAccessRequest
from tests.case_pack.kit import detail as detail_of
from tests.subject_access.kit import SECRET, decide, request_id, start, story


@pytest.mark.parametrize("received, due", [
    (dt.date(2026, 11, 20), dt.date(2026, 12, 20)), (dt.date(2027, 1, 31), dt.date(2027, 2, 28)),
    (dt.date(2028, 1, 31), dt.date(2028, 2, 29)), (dt.date(2026, 12, 15), dt.date(2027, 1, 15))])
def test_it_is_due_one_calendar_month_after_receipt(received, due):
    assert sar.due_on(received) == due


async def test_it_starts_a_request_and_shows_its_due_date(client, settings, cast, frozen_clock):
    ids = await story(cast)
    response = await start(client, settings, cast.dsl, ids["pupil"])
    assert response.status_code == 200
    assert "Mrs Brook (Mother)" in response.text and "20/12/2026" in response.text
    assert SECRET in response.text  # the DSL reviews the records themselves
    listing = await client.get("/subject-access/")
    assert "Mia Brook" in listing.text and "due 20/12/2026" in listing.text
    assert response.headers["cache-control"] == "no-store"
    event = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "subject_access.started").first()
    assert detail_of(event)["due_on"] == "2026-12-20" and "Mrs Brook" not in json.dumps(detail_of(event))


@pytest.mark.parametrize("fields, field, message", [
    ({"requester_name": ""}, "requester_name", "Enter the name of the person who asked."),
    ({"requester_relationship": " "}, "requester_relationship", "Say who they are to the pupil"),
    ({"received_on": ""}, "received_on", "Enter the date the request was received"),
    ({"received_on": "31/02/2026"}, "received_on", "Enter the date like 07/12/2026."),
    ({"received_on": "2099-01-01"}, "received_on", "can&#39;t be in the future"),
    ({"staff_names": "maybe"}, "staff_names", "Choose to keep staff names or to redact them."),
])
async def test_bad_input_gets_a_message_by_the_field_and_keeps_what_was_typed(client, settings, cast, fields, field,
                                                                             message):
    ids = await story(cast)
    typed = {"requester_name": "Mr Keep Typed", "requester_relationship": "Step-father", **fields}
    response = await start(client, settings, cast.dsl, ids["pupil"], **typed)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text and message in response.text
    for name in ("requester_name", "requester_relationship"):
        if typed[name].strip():
            assert f'value="{typed[name]}"' in response.text
    assert await SubjectAccessRequest.count() == 0


async def test_a_double_submission_makes_one_request(client, settings, cast):
    ids = await story(cast)
    first = await start(client, settings, cast.dsl, ids["pupil"], key="3f1b2c44-0000-4000-8000-000000000001")
    second = await start(client, settings, cast.dsl, ids["pupil"], key="3f1b2c44-0000-4000-8000-000000000001")
    assert request_id(first) == request_id(second)
    assert await SubjectAccessRequest.count() == 1
    assert await AuditEvent.count().where(AuditEvent.action == "subject_access.started") == 1


async def test_withholding_needs_a_reason_and_keeps_what_was_typed(client, settings, cast):
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    refused = await decide(client, number, ids["hidden"], "withhold", "")
    assert refused.status_code == 400
    assert f'id="reason-{ids["hidden"]}-error"' in refused.text and "Give the reason it is withheld" in refused.text
    assert 'value="withhold" checked' in refused.text
    nothing = await decide(client, number, ids["hidden"], "")
    assert nothing.status_code == 400 and "Choose to release or to withhold this record." in nothing.text
    long = await decide(client, number, ids["hidden"], "withhold", "x" * 301)
    assert long.status_code == 400 and 'value="' + "x" * 301 + '"' in long.text
    assert (await SubjectAccessRequest.select(SubjectAccessRequest.decisions).first())["decisions"] == "{}"


async def test_decisions_survive_a_reload_and_are_audited_without_their_reason(client, settings, cast):
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    saved = await decide(client, number, ids["hidden"], "withhold", "likely to cause serious harm")
    assert saved.status_code == 200 and "Decision saved." in saved.text
    again = await decide(client, number, ids["hidden"], "withhold", "likely to cause serious harm")
    assert again.status_code == 200
    page = await client.get(f"/subject-access/{number}")
    assert "Withheld under likely to cause serious harm · Dee Lead" in page.text
    assert "Decide on every safeguarding record first (2 to go)." in page.text
    events = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "subject_access.item_decided")
    assert len(events) == 1  # the same decision twice changes nothing
    detail = detail_of(events[0])
    assert detail == {"request": number, "concern": ids["hidden"], "decision": "withhold", "reason_characters": 28}
    # Changing one's mind is recorded too.
    assert (await decide(client, number, ids["hidden"], "release")).status_code == 200
    assert await AuditEvent.count().where(AuditEvent.action == "subject_access.item_decided") == 2
    assert "Released · Dee Lead" in (await client.get(f"/subject-access/{number}")).text


async def test_the_staff_names_option_can_be_changed_on_the_request(client, settings, cast):
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    from tests.conftest import post_form

    saved = await post_form(client, f"/subject-access/{number}/staff-names", {"staff_names": "redact"},
                            page=f"/subject-access/{number}")
    assert saved.status_code == 200 and "Staff names option saved." in saved.text
    assert 'value="redact" checked' in saved.text
    bad = await post_form(client, f"/subject-access/{number}/staff-names", {"staff_names": "x"},
                          page=f"/subject-access/{number}")
    assert bad.status_code == 400 and 'id="staff_names-error"' in bad.text
    assert await AuditEvent.count().where(AuditEvent.action == "subject_access.staff_names_set") == 1
