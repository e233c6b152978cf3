"""The two-person rule: two named staff for a first visit, a pupil with a child-protection or risk flag, or a visit
after 16:00; a lone visit then needs an override recorded, with a reason, by the DSL or the pastoral lead (never
by the person going alone); and nobody authorises a visit they are going on."""

from __future__ import annotations

import pytest

from app.domain.home_visits import service as visits
from tests.home_visits.kit import CHECKLIST, authorised, plan, row, set_flag, started, world

ALONE = {"staff_2": "", "phone_2": ""}


async def _finish_one(w) -> None:
    vid = await started(w)
    await visits.finish_safe(w.actors["pastoral"], vid, key="done-1", digest="d")


async def test_a_first_visit_needs_two(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    r = await row(await plan(w, **ALONE))
    assert r["needs_two"] and r["first_visit"] and "first visit" in r["needs_two_because"]


async def test_a_later_daytime_visit_to_an_unflagged_family_may_be_made_alone(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await _finish_one(w)
    vid = await plan(w, start="11:30", **ALONE)
    r = await row(vid)
    assert not r["needs_two"] and not r["first_visit"]
    await visits.complete_checklist(w.actors["pastoral"], vid, CHECKLIST)
    await visits.authorise(w.actors["lead"], vid)
    assert (await row(vid))["state"] == "authorised"


async def test_a_flagged_pupil_needs_two_without_saying_which_flag(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await _finish_one(w)
    await set_flag(w.pupil, safeguarding_marker=True)
    r = await row(await plan(w, start="11:30", **ALONE))
    assert r["needs_two"] and r["needs_two_because"] == "a pupil's care flags"


async def test_a_visit_running_after_four_needs_two(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await _finish_one(w)
    r = await row(await plan(w, start="15:30", minutes="45", **ALONE))
    assert r["needs_two"] and r["needs_two_because"] == "it runs after 16:00"
    assert not (await row(await plan(w, start="15:15", minutes="45", **ALONE)))["needs_two"]


async def test_a_lone_visit_that_needs_two_is_not_authorised_without_an_override(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w, **ALONE)
    await visits.complete_checklist(w.actors["pastoral"], vid, CHECKLIST)
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.authorise(w.actors["lead"], vid)
    assert "staff" in refused.value.errors and "first visit" in refused.value.errors["staff"]
    assert (await row(vid))["state"] == "planned"


@pytest.mark.parametrize("who", ["lead", "dsl"])
async def test_the_lead_or_the_dsl_records_an_override_with_a_reason(cast, settings, frozen_clock, who):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w, **ALONE)
    await visits.complete_checklist(w.actors["pastoral"], vid, CHECKLIST)
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.override_lone(w.actors[who], vid, "   ")
    assert "override_reason" in refused.value.errors
    await visits.override_lone(w.actors[who], vid, "Doorstep only; Mum known to us, calm; colleague off sick")
    r = await row(vid)
    assert r["override_by"] == w.actors[who].person_id and r["override_reason"].startswith("Doorstep only")
    await visits.authorise(w.actors["lead"], vid)
    assert (await row(vid))["state"] == "authorised"


@pytest.mark.parametrize("who", ["pastoral", "pastoral2", "head_of_year", "teacher", "admin"])
async def test_nobody_else_records_an_override(cast, settings, frozen_clock, who):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w, **ALONE)
    with pytest.raises(visits.NotFound):
        await visits.override_lone(w.actors[who], vid, "I'll be fine")
    assert (await row(vid))["override_at"] is None


async def test_the_lead_going_alone_cannot_override_or_authorise_for_themselves(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w, by="lead", staff_1=str(w.lead.id), **ALONE)
    await visits.complete_checklist(w.actors["lead"], vid, CHECKLIST)
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.override_lone(w.actors["lead"], vid, "I know the family")
    assert "another lead or the DSL" in refused.value.errors["override_reason"]
    await visits.override_lone(w.actors["dsl"], vid, "Lee knows the family well; doorstep only")
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.authorise(w.actors["lead"], vid)
    assert "authorise" in refused.value.errors
    await visits.authorise(w.actors["dsl"], vid)
    assert (await row(vid))["state"] == "authorised"


async def test_a_visit_with_two_staff_needs_no_override(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await authorised(w)
    assert (await row(vid))["override_at"] is None
    vid2 = await plan(w)
    with pytest.raises(visits.Conflict):
        await visits.override_lone(w.actors["dsl"], vid2, "not needed")


@pytest.mark.parametrize("who", ["pastoral", "head_of_year"])
async def test_only_the_lead_or_the_dsl_authorises(cast, settings, frozen_clock, who):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w)
    await visits.complete_checklist(w.actors["pastoral"], vid, CHECKLIST)
    with pytest.raises(visits.NotFound):
        await visits.authorise(w.actors[who], vid)
    assert (await row(vid))["state"] == "planned"
