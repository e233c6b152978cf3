"""Holding a live stream (Server-Sent Events) open against the app in a test, and reading it as it arrives.

httpx's ASGI transport hands back a response only once the app has finished it, so it cannot show what a
stream sent before it ended, or that it has not ended. These helpers speak ASGI to the app directly. The app's
lifespan is run too: the live channels start with it.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

from app import live


@asynccontextmanager
async def running(app) -> AsyncIterator[None]:
    """The app started (its live channels with it) and stopped again afterwards."""
    inbox: asyncio.Queue = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()

    async def send(message: dict) -> None:
        assert not message["type"].endswith(".failed"), message
        (started if message["type"] == "lifespan.startup.complete" else stopped).set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    await asyncio.wait_for(started.wait(), 10)
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(stopped.wait(), 10)
        await asyncio.wait_for(task, 10)


class OpenStream:
    """One GET held open like a browser's EventSource, with what has arrived so far in `text`."""

    def __init__(self, app, path: str, cookies: dict[str, str], headers: dict[str, str] | None = None) -> None:
        self.app, self.path = app, path
        path_only, _, query = path.partition("?")
        header_list = [(b"host", b"test"), (b"accept", b"text/event-stream"),
                       (b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode())]
        header_list += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                      "scheme": "http", "path": path_only, "raw_path": path_only.encode(),
                      "query_string": query.encode(), "headers": header_list, "server": ("test", 80),
                      "client": ("127.0.0.1", 50000), "root_path": "", "state": {}}
        self.status: int | None = None
        self.chunks: list[str] = []
        self.ended = asyncio.Event()
        self._gone = asyncio.Event()
        self._asked = False
        self._arrived = asyncio.Event()
        self.task: asyncio.Task | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    async def _receive(self) -> dict:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            if message.get("body"):
                self.chunks.append(message["body"].decode())
            if not message.get("more_body"):
                self.ended.set()
        self._arrived.set()

    async def __aenter__(self) -> "OpenStream":
        self.task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        return self

    async def __aexit__(self, *exc) -> None:
        self._gone.set()  # the page goes away
        try:
            await asyncio.wait_for(self.task, 5)
        except asyncio.TimeoutError:
            self.task.cancel()

    async def wait_for(self, text: str, timeout: float = 20) -> None:
        """Until `text` has arrived. The timeout only stops a test that would otherwise hang: it is no measure of
        speed (the benchmark measures that). 5 s was once not enough for a card in CI, with three suites and
        another test run sharing two cores; what had arrived is shown, so a lost event can be told from a slow one."""
        async def arrived() -> None:
            while text not in self.text:
                self._arrived.clear()
                await self._arrived.wait()

        try:
            await asyncio.wait_for(arrived(), timeout)
        except asyncio.TimeoutError:
            ended = "ended" if self.ended.is_set() else "still open"
            raise AssertionError(f"{text!r} did not arrive in {timeout} s on {self.path} (status {self.status}, "
                                 f"{ended}); what arrived:\n{self.text[-2000:]}") from None

    async def wait_closed(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.ended.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


def short_heartbeat(monkeypatch, seconds: float) -> float:
    """Heartbeats every `seconds` (the clock is a true boundary): a test waits for one, not for fifteen."""
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", seconds)
    return seconds


async def until(predicate, timeout: float = 5, every: float = 0.02) -> None:
    """Wait until an async predicate holds (state the stream writes, such as presence)."""
    async def poll() -> None:
        while not await predicate():
            await asyncio.sleep(every)

    await asyncio.wait_for(poll(), timeout)
