"""Who handles subject access requests: the DSL team only. Everyone else (the admin too: the export holds
safeguarding and pastoral records their role does not show them) and another school get 404, never 403. The DSL
confirms with a passkey before anything that shows safeguarding records."""

from __future__ import annotations

import uuid

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.subject_access.tables import SubjectAccessRequest
from tests.conftest import add_pupil, post_form, sign_in
from tests.subject_access.kit import SECRET, decide, request_id, start, story

PATHS = ("", "/export.pdf", "/export.json")


@pytest.mark.parametrize("who", ["teacher", "responder", "pastoral", "head_of_year", "admin", "guest", "outsider"])
async def test_other_roles_and_other_schools_get_404_everywhere(client, settings, cast, who):
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    member = getattr(cast, who)
    await sign_in(client, settings, member)
    assert (await client.get("/subject-access/")).status_code == 404
    assert (await client.get(f"/subject-access/new?pupil={ids['pupil']}")).status_code == 404
    for path in PATHS:
        response = await client.get(f"/subject-access/{number}{path}")
        assert response.status_code == 404 and SECRET not in response.text, path
    made = await post_form(client, "/subject-access/", {
        "pupil_id": str(ids["pupil"]), "requester_name": "X", "requester_relationship": "Y",
        "received_on": "2026-11-20", "idempotency_key": str(uuid.uuid4())})
    assert made.status_code == 404
    assert (await decide(client, number, ids["hidden"], "release")).status_code == 404
    changed = await post_form(client, f"/subject-access/{number}/staff-names", {"staff_names": "redact"})
    assert changed.status_code == 404
    assert await SubjectAccessRequest.count() == 1
    row = await SubjectAccessRequest.select(SubjectAccessRequest.decisions, SubjectAccessRequest.staff_names).first()
    assert row == {"decisions": "{}", "staff_names": "keep"}


async def test_the_dsl_starts_a_request_from_the_profile(client, settings, cast):
    ids = await story(cast)
    await sign_in(client, settings, cast.dsl)
    profile = await client.get(f"/pupils/{ids['pupil']}")
    assert f'href="/subject-access/new?pupil={ids["pupil"]}"' in profile.text
    await sign_in(client, settings, cast.pastoral)
    assert "/subject-access/new" not in (await client.get(f"/pupils/{ids['pupil']}")).text


async def test_another_schools_pupil_and_request_are_not_found(client, settings, cast):
    theirs = await add_pupil(cast.other_school_id, "Eve", "Elsewhere")
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    made = await start(client, settings, cast.dsl, theirs)
    assert made.status_code == 404
    assert (await client.get(f"/subject-access/new?pupil={theirs}")).status_code == 404
    # A DSL at the other school does not find this school's request.
    from tests.conftest import _member

    other_dsl = await _member("dsl@elsewhere.example", "Olu Other", cast.other_school_id, ["staff", "dsl"])
    await sign_in(client, settings, other_dsl)
    for path in PATHS:
        assert (await client.get(f"/subject-access/{number}{path}")).status_code == 404, path
    assert (await decide(client, number, ids["hidden"], "release")).status_code == 404
    assert "Mia Brook" not in (await client.get("/subject-access/")).text
    assert await SubjectAccessRequest.count() == 1


async def test_a_concern_of_another_pupil_cannot_be_decided(client, settings, cast):
    ids = await story(cast)
    first = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    other = request_id(await start(client, settings, cast.dsl, ids["other"]))
    assert (await decide(client, other, ids["hidden"], "release")).status_code == 404
    assert (await decide(client, first, ids["hidden"], "release")).status_code == 200


async def test_the_dsl_confirms_with_a_passkey_first(client, settings, cast, frozen_clock):
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    actions = ["subject_access.exported", "subject_access.item_decided", "subject_access.viewed"]
    before = await AuditEvent.count().where(AuditEvent.action.is_in(actions))  # the review page after starting
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)
    for path in PATHS:
        response = await client.get(f"/subject-access/{number}{path}")
        assert response.status_code == 403 and "fresh check with your passkey" in response.text, path
        assert SECRET not in response.text
    assert (await decide(client, number, ids["hidden"], "release")).status_code == 403
    assert await AuditEvent.count().where(AuditEvent.action.is_in(actions)) == before == 1
