"""Safeguarding concerns: straight to the DSL team, a receipt for the author, invisible to everyone else."""

import uuid

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.notifications.tables import Notification
from tests.conftest import add_pupil, csrf, give_passkey, post_form, sign_in


@pytest.fixture
async def school(cast):
    await give_passkey(cast.dsl)  # enrolled: Corridor can alert them
    cast.ava = await add_pupil(cast.school_id, "Ava", "Okafor", year="9", form="9A")
    cast.elsewhere = await add_pupil(cast.other_school_id, "Eve", "Elsewhere")
    return cast


async def record(client, fields: dict, key: str | None = None):
    token = await csrf(client, "/concerns/new")
    data = {"_csrf_token": token, **fields}
    if key:
        data["idempotency_key"] = key
    return await client.post("/concerns/", data=data, follow_redirects=False)


FULL = {"seen_or_said": "Bruise on left wrist; said it happened at home", "childs_words": "Dad gets angry",
        "place": "Form room", "present": "Mr Evans", "action_taken": "Stayed with her, came straight here"}


async def test_any_member_of_staff_records_a_concern_and_gets_a_receipt(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await record(client, {"pupil_id": school.ava, **FULL})
    assert response.status_code == 303 and response.headers["location"].startswith("/concerns/receipt/C-")
    receipt = await client.get(response.headers["location"])
    assert "The DSL team (1 person) has been alerted." in receipt.text
    assert "Dad gets angry" not in receipt.text and "Bruise" not in receipt.text  # a receipt, not the record
    concern = await Concern.select().first()
    assert concern["childs_words"] == "Dad gets angry" and concern["author"] == school.teacher.id
    alerts = await Notification.select()
    assert [a["person"] for a in alerts] == [school.dsl.id] and "Okafor" not in alerts[0]["text"]


async def test_the_author_and_other_staff_cannot_open_it(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await record(client, {"pupil_id": school.ava, **FULL})
    concern = await Concern.select(Concern.id).first()
    assert (await client.get(f"/concerns/{concern['id']}")).status_code == 404
    assert (await client.get("/concerns/")).status_code == 404
    for member in (school.pastoral, school.head_of_year, school.admin, school.outsider):
        client.cookies.clear()
        await sign_in(client, settings, member)
        assert (await client.get(f"/concerns/{concern['id']}")).status_code == 404, member.email


async def test_the_dsl_opens_it_after_a_fresh_verification_and_the_view_is_audited(client, settings, school,
                                                                                    frozen_clock):
    await sign_in(client, settings, school.teacher)
    await record(client, {"pupil_id": school.ava, **FULL})
    concern = await Concern.select(Concern.id).first()
    client.cookies.clear()
    await sign_in(client, settings, school.dsl)  # signing in is a passkey verification
    page = await client.get(f"/concerns/{concern['id']}")
    assert page.status_code == 200 and "Dad gets angry" in page.text and "Tara Teacher" in page.text
    assert await AuditEvent.count().where(AuditEvent.action == "concern.viewed") == 1

    frozen_clock.advance(minutes=settings.step_up_minutes + 1)
    stale = await client.get(f"/concerns/{concern['id']}")
    assert stale.status_code == 403 and "fresh check" in stale.text
    assert await AuditEvent.count().where(AuditEvent.action == "concern.viewed") == 1


async def test_another_schools_dsl_finds_nothing(client, settings, school):
    from tests.conftest import _member

    await sign_in(client, settings, school.teacher)
    await record(client, {"pupil_id": school.ava, **FULL})
    concern = await Concern.select(Concern.id).first()
    other_dsl = await _member("dsl@elsewhere.example", "Other DSL", school.other_school_id, ["dsl"])
    client.cookies.clear()
    await sign_in(client, settings, other_dsl)
    assert (await client.get(f"/concerns/{concern['id']}")).status_code == 404
    assert "C-" not in (await client.get("/concerns/")).text


async def test_the_dsl_records_actions_decisions_with_reasons_and_the_outcome(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await record(client, {"pupil_id": school.ava, **FULL})
    concern = (await Concern.select(Concern.id).first())["id"]
    client.cookies.clear()
    await sign_in(client, settings, school.dsl)
    page = f"/concerns/{concern}"
    await post_form(client, f"{page}/entries", {"kind": "action", "body": "Spoke to Ava"}, page=page)
    no_reason = await post_form(client, f"{page}/entries", {"kind": "decision", "body": "Refer to children's social care"},
                                page=page)
    assert no_reason.status_code == 400 and "A decision needs its reason recorded." in no_reason.text
    await post_form(client, f"{page}/entries", {"kind": "decision", "body": "Refer to children's social care",
                                                "reason": "Disclosure of physical harm at home"}, page=page)
    await post_form(client, f"{page}/entries", {"kind": "outcome", "body": "Referral accepted"}, page=page)
    assert [e["kind"] for e in await ConcernEntry.select(ConcernEntry.kind).order_by(ConcernEntry.id)] == [
        "action", "decision", "outcome"]
    assert (await Concern.select(Concern.status).first())["status"] == "closed"
    chronology = await client.get(f"/concerns/chronology/{school.ava}")
    assert "Disclosure of physical harm at home" in chronology.text and "Referral accepted" in chronology.text
    assert "chronology.viewed" in [r["action"] for r in await AuditEvent.select(AuditEvent.action)]


async def test_a_double_submit_records_one_concern(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = str(uuid.uuid4())
    first = await record(client, {"pupil_id": school.ava, **FULL}, key=key)
    second = await record(client, {"pupil_id": school.ava, **FULL}, key=key)
    assert first.headers["location"] == second.headers["location"]
    assert await Concern.count() == 1 and await Notification.count() == 1


@pytest.mark.parametrize("fields, field, message", [
    ({"seen_or_said": "x"}, "pupil", "Choose the pupil this concern is about."),
    ({"pupil_id": "AVA"}, "seen_or_said", "Say what you saw or heard"),
    ({"pupil_id": "ELSEWHERE", "seen_or_said": "x"}, "pupil", "Choose the pupil"),
    ({"pupil_id": "AVA", "seen_or_said": "x", "occurred_at": "2099-01-01T09:00"}, "occurred_at", "future"),
    ({"pupil_id": "AVA", "seen_or_said": "x" * 10_001}, "seen_or_said", "Keep this to 10,000 characters."),
])
async def test_bad_input_saves_nothing_and_keeps_what_was_typed(client, settings, school, fields, field, message):
    ids = {"AVA": str(school.ava), "ELSEWHERE": str(school.elsewhere)}
    fields = {k: ids.get(v, v) for k, v in fields.items()}
    await sign_in(client, settings, school.teacher)
    response = await record(client, {**fields, "present": "kept as typed"})
    assert response.status_code == 400 and f'id="{field}-error"' in response.text and message in response.text
    assert "kept as typed" in response.text
    assert await Concern.count() == 0 and await Notification.count() == 0


async def test_a_school_without_a_dsl_is_told_to_find_one_in_person(client, settings, school):
    from app.domain.schools.tables import Membership

    await Membership.delete().where(Membership.role == "dsl")
    await sign_in(client, settings, school.teacher)
    response = await record(client, {"pupil_id": school.ava, **FULL})
    receipt = await client.get(response.headers["location"])
    assert "Nobody in the DSL team can be alerted through Corridor." in receipt.text and "in person" in receipt.text


async def test_someone_elses_receipt_is_not_found(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await record(client, {"pupil_id": school.ava, **FULL})
    client.cookies.clear()
    await sign_in(client, settings, school.responder)
    assert (await client.get(response.headers["location"])).status_code == 404
