"""A retry while the first attempt is still being saved answers 409 and is retried later; a claim left by an
attempt that died (a killed server) is taken over, and two attempts at once still make one record."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from app import clock
from app.domain.incidents import service as incidents_service
from app.domain.incidents.tables import Incident
from app.domain.notifications.service import CLAIM_LEASE, request_hash
from app.domain.notifications.tables import IdempotencyReceipt
from tests.conftest import sign_in
from tests.outbox.conftest import incident, new_key, receipts, replay_post


@pytest.fixture
def gate(monkeypatch):
    """Hold the first attempt inside its transaction, after its record is written and before it commits."""
    opened = asyncio.Event()
    entered = asyncio.Event()
    real = incidents_service._insert_incident

    async def held(actor, valid):
        written = await real(actor, valid)  # the record is written, its transaction still open
        entered.set()
        await opened.wait()
        return written

    monkeypatch.setattr(incidents_service, "_insert_incident", held)
    real_raw = incidents_service.raw_sql

    async def held_statement(table, sql, *args):
        """PostgreSQL writes the incident in one statement (incidents_service._record_in_one_statement): the same
        hold, in a transaction opened around it here so that its rows are written and not yet committed."""
        if not sql.startswith("WITH"):
            return await real_raw(table, sql, *args)
        async with table._meta.db.transaction():
            rows = await real_raw(table, sql, *args)
            entered.set()
            await opened.wait()
        return rows

    monkeypatch.setattr(incidents_service, "raw_sql", held_statement)
    return opened, entered


async def test_a_retry_while_the_first_attempt_is_running_answers_409(client, settings, school, gate):
    opened, entered = gate
    await sign_in(client, settings, school.teacher)
    key = new_key()
    first = asyncio.create_task(replay_post(client, "/incidents/", incident(school), key=key))
    await asyncio.wait_for(entered.wait(), 10)
    retry = await replay_post(client, "/incidents/", incident(school), key=key)
    assert retry.status_code == 409
    assert "still being saved" in retry.json()["error"]
    opened.set()
    assert (await first).status_code == 303
    later = await replay_post(client, "/incidents/", incident(school), key=key)
    assert later.status_code == 303 and later.headers["location"] == (await first).headers["location"]
    assert await Incident.count() == 1


async def test_different_content_while_the_first_is_running_makes_one_record(client, settings, school, gate):
    opened, entered = gate
    await sign_in(client, settings, school.teacher)
    key = new_key()
    first = asyncio.create_task(replay_post(client, "/incidents/", incident(school), key=key))
    await asyncio.wait_for(entered.wait(), 10)
    other = asyncio.create_task(replay_post(client, "/incidents/", incident(school, pupil_id=str(school.ben)), key=key))
    await asyncio.sleep(0.2)
    opened.set()
    answers = sorted([(await first).status_code, (await other).status_code])
    # Whichever stored its answer first wins; the other rolls back and is told the key was used (422).
    assert answers == [303, 422]
    assert await Incident.count() == 1


async def test_a_claim_left_by_a_killed_server_is_taken_over_after_the_lease(client, settings, school, frozen_clock):
    await sign_in(client, settings, school.teacher)
    key = new_key()
    fields = incident(school)
    # What a server killed mid-request leaves behind: the claim, and no record (its transaction never committed).
    await IdempotencyReceipt.insert(IdempotencyReceipt(
        key=key, person=school.teacher.id, request_hash=request_hash("/incidents", fields), status_code="",
        created_at=clock.now()))
    soon = await replay_post(client, "/incidents/", fields, key=key)
    assert soon.status_code == 409
    frozen_clock.advance(seconds=CLAIM_LEASE.total_seconds() + 1)
    later = await replay_post(client, "/incidents/", fields, key=key)
    assert later.status_code == 303
    assert await Incident.count() == 1
    [receipt] = await receipts()
    assert receipt["status_code"] == "303"


async def test_two_attempts_at_once_make_one_record(client, settings, school):
    await sign_in(client, settings, school.teacher)
    for _ in range(5):
        key = new_key()
        answers = await asyncio.gather(*[replay_post(client, "/incidents/", incident(school), key=key)
                                         for _ in range(3)])
        assert {a.status_code for a in answers} <= {303, 409}
        assert 303 in {a.status_code for a in answers}
    assert await Incident.count() == 5


async def test_a_claim_is_never_taken_from_another_person(client, settings, school):
    key = new_key()
    await IdempotencyReceipt.insert(IdempotencyReceipt(
        key=key, person=school.pastoral.id, request_hash="x" * 64, status_code="",
        created_at=clock.now() - dt.timedelta(days=1)))
    await sign_in(client, settings, school.teacher)
    response = await replay_post(client, "/incidents/", incident(school), key=key)
    assert response.status_code == 303
    rows = {r["person"]: r["status_code"] for r in await receipts()}
    assert rows == {school.pastoral.id: "", school.teacher.id: "303"}


async def test_a_retry_reaching_another_process_while_the_first_runs_makes_one_record(client, settings, school, gate):
    """A claim is held in the memory of the process running the attempt, on PostgreSQL too (several processes may
    serve it): a retry that reaches another process does not see it. The receipt's unique index is what stops it:
    its INSERT waits for the first attempt's transaction, then fails, and the retry answers as the first did."""
    from app.domain.notifications import service as notifications

    opened, entered = gate
    await sign_in(client, settings, school.teacher)
    key = new_key()
    first = asyncio.create_task(replay_post(client, "/incidents/", incident(school), key=key))
    await asyncio.wait_for(entered.wait(), 10)
    # What another process knows of this one's claims: nothing.
    notifications._in_flight.pop((school.teacher.id, key))
    retry = asyncio.create_task(replay_post(client, "/incidents/", incident(school), key=key))
    await asyncio.sleep(0.3)
    opened.set()
    answers = [await first, await retry]
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert await Incident.count() == 1
    [receipt] = await receipts()
    assert receipt["status_code"] == "303"
