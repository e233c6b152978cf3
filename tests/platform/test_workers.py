"""`corridor serve --workers N`: several processes on PostgreSQL, refused on SQLite; and a server stops promptly on
SIGTERM though live boards are open (uvicorn used to wait for their streams, which never end by themselves)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.domain.incidents.service import ensure_defaults
from app.domain.incidents.tables import Location
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallReason
from tests.conftest import csrf
from tests.oncall.test_stream_after_signout import session_of

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"

STOPS_WITHIN = 5.0  # seconds from SIGTERM to the process gone, with streams open


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(settings, port: int, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8", "CORRIDOR_DATA_DIR": str(tmp_path), "DATABASE_URL": settings.database_url,
            "SECRET_KEY": settings.secret_key, "PUBLIC_URL": f"http://localhost:{port}", "HOST": "127.0.0.1",
            **extra}


class Served:
    def __init__(self, settings, tmp_path: Path, *args: str, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"serve-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(BIN / "corridor"), "serve", "--port", str(self.port), *args],
                                     env=_env(settings, self.port, tmp_path, **env), cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    async def healthy(self, seconds: float = 30) -> bool:
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=self.url, timeout=1) as client:
            while self.proc.poll() is None and time.monotonic() < deadline:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        return False

    def workers(self) -> list[int]:
        """The worker processes uvicorn spawned under this server."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(c) for c in children
                if "spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes().replace(b"\0", b" ").decode()]

    async def stop_within(self, seconds: float) -> float | None:
        """SIGTERM, as systemd or a deploy sends it; how long the process took to exit, or None if it did not."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, seconds)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def close(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.log_path.read_text()


@pytest.fixture
async def school(cast):
    await ensure_defaults(cast.school_id)
    await oncall.ensure_defaults(cast.school_id)
    cast.room = (await Location.insert(Location(school=cast.school_id, name="Room 12")))[0]["id"]
    cast.reason = (await OnCallReason.select(OnCallReason.id).where(OnCallReason.school == cast.school_id).first())["id"]
    return cast


class Board:
    """A responder's board held open against a served process, read as it arrives."""

    def __init__(self, client: httpx.AsyncClient, cookies: dict[str, str]) -> None:
        self.client, self.cookies, self.text = client, cookies, ""
        self.connected, self.ended = asyncio.Event(), asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            async with self.client.stream("GET", "/oncall/board/stream?after=0",
                                          headers={"Cookie": cookie, "Accept": "text/event-stream"}) as r:
                async for chunk in r.aiter_text():
                    self.text += chunk
                    if ": connected" in self.text:
                        self.connected.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    async def wait_for(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text:
            assert time.monotonic() < deadline, f"{text!r} never arrived; got {self.text!r}"
            await asyncio.sleep(0.05)


async def test_it_refuses_several_workers_on_sqlite(settings, tmp_path):
    port = _free_port()
    env = _env(settings, port, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'one.sqlite3'}")
    done = subprocess.run([str(BIN / "corridor"), "serve", "--port", str(port), "--workers", "2"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "--workers above 1 needs PostgreSQL" in done.stderr
    assert "Corridor serving" not in done.stdout  # refused before listening


async def test_it_refuses_several_workers_with_live_updates_kept_in_one_process(settings, tmp_path):
    port = _free_port()
    env = _env(settings, port, tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/never_opened",
               LIVE_BACKEND="memory")
    done = subprocess.run([str(BIN / "corridor"), "serve", "--port", str(port), "--workers", "2"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "LIVE_BACKEND=postgres" in done.stderr


async def test_one_process_stops_within_seconds_of_sigterm_with_a_board_open(settings, school, tmp_path):
    served = Served(settings, tmp_path)
    try:
        assert await served.healthy(), served.close()
        async with httpx.AsyncClient(base_url=served.url, timeout=httpx.Timeout(10, read=None)) as client:
            board = Board(client, await session_of(settings, school.responder))
            await asyncio.wait_for(board.connected.wait(), 10)
            took = await served.stop_within(STOPS_WITHIN)
            assert took is not None, "the server was still waiting for the open stream"
            await asyncio.wait_for(board.ended.wait(), 5)
    finally:
        log = served.close()
    # A graceful stop (uvicorn then re-raises the SIGTERM it caught, so the exit status is the signal's): the app's
    # own shutdown ran, nothing was cut off with an error.
    assert "Application shutdown complete" in log and "Traceback" not in log, log


async def test_two_workers_on_postgresql_serve_live_boards_and_stop_within_seconds(settings, school, tmp_path):
    if not settings.is_postgres:
        pytest.skip("several workers are for PostgreSQL; the SQLite run checks they are refused")
    served = Served(settings, tmp_path, "--workers", "2")
    try:
        assert await served.healthy(), served.close()
        assert len(served.workers()) == 2
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=0)  # a new connection per request
        async with httpx.AsyncClient(base_url=served.url, timeout=httpx.Timeout(10, read=None),
                                     limits=limits) as client:
            statuses = await asyncio.gather(*[client.get("/healthz") for _ in range(40)])
            assert {r.status_code for r in statuses} == {200}
            # Four boards, spread over the workers by the kernel; a raise through any worker reaches all of them.
            boards = [Board(client, await session_of(settings, school.responder)) for _ in range(4)]
            await asyncio.wait_for(asyncio.gather(*[b.connected.wait() for b in boards]), 10)
            client.cookies.update(await session_of(settings, school.teacher))
            token = await csrf(client, "/oncall/new")
            raised = await client.post("/oncall/", data={"_csrf_token": token, "location_id": school.room,
                                                         "reason_id": school.reason, "urgency": "urgent"})
            assert raised.status_code == 303, raised.text
            request_id = raised.headers["location"].rsplit("/", 1)[1]
            for board in boards:
                await board.wait_for(f'id="oncall-{request_id}"')

            took = await served.stop_within(STOPS_WITHIN)
            assert took is not None, "the server was still waiting for the open streams"
            await asyncio.wait_for(asyncio.gather(*[b.ended.wait() for b in boards]), 5)
    finally:
        log = served.close()
    assert log.count("Application shutdown complete") == 2 and "Traceback" not in log, log
