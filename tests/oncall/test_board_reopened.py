"""A board reopened on a process keeps receiving: the live backend's LISTEN state survives a page that went away.

Seen on PostgreSQL: once one board on a process was reloaded (or "I'm on duty now" was tapped, which reloads
it), that process delivered no new on-call request to any board. The old page's stream was cancelled, the
cancellation landed in the middle of its UNLISTEN, and the backend went on believing it listened while asyncpg
had dropped the listener; every later subscribe was skipped. These tests drive the app's real backend and the
channels plugin against the real database; they need PostgreSQL (on SQLite one process uses the memory backend,
which has no LISTEN to lose).
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from litestar.channels import ChannelsPlugin

from app.main import live_backend


@pytest.fixture
async def plugin(settings):
    if not settings.is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; the PostgreSQL run of this suite covers it")
    backend = live_backend(dataclasses.replace(settings, live_backend="postgres"))
    channels = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
    # What the plugin does on the app's start-up, without an app around it.
    await backend.on_startup()
    channels._pub_queue = asyncio.Queue()
    channels._sub_task = asyncio.create_task(channels._sub_worker())
    channels._pub_task = asyncio.create_task(channels._pub_worker())
    try:
        yield channels
    finally:
        for task in (channels._sub_task, channels._pub_task):
            task.cancel()
        await asyncio.gather(channels._sub_task, channels._pub_task, return_exceptions=True)
        await backend.on_shutdown()


async def _receives(channels: ChannelsPlugin, name: str) -> bool:
    async with channels.start_subscription([name]) as subscriber:
        await channels.wait_published(b"new request", [name])
        try:
            return await asyncio.wait_for(anext(subscriber.iter_events()), 5) == b"new request"
        except TimeoutError:
            return False


async def test_a_board_whose_old_page_was_cancelled_mid_clean_up_still_receives(plugin):
    async def old_board():
        async with plugin.start_subscription(["oncall:1"]):
            await asyncio.sleep(3600)

    old = asyncio.create_task(old_board())
    await asyncio.sleep(0.3)  # subscribed: LISTEN done
    old.cancel()  # the page went away
    for _ in range(3):  # the task group cancels again at every await, the clean-up's UNLISTEN included
        await asyncio.sleep(0)
        old.cancel()
    with pytest.raises(asyncio.CancelledError):
        await old
    assert await _receives(plugin, "oncall:1")


async def test_subscribe_and_unsubscribe_arriving_in_the_other_order_leave_the_channel_listened(plugin):
    backend = plugin._backend
    await backend.subscribe(["oncall:2"])  # the first board's page
    await backend.subscribe(["oncall:2"])  # the reloaded page (the plugin had already counted the old one out)
    await backend.unsubscribe(["oncall:2"])  # the old page's late clean-up
    plugin._channels.setdefault("oncall:2", set())
    assert await _receives(plugin, "oncall:2")


async def test_the_last_board_leaving_stops_listening(plugin):
    """Counting must not leak: when every board has gone, the process no longer listens on the channel."""
    async with plugin.start_subscription(["oncall:3"]):
        pass
    async with plugin.start_subscription(["oncall:3"]), plugin.start_subscription(["oncall:3"]):
        pass
    await asyncio.sleep(0.1)
    assert "oncall:3" not in plugin._backend._subscribed_channels
    assert "oncall:3" not in plugin._backend._listener_conn._listeners
