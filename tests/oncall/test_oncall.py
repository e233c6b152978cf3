"""On-call: raising, the single claim, the state machine, rota, escalation, catch-up and the report."""

import asyncio
import datetime as dt
import uuid

import pytest

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.incidents.service import LONDON
from app.domain.incidents.tables import Location
from app.domain.notifications.tables import Notification
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallEvent, OnCallReason, OnCallRequest, RotaOverride, RotaSlot
from app.domain.schools.tables import Membership
from tests.conftest import add_pupil, csrf, post_form, sign_in


@pytest.fixture
async def school(cast, frozen_clock):
    """Tuesday 10:00 UK time; the responder on the rota at tier 1 and the DSL at tier 2, 08:00-16:00."""
    from app.domain.incidents.service import ensure_defaults

    frozen_clock.current = dt.datetime(2026, 11, 24, 10, 0, tzinfo=LONDON).astimezone(dt.timezone.utc)
    await ensure_defaults(cast.school_id)
    await oncall.ensure_defaults(cast.school_id)
    await ensure_defaults(cast.other_school_id)
    cast.room = (await Location.insert(Location(school=cast.school_id, name="Room 12")))[0]["id"]
    cast.other_room = (await Location.insert(Location(school=cast.other_school_id, name="Room 1")))[0]["id"]
    cast.reason = (await OnCallReason.select(OnCallReason.id).where(
        (OnCallReason.school == cast.school_id) & (OnCallReason.name == "Remove a pupil")).first())["id"]
    for person, tier in ((cast.responder.id, 1), (cast.dsl.id, 2)):
        await RotaSlot.insert(RotaSlot(school=cast.school_id, person=person, weekday=1, starts="08:00", ends="16:00",
                                       tier=tier))
    cast.pupil = await add_pupil(cast.school_id, "Ava", "Okafor")
    cast.clock = frozen_clock
    return cast


async def raise_it(client, school, **fields):
    token = await csrf(client, "/oncall/new")
    data = {"_csrf_token": token, "location_id": school.room, "reason_id": school.reason, "urgency": "urgent", **fields}
    return await client.post("/oncall/", data=data, follow_redirects=False)


async def as_(client, settings, member):
    client.cookies.clear()
    await sign_in(client, settings, member)


