"""Every time is shown on the UK wall clock (Europe/London: BST in summer, GMT in winter), though stored in UTC.

An incident logged at 12:23 on a summer day is stored as 11:23 UTC; the follow-up list, the pupil's timeline,
the alerts list and the audit log must all say 12:23, as the member of staff's watch did.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.rendering import uk_time
from tests.conftest import sign_in
from tests.incidents.conftest import log, school  # noqa: F401  (the fixture)

UTC = dt.timezone.utc

# (the moment in UTC, what a UK clock read then, what a UTC clock read then)
SUMMER = (dt.datetime(2026, 7, 15, 11, 23, tzinfo=UTC), "15 Jul 2026 12:23", "11:23")
WINTER = (dt.datetime(2026, 1, 15, 12, 23, tzinfo=UTC), "15 Jan 2026 12:23", None)  # GMT is UTC


@pytest.fixture(params=[SUMMER, WINTER], ids=["bst", "gmt"])
def moment(request, frozen_clock):
    at, local, utc_reading = request.param
    frozen_clock.current = at
    return local, utc_reading


async def logged_now(client, settings, school) -> None:  # noqa: F811
    await sign_in(client, settings, school.teacher)
    answer = await log(client, {"pupil_id": school.ava, "role": "instigator", "category_id": school.fighting})
    assert answer.status_code == 303, answer.text
    client.cookies.clear()


def shows(html: str, local: str, utc_reading: str | None) -> None:
    day, time = local.rsplit(" ", 1)
    assert time in html, f"{local} (UK time) is not on the page"
    if utc_reading:
        assert not re.search(rf">[^<]*\b{utc_reading}\b", html), f"the page shows {utc_reading}, the UTC reading"


async def test_it_shows_the_follow_up_list_in_uk_time(client, settings, school, moment):  # noqa: F811
    local, utc_reading = moment
    await logged_now(client, settings, school)
    await sign_in(client, settings, school.pastoral)
    html = (await client.get("/incidents/follow-up")).text
    assert "Ava Okafor" in html
    assert local.replace(" 2026", "") in html  # "15 Jul 12:23"
    shows(html, local, utc_reading)


async def test_it_shows_the_pupil_timeline_in_uk_time(client, settings, school, moment):  # noqa: F811
    local, utc_reading = moment
    await logged_now(client, settings, school)
    await sign_in(client, settings, school.pastoral)
    html = (await client.get(f"/pupils/{school.ava}")).text
    timeline = html[html.index('id="timeline"'):]
    assert local in timeline
    shows(timeline, local, utc_reading)


async def test_it_shows_the_alerts_list_in_uk_time(client, settings, school, moment):  # noqa: F811
    local, utc_reading = moment
    await logged_now(client, settings, school)
    await sign_in(client, settings, school.pastoral)  # the pastoral team is alerted to behaviour incidents
    html = (await client.get("/notifications/")).text
    assert 'class="notification row"' in html
    shows(html[html.index('class="notification row"'):], local, utc_reading)


async def test_it_shows_the_audit_log_in_uk_time(client, settings, school, moment):  # noqa: F811
    local, utc_reading = moment
    await logged_now(client, settings, school)
    await sign_in(client, settings, school.admin)
    html = (await client.get("/admin/audit")).text
    when = dt.datetime.strptime(local, "%d %b %Y %H:%M").strftime("%Y-%m-%d %H:%M")
    assert when in html, f"no audit entry at {when} (UK time)"
    if utc_reading:
        assert (SUMMER[0].strftime("%Y-%m-%d ") + utc_reading) not in html
    assert "Times are UK time" in html


async def test_it_keeps_machine_readable_times_in_utc(client, settings, school, frozen_clock):  # noqa: F811
    frozen_clock.current = SUMMER[0]
    await logged_now(client, settings, school)
    await sign_in(client, settings, school.pastoral)
    html = (await client.get("/incidents/follow-up")).text
    assert 'datetime="2026-07-15T11:23:00+00:00"' in html  # the <time> attribute: UTC, for machines


def test_it_formats_any_moment_on_the_uk_clock():
    assert uk_time(dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "%H:%M") == "00:59"  # GMT, just before the change
    assert uk_time(dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "%H:%M") == "02:00"  # BST from 01:00 UTC
    assert uk_time(dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "%H:%M") == "01:30"  # BST, the first 01:30
    assert uk_time(dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "%H:%M") == "01:30"  # GMT, the second
    assert uk_time(dt.datetime(2026, 7, 15, 11, 23), "%H:%M") == "12:23"  # naive values are UTC
    assert uk_time(None) == ""
