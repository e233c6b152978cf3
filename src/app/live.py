"""Live streams (Server-Sent Events) bound to the session that opened them.

A stream is one request that lasts for hours, so the session check the middleware made when it opened is not
enough: a person disabled or signed out everywhere would go on receiving pupils' names. Every stream built
here checks its session again at least once a heartbeat and before every event it sends, and ends (telling
the page, so it can ask to sign in) as soon as the session has ended or the person may no longer see it.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import Counter, OrderedDict
from typing import Any, AsyncIterator, Awaitable, Callable, Hashable, Iterable, TypeVar

from anyio import CancelScope
from litestar import Litestar, Request
from litestar.channels import ChannelsPlugin
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.db import finish_even_if_cancelled
from app.domain.accounts.service import recheck_actor
from app.domain.schools.service import Actor

# Module-level so a test can shorten it (the clock is a true boundary).
HEARTBEAT_SECONDS = 15.0
ENDED = "ended"  # the last event of a stream whose session has ended: the page asks to sign in

Check = Callable[[Actor], Awaitable[bool]]
Render = Callable[[Actor, Any], Awaitable[ServerSentEventMessage | None]]
CatchUp = Callable[[Actor], AsyncIterator[ServerSentEventMessage]]
Hook = Callable[[Actor], Awaitable[None]]
T = TypeVar("T")

# How long a shared render is kept: long enough for every stream of this process to take the event and for a
# reconnect's catch-up soon after; short enough that memory stays small. Each stream still checks its own
# session and rights before it sends what was rendered.
SHARED_SECONDS = 60.0
SHARED_MAX = 1024


class _Shared:
    """What one app has rendered (or is rendering) on one event loop, by key, oldest first."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.made: OrderedDict[Hashable, tuple[float, asyncio.Future]] = OrderedDict()


