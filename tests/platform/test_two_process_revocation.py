"""A session ended or a person disabled through one process is refused on the very next request by another
(issue 12, point 7): two `corridor serve` processes on the test database (SQLite or PostgreSQL), a session in use
on process B, and the revocation made through process A (or through `corridor revoke-sessions`). Whatever a
process keeps between requests, it must not let a revoked session through."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from app.domain.accounts import service as accounts
from app.domain.accounts.tables import Session
from app.domain.audit.service import Origin
from app.domain.schools.tables import Person


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(proc: subprocess.Popen, port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def two_processes(database):
    """Process A and process B: two `corridor serve` on the database the tests use (migrated by `database`)."""
    logs = Path(tempfile.mkdtemp(prefix="corridor-two-processes-"))
    ports = [_free_port(), _free_port()]
    procs = []
    try:
        for port in ports:
            log = open(logs / f"server-{port}.log", "w")
            procs.append(subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                          env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT))
        for proc, port in zip(procs, ports):
            assert _healthy(proc, port), (logs / f"server-{port}.log").read_text()
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _client(base: str, settings, token: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=20)
    client.cookies.set(settings.session_cookie, token)
    return client


async def _in_use(client: httpx.AsyncClient) -> None:
    """A few requests, as a person working would make: whatever the process keeps about the session, it has it."""
    for path in ("/", "/account", "/"):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)


async def _refused(client: httpx.AsyncClient) -> bool:
    response = await client.get("/")
    return response.status_code == 303 and response.headers["location"] == "/signin"


async def _post(client: httpx.AsyncClient, path: str, data: dict | None = None) -> httpx.Response:
    page = await client.get("/account")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    return await client.post(path, data={**(data or {}), "_csrf_token": token})


async def test_it_refuses_on_b_a_session_signed_out_on_a(two_processes, settings, cast):
    a, b = two_processes
    token = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest")
    async with _client(a, settings, token) as on_a, _client(b, settings, token) as on_b:
        await _in_use(on_b)
        await _in_use(on_a)

        signed_out = await _post(on_a, "/signout")
        assert signed_out.status_code == 303 and signed_out.headers["location"] == "/signed-out"

        on_b.cookies.set(settings.session_cookie, token)
        assert await _refused(on_b)


async def test_it_refuses_on_b_a_session_ended_from_another_device_on_a(two_processes, settings, cast):
    a, b = two_processes
    phone = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest phone")
    laptop = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest laptop")
    phone_id = (await Session.select(Session.id).where(Session.token_hash == accounts._hash(phone)).first())["id"]
    async with _client(b, settings, phone) as on_b, _client(a, settings, laptop) as on_a:
        await _in_use(on_b)

        ended = await _post(on_a, f"/account/sessions/{phone_id}/end")
        assert ended.status_code in (200, 303), ended.status_code

        assert await _refused(on_b)
        assert (await on_a.get("/")).status_code == 200  # the laptop that ended it is still signed in


async def test_it_refuses_on_b_a_person_an_admin_disabled_on_a(two_processes, settings, cast):
    a, b = two_processes
    teacher = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest")
    admin = await accounts._create_session(settings, cast.admin.id, "x", Origin(), "pytest")
    async with _client(b, settings, teacher) as on_b, _client(a, settings, admin) as on_a:
        await _in_use(on_b)

        disabled = await _post(on_a, f"/admin/people/{cast.teacher.id}/disable", {"reason": "left the school"})
        assert disabled.status_code in (200, 303), disabled.status_code
        assert (await Person.select(Person.disabled_at).where(Person.id == cast.teacher.id).first())["disabled_at"]

        assert await _refused(on_b)


async def test_it_refuses_on_b_a_person_whose_sessions_the_command_revoked(two_processes, settings, cast):
    _, b = two_processes
    token = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest")
    async with _client(b, settings, token) as on_b:
        await _in_use(on_b)

        done = subprocess.run([sys.executable, "-m", "app.cli", "revoke-sessions", cast.teacher.email],
                              env=os.environ.copy(), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

        assert await _refused(on_b)


async def test_another_persons_session_on_b_is_untouched(two_processes, settings, cast):
    """The other side: revoking one person leaves a colleague on the same process signed in."""
    a, b = two_processes
    teacher = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest")
    colleague = await accounts._create_session(settings, cast.responder.id, "x", Origin(), "pytest")
    async with _client(b, settings, teacher) as teacher_b, _client(b, settings, colleague) as colleague_b, \
            _client(a, settings, teacher) as teacher_a:
        await _in_use(teacher_b)
        await _in_use(colleague_b)
        await _post(teacher_a, "/signout")
        teacher_b.cookies.set(settings.session_cookie, teacher)
        assert await _refused(teacher_b)
        assert (await colleague_b.get("/")).status_code == 200
