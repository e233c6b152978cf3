"""The two-person rule reads the MIS's statuses too: a pupil with a child-protection, child-in-need or looked-after
status (imported with the pupil list) needs two staff, and the plan does not say which status."""

from __future__ import annotations

import pytest

from app.domain.home_visits import service as visits
from tests.home_visits.kit import plan, row, set_flag, started, world

ALONE = {"staff_2": "", "phone_2": ""}


@pytest.mark.parametrize("flag", ["child_protection", "child_in_need", "looked_after"])
async def test_a_pupil_with_an_mis_status_needs_two(cast, settings, frozen_clock, flag):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await visits.finish_safe(w.actors["pastoral"], vid, key="done-1", digest="d")  # no longer a first visit
    assert not (await row(await plan(w, start="11:30", **ALONE)))["needs_two"]
    await set_flag(w.pupil, **{flag: True})
    r = await row(await plan(w, start="11:30", **ALONE))
    assert r["needs_two"] and r["needs_two_because"] == "a pupil's care flags"
