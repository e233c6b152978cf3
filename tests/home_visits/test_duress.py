"""Duress (issue 14, point 5): a second check-out that answers exactly as "I'm safe" does, but silently raises the
second tier (the DSL team and SLT) at once, with one escalation row and one alert each however often it is sent.
The visitor's screen and everyone outside the DSL team and the alarm's recipients see a visit finished safe; the
alarm climbs on until someone acknowledges it. Audited."""

from __future__ import annotations

import datetime as dt
import re

from app.domain.audit.tables import AuditEvent
from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisitEscalation
from app.domain.notifications.tables import Notification
from tests.conftest import sign_in
from tests.home_visits.kit import _member, row, started, world
from tests.home_visits.test_pages import post, text_of


async def texts(person_id: int) -> list[str]:
    return [n["text"] for n in await Notification.select(Notification.text).where(
        Notification.person == person_id).order_by(Notification.id)]


async def escalations(vid: int) -> list[dict]:
    return await HomeVisitEscalation.select().where(HomeVisitEscalation.visit == vid).order_by(
        HomeVisitEscalation.tier)


async def audits(vid: int, action: str) -> int:
    return await AuditEvent.count().where((AuditEvent.action == action) & (AuditEvent.subject_id == str(vid)))


async def setup(client, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    w.other = await _member("other@northbridge.example", "Oli Other", cast.school_id, ["staff", "pastoral"])
    vid = await started(w)  # 10:00, due back 10:45
    frozen_clock.current += dt.timedelta(minutes=20)
    await sign_in(client, settings, cast.pastoral)
    return w, vid


async def test_it_raises_tier_two_at_once_with_one_row_and_one_alert_however_often_it_is_sent(
        client, cast, settings, frozen_clock, monkeypatch):
    pushed: list[tuple[set, dict]] = []

    async def push(people, payload):
        pushed.append((set(people), payload))

    monkeypatch.setattr(visits, "_push", push)
    w, vid = await setup(client, cast, settings, frozen_clock)
    first = await post(client, f"/home-visits/{vid}/checkout", {"idempotency_key": "out-1"}, f"/home-visits/{vid}")
    again = await post(client, f"/home-visits/{vid}/checkout", {"idempotency_key": "out-1"}, f"/home-visits/{vid}")
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == f"/home-visits/{vid}"
    v = await row(vid)
    assert v["state"] == "finished_safe" and v["duress_at"] == frozen_clock.current and v["tier"] == 2
    rows = await escalations(vid)
    assert [r["tier"] for r in rows] == [2]
    assert set(rows[0]["alerted"].split(",")) == {str(cast.dsl.id), str(w.lead.id)}  # the DSL team and SLT
    for person in (cast.dsl.id, w.lead.id):
        said = await texts(person)
        assert len([t for t in said if "duress" in t]) == 1, said
        assert "Pat Pastoral, Pip Second checked out at 10:20 with the agreed duress signal" in said[-1]
    for person in (cast.pastoral.id, w.pastoral2.id, cast.responder.id, w.other.id):
        assert not [t for t in await texts(person) if "duress" in t or "help" in t]
    assert len(pushed) == 1 and pushed[0][0] == {cast.dsl.id, w.lead.id}
    everything = repr(pushed) + repr(await texts(cast.dsl.id))
    assert "Ada" not in everything and "Mill Lane" not in everything
    assert await audits(vid, "home_visit.duress") == 1
    # The ladder climbs on from tier 2: the headteacher tier when its 2 minutes have passed unacknowledged.
    assert await visits.tick(frozen_clock.current + dt.timedelta(minutes=1)) == 0
    assert await visits.tick(frozen_clock.current + dt.timedelta(minutes=2)) == 1
    rows = await escalations(vid)
    assert [r["tier"] for r in rows] == [2, 3] and rows[0]["lapsed_at"] is not None


async def test_the_visitors_screen_after_it_is_the_same_as_after_im_safe(client, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    duress, safe = await started(w), await started(w)  # both at 10:00: their pages differ only by number
    frozen_clock.current += dt.timedelta(minutes=20)
    await sign_in(client, settings, cast.pastoral)
    page_before = text_of((await client.get(f"/home-visits/{duress}")).text)
    assert "I'm safe" in page_before and "Check out" in page_before  # two equally plain buttons
    a = await post(client, f"/home-visits/{duress}/checkout", {"idempotency_key": "d-1"}, f"/home-visits/{duress}")
    b = await post(client, f"/home-visits/{safe}/safe", {"idempotency_key": "s-1"}, f"/home-visits/{safe}")
    assert (a.status_code, a.headers["location"]) == (303, f"/home-visits/{duress}")
    assert (b.status_code, b.headers["location"]) == (303, f"/home-visits/{safe}")

    def plain(html: str, vid: int) -> str:
        html = re.sub(r'name="idempotency_key" value="[^"]+"', "", html)
        html = re.sub(r'name="_csrf_token" value="[^"]+"', "", html)
        return html.replace(f"/home-visits/{vid}", "/home-visits/N")

    after_duress = (await client.get(f"/home-visits/{duress}")).text
    after_safe = (await client.get(f"/home-visits/{safe}")).text
    assert plain(after_duress, duress) == plain(after_safe, safe)
    assert "Finished safe" in text_of(after_duress) and "duress" not in after_duress.lower()
    alarm = await client.get(f"/home-visits/{duress}/alarm")
    assert alarm.status_code == 404  # the visitor's own phone never shows it


async def test_only_the_dsl_team_and_the_alarms_recipients_can_tell(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    await post(client, f"/home-visits/{vid}/checkout", {"idempotency_key": "d-2"}, f"/home-visits/{vid}")
    for member in (cast.dsl, w.lead):  # the DSL team; the pastoral lead as SLT (none named)
        await sign_in(client, settings, member)
        page = text_of((await client.get(f"/home-visits/{vid}")).text)
        assert "with the duress signal" in page
        alarm = await client.get(f"/home-visits/{vid}/alarm")
        assert alarm.status_code == 200 and "Home visit: duress signal" in alarm.text
        # The 999 script says what happened: a signal of danger, not a visitor who has not come back.
        assert "sent the signal we agreed for danger" in alarm.text and "have not returned" not in alarm.text
    for member in (w.other, w.pastoral2):  # another pastoral officer; the second visitor
        await sign_in(client, settings, member)
        page = await client.get(f"/home-visits/{vid}")
        assert page.status_code == 200 and "Finished safe" in text_of(page.text)
        assert "duress" not in page.text.lower()
        assert (await client.get(f"/home-visits/{vid}/alarm")).status_code == 404
    for member in (cast.responder, cast.teacher, cast.head_of_year, cast.outsider):
        await sign_in(client, settings, member)
        assert (await client.get(f"/home-visits/{vid}/alarm")).status_code == 404
    # The pupil's chronology (read by pastoral staff) shows the visit finished safe, not the alarm.
    rows = await visits.chronology_rows(cast.school_id, w.pupil)
    events = [r["event"] for r in rows]
    assert "Home visit finished: staff safe" in events
    assert not [e for e in events if "alarm" in e or "overdue" in e]


async def test_a_named_slt_member_is_told_and_a_pastoral_lead_who_is_not_sees_finished_safe(
        client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    await visits.update_ladder(w.actors["dsl"], {"tier1_minutes": "5", "tier2_minutes": "15", "tier3_minutes": "30",
                                                 "ack_seconds": "120", "headteacher": "",
                                                 "slt": [str(cast.teacher.id)]})
    await post(client, f"/home-visits/{vid}/checkout", {"idempotency_key": "d-3"}, f"/home-visits/{vid}")
    assert [t for t in await texts(cast.teacher.id) if "duress" in t]
    await sign_in(client, settings, cast.teacher)
    assert (await client.get(f"/home-visits/{vid}/alarm")).status_code == 200
    await sign_in(client, settings, w.lead)
    assert "duress" not in (await client.get(f"/home-visits/{vid}")).text.lower()
    assert (await client.get(f"/home-visits/{vid}/alarm")).status_code == 404


async def test_the_first_acknowledgement_owns_a_duress_alarm_and_stops_the_climb(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    await post(client, f"/home-visits/{vid}/checkout", {"idempotency_key": "d-4"}, f"/home-visits/{vid}")
    await sign_in(client, settings, cast.dsl)
    done = await post(client, f"/home-visits/{vid}/acknowledge", {}, f"/home-visits/{vid}/alarm")
    assert done.status_code == 303
    assert (await row(vid))["acknowledged_by"] == cast.dsl.id
    assert await visits.tick(frozen_clock.current + dt.timedelta(minutes=10)) == 0
    assert [r["tier"] for r in await escalations(vid)] == [2]
    assert await audits(vid, "home_visit.acknowledged") == 1


async def test_a_visit_already_over_or_someone_not_going_cannot_use_it(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    await post(client, f"/home-visits/{vid}/safe", {"idempotency_key": "s-9"}, f"/home-visits/{vid}")
    late = await post(client, f"/home-visits/{vid}/checkout", {"idempotency_key": "d-9"}, f"/home-visits/{vid}")
    assert late.status_code == 409 and (await row(vid))["duress_at"] is None
    assert await escalations(vid) == []
    other = await started(w)
    await sign_in(client, settings, w.other)  # pastoral, not going
    assert (await post(client, f"/home-visits/{other}/checkout", {"idempotency_key": "d-10"},
                       "/home-visits/")).status_code == 404
    await sign_in(client, settings, cast.outsider)
    assert (await post(client, f"/home-visits/{other}/checkout", {"idempotency_key": "d-11"},
                       "/")).status_code == 404
    assert (await row(other))["duress_at"] is None
