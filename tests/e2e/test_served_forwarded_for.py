"""`corridor serve` believes X-Forwarded-For only from TRUSTED_PROXIES: a client on the same machine (which
uvicorn's own default would trust) cannot dodge the sign-in rate limit with a new forged address each time."""

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import BIN, ROOT, _free_port, wait_until_healthy


@pytest.fixture
def strict_server():
    port = _free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="corridor-e2e-xff-"))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "CORRIDOR_DATA_DIR": str(data_dir), "TMPDIR": str(data_dir),
           "DATABASE_URL": f"sqlite:///{data_dir / 'x.sqlite3'}", "PUBLIC_URL": f"http://localhost:{port}",
           "SECRET_KEY": secrets.token_urlsafe(36), "AUTH_RATE_LIMIT_PER_MINUTE": "3"}
    subprocess.run([str(BIN / "corridor"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    with open(data_dir / "server.log", "w") as log:
        proc = subprocess.Popen([str(BIN / "corridor"), "serve", "--port", str(port)], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            assert wait_until_healthy(proc, port), (data_dir / "server.log").read_text()
            yield f"http://localhost:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(data_dir, ignore_errors=True)


def test_it_ignores_forged_forwarded_addresses_from_a_local_client(strict_server):
    statuses = []
    with httpx.Client(base_url=strict_server) as client:
        for i in range(5):
            forged = {"x-forwarded-for": f"203.0.113.{i}"}
            page = client.get("/signin", headers=forged)
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            response = client.post("/auth/signin/options", json={},
                                   headers={**forged, "x-csrftoken": token, "accept": "application/json"})
            statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]
