"""Alerts say what they are about (an incident: category, form, place; on-call: room, reason, urgency), and
never name a pupil: an alert is read on a lock screen and in a list over someone's shoulder."""

import datetime as dt

import pytest

from app.domain.incidents.service import LONDON, ensure_defaults
from app.domain.incidents.tables import Category, Location
from app.domain.notifications.tables import Notification
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallReason, RotaSlot
from tests.conftest import add_pupil, csrf, post_form, sign_in
from tests.incidents.conftest import log


@pytest.fixture
async def school(cast, frozen_clock, monkeypatch):
    """Tuesday 10:00; the responder on call at tier 1 and the DSL at tier 2; a fake push service records."""
    frozen_clock.current = dt.datetime(2026, 11, 24, 10, 0, tzinfo=LONDON).astimezone(dt.timezone.utc)
    await ensure_defaults(cast.school_id)
    await oncall.ensure_defaults(cast.school_id)
    cast.clock = frozen_clock
    cast.ava = await add_pupil(cast.school_id, "Ava", "Okafor", year="9", form="9A")
    cast.cal = await add_pupil(cast.school_id, "Cal", "Reid", year="8", form="8B")
    cast.fighting = (await Category.select(Category.id).where(
        (Category.school == cast.school_id) & (Category.name == "Fighting / physical aggression")).first())["id"]
    cast.canteen = (await Location.select(Location.id).where(
        (Location.school == cast.school_id) & (Location.name == "Canteen")).first())["id"]
    cast.room = (await Location.insert(Location(school=cast.school_id, name="Room 12")))[0]["id"]
    cast.medical = (await OnCallReason.select(OnCallReason.id).where(
        (OnCallReason.school == cast.school_id) & (OnCallReason.name == "Medical")).first())["id"]
    for person, tier in ((cast.responder.id, 1), (cast.dsl.id, 2)):
        await RotaSlot.insert(RotaSlot(school=cast.school_id, person=person, weekday=1, starts="08:00", ends="16:00",
                                       tier=tier))
    cast.pushed = []

    async def push(people, payload):  # the push service is a boundary
        cast.pushed.append((set(people), payload))

    monkeypatch.setattr(oncall, "_push", push)
    return cast


def no_pupil_named(*texts: str) -> bool:
    return not any(name in text for text in texts for name in ("Ava", "Okafor", "Cal", "Reid"))


async def texts_for(person_id: int) -> list[str]:
    return [n["text"] for n in await Notification.select(Notification.text).where(Notification.person == person_id)
            .order_by(Notification.id)]


async def raise_it(client, school, **fields):
    token = await csrf(client, "/oncall/new")
    data = {"_csrf_token": token, "location_id": school.room, "reason_id": school.medical, "urgency": "urgent",
            "pupil_id": school.ava, "note": "Ava Okafor has fainted", **fields}
    response = await client.post("/oncall/", data=data, follow_redirects=False)
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_an_incident_alert_names_the_category_the_forms_and_the_place(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await log(client, {"pupil_id": [school.ava, school.cal], "role": ["instigator", "instigator"],
                       "category_id": school.fighting, "location_id": school.canteen, "note": "Ava hit Cal"})
    [text] = await texts_for(school.pastoral.id)
    assert text == "Fighting / physical aggression · 9A, 8B · Canteen: needs follow-up."
    assert no_pupil_named(text)
    assert await texts_for(school.teacher.id) == []  # the person who logged it is not alerted


async def test_an_incident_alert_without_a_place_says_so(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await log(client, {"pupil_id": school.ava, "role": "instigator", "category_id": school.fighting})
    assert await texts_for(school.pastoral.id) == ["Fighting / physical aggression · 9A · place not recorded: "
                                                   "needs follow-up."]


async def test_an_on_call_alert_and_its_push_name_the_room_reason_and_urgency(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = await raise_it(client, school)
    [text] = await texts_for(school.responder.id)
    assert text == "On-call, Urgent: Medical in Room 12."
    [(people, payload)] = school.pushed
    assert school.responder.id in people
    assert payload == {"title": "On-call: Urgent", "body": "Medical in Room 12", "url": f"/oncall/{rid}"}
    assert no_pupil_named(text, payload["title"], payload["body"])


async def test_an_escalation_says_what_is_still_waiting(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await raise_it(client, school, urgency="routine")
    school.clock.advance(seconds=61)
    assert await oncall.escalate_due() == 1
    assert (await texts_for(school.dsl.id))[-1] == "On-call escalated, nobody has answered: Routine: Medical in Room 12."
    title, body = school.pushed[-1][1]["title"], school.pushed[-1][1]["body"]
    assert (title, body) == ("On-call escalated: Routine", "Nobody has answered yet: Medical in Room 12")
    assert no_pupil_named(title, body)


async def test_a_hand_over_says_what_is_handed_over(client, settings, school):
    await sign_in(client, settings, school.teacher)
    rid = await raise_it(client, school, urgency="emergency")
    client.cookies.clear()
    await sign_in(client, settings, school.responder)
    await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
    await post_form(client, f"/oncall/{rid}/hand-over", {"to": school.dsl.id}, page=f"/oncall/{rid}")
    assert (await texts_for(school.dsl.id))[-1] == "On-call handed to you, Emergency: Medical in Room 12."


async def test_another_schools_staff_get_no_alert(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await raise_it(client, school)
    assert await texts_for(school.outsider.id) == []
