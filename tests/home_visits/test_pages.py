"""The pages over HTTP: plan (bad input kept, field by field), the checklist and authorisation forms, start and
"I'm safe" in one tap each with the time the office will be alerted, the alarm page, and who gets 404."""

from __future__ import annotations

import re

import pytest

from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisit
from tests.conftest import csrf, sign_in
from tests.home_visits.kit import CHECKLIST, form, plan, row, started, world


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


async def post(client, path: str, data: dict, page: str = "/"):
    token = await csrf(client, page)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def test_a_visit_is_planned_checked_authorised_started_and_finished_through_the_pages(
        client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/home-visits/new?pupil={w.pupil}")
    assert page.status_code == 200 and "Ben Able" in page.text  # the brother is offered
    made = await post(client, "/home-visits/", form(w))
    assert made.status_code == 303 and re.fullmatch(r"/home-visits/\d+", made.headers["location"])
    vid = int(made.headers["location"].rsplit("/", 1)[1])
    page = await client.get(f"/home-visits/{vid}")
    assert page.headers["cache-control"] == "no-store" and "12 Mill Lane" in page.text
    assert (await post(client, f"/home-visits/{vid}/checklist", CHECKLIST)).status_code == 303
    assert (await post(client, f"/home-visits/{vid}/authorise", {})).status_code == 404  # not a lead
    await sign_in(client, settings, w.lead)
    assert (await post(client, f"/home-visits/{vid}/authorise", {})).status_code == 303
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/home-visits/{vid}")
    assert "Start visit" in page.text
    assert (await post(client, f"/home-visits/{vid}/start", {"idempotency_key": "start-1"})).status_code == 303
    page = text_of((await client.get(f"/home-visits/{vid}")).text)
    assert "If you can't check out, the office will be alerted at 10:50." in page  # 10:00 + 45 + 5, UK time
    assert "Due back by 10:45" in page
    again = await post(client, f"/home-visits/{vid}/start", {"idempotency_key": "start-1"})
    assert again.status_code == 303  # the same tap again: answered as before
    assert (await post(client, f"/home-visits/{vid}/safe", {"idempotency_key": "safe-1"})).status_code == 303
    assert (await row(vid))["state"] == "finished_safe"
    late = await post(client, f"/home-visits/{vid}/extend", {"idempotency_key": "extend-1"})
    assert late.status_code == 409 and "finished safe" in late.text


async def test_a_refused_plan_keeps_what_was_typed_with_a_message_per_field(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await sign_in(client, settings, cast.pastoral)
    refused = await post(client, "/home-visits/", form(w, address="", minutes="300", purpose="Check on Ada"))
    assert refused.status_code == 400
    assert "Give the address you are visiting." in refused.text and "A visit lasts from 5 minutes" in refused.text
    assert "Check on Ada" in refused.text and 'value="300"' in refused.text
    assert await HomeVisit.count() == 0


async def test_a_refused_checklist_keeps_what_was_typed(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w)
    await sign_in(client, settings, cast.pastoral)
    refused = await post(client, f"/home-visits/{vid}/checklist", {**CHECKLIST, "check_purpose_agreed": "",
                                                                    "check_adults_dogs": "Two large dogs"})
    assert refused.status_code == 400 and "Two large dogs" in refused.text
    assert "Agree the purpose of the visit" in refused.text


async def test_the_lone_visit_override_needs_a_reason(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w, staff_2="", phone_2="")
    await sign_in(client, settings, cast.dsl)
    refused = await post(client, f"/home-visits/{vid}/override", {"override_reason": ""})
    assert refused.status_code == 400 and "Give the reason one person may go alone." in refused.text
    assert (await post(client, f"/home-visits/{vid}/override", {"override_reason": "Doorstep only"})).status_code == 303
    assert (await row(vid))["override_reason"] == "Doorstep only"


@pytest.mark.parametrize("who", ["teacher", "responder", "admin", "outsider"])  # the guest: tests/security
async def test_other_roles_and_schools_get_404(client, settings, cast, frozen_clock, who):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await sign_in(client, settings, getattr(cast, who))
    for path in (f"/home-visits/{vid}", "/home-visits/", f"/home-visits/new?pupil={w.pupil}"):
        assert (await client.get(path)).status_code == 404, path
    for action in ("checklist", "override", "authorise", "cancel", "start", "arrive", "extend", "safe"):
        assert (await post(client, f"/home-visits/{vid}/{action}", {"idempotency_key": "k-" + action},
                           page="/account")).status_code == 404, action
    assert (await client.get(f"/home-visits/{vid}/alarm")).status_code == 404


async def test_the_alarm_page_has_calls_and_the_999_script_as_the_ladder_climbs(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    ends = (await row(vid))["ends_at"]
    import datetime as dt
    await visits.tick(ends + dt.timedelta(minutes=5))
    await sign_in(client, settings, cast.responder)  # the buddy, tier 1
    page = await client.get(f"/home-visits/{vid}/alarm")
    assert page.status_code == 200 and "I'm dealing with it" in page.text
    assert "tel:07700900111" not in page.text and "12 Mill Lane" not in page.text  # not before tiers 2 and 3
    await visits.tick(ends + dt.timedelta(minutes=15))
    assert "tel:07700900111" in (await client.get(f"/home-visits/{vid}/alarm")).text
    await visits.tick(ends + dt.timedelta(minutes=30))
    page = text_of((await client.get(f"/home-visits/{vid}/alarm")).text)
    assert "If you call 999" in page and "12 Mill Lane" in page and "07700900222" in page
    assert (await post(client, f"/home-visits/{vid}/acknowledge", {}, page="/account")).status_code == 303
    assert "Ravi Responder is dealing with it" in text_of((await client.get(f"/home-visits/{vid}/alarm")).text)
    await sign_in(client, settings, cast.dsl)
    second = await post(client, f"/home-visits/{vid}/acknowledge", {}, page="/account")
    assert second.status_code == 409 and "already dealing with it" in second.text
    await sign_in(client, settings, cast.pastoral)  # going on it: never acknowledges their own visit
    assert (await post(client, f"/home-visits/{vid}/acknowledge", {}, page="/account")).status_code == 404


async def test_the_dsl_sets_the_ladder_on_its_page(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await sign_in(client, settings, cast.dsl)
    page = await client.get("/home-visits/ladder")
    assert page.status_code == 200 and 'value="15"' in page.text
    refused = await post(client, "/home-visits/ladder", {"tier1_minutes": "5", "tier2_minutes": "4",
                                                         "tier3_minutes": "30", "ack_seconds": "120"})
    assert refused.status_code == 400 and "Each tier comes after the one before it." in refused.text
    saved = await post(client, "/home-visits/ladder", {"tier1_minutes": "10", "tier2_minutes": "20",
                                                       "tier3_minutes": "40", "ack_seconds": "90",
                                                       "headteacher": str(cast.admin.id), "slt": str(w.lead.id)})
    assert saved.status_code == 200 and "Saved." in saved.text
    conf = await visits.ladder(cast.school_id)
    assert (conf["tier1_minutes"], conf["ack_seconds"], conf["headteacher"], conf["slt"]) == (
        10, 90, cast.admin.id, str(w.lead.id))
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get("/home-visits/ladder")).status_code == 404
