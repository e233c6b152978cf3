"""The early-intervention list's CSV names pupils, so each download is in the audit log (who, when, the year asked
for and how many rows; no names), as the other lists' CSV downloads are; a refused download records nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.schools.tables import Membership
from tests.conftest import sign_in
from tests.data_review.kit import build


@pytest.fixture
def on_24_november(frozen_clock):
    frozen_clock.current = dt.datetime(2025, 11, 24, 16, 0, tzinfo=dt.timezone.utc)
    return frozen_clock


async def test_each_download_of_the_list_is_audited(client, settings, cast, on_24_november):
    await build(cast)
    await Membership.update({Membership.years: "11"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    answer = await client.get("/data-review/early-intervention.csv")
    assert answer.status_code == 200 and "Dee Dunn" in answer.text
    events = await AuditEvent.select(AuditEvent.actor, AuditEvent.detail).where(
        AuditEvent.action == "early_intervention.exported")
    assert len(events) == 1 and events[0]["actor"] == cast.head_of_year.id
    assert "Dee" not in str(events[0]["detail"]) and "1" in str(events[0]["detail"])
    assert (await client.get("/data-review/early-intervention.csv?year=9")).status_code == 404
    client.cookies.clear()
    await sign_in(client, settings, cast.teacher)
    assert (await client.get("/data-review/early-intervention.csv")).status_code == 404
    assert await AuditEvent.count().where(AuditEvent.action == "early_intervention.exported") == 1
