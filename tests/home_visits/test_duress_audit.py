"""Duress in the admin's audit viewer (issue 14, point 5): the duress check-out is audited, and only the DSL team
and the alarm's recipients can tell it from the viewer. An admin outside them sees what a plain "I'm safe" leaves:
a `home_visit.finished_safe` entry and none of the alarm's entries after it. The log itself keeps everything."""

from __future__ import annotations

import datetime as dt
import re

from app.domain.audit.tables import AuditEvent
from app.domain.home_visits import service as visits
from tests.conftest import sign_in
from tests.home_visits.kit import _member, actor_for, started, world


def actions(html: str) -> list[str]:
    return re.findall(r"<code>(home_visit\.[a-z_]+)</code>", html)


async def duress_then_alarm(w, frozen_clock) -> int:
    vid = await started(w)  # 10:00, due back 10:45
    frozen_clock.current += dt.timedelta(minutes=20)
    await visits.finish_duress(w.actors["pastoral"], vid, key="d-audit", digest="d")
    await visits.alarm(w.actors["dsl"], vid)  # the DSL opens the alarm
    frozen_clock.current += dt.timedelta(minutes=3)
    assert await visits.tick(frozen_clock.current) == 1  # tier 3, nobody having acknowledged
    await visits.acknowledge(w.actors["lead"], vid)
    return vid


async def test_an_admin_outside_the_dsl_team_sees_a_plain_check_out(client, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await duress_then_alarm(w, frozen_clock)
    plain = await started(w)
    await visits.finish_safe(w.actors["pastoral"], plain, key="s-audit", digest="s")
    stored = [a["action"] for a in await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.subject_type == "home_visit") & (AuditEvent.subject_id == str(vid))).order_by(AuditEvent.id)]
    assert "home_visit.duress" in stored and "home_visit.escalated" in stored  # the log keeps everything
    await sign_in(client, settings, cast.admin)
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    html = page.text
    assert "duress" not in html.lower()
    shown = actions(html)
    for hidden in ("home_visit.escalated", "home_visit.alarm_viewed", "home_visit.acknowledged"):
        assert hidden not in shown
    # Newest first: the plain visit's trail, then the duress visit's, which reads exactly the same.
    plain_trail = ["home_visit.finished_safe", "home_visit.started", "home_visit.authorised", "home_visit.checked",
                   "home_visit.planned"]
    assert shown[:10] == plain_trail + plain_trail, shown


async def test_the_dsl_team_and_the_alarms_recipients_see_the_duress(client, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    dsl_admin = await _member("dsladmin@northbridge.example", "Dee Admin", cast.school_id, ["staff", "admin", "dsl"])
    w.actors["dsl_admin"] = await actor_for(settings, dsl_admin)
    vid = await duress_then_alarm(w, frozen_clock)
    await sign_in(client, settings, dsl_admin)
    shown = actions((await client.get("/admin/audit")).text)
    assert "home_visit.duress" in shown and "home_visit.escalated" in shown and "home_visit.acknowledged" in shown
    # An admin named SLT on the ladder was alerted by the duress: they see it too.
    await visits.update_ladder(w.actors["dsl"], {"tier1_minutes": "5", "tier2_minutes": "15", "tier3_minutes": "30",
                                                 "ack_seconds": "120", "headteacher": "", "slt": str(cast.admin.id)})
    second = await started(w)
    frozen_clock.current += dt.timedelta(minutes=10)
    await visits.finish_duress(w.actors["pastoral"], second, key="d-audit-2", digest="d")
    await sign_in(client, settings, cast.admin)
    html = (await client.get("/admin/audit")).text
    assert actions(html).count("home_visit.duress") == 1  # the second visit's, whose alarm reached them
    assert vid != second


async def test_another_schools_admin_never_sees_it(client, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await duress_then_alarm(w, frozen_clock)
    await sign_in(client, settings, cast.outsider)
    page = await client.get("/admin/audit")
    assert page.status_code == 200 and "home_visit." not in page.text
