"""Receipts are kept at least 30 days, so an entry replayed within that time is still recognised."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.domain.incidents.tables import Incident
from app.domain.notifications import service as notifications
from app.domain.notifications.tables import IdempotencyReceipt
from app.errors import CorridorError
from tests.conftest import sign_in
from tests.outbox.conftest import incident, new_key, receipts, replay_post


async def test_receipts_younger_than_30_days_are_kept_and_still_answer(client, settings, school, frozen_clock):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    first = await replay_post(client, "/incidents/", incident(school), key=key)
    frozen_clock.advance(days=29, hours=23)
    assert await notifications.purge_receipts() == 0
    await sign_in(client, settings, school.teacher)  # the old session has long expired
    again = await replay_post(client, "/incidents/", incident(school), key=key)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert await Incident.count() == 1


async def test_receipts_older_than_30_days_are_purged(client, settings, school, frozen_clock):
    await sign_in(client, settings, school.teacher)
    await replay_post(client, "/incidents/", incident(school), key=new_key())
    frozen_clock.advance(days=20)
    await sign_in(client, settings, school.teacher)
    await replay_post(client, "/incidents/", incident(school), key=new_key())
    frozen_clock.advance(days=11)
    assert await notifications.purge_receipts() == 1
    assert len(await receipts()) == 1
    assert await Incident.count() == 2  # the records themselves are never touched


async def test_a_retention_under_30_days_is_refused(school):
    with pytest.raises(CorridorError, match="at least 30 days"):
        await notifications.purge_receipts(days=7)


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], check=False, capture_output=True, text=True,
                          env=os.environ.copy(), timeout=60)


async def test_the_purge_command(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await replay_post(client, "/incidents/", incident(school), key=new_key())
    await IdempotencyReceipt.update({IdempotencyReceipt.created_at: IdempotencyReceipt.created_at}).where(
        IdempotencyReceipt.id > 0)  # nothing old yet
    result = corridor("purge")
    assert result.returncode == 0, result.stderr
    assert "Deleted 0 submission receipts older than 30 days." in result.stdout
    refused = corridor("purge", "--days", "10")
    assert refused.returncode != 0 and "at least 30 days" in refused.stderr
    assert len(await receipts()) == 1
    assert "purge" in corridor("--help").stdout
