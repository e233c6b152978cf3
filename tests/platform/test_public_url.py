"""Without PUBLIC_URL the public URL follows the port, so `corridor serve --port P` never prints or accepts
links for another origin (a passkey made for localhost:8000 fails on localhost:8123)."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import httpx

from app.settings import PROJECT_ROOT, Settings
from tests.softauthn import SoftAuthenticator

BASE = {"SECRET_KEY": "x" * 40}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_without_public_url(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_URL", "PORT")}
    return {**env, **extra}


def test_it_derives_the_public_url_from_port_when_public_url_is_unset():
    s = Settings.from_env({**BASE, "PORT": "8123"})
    assert (s.public_url, s.origin, s.rp_id, s.port) == ("http://localhost:8123", "http://localhost:8123",
                                                         "localhost", 8123)
    assert Settings.from_env(BASE).public_url == "http://localhost:8000"
    # A real address wins: behind a proxy the app listens on one port and is reached on another.
    behind = Settings.from_env({**BASE, "PORT": "8123", "PUBLIC_URL": "https://corridor.example.sch.uk"})
    assert behind.public_url == "https://corridor.example.sch.uk"


def test_it_prints_links_on_the_port_when_public_url_is_unset(cast):
    done = subprocess.run([sys.executable, "-m", "app.cli", "invite", "new@northbridge.example", "--role", "staff",
                           "--school", "northbridge"], capture_output=True, text=True, timeout=60,
                          env=env_without_public_url(PORT="8123"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("http://localhost:8123/enrol/")


async def test_serve_port_makes_passkeys_for_the_origin_it_serves():
    port = free_port()
    setup = subprocess.run([sys.executable, "-m", "app.cli", "setup", "--school", "Northbridge Academy",
                            "--admin", "head@northbridge.sch.uk"], capture_output=True, text=True, timeout=60,
                           env=env_without_public_url(PORT=str(port)), stdin=subprocess.DEVNULL)
    assert setup.returncode == 0, setup.stderr
    link = re.search(r"(http://localhost:\d+/enrol/\S+)", setup.stdout).group(1)
    assert link.startswith(f"http://localhost:{port}/enrol/")

    # Only --port: neither PORT nor PUBLIC_URL in the server's environment.
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                              env=env_without_public_url(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout.readline().startswith(f"Corridor serving http://localhost:{port} ")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        path = "/enrol/" + link.rsplit("/", 1)[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            page = await client.get(path)
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            headers = {"x-csrftoken": token, "accept": "application/json"}
            options = (await client.post(path + "/options", json={}, headers=headers)).json()
            # The browser's origin is where the link points; the server checks the passkey against its own.
            phone = SoftAuthenticator(origin=f"http://localhost:{port}")
            enrolled = await client.post(path, headers=headers, json={
                "key": options["key"], "credential": phone.create(options["publicKey"]), "name": "Phone"})
        assert enrolled.status_code == 200, enrolled.text
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_make_run_serves_and_links_on_port():
    planned = subprocess.run(["make", "-n", "run", "PORT=8123"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=60).stdout
    assert "PORT=8123 .venv/bin/corridor seed-demo" in planned
    assert "corridor serve --host 127.0.0.1 --port 8123" in planned
