"""The pre-visit checklist (known adults or dogs, past incidents at the address, social worker informed, purpose
agreed) is completed before the visit can be authorised."""

from __future__ import annotations

import pytest

from app.domain.home_visits import service as visits
from tests.home_visits.kit import CHECKLIST, plan, row, world


async def test_a_visit_without_its_checklist_is_not_authorised(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w)
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.authorise(w.actors["lead"], vid)
    assert refused.value.errors == {"checklist": "Complete the pre-visit checklist first."}
    await visits.complete_checklist(w.actors["pastoral2"], vid, CHECKLIST)
    r = await row(vid)
    assert r["checked_by"] == w.pastoral2.id and r["check_social_worker"] == "no_worker" and r["check_purpose_agreed"]
    await visits.authorise(w.actors["dsl"], vid)
    assert (await row(vid))["state"] == "authorised"


@pytest.mark.parametrize("field,value", [("check_adults_dogs", ""), ("check_past_incidents", " "),
                                         ("check_social_worker", "maybe"), ("check_purpose_agreed", "")])
async def test_every_item_must_be_answered(cast, settings, frozen_clock, field, value):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w)
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.complete_checklist(w.actors["pastoral"], vid, {**CHECKLIST, field: value})
    assert list(refused.value.errors) == [field]
    assert (await row(vid))["checked_at"] is None


@pytest.mark.parametrize("who", ["teacher", "responder", "admin"])
async def test_other_roles_cannot_complete_it(cast, settings, frozen_clock, who):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w)
    with pytest.raises(visits.NotFound):
        await visits.complete_checklist(w.actors[who], vid, CHECKLIST)
