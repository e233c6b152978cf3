"""What a visit gives the pupil's chronology (chronology_rows, for the chronology service to merge): the visit's
steps in order, each with a stable ref; another pupil's or another school's visits give nothing."""

from __future__ import annotations

import datetime as dt
import uuid

from app.domain.home_visits import service as visits
from tests.home_visits.kit import row, started, world


async def test_a_visit_gives_its_steps_to_the_pupils_chronology(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    ends = (await row(vid))["ends_at"]
    await visits.tick(ends + dt.timedelta(minutes=5))
    frozen_clock.current = ends + dt.timedelta(minutes=6)
    await visits.finish_safe(w.actors["pastoral"], vid, key=str(uuid.uuid4()), digest="x")
    rows = await visits.chronology_rows(cast.school_id, w.pupil)
    assert [r["event"] for r in rows] == [
        "Home visit planned", "Home visit: pre-visit checklist completed", "Home visit authorised",
        "Home visit started", "Home visit overdue: alarm raised (tier 1: the buddy and on-call responders)",
        "Home visit finished: staff safe"]
    assert rows[0]["detail"].startswith("Ada has been absent") and rows[0]["recorded_by"].startswith("Pat Pastoral")
    assert len({r["ref"] for r in rows}) == len(rows) and all(r["ref"].startswith(f"visit:{vid}:") for r in rows)
    assert await visits.chronology_rows(cast.school_id, w.flagged) == []
    assert await visits.chronology_rows(cast.other_school_id, w.pupil) == []
