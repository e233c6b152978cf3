"""The visit's states: planned → authorised → under way → on site → finished safe, or cancelled before it starts.
Every legal move is taken, and every illegal one is refused (409) with nothing changed."""

from __future__ import annotations

import uuid

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisitEvent
from tests.home_visits.kit import CHECKLIST, authorised, plan, row, started, world


def k() -> dict:
    return {"key": str(uuid.uuid4()), "digest": str(uuid.uuid4())}


async def test_it_goes_from_planned_to_finished_safe_with_every_step_audited(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await plan(w)
    assert (await row(vid))["state"] == "planned"
    await visits.complete_checklist(w.actors["pastoral"], vid, CHECKLIST)
    await visits.authorise(w.actors["lead"], vid)
    assert (await row(vid))["state"] == "authorised"
    await visits.start(w.actors["pastoral"], vid, **k())
    r = await row(vid)
    assert r["state"] == "under_way" and r["ends_at"] == frozen_clock.current + (r["planned_end"] - r["planned_start"])
    await visits.arrive(w.actors["pastoral2"], vid, **k())
    assert (await row(vid))["state"] == "on_site"
    await visits.finish_safe(w.actors["pastoral2"], vid, **k())
    r = await row(vid)
    assert r["state"] == "finished_safe" and r["next_at"] is None and r["finished_by"] == w.pastoral2.id
    kinds = [e["kind"] for e in await HomeVisitEvent.select(HomeVisitEvent.kind).order_by(HomeVisitEvent.id)]
    assert kinds == ["planned", "checked", "authorised", "started", "on_site", "finished_safe"]
    actions = [a["action"] for a in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.subject_type == "home_visit").order_by(AuditEvent.id)]
    assert actions == ["home_visit.planned", "home_visit.checked", "home_visit.authorised", "home_visit.started",
                       "home_visit.on_site", "home_visit.finished_safe"]


async def test_it_finishes_safe_straight_from_under_way(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await visits.finish_safe(w.actors["pastoral"], vid, **k())
    assert (await row(vid))["state"] == "finished_safe"


@pytest.mark.parametrize("state", ["planned", "authorised"])
async def test_it_is_cancelled_before_it_starts(cast, settings, frozen_clock, state):
    w = await world(cast, settings, frozen_clock)
    vid = await (plan(w) if state == "planned" else authorised(w))
    await visits.cancel(w.actors["pastoral"], vid, "Family rang: Ada is back at school tomorrow")
    r = await row(vid)
    assert r["state"] == "cancelled" and r["cancel_reason"].startswith("Family rang")


async def _in(w, state: str) -> int:
    if state == "planned":
        return await plan(w)
    if state == "authorised":
        return await authorised(w)
    vid = await started(w)
    if state == "on_site":
        await visits.arrive(w.actors["pastoral"], vid, **k())
    elif state == "finished_safe":
        await visits.finish_safe(w.actors["pastoral"], vid, **k())
    elif state == "cancelled":
        raise AssertionError
    return vid


ILLEGAL = [
    ("planned", "start"), ("planned", "arrive"), ("planned", "extend"), ("planned", "safe"),
    ("authorised", "authorise"), ("authorised", "arrive"), ("authorised", "extend"), ("authorised", "safe"),
    ("authorised", "checklist"),
    ("under_way", "authorise"), ("under_way", "start"), ("under_way", "cancel"), ("under_way", "checklist"),
    ("on_site", "arrive"), ("on_site", "start"), ("on_site", "cancel"), ("on_site", "authorise"),
    ("finished_safe", "safe"), ("finished_safe", "extend"), ("finished_safe", "start"), ("finished_safe", "cancel"),
    ("finished_safe", "arrive"), ("finished_safe", "authorise"),
]


async def _do(w, move: str, vid: int):
    a = w.actors
    return await {
        "authorise": lambda: visits.authorise(a["lead"], vid),
        "checklist": lambda: visits.complete_checklist(a["pastoral"], vid, CHECKLIST),
        "cancel": lambda: visits.cancel(a["pastoral"], vid),
        "start": lambda: visits.start(a["pastoral"], vid, **k()),
        "arrive": lambda: visits.arrive(a["pastoral"], vid, **k()),
        "extend": lambda: visits.extend(a["pastoral"], vid, **k()),
        "safe": lambda: visits.finish_safe(a["pastoral"], vid, **k()),
    }[move]()


@pytest.mark.parametrize("state,move", ILLEGAL)
async def test_it_refuses_a_move_that_does_not_apply(cast, settings, frozen_clock, state, move):
    w = await world(cast, settings, frozen_clock)
    vid = await _in(w, state)
    before = await row(vid)
    if state == "planned" and move == "start":
        pass
    with pytest.raises((visits.Conflict, visits.ValidationFailed)):
        await _do(w, move, vid)
    assert await row(vid) == before


async def test_a_cancelled_visit_goes_nowhere(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await authorised(w)
    await visits.cancel(w.actors["lead"], vid)
    for move in ("authorise", "checklist", "cancel", "start", "arrive", "extend", "safe"):
        with pytest.raises((visits.Conflict, visits.ValidationFailed)):
            await _do(w, move, vid)
    assert (await row(vid))["state"] == "cancelled"


async def test_only_the_staff_going_start_and_finish_it(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await authorised(w)
    for who in ("lead", "dsl", "head_of_year"):
        with pytest.raises(visits.NotFound):
            await visits.start(w.actors[who], vid, **k())
    await visits.start(w.actors["pastoral"], vid, **k())
    with pytest.raises(visits.NotFound):
        await visits.finish_safe(w.actors["lead"], vid, **k())
    assert (await row(vid))["state"] == "under_way"


async def test_a_tap_sent_twice_counts_once(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    key = k()
    first = await visits.extend(w.actors["pastoral"], vid, **key)
    again = await visits.extend(w.actors["pastoral"], vid, **key)
    assert first == again and (await row(vid))["extensions"] == 1
