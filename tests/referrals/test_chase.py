"""The chase: a sent referral not acknowledged within the school's number of school days is on the "to chase" list
and alerts its owner, once, whichever process checks first."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.notifications.tables import Notification
from app.domain.referrals import service as referrals
from app.domain.referrals.tables import Referral
from tests.conftest import sign_in
from tests.referrals.kit import make, post, pupil, text_of

pytestmark = pytest.mark.asyncio

FRIDAY = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone.utc)  # Friday 4 December 2026, 10:00 in London


async def test_school_days_skip_weekends():
    friday = dt.date(2026, 12, 4)
    assert school_days(friday, 10) == dt.date(2026, 12, 18)  # two weeks later, not Monday 14th
    assert school_days(dt.date(2026, 12, 7), 1) == dt.date(2026, 12, 8)
    assert school_days(dt.date(2026, 12, 5), 1) == dt.date(2026, 12, 7)  # a Saturday: the next school day is Monday
    assert referrals.school_days_between(friday, dt.date(2026, 12, 14)) == 6


school_days = referrals.school_days_after


async def alerts_of(member) -> list[dict]:
    return await Notification.select(Notification.text, Notification.link, Notification.kind).where(
        Notification.person == member.id)


async def test_a_friday_referral_is_chased_ten_school_days_later_not_ten_days(client, settings, cast, frozen_clock):
    frozen_clock.current = FRIDAY
    pid = await pupil(cast, first="Bertie", last="Chaseworthy")
    rid = await make(settings, cast.pastoral, pid, "sent")
    row = await Referral.select(Referral.chase_due_on).where(Referral.id == rid).first()
    assert row["chase_due_on"] == dt.date(2026, 12, 18)

    frozen_clock.advance(days=10)  # Monday 14th: ten days, but only six school days
    assert await referrals.chase_due() == 0
    await sign_in(client, settings, cast.pastoral)
    page = await client.get("/referrals/chase")
    assert page.status_code == 200 and "Chaseworthy" not in page.text and "Nothing to chase." in page.text
    assert await alerts_of(cast.pastoral) == []

    frozen_clock.advance(days=3)  # Thursday 17th: nine school days
    assert await referrals.chase_due() == 0

    frozen_clock.advance(days=1)  # Friday 18th: the tenth school day
    assert await referrals.chase_due() == 1
    await sign_in(client, settings, cast.pastoral)
    page = await client.get("/referrals/chase")
    assert "Bertie Chaseworthy" in page.text and "10 school days without acknowledgement" in text_of(page.text)
    assert "To chase (1)" in (await client.get("/referrals/")).text
    alerts = await alerts_of(cast.pastoral)
    assert len(alerts) == 1 and alerts[0]["link"] == f"/referrals/{rid}" and alerts[0]["kind"] == "referral.chase"
    assert "CAMHS" in alerts[0]["text"] and "Chaseworthy" not in alerts[0]["text"]  # no pupil in the alert

    frozen_clock.advance(days=3)  # later checks send nothing more
    assert await referrals.chase_due() == 0
    assert len(await alerts_of(cast.pastoral)) == 1
    assert await AuditEvent.count().where(AuditEvent.action == "referral.chased") == 1

    # Acknowledged: off the list.
    response = await post(client, settings, cast.pastoral, f"/referrals/{rid}/move",
                          {"from_state": "sent", "to_state": "acknowledged", "note": "CAMHS confirmed by phone"})
    assert response.status_code == 200
    assert "Chaseworthy" not in (await client.get("/referrals/chase")).text


async def test_the_owner_is_alerted_once_when_two_checks_run_at_once(settings, cast, frozen_clock):
    frozen_clock.current = FRIDAY
    pid = await pupil(cast)
    made = [await make(settings, cast.head_of_year, pid, "sent") for _ in range(3)]
    frozen_clock.advance(days=14)
    counts = await asyncio.gather(referrals.chase_due(), referrals.chase_due(), referrals.chase_due())
    assert sum(counts) == 3
    alerts = await alerts_of(cast.head_of_year)
    assert sorted(a["link"] for a in alerts) == sorted(f"/referrals/{r}" for r in made)
    assert await AuditEvent.count().where(AuditEvent.action == "referral.chased") == 3


async def test_a_referral_acknowledged_in_time_is_never_chased(settings, cast, frozen_clock):
    frozen_clock.current = FRIDAY
    pid = await pupil(cast)
    await make(settings, cast.dsl, pid, "acknowledged")
    await make(settings, cast.dsl, pid, "draft")
    frozen_clock.advance(days=30)
    assert await referrals.chase_due() == 0
    assert await alerts_of(cast.dsl) == []


async def test_it_follows_the_schools_own_number_of_days(client, settings, cast, frozen_clock):
    frozen_clock.current = FRIDAY
    response = await post(client, settings, cast.admin, "/admin/referrals/settings", {"chase_after_days": "3"})
    assert response.status_code == 200
    pid = await pupil(cast)
    rid = await make(settings, cast.pastoral, pid, "sent")
    assert (await Referral.select(Referral.chase_due_on).where(Referral.id == rid).first())["chase_due_on"] == \
        dt.date(2026, 12, 9)  # Wednesday: Monday, Tuesday, Wednesday
    frozen_clock.advance(days=4)
    assert await referrals.chase_due() == 0
    frozen_clock.advance(days=1)
    assert await referrals.chase_due() == 1
    alerts = await alerts_of(cast.pastoral)
    assert "after 3 school days" in alerts[0]["text"]


async def test_the_chase_logs_no_pupil_data(settings, cast, frozen_clock, caplog):
    frozen_clock.current = FRIDAY
    pid = await pupil(cast, first="Loggable", last="Nameless")
    await make(settings, cast.pastoral, pid, "sent")
    frozen_clock.advance(days=14)
    with caplog.at_level(logging.DEBUG):
        assert await referrals.chase_due() == 1
    assert "Loggable" not in caplog.text and "Nameless" not in caplog.text


async def test_the_periodic_hook_checks_at_most_once_a_minute(settings, cast, frozen_clock, monkeypatch):
    calls = []

    async def counted(now=None):
        calls.append(now)
        return 0

    monkeypatch.setattr(referrals, "chase_due", counted)
    monkeypatch.setattr(referrals, "_last_check", float("-inf"))
    ticks = iter([1000.0, 1010.0, 1061.0])
    monkeypatch.setattr(referrals, "_monotonic", lambda: next(ticks))
    for _ in range(3):
        await referrals.chase_if_due()
    assert len(calls) == 2
