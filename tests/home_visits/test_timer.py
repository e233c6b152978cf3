"""The server runs the visit's timer, with a moved clock: reminders at end-5 and at the end, the ladder's tiers at
+5, +15 and +30, acknowledgement stopping the climb, no self-acknowledgement, each tier's 2 minutes to acknowledge
and its lapse, the whole safeguarding team once every tier lapsed, and extensions (three at most, none once the
first tier fired). Nothing here waits for the visitor's phone: only the clock moves."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisitEscalation, HomeVisitEvent
from app.domain.notifications.tables import Notification
from app.domain.oncall.tables import OnDuty
from tests.home_visits.kit import _member, actor_for, row, started, world


def k() -> dict:
    return {"key": str(uuid.uuid4()), "digest": str(uuid.uuid4())}


async def texts(person_id: int) -> list[str]:
    return [n["text"] for n in await Notification.select(Notification.text).where(
        Notification.person == person_id).order_by(Notification.id)]


async def tiers(vid: int) -> list[int]:
    return [e["tier"] for e in await HomeVisitEscalation.select(HomeVisitEscalation.tier).where(
        HomeVisitEscalation.visit == vid).order_by(HomeVisitEscalation.tier)]


async def at(clock, ends: dt.datetime, **offset) -> int:
    clock.current = ends + dt.timedelta(**offset)
    return await visits.tick()


async def setup(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)  # at 10:00, 45 minutes: ends 10:45
    ends = (await row(vid))["ends_at"]
    assert ends == frozen_clock.current + dt.timedelta(minutes=45)
    return w, vid, ends


async def test_it_reminds_the_staff_going_at_end_less_5_and_at_the_end(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    assert await at(frozen_clock, ends, minutes=-6) == 0
    assert await at(frozen_clock, ends, minutes=-5) == 1
    assert await at(frozen_clock, ends, minutes=-4) == 0
    for person in (cast.pastoral.id, w.pastoral2.id):
        assert await texts(person) == ["Your home visit is authorised.",
                                       "Home visit: 5 minutes left. Tap 'I'm safe' when you leave, or extend."]
    assert await at(frozen_clock, ends) == 1
    assert (await texts(cast.pastoral.id))[-1] == "Home visit: your time is up. Tap 'I'm safe', or extend."
    assert await texts(cast.dsl.id) == []


async def test_each_tier_fires_at_plus_5_15_and_30_then_the_whole_team(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await at(frozen_clock, ends)
    assert await at(frozen_clock, ends, minutes=4, seconds=59) == 0
    assert await at(frozen_clock, ends, minutes=5) == 1
    assert await tiers(vid) == [1] and (await row(vid))["tier"] == 1
    # Tier 1: the buddy (the responder) and the on-call responders (nobody on the rota: the responders).
    assert (await texts(cast.responder.id))[-1] == (
        "Home visit overdue: Pat Pastoral, Pip Second not back (due 10:45). Acknowledge if you are dealing with it.")
    assert await texts(cast.dsl.id) == []
    # Its 2 minutes pass unacknowledged: it lapses, and tier 2 still comes at +15.
    assert await at(frozen_clock, ends, minutes=7) == 0
    assert await at(frozen_clock, ends, minutes=15) == 1
    first = (await HomeVisitEscalation.select().where(HomeVisitEscalation.tier == 1).first())
    assert first["lapsed_at"] == ends + dt.timedelta(minutes=7)
    assert (await texts(cast.dsl.id))[-1].startswith("Home visit overdue") and await texts(w.lead.id)  # DSL + SLT
    assert await at(frozen_clock, ends, minutes=29) == 0
    assert await at(frozen_clock, ends, minutes=30) == 1
    assert await tiers(vid) == [1, 2, 3]
    assert await at(frozen_clock, ends, minutes=31, seconds=59) == 0
    assert await at(frozen_clock, ends, minutes=32) == 1
    assert await tiers(vid) == [1, 2, 3, 4]
    assert (await texts(cast.dsl.id))[-1] == "Home visit: nobody has acknowledged. Pat Pastoral, Pip Second not back " \
                                             "(due 10:45)."
    assert (await texts(cast.responder.id))[-1].startswith("Home visit: nobody has acknowledged")  # alerted before
    assert await at(frozen_clock, ends, hours=3) == 0  # the top of the ladder: nothing more
    lapsed = [e["tier"] for e in await HomeVisitEscalation.select().where(HomeVisitEscalation.lapsed_at.is_not_null())]
    assert sorted(lapsed) == [1, 2, 3]
    # The staff going are never alarmed about their own visit.
    assert not [t for t in await texts(cast.pastoral.id) if "overdue" in t or "acknowledged" in t]


async def test_a_phone_that_never_comes_back_is_still_escalated_after_a_restart(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    # The server was down from the start of the visit until +20: it catches up in order, each tier keeping its
    # 2 minutes.
    assert await at(frozen_clock, ends, minutes=20) == 2  # the end reminder, then tier 1
    assert await tiers(vid) == [1]
    assert await at(frozen_clock, ends, minutes=21) == 0
    assert await at(frozen_clock, ends, minutes=22) == 1
    assert await tiers(vid) == [1, 2]


async def test_the_first_acknowledgement_owns_it_and_stops_the_climb(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await at(frozen_clock, ends, minutes=5)
    responder = w.actors["responder"]
    page = await visits.alarm(responder, vid)
    assert page["may_acknowledge"] and not page["show_script"]
    await visits.acknowledge(responder, vid)
    with pytest.raises(visits.Conflict, match="Ravi Responder is already dealing with it"):
        await visits.acknowledge(w.actors["dsl"], vid)
    r = await row(vid)
    assert r["acknowledged_by"] == cast.responder.id and r["next_at"] is None
    assert await at(frozen_clock, ends, minutes=60) == 0
    assert await tiers(vid) == [1]
    kinds = [e["kind"] for e in await HomeVisitEvent.select(HomeVisitEvent.kind).order_by(HomeVisitEvent.id)]
    assert kinds[-2:] == ["escalated", "acknowledged"]
    # The visitor checks out late: everyone alerted hears they are safe.
    await visits.finish_safe(w.actors["pastoral"], vid, **k())
    assert (await texts(cast.responder.id))[-1] == "Home visit: Pat Pastoral has checked out safe."


async def test_nobody_acknowledges_their_own_visit(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await at(frozen_clock, ends, minutes=5)
    for who in ("pastoral", "pastoral2"):
        with pytest.raises(visits.NotFound):
            await visits.acknowledge(w.actors[who], vid)
    assert (await row(vid))["acknowledged_by"] is None


async def test_someone_not_alerted_cannot_see_or_acknowledge_the_alarm(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    with pytest.raises(visits.NotFound):  # nothing fired yet: there is no alarm
        await visits.alarm(w.actors["dsl"], vid)
    await at(frozen_clock, ends, minutes=5)
    for who in ("teacher", "admin", "head_of_year"):
        with pytest.raises(visits.NotFound):
            await visits.acknowledge(w.actors[who], vid)
    stranger = await actor_for(settings, await _member("dsl@elsewhere.example", "Sid Else", cast.other_school_id,
                                                       ["dsl"]))
    with pytest.raises(visits.NotFound):
        await visits.alarm(stranger, vid)


async def test_the_on_call_responders_now_are_tier_one(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await OnDuty.insert(OnDuty(school=cast.school_id, person=cast.teacher.id, since=frozen_clock.current,
                               until=frozen_clock.current + dt.timedelta(hours=8)))
    await at(frozen_clock, ends, minutes=5)
    assert await texts(cast.teacher.id)  # on duty now
    assert await texts(cast.responder.id)  # the buddy


async def test_the_ladder_tells_the_staff_the_time_the_office_will_be_alerted(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    page = await visits.view(w.actors["pastoral"], vid)
    assert page["alert_at"] == ends + dt.timedelta(minutes=5) and page["phase"] == "on_time"
    frozen_clock.current = ends - dt.timedelta(minutes=3)
    assert (await visits.view(w.actors["pastoral"], vid))["phase"] == "due"
    frozen_clock.current = ends + dt.timedelta(minutes=1)
    assert (await visits.view(w.actors["pastoral"], vid))["phase"] == "grace"
    await visits.tick(ends + dt.timedelta(minutes=5))
    assert (await visits.view(w.actors["pastoral"], vid))["phase"] == "overdue"


async def test_it_extends_by_15_minutes_three_times_at_most(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await at(frozen_clock, ends, minutes=-5)  # the first reminder went
    for n in (1, 2, 3):
        await visits.extend(w.actors["pastoral"], vid, **k())
        r = await row(vid)
        assert r["ends_at"] == ends + dt.timedelta(minutes=15 * n) and r["extensions"] == n
    with pytest.raises(visits.Conflict, match="3 times at most"):
        await visits.extend(w.actors["pastoral2"], vid, **k())
    new_end = ends + dt.timedelta(minutes=45)
    assert (await visits.view(w.actors["pastoral"], vid))["alert_at"] == new_end + dt.timedelta(minutes=5)
    assert await at(frozen_clock, ends, minutes=5) == 0  # the old deadline no longer escalates
    assert await at(frozen_clock, new_end, minutes=-5) == 1  # reminded again before the new end
    assert await at(frozen_clock, new_end, minutes=5) == 2  # the end reminder, then tier 1
    assert await tiers(vid) == [1]


async def test_an_extension_in_the_grace_minutes_is_allowed_but_not_once_tier_one_fired(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await at(frozen_clock, ends, minutes=3)
    await visits.extend(w.actors["pastoral"], vid, **k())
    assert (await row(vid))["ends_at"] == ends + dt.timedelta(minutes=15)
    await at(frozen_clock, ends, minutes=20)
    assert await tiers(vid) == [1]
    with pytest.raises(visits.Conflict, match="already been alerted"):
        await visits.extend(w.actors["pastoral"], vid, **k())
    assert (await row(vid))["extensions"] == 1


async def test_im_safe_stops_the_timer(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await visits.finish_safe(w.actors["pastoral2"], vid, **k())
    assert await at(frozen_clock, ends, hours=1) == 0
    assert await tiers(vid) == [] and await texts(cast.responder.id) == []


async def test_a_school_sets_its_own_ladder_and_names_its_headteacher(cast, settings, frozen_clock):
    w, vid, ends = await setup(cast, settings, frozen_clock)
    head = await _member("head@northbridge.example", "Hal Head", cast.school_id, ["staff"])
    with pytest.raises(visits.ValidationFailed) as refused:
        await visits.update_ladder(w.actors["dsl"], {"tier1_minutes": "10", "tier2_minutes": "5",
                                                     "tier3_minutes": "20", "ack_seconds": "60"})
    assert "tier3_minutes" in refused.value.errors
    with pytest.raises(visits.NotFound):
        await visits.update_ladder(w.actors["pastoral"], {})
    await visits.update_ladder(w.actors["dsl"], {"tier1_minutes": "2", "tier2_minutes": "3", "tier3_minutes": "4",
                                                 "ack_seconds": "60", "headteacher": str(head.id)})
    await at(frozen_clock, ends, minutes=2)
    assert await tiers(vid) == [1]
    assert await at(frozen_clock, ends, minutes=3) == 1  # tier 1 has had its 60 seconds
    assert await at(frozen_clock, ends, minutes=4) == 1
    assert await tiers(vid) == [1, 2, 3]
    assert (await texts(head.id))[-1].startswith("Home visit overdue")


async def test_reminders_and_tiers_are_pushed_without_the_pupil_or_the_address(cast, settings, frozen_clock,
                                                                                monkeypatch):
    pushed: list[tuple[set, dict]] = []

    async def push(people, payload):
        pushed.append((set(people), payload))

    monkeypatch.setattr(visits, "_push", push)
    w, vid, ends = await setup(cast, settings, frozen_clock)
    await at(frozen_clock, ends, minutes=-5)
    await at(frozen_clock, ends)
    await at(frozen_clock, ends, minutes=5)
    assert [p[0] for p in pushed] == [{cast.pastoral.id, w.pastoral2.id}, {cast.pastoral.id, w.pastoral2.id},
                                      {cast.responder.id}]
    assert pushed[0][1] == {"title": "Home visit", "body": "5 minutes left. Tap 'I'm safe' when you leave, or extend.",
                            "url": f"/home-visits/{vid}"}
    assert pushed[2][1] == {"title": "Home visit overdue", "body": "Pat Pastoral, Pip Second, due back 10:45",
                            "url": f"/home-visits/{vid}/alarm"}
    everything = repr(pushed) + repr(await texts(cast.responder.id))
    assert "Ada" not in everything and "Mill Lane" not in everything