async def once_per_process(app: Litestar, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
    """`make()`'s result, made once per process for every stream that asks for the same key at about the same time.

    An event reaches every stream of a process at once: 100 boards would otherwise run the same queries and render
    the same card 100 times. The key must hold everything the result depends on (the school, the event, and who
    may see it), so a stream only ever gets what it would have made itself.
    """
    loop = asyncio.get_running_loop()
    shared = app.state.get("live_shared")
    if shared is None or shared.loop is not loop:
        shared = app.state["live_shared"] = _Shared(loop)
    now = time.monotonic()
    while shared.made:  # forget what is old (the oldest come first)
        oldest = next(iter(shared.made.values()))
        if len(shared.made) <= SHARED_MAX and now - oldest[0] < SHARED_SECONDS:
            break
        shared.made.popitem(last=False)
    entry = shared.made.get(key)
    if entry is None:
        future = asyncio.ensure_future(make())
        shared.made[key] = entry = (now, future)

        def forget_failure(done: asyncio.Future) -> None:
            # A failed render is not kept: the next stream to ask tries again.
            if done.cancelled() or done.exception() is not None:
                if shared.made.get(key, (0, None))[1] is done:
                    del shared.made[key]

        future.add_done_callback(forget_failure)
    # Shielded: one page going away (its stream cancelled) must not cancel the render the others wait for.
    return await asyncio.shield(entry[1])


# Streams end when the server stops (`corridor serve`'s HTTP protocol calls stop_streams() as its shutdown begins,
# app/server.py): a stream lasts for hours, and a server waiting for it would never stop. The page's EventSource reconnects, to this server once it is back
# or to another worker.
_stopping: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()


def _stop_event() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    if loop not in _stopping:
        _stopping[loop] = asyncio.Event()
    return _stopping[loop]


def stop_streams() -> None:
    """End every live stream of this process (called by the server as it begins to shut down)."""
    _stop_event().set()


class SteadySubscriptions:
    """Mixed into a channels backend (PostgreSQL LISTEN, Redis) so a board reopened on this process stays live.

    Two faults of the plain backends, both seen as "a process stops delivering new on-call requests to every
    board once one board on it was reopened":
    - A page that goes away cancels its stream, and the cancellation also lands in the stream's clean-up, in the
      middle of the backend's UNLISTEN. asyncpg has then dropped its listener but the backend still counts the
      channel as subscribed, so the next board's subscribe is skipped and nothing reaches any board on this
      process again. Here each LISTEN/UNLISTEN runs to its end as its own task, whatever happens to the caller.
    - The plugin asks the backend to subscribe when a channel gains its first subscriber and to unsubscribe when
      it loses its last, but the two calls can arrive in the other order (the old page's clean-up after the new
      page's subscribe). Counting the calls per channel makes the order not matter: the backend listens while
      the count is above zero.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wanted: Counter[str] = Counter()
        self._wanted_lock: asyncio.Lock | None = None

    def _lock(self) -> asyncio.Lock:
        if self._wanted_lock is None:
            self._wanted_lock = asyncio.Lock()
        return self._wanted_lock

    async def _steady(self, channels: Iterable[str], step: int) -> None:
        async with self._lock():
            changed = []
            for channel in set(channels):
                before = self._wanted[channel]
                self._wanted[channel] = max(before + step, 0)
                if (before == 0) != (self._wanted[channel] == 0):
                    changed.append(channel)
                if not self._wanted[channel]:
                    del self._wanted[channel]
            if changed:
                call = super().subscribe if step > 0 else super().unsubscribe  # type: ignore[misc]
                await call(changed)

    async def _run_to_end(self, channels: Iterable[str], step: int) -> None:
        await finish_even_if_cancelled(self._steady(list(channels), step))

    async def subscribe(self, channels: Iterable[str]) -> None:
        await self._run_to_end(channels, +1)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        await self._run_to_end(channels, -1)


# One statement on a pooled connection. NOTIFY commits like a write: a transaction of its own, which holds the
# server's notification queue lock from its commit record to the end of the WAL flush, so every NOTIFY of the
# install went one flush at a time. A notification is a hint (the stored row is the truth, and a listener that
# misses one catches up from the rows): it need not wait for the disk. `set_config(..., true)` is this
# transaction's only.
_NOTIFY = ("SELECT set_config('synchronous_commit', 'off', true), pg_notify(channel, $2) "
           "FROM unnest($1::text[]) AS channel")


class PooledNotify:
    """Mixed into the PostgreSQL channels backend: publish through the app's connection pool.

    Litestar's asyncpg backend opens a new connection for every publish and closes it after one pg_notify: a new
    server process, its authentication and asyncpg's type introspection, about 3 ms of the database's CPU and a
    wait for all of it in every incident POST that alerts someone (seen as most of the database's time in the
    lesson-change burst). `engine` is the app's Piccolo engine; without a pool (not started yet) the backend's
    own way is used.
    """

    engine: Any = None

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        pool = getattr(self.engine, "pool", None)
        # Inside a transaction (no caller publishes there today), a second pooled connection could wait on a pool
        # that transactions like it have emptied: the backend's own connection cannot.
        if pool is None or self.engine.transaction_exists():
            await super().publish(data, channels)  # type: ignore[misc]
            return
        names, text = list(channels), data.decode("utf-8")

        async def send() -> None:
            async with pool.acquire() as connection:
                await connection.execute(_NOTIFY, names, text)

        await finish_even_if_cancelled(send())


async def _allowed(request: Request, opened_by: Actor, allowed: Check) -> Actor | None:
    """The stream's actor as their session stands now, or None if the stream must end."""
    actor = await recheck_actor(request.app.state.settings, opened_by)
    # Switching school in another tab: this stream shows the school it was opened for, so it ends.
    if actor is None or actor.school_id != opened_by.school_id or not await allowed(actor):
        return None
    return actor


def _read(stream: AsyncIterator) -> asyncio.Future:
    read = asyncio.ensure_future(anext(stream))
    # The subscription ends when the app stops; a read left over then is no error worth logging.
    read.add_done_callback(lambda done: done.cancelled() or done.exception())
    return read


def session_bound(request: Request, actor: Actor, channels: ChannelsPlugin, names: list[str], *,
                  allowed: Check, render: Render, catch_up: CatchUp | None = None, beat: Hook | None = None,
                  closed: Hook | None = None) -> ServerSentEvent:
    """A stream of the channels' messages as `render` turns them into events, for as long as the session lasts.

    `allowed` says whether the (re-read) actor may still see the stream; `catch_up` yields what a reconnecting
    page missed; `beat` runs on connecting and at every heartbeat (presence); `closed` runs however it ends.
    """

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        current: Actor | None = actor
        loop = asyncio.get_running_loop()
        pending: asyncio.Future | None = None
        stopping: asyncio.Future | None = None
        try:
            async with channels.start_subscription(names) as subscriber:
                # Subscribed first, then the catch-up: nothing can fall between the two.
                if catch_up is not None:
                    async for message in catch_up(actor):
                        current = await _allowed(request, actor, allowed)
                        if current is None:
                            break
                        yield message
                if current is not None:
                    current = await _allowed(request, actor, allowed)
                if current is None:
                    yield ServerSentEventMessage(event=ENDED, data="")
                    return
                if beat is not None:
                    await beat(current)
                stopping = asyncio.ensure_future(_stop_event().wait())
                stream = subscriber.iter_events()
                # One pending read, kept across heartbeats: cancelling it on a timeout would close the
                # subscriber's iterator, and the stream would stop for good after its first quiet period.
                pending = _read(stream)
                check_at = loop.time() + HEARTBEAT_SECONDS
                while True:
                    done, _ = await asyncio.wait({pending, stopping}, timeout=max(check_at - loop.time(), 0),
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if stopping.done():
                        return  # the server is stopping: end the response so it can
                    if not done:
                        current = await _allowed(request, actor, allowed)
                        if current is None:
                            yield ServerSentEventMessage(event=ENDED, data="")
                            return
                        if beat is not None:
                            await beat(current)
                        check_at = loop.time() + HEARTBEAT_SECONDS
                        # A comment line: keeps proxies from closing the stream and shows a dead one quickly.
                        yield ServerSentEventMessage(comment="heartbeat")
                        continue
                    try:
                        raw = pending.result()
                    except StopAsyncIteration:
                        return
                    pending = _read(stream)
                    message = await render(current, raw)
                    if message is None:
                        continue  # not for this stream; the heartbeat's check still falls due on time
                    current = await _allowed(request, actor, allowed)
                    if current is None:
                        yield ServerSentEventMessage(event=ENDED, data="")
                        return
                    check_at = loop.time() + HEARTBEAT_SECONDS
                    yield message
        finally:
            for waiting in (pending, stopping):
                if waiting is not None and not waiting.done():
                    waiting.cancel()
            if closed is not None:
                # A page that went away cancels the stream; what it leaves behind is still cleaned up.
                with CancelScope(shield=True):
                    await closed(actor)

    return ServerSentEvent(events(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
