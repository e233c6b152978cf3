"""Live events on PostgreSQL are published through the app's connection pool (app.live.PooledNotify).

Litestar's asyncpg backend opened a new database connection for every publish, ran one pg_notify and closed it:
a new server process, its sign-in and asyncpg's type queries inside every incident POST that alerts someone and
every on-call event, and most of the database's time in the lesson-change burst. Each NOTIFY also waited for its
own WAL flush while holding the server's notification queue lock, so they went one at a time; a notification is a
hint (the stored rows are the truth), and now skips that wait for its own transaction only.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from litestar.channels import ChannelsPlugin

from app.main import live_backend


@pytest.fixture
def postgres(settings):
    if not settings.is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; the PostgreSQL run of this suite covers it")
    return dataclasses.replace(settings, live_backend="postgres")


async def started(backend) -> ChannelsPlugin:
    channels = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
    await backend.on_startup()
    channels._pub_queue = asyncio.Queue()
    channels._sub_task = asyncio.create_task(channels._sub_worker())
    channels._pub_task = asyncio.create_task(channels._pub_worker())
    return channels


async def stopped(channels: ChannelsPlugin) -> None:
    for task in (channels._sub_task, channels._pub_task):
        task.cancel()
    await asyncio.gather(channels._sub_task, channels._pub_task, return_exceptions=True)
    await channels._backend.on_shutdown()


async def test_publishing_opens_no_connection_and_every_event_arrives_in_order(postgres, database):
    # Two processes' backends: one listens (a board's process), one publishes (the process that took the POST).
    listener = await started(live_backend(postgres, database))
    publisher = await started(live_backend(postgres, database))
    opened = []
    connect = publisher._backend._connect
    publisher._backend._connect = lambda: opened.append(1) or connect()
    try:
        async with listener.start_subscription(["school:7", "school:8"]) as subscriber:
            await asyncio.sleep(0.2)  # LISTEN done
            for i in range(20):
                await publisher.wait_published(f"event {i}".encode(), ["school:7"] if i % 2 else ["school:7", "school:8"])
            got = []
            events = subscriber.iter_events()
            while len(got) < 30:
                got.append(await asyncio.wait_for(anext(events), 5))
        assert opened == []  # before: one new connection per publish
        assert got[:3] == [b"event 0", b"event 0", b"event 1"]
        assert sorted(got) == sorted([f"event {i}".encode() for i in range(20)] + [f"event {i}".encode()
                                                                                 for i in range(0, 20, 2)])
    finally:
        await stopped(publisher)
        await stopped(listener)
    # The pool's connections keep the install's durable commits: the setting was the notification's own.
    async with database.pool.acquire() as connection:
        assert await connection.fetchval("SHOW synchronous_commit") == "on"


async def test_a_publish_inside_a_transaction_uses_the_backends_own_connection(postgres, database):
    from app import db

    publisher = await started(live_backend(postgres, database))
    listener = await started(live_backend(postgres, database))
    try:
        async with listener.start_subscription(["school:9"]) as subscriber:
            await asyncio.sleep(0.2)
            async with db.atomic():
                await publisher.wait_published(b"inside", ["school:9"])
            assert await asyncio.wait_for(anext(subscriber.iter_events()), 5) == b"inside"
    finally:
        await stopped(publisher)
        await stopped(listener)
