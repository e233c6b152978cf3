"""Planning a visit: who may, for which pupils, bad input field by field, and a double submission making one visit."""

from __future__ import annotations

import uuid

import pytest

from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisit, HomeVisitPupil, HomeVisitStaff
from tests.home_visits.kit import form, plan, row, world


async def test_it_plans_a_visit_for_a_pupil_and_her_brother_with_two_staff(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w, pupil_id=[str(w.pupil), str(w.brother)])
    r = await row(vid)
    assert r["state"] == "planned" and r["planner"] == cast.pastoral.id and r["buddy"] == cast.responder.id
    assert (r["planned_end"] - r["planned_start"]).total_seconds() == 45 * 60
    assert r["planned_start"].hour == 10 and r["planned_start"].minute == 30  # 10:30 GMT is 10:30 UTC in December
    assert {p["pupil"] for p in await HomeVisitPupil.select(HomeVisitPupil.pupil)} == {w.pupil, w.brother}
    staff = await HomeVisitStaff.select(HomeVisitStaff.person, HomeVisitStaff.phone).order_by(HomeVisitStaff.id)
    assert [(s["person"], s["phone"]) for s in staff] == [(cast.pastoral.id, "07700900111"),
                                                          (w.pastoral2.id, "07700900222")]


async def test_the_form_offers_the_pupils_brothers_and_sisters(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    names = [p["name"] for p in await visits.pupils_for_form(w.actors["pastoral"], w.pupil)]
    assert names == ["Ada Able", "Ben Able"]


async def test_the_same_submission_twice_makes_one_visit(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    key = str(uuid.uuid4())
    first = await visits.plan_visit(w.actors["pastoral"], form(w), key=key, digest="same")
    again = await visits.plan_visit(w.actors["pastoral"], form(w), key=key, digest="same")
    assert first == again and await HomeVisit.count() == 1


@pytest.mark.parametrize("changes,field", [
    ({"address": "  "}, "address"),
    ({"purpose": ""}, "purpose"),
    ({"date": "tomorrow"}, "date"),
    ({"start": "25:00"}, "start"),
    ({"start": "08:00"}, "start"),  # already past
    ({"minutes": "241"}, "minutes"),
    ({"minutes": "abc"}, "minutes"),
    ({"staff_1": ""}, "staff_1"),
    ({"phone_1": "12"}, "phone_1"),
    ({"staff_2": "999999"}, "staff_2"),
    ({"buddy": "PLACEHOLDER_PASTORAL"}, "buddy"),
    ({"pupil_id": "PLACEHOLDER_ELSEWHERE"}, "pupil_id"),
])
async def test_bad_input_is_refused_field_by_field(cast, settings, frozen_clock, changes, field):
    w = await world(cast, settings, frozen_clock)
    changes = {k: (str(cast.pastoral.id) if v == "PLACEHOLDER_PASTORAL" else
                   str(w.elsewhere) if v == "PLACEHOLDER_ELSEWHERE" else v) for k, v in changes.items()}
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.plan_visit(w.actors["pastoral"], form(w, **changes), key=str(uuid.uuid4()), digest="x")
    assert field in refused.value.errors
    assert await HomeVisit.count() == 0


async def test_four_hours_is_the_longest_visit(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w, minutes="240", start="10:30")
    r = await row(vid)
    assert (r["planned_end"] - r["planned_start"]).total_seconds() == 4 * 3600


@pytest.mark.parametrize("who", ["teacher", "responder", "admin", "outsider"])
async def test_other_roles_cannot_plan(cast, settings, frozen_clock, who):
    w = await world(cast, settings, frozen_clock)
    with pytest.raises(visits.NotFound):
        await visits.plan_visit(w.actors[who], form(w), key=str(uuid.uuid4()), digest="x")


async def test_a_head_of_year_plans_for_their_years_only(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    with pytest.raises(visits.ValidationFailed) as refused:  # Ada is in year 9; they lead year 11
        await visits.plan_visit(w.actors["head_of_year"], form(w), key=str(uuid.uuid4()), digest="x")
    assert "pupil_id" in refused.value.errors
    vid = await plan(w, by="head_of_year", pupil_id=str(w.brother))
    assert (await visits.view(w.actors["head_of_year"], vid))["pupils"][0]["name"] == "Ben Able"
    year9 = await plan(w, pupil_id=str(w.pupil), staff_1=str(w.pastoral2.id), staff_2="", phone_2="")
    with pytest.raises(visits.NotFound):
        await visits.view(w.actors["head_of_year"], year9)


async def test_another_school_finds_nothing(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w)
    from tests.home_visits.kit import _member, actor_for
    stranger = await _member("p@elsewhere.example", "Sol Stranger", cast.other_school_id, ["pastoral", "dsl"])
    other = await actor_for(settings, stranger)
    for call in (visits.view(other, vid), visits.authorise(other, vid), visits.cancel(other, vid),
                 visits.complete_checklist(other, vid, {})):
        with pytest.raises(visits.NotFound):
            await call
