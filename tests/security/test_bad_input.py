"""Bad input gets a 4xx with a clear message and leaves nothing behind: one case per class of server error
the fuzzer (test_fuzz.py) and the review found."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.concerns.tables import Concern
from app.domain.incidents.service import ensure_defaults
from app.domain.incidents.tables import Category, Incident, IncidentPupil, Location
from app.domain.notifications.tables import IdempotencyReceipt
from app.domain.oncall import service as oncall
from tests.conftest import (
    add_pupil,
    csrf,
    enrol,
    passkey_sign_in,
    post_form,
    post_json,
    sign_in,
)
from tests.security.test_fuzz import first_messages

TOO_BIG = str(2**31)  # an id column is 32 bits on PostgreSQL


@pytest.fixture
async def school(cast):
    await ensure_defaults(cast.school_id)
    await oncall.ensure_defaults(cast.school_id)
    cast.pupil = await add_pupil(cast.school_id, "Ava", "Okafor")
    cast.category = (await Category.select(Category.id).where(
        (Category.school == cast.school_id) & (Category.name == "Low-level disruption")).first())["id"]
    cast.location = (await Location.select(Location.id).where(Location.school == cast.school_id).first())["id"]
    return cast


async def log_incident(client, school, **fields):
    token = await csrf(client, "/incidents/new")
    data = {"_csrf_token": token, "pupil_id": school.pupil, "role": "instigator", "category_id": school.category,
            "location_id": school.location, **fields}
    return await client.post("/incidents/", data=data, follow_redirects=False)


@pytest.mark.parametrize("path", [f"/pupils/{2**31}", f"/incidents/{2**64}", f"/concerns/{10**30}",
                                  f"/oncall/{2**63}"])
async def test_it_answers_not_found_for_a_path_id_no_record_can_have(client, settings, school, path):
    await sign_in(client, settings, school.dsl)
    assert (await client.get(path)).status_code == 404


async def test_it_answers_not_found_for_a_posted_path_id_no_record_can_have(client, settings, school):
    await sign_in(client, settings, school.dsl)
    response = await post_form(client, f"/incidents/{2**31}/statements", {"kind": "witness", "body": "x"})
    assert response.status_code == 404
    assert await Incident.count() == 0


@pytest.mark.parametrize("path", ["/static/%00", "/static/" + "x" * 300])
async def test_it_answers_not_found_for_a_file_name_no_file_can_have(client, path):
    assert (await client.get(path)).status_code == 404


async def test_it_refuses_a_query_id_beyond_the_database_range_with_a_message(client, settings, school):
    await sign_in(client, settings, school.admin)
    response = await client.get(f"/admin/audit?before={TOO_BIG}")
    assert response.status_code == 400
    assert "before is not a valid id" in response.text


@pytest.mark.parametrize("pupil_id", [TOO_BIG, "²"])
async def test_it_refuses_a_concern_for_a_pupil_id_that_is_no_id_and_keeps_no_claim(client, settings, school,
                                                                                    pupil_id):
    await sign_in(client, settings, school.teacher)
    key = str(uuid.uuid4())
    fields = {"pupil_id": pupil_id, "seen_or_said": "A bruise on the arm.", "idempotency_key": key}
    response = await post_form(client, "/concerns/", fields, page="/concerns/new")
    assert response.status_code == 400
    assert "Choose the pupil this concern is about." in response.text
    assert await Concern.count() == 0 and await IdempotencyReceipt.count() == 0
    # The corrected entry, with the same key, is saved.
    fixed = await post_form(client, "/concerns/", {**fields, "pupil_id": school.pupil}, page="/concerns/new")
    assert fixed.status_code == 200 and await Concern.count() == 1


@pytest.mark.parametrize("pupil_id", ["²", TOO_BIG])
async def test_it_refuses_an_incident_for_a_pupil_id_that_is_no_id(client, settings, school, pupil_id):
    await sign_in(client, settings, school.teacher)
    response = await log_incident(client, school, pupil_id=pupil_id, idempotency_key=str(uuid.uuid4()))
    assert response.status_code == 400
    assert await Incident.count() == 0 and await IdempotencyReceipt.count() == 0


async def test_it_refuses_a_time_centuries_away_that_would_overflow_in_utc(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await log_incident(client, school, occurred_at="0001-01-01T00:00+01:00",
                                  idempotency_key=str(uuid.uuid4()))
    assert response.status_code == 400
    assert await Incident.count() == 0 and await IdempotencyReceipt.count() == 0


async def test_it_ignores_edit_fields_named_with_non_ascii_digits(client, settings, school):
    await sign_in(client, settings, school.dsl)
    await log_incident(client, school)
    incident = (await Incident.select(Incident.id, Incident.version).first())
    response = await post_form(client, f"/incidents/{incident['id']}/edit",
                               {"version": incident["version"], "role_²": "victim", "category_１２": "1",
                                f"role_{2**64}": "victim"}, page=f"/incidents/{incident['id']}")
    assert response.status_code < 500
    assert await IncidentPupil.count() == 1


async def test_it_refuses_a_school_switch_with_a_repeated_or_huge_school_id(client, settings, school):
    await sign_in(client, settings, school.teacher)
    for value in (["1", "2"], TOO_BIG, "²"):
        response = await post_form(client, "/account/school", {"school_id": value}, page="/account")
        assert response.status_code == 404


async def test_it_reports_on_call_for_the_widest_dates_without_overflow(client, settings, school):
    await sign_in(client, settings, school.admin)
    response = await client.get("/oncall/report?start=0001-01-01&end=9999-12-31")
    assert response.status_code == 200


async def test_it_refuses_a_rota_override_for_a_date_beyond_any_school_year(client, settings, school):
    await sign_in(client, settings, school.admin)
    response = await post_form(client, "/admin/oncall/overrides",
                               {"person_id": school.responder.id, "on_date": "9999-12-31", "tier": "1"},
                               page="/admin/oncall/")
    assert response.status_code == 400
    assert "Choose a date." in response.text


@pytest.mark.parametrize("last_event_id", [str(2**63), str(2**64)])
async def test_it_resumes_a_live_board_from_a_last_event_id_beyond_the_range(client, settings, school,
                                                                             last_event_id):
    from app.main import create_app

    token = await sign_in(client, settings, school.responder)
    app = create_app(dataclasses.replace(settings, live_backend="memory"))  # see test_fuzz.py
    status, failed = await first_messages(app, "/oncall/board/stream", "", {
        "cookie": f"{settings.session_cookie}={token}", "last-event-id": last_event_id})
    assert status == 200 and not failed


async def test_it_audits_a_malformed_assertion_for_a_registered_passkey_as_a_failed_sign_in(
        client, settings, school, authenticator):
    from app.domain.accounts import service as accounts
    from app.domain.audit.service import Origin

    link = await accounts.issue_enrolment(settings, school.teacher.id, by=None, origin=Origin(ip="test"))
    assert (await enrol(client, authenticator, link)).status_code == 200
    client.cookies.clear()
    options = await post_json(client, "/auth/signin/options")
    credential = authenticator.get(options.json()["publicKey"])
    for response_part in ("not an object", {"clientDataJSON": 12, "authenticatorData": [], "signature": None}):
        before = await AuditEvent.count().where(AuditEvent.action == "signin.failed")
        response = await post_json(client, "/auth/signin", {"key": options.json()["key"],
                                                            "credential": {**credential, "response": response_part}})
        assert response.status_code == 400
        assert "could not be verified" in response.json()["error"]
        failed = await AuditEvent.select(AuditEvent.actor).where(AuditEvent.action == "signin.failed")
        assert len(failed) == before + 1 and failed[-1]["actor"] == school.teacher.id
        options = await post_json(client, "/auth/signin/options")
    # The real passkey still signs in.
    assert (await passkey_sign_in(client, authenticator)).status_code == 200


async def test_it_releases_the_claim_of_a_write_that_crashed_so_a_retry_succeeds(client, settings, school,
                                                                                 monkeypatch):
    from app.domain.concerns import service as concerns

    async def database_went_away(*args):
        raise ConnectionError("the database went away mid-write")

    await sign_in(client, settings, school.teacher)
    key = str(uuid.uuid4())
    fields = {"pupil_id": school.pupil, "seen_or_said": "A bruise on the arm.", "idempotency_key": key}
    with monkeypatch.context() as patch:
        patch.setattr(concerns, "alertable", database_went_away)  # called after the concern is saved
        assert (await post_form(client, "/concerns/", fields, page="/concerns/new")).status_code == 500
    assert await IdempotencyReceipt.count() == 0 and await Concern.count() == 0
    assert (await post_form(client, "/concerns/", fields, page="/concerns/new")).status_code == 200
    assert await Concern.count() == 1 and await IdempotencyReceipt.count() == 1


async def test_it_keeps_another_attempts_fresh_claim_when_refusing_this_one(client, settings, school):
    import asyncio

    from app.domain.accounts.service import load_actor
    from app.domain.audit.service import Origin
    from app.domain.notifications import service as notifications

    await sign_in(client, settings, school.teacher)
    key = str(uuid.uuid4())
    fields = {"pupil_id": school.pupil, "seen_or_said": "A bruise on the arm.", "idempotency_key": key}
    actor = await load_actor(settings, client.cookies.get(settings.session_cookie), Origin(ip="test"))
    digest = notifications.request_hash("/concerns", {k: str(v) for k, v in fields.items()})
    claimed, finish = asyncio.Event(), asyncio.Event()

    async def first_attempt_still_running():  # its own task, as a second request on the server would be
        await notifications.replay(actor, key, digest)
        claimed.set()
        await finish.wait()
        notifications._forget(actor, key)  # as the request's end does (releases_claim): no claim outlives its test

    first = asyncio.create_task(first_attempt_still_running())
    await claimed.wait()
    try:
        response = await post_form(client, "/concerns/", fields, page="/concerns/new")
        assert response.status_code == 409
        # The refused attempt left the running one's claim alone: held in this process's memory, on both databases.
        assert (actor.person_id, key) in notifications._in_flight
        assert await IdempotencyReceipt.count() == 0
        assert await Concern.count() == 0
    finally:
        finish.set()
        await first


async def test_it_refuses_a_push_subscription_of_the_wrong_shape(client, settings, school):
    body = {"endpoint": "https://fcm.googleapis.com/x", "keys": ["p256dh", "auth"]}  # keys: a list, not an object
    from app.domain.oncall.tables import PushSubscription

    await sign_in(client, settings, school.responder)
    response = await post_json(client, "/notifications/push/subscribe", body, page="/account")
    assert response.status_code == 400
    assert "push subscription could not be used" in response.json()["error"]
    assert await PushSubscription.count() == 0