async def test_a_teacher_raises_and_the_responder_on_the_rota_is_alerted(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await raise_it(client, school, pupil_id=school.pupil)
    assert response.status_code == 303
    request = await OnCallRequest.select().first()
    assert response.headers["location"] == f"/oncall/{request['id']}"
    assert request["state"] == "raised" and request["tier"] == 1 and request["urgency"] == "urgent"
    assert {n["person"] for n in await Notification.select()} >= {school.responder.id}
    page = await client.get(response.headers["location"])
    assert "Room 12" in page.text and "Waiting for a responder" in page.text
    assert "No responder is online right now" in page.text  # nobody has the board open


async def test_a_guest_can_raise_on_call(client, settings, school):
    await sign_in(client, settings, school.guest)
    assert (await raise_it(client, school)).status_code == 303


async def test_a_double_tap_raises_one_request(client, settings, school):
    await sign_in(client, settings, school.teacher)
    key = str(uuid.uuid4())
    first = await raise_it(client, school, idempotency_key=key)
    second = await raise_it(client, school, idempotency_key=key)
    assert first.headers["location"] == second.headers["location"] and await OnCallRequest.count() == 1


@pytest.mark.parametrize("fields, message", [
    ({"location_id": ""}, "Say where you are"),
    ({"location_id": "OTHER"}, "Choose a room from this school&#39;s list."),
    ({"reason_id": ""}, "Choose why you need help."),
    ({"urgency": "whenever"}, "Choose routine, urgent or emergency."),
])
async def test_bad_input_raises_nothing(client, settings, school, fields, message):
    fields = {k: (school.other_room if v == "OTHER" else v) for k, v in fields.items()}
    await sign_in(client, settings, school.teacher)
    response = await raise_it(client, school, **fields)
    assert response.status_code == 400 and message in response.text
    assert await OnCallRequest.count() == 0


async def test_the_full_journey_with_every_step_time_stamped(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    await as_(client, settings, school.responder)
    page = f"/oncall/{rid}"
    for step in ("acknowledge", "en-route", "on-scene"):
        school.clock.advance(seconds=20)
        assert (await post_form(client, f"{page}/{step}", page=page)).status_code == 200
    school.clock.advance(minutes=3)
    await post_form(client, f"{page}/resolve", {"outcome": "returned"}, page=page)
    r = await OnCallRequest.select().where(OnCallRequest.id == rid).first()
    assert r["state"] == "resolved" and r["responder"] == school.responder.id and r["outcome"] == "returned"
    assert r["acknowledged_at"] < r["en_route_at"] < r["on_scene_at"] < r["resolved_at"]
    kinds = [e["kind"] for e in await OnCallEvent.select(OnCallEvent.kind).order_by(OnCallEvent.id)]
    assert kinds == ["raised", "acknowledged", "en_route", "on_scene", "resolved"]
    await as_(client, settings, school.teacher)
    assert "Ravi Responder" in (await client.get(page)).text


async def test_exactly_one_responder_claims_it(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    actors = []
    for member in (school.responder, school.head_of_year, school.pastoral, school.dsl):
        token = await accounts._create_session(settings, member.id, member.email, Origin(), "")
        actors.append(await accounts.load_actor(settings, token, Origin()))

    results = await asyncio.gather(*[oncall.acknowledge(a, rid) for a in actors], return_exceptions=True)

    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, oncall.Conflict)]
    assert len(winners) == 1 and len(losers) == 3, results
    assert all("already has this request" in e.message for e in losers)
    assert await OnCallEvent.count().where(OnCallEvent.kind == "acknowledged") == 1


async def test_a_second_tap_is_told_who_has_it(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    await as_(client, settings, school.responder)
    await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
    await as_(client, settings, school.head_of_year)
    second = await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
    assert second.status_code == 409 and "Ravi Responder already has this request." in second.text


async def test_illegal_transitions_change_nothing(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    await as_(client, settings, school.responder)
    page = f"/oncall/{rid}"
    assert (await post_form(client, f"{page}/on-scene", page=page)).status_code == 409  # not claimed yet
    await post_form(client, f"{page}/acknowledge", page=page)
    await as_(client, settings, school.head_of_year)  # someone else's claim
    assert (await post_form(client, f"{page}/resolve", {"outcome": "returned"}, page=page)).status_code == 409
    await as_(client, settings, school.teacher)
    assert (await post_form(client, f"{page}/cancel", page=page)).status_code == 200
    await as_(client, settings, school.responder)
    late = await post_form(client, f"{page}/en-route", page=page)
    assert late.status_code == 409 and "already cancelled" in late.text
    assert (await OnCallRequest.select(OnCallRequest.state).first())["state"] == "cancelled"


async def test_only_the_requester_cancels(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    await as_(client, settings, school.responder)
    assert (await post_form(client, f"/oncall/{rid}/cancel", page=f"/oncall/{rid}")).status_code == 404
    assert (await OnCallRequest.select(OnCallRequest.state).first())["state"] == "raised"


async def test_a_claim_can_be_handed_over(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    await as_(client, settings, school.responder)
    await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
    await post_form(client, f"/oncall/{rid}/hand-over", {"to": school.dsl.id}, page=f"/oncall/{rid}")
    r = await OnCallRequest.select().first()
    assert r["responder"] == school.dsl.id and r["state"] == "acknowledged"
    await as_(client, settings, school.dsl)
    assert (await post_form(client, f"/oncall/{rid}/on-scene", page=f"/oncall/{rid}")).status_code == 200


async def test_nobody_answers_so_it_escalates_to_the_next_tier_then_everyone(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    before = await Notification.count().where(Notification.person == school.dsl.id)
    school.clock.advance(seconds=59)
    assert await oncall.escalate_due() == 0
    school.clock.advance(seconds=2)
    assert await oncall.escalate_due() == 1
    r = await OnCallRequest.select().first()
    assert r["tier"] == 2 and r["escalations"] == 1
    assert await Notification.count().where(Notification.person == school.dsl.id) > before
    assert await oncall.escalate_due() == 0  # not again until the next interval
    school.clock.advance(seconds=61)
    assert await oncall.escalate_due() == 1
    r = await OnCallRequest.select().first()
    assert r["tier"] == 3 and r["escalate_at"] is None  # beyond the top tier: everyone on duty, then it stops
    assert [e["kind"] for e in await OnCallEvent.select(OnCallEvent.kind).where(OnCallEvent.request == rid)].count(
        "escalated") == 2


async def test_an_acknowledged_request_never_escalates(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    await as_(client, settings, school.responder)
    await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
    school.clock.advance(minutes=5)
    assert await oncall.escalate_due() == 0


async def test_an_emergency_goes_to_everyone_on_duty_at_once(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await raise_it(client, school, urgency="emergency")
    told = {n["person"] for n in await Notification.select()}
    assert {school.responder.id, school.dsl.id} <= told
    assert (await OnCallRequest.select(OnCallRequest.escalate_at).first())["escalate_at"] is None


async def test_the_rota_follows_weekday_time_and_overrides(school):
    tuesday_10 = school.clock.current
    assert await oncall.on_call(school.school_id, 1, tuesday_10) == {school.responder.id}
    assert await oncall.on_call(school.school_id, 2, tuesday_10) == {school.dsl.id}
    evening = tuesday_10 + dt.timedelta(hours=7)
    assert await oncall.on_call(school.school_id, 2, evening) == set()
    today = tuesday_10.astimezone(LONDON).date()
    await RotaOverride.insert(RotaOverride(school=school.school_id, person=school.responder.id, on_date=today, tier=1,
                                           on_call=False),
                              RotaOverride(school=school.school_id, person=school.pastoral.id, on_date=today, tier=1))
    assert await oncall.on_call(school.school_id, 1, tuesday_10) == {school.pastoral.id}


async def test_with_an_empty_rota_the_schools_responders_are_the_fallback(school):
    await RotaSlot.delete(force=True)
    assert await oncall.on_call(school.school_id, 1) == {school.responder.id}


async def test_marking_yourself_on_duty_puts_you_on_call(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await post_form(client, "/oncall/duty", {"on": "yes"}, page="/")
    assert school.teacher.id in await oncall.on_call(school.school_id, 1)


async def test_a_reconnecting_client_gets_what_it_missed_in_order(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1])
    seen_up_to = await oncall.latest_event_id(school.school_id)
    await as_(client, settings, school.responder)
    await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
    await post_form(client, f"/oncall/{rid}/en-route", page=f"/oncall/{rid}")
    missed = await oncall.events_since(school.school_id, seen_up_to)
    assert [e["kind"] for e in missed] == ["acknowledged", "en_route"]
    assert [e["id"] for e in missed] == sorted(e["id"] for e in missed)
    card = await oncall.card(rid)
    assert card["state"] == "en_route"  # what the client renders is the current state, never a stale "open"


async def test_the_board_is_for_responders_of_this_school_only(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await raise_it(client, school)
    assert (await client.get("/oncall/board")).status_code == 404
    await as_(client, settings, school.responder)
    assert "Room 12" in (await client.get("/oncall/board")).text
    await as_(client, settings, school.outsider)
    rid = (await OnCallRequest.select(OnCallRequest.id).first())["id"]
    assert (await client.get(f"/oncall/{rid}")).status_code == 404
    assert "Room 12" not in (await client.get("/oncall/board")).text


async def test_the_report_gives_response_times_and_escalations(client, settings, school):
    await sign_in(client, settings, school.teacher)
    ids = []
    for _ in range(3):
        ids.append(int((await raise_it(client, school)).headers["location"].rsplit("/", 1)[1]))
    await as_(client, settings, school.responder)
    for n, rid in enumerate(ids):
        school.clock.advance(seconds=10 * (n + 1))
        await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
        school.clock.advance(seconds=60)
        await post_form(client, f"/oncall/{rid}/resolve", {"outcome": "returned"}, page=f"/oncall/{rid}")
    await as_(client, settings, school.head_of_year)
    data = await client.get("/oncall/report?start=2026-11-24&end=2026-11-24")
    assert data.status_code == 200 and "<dt>Requests</dt><dd>3</dd>" in data.text
    # All raised together, acknowledged after 10, 90 and 180 s (the clock keeps moving on): median 90 s,
    # and the 90th percentile interpolates between 90 and 180: 162 s.
    assert "median 90 s, 90th percentile 162 s" in data.text
    csv = await client.get("/oncall/report?start=2026-11-24&end=2026-11-24&format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 4
    await as_(client, settings, school.teacher)
    assert (await client.get("/oncall/report")).status_code == 404


async def test_someone_without_a_role_here_cannot_raise(client, settings, school):
    await Membership.delete().where(Membership.person == school.teacher.id)
    await sign_in(client, settings, school.teacher)
    assert (await client.get("/oncall/new")).status_code == 404


async def test_the_usual_room_is_remembered_so_raising_is_two_taps(client, settings, school):
    await sign_in(client, settings, school.teacher)
    assert f'<option value="{school.room}" selected>' not in (await client.get("/oncall/new")).text
    await raise_it(client, school)
    page = (await client.get("/oncall/new")).text
    assert f'<option value="{school.room}" selected>Room 12</option>' in page
    # The reasons are submit buttons: with the room chosen, one tap on a reason sends the call.
    assert f'<button type="submit" name="reason_id" value="{school.reason}"' in page


async def test_an_admin_sets_the_rota_and_escalation(client, settings, school):
    await sign_in(client, settings, school.admin)
    page = "/admin/oncall/"
    assert "Ravi Responder" in (await client.get(page)).text
    bad = await post_form(client, "/admin/oncall/slots", {"person_id": school.pastoral.id, "weekday": "1",
                                                          "starts": "15:00", "ends": "09:00", "tier": "1"}, page=page)
    assert bad.status_code == 400 and "the end after the start" in bad.text
    outsider = await post_form(client, "/admin/oncall/slots", {"person_id": school.outsider.id, "weekday": "1",
                                                               "starts": "09:00", "ends": "15:00", "tier": "1"}, page=page)
    assert outsider.status_code == 400 and "Choose someone at this school." in outsider.text
    await post_form(client, "/admin/oncall/slots", {"person_id": school.pastoral.id, "weekday": "1",
                                                    "starts": "09:00", "ends": "15:00", "tier": "1"}, page=page)
    assert school.pastoral.id in await oncall.on_call(school.school_id, 1)
    await post_form(client, "/admin/oncall/settings", {"ack_seconds": "30", "top_tier": "3"}, page=page)
    assert (await oncall.settings_for(school.school_id))["ack_seconds"] == 30
    tomorrow = (school.clock.current.astimezone(LONDON) + dt.timedelta(days=1)).date().isoformat()
    await post_form(client, "/admin/oncall/overrides", {"person_id": school.teacher.id, "on_date": tomorrow,
                                                        "tier": "1", "on_call": "yes"}, page=page)
    assert school.teacher.id in await oncall.on_call(school.school_id, 1, school.clock.current + dt.timedelta(days=1))
    client.cookies.clear()
    await sign_in(client, settings, school.responder)
    assert (await client.get(page)).status_code == 404


async def test_resolving_can_log_the_incident_and_link_it_in_one_step(client, settings, school):
    from app.domain.incidents.service import ensure_defaults
    from app.domain.incidents.tables import Category, Incident

    await ensure_defaults(school.school_id)
    await sign_in(client, settings, school.teacher)
    rid = int((await raise_it(client, school, pupil_id=school.pupil)).headers["location"].rsplit("/", 1)[1])
    await as_(client, settings, school.responder)
    page = f"/oncall/{rid}"
    await post_form(client, f"{page}/acknowledge", page=page)
    token = await csrf(client, page)
    resolved = await client.post(f"{page}/resolve", data={"_csrf_token": token, "outcome": "removed",
                                                         "log_incident": "yes"}, follow_redirects=False)
    assert resolved.headers["location"] == f"/incidents/new?pupil={school.pupil}&oncall={rid}"
    form = await client.get(resolved.headers["location"])
    assert f'name="oncall_id" value="{rid}"' in form.text and 'data-pupil-id="' in form.text
    category = (await Category.select(Category.id).where(Category.school == school.school_id).first())["id"]
    token = await csrf(client, "/incidents/new")
    await client.post("/incidents/", data={"_csrf_token": token, "pupil_id": school.pupil, "role": "instigator",
                                           "category_id": category, "oncall_id": rid})
    incident = await Incident.select(Incident.id).first()
    assert (await OnCallRequest.select(OnCallRequest.incident).where(OnCallRequest.id == rid).first())["incident"] \
        == incident["id"]
    assert "incident logged" in (await client.get(page)).text
