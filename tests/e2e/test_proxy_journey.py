"""Corridor as docs/deploy.md sets it up, for real: `corridor serve --workers 2` on PostgreSQL with live updates over
LISTEN/NOTIFY, behind Caddy terminating TLS on https://localhost with the shipped deploy/Caddyfile, secrets from
files, forwarded headers trusted from the proxy only. A phone-sized browser enrols with a passkey, signs out and in
again, logs an incident; an on-call request raised through one worker reaches a board streaming from the other.
Then the service restarts as `systemctl restart` does it, with the board's stream open: the workers stop
cleanly within the grace period and the board, reconnected by itself, gets the next request live.

The certificate: a throwaway CA and a certificate for localhost, made with openssl at test time. Chromium is told
to accept that one key (`--ignore-certificate-errors-spki-list` with its SPKI hash), so the page has no certificate
error (WebAuthn refuses pages that do) while any other certificate would still be refused. The test's Python side
checks the proxy with the CA itself.

Which worker served a request: with LOG_LEVEL=DEBUG each request is logged with its route template and status
(never its path or contents), and every log line carries its process id.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import BrowserType, expect

from app.server import GRACE_SECONDS
from tests.e2e.conftest import (BIN, CHROMIUM, CHROMIUM_ARGS, ROOT, Authenticator, _free_port, enrol, shard_database,
                                wait_until_healthy)
from tests.e2e.test_accessibility import PHONE

PG_URL = shard_database(os.environ.get("PG_DEPLOY_E2E_URL",
                                       "postgres://postgres@127.0.0.1:5432/corridor_deploy_e2e"))
SHOTS = Path("/work/notes/shots")
REQUEST_LINE = re.compile(r"\[(\d+)\] corridor\.request - \w+ - (GET|POST|PUT|DELETE|PATCH|HEAD) (\S+) (\d{3}) ")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def make_certificate(folder: Path) -> tuple[Path, Path, Path, str]:
    """A CA and a localhost certificate signed by it; returns (ca, cert, key, base64 SHA-256 of the cert's SPKI)."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
         "-subj", "/CN=Corridor test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign", cwd=folder)
    _run("openssl", "req", *ec, "-keyout", "localhost.key", "-out", "localhost.csr", "-subj", "/CN=localhost",
         cwd=folder)
    (folder / "ext.cnf").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                    "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n")
    _run("openssl", "x509", "-req", "-in", "localhost.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "localhost.crt", "-days", "1", "-extfile", "ext.cnf", cwd=folder)
    spki = subprocess.run("openssl x509 -in localhost.crt -pubkey -noout | openssl pkey -pubin -outform der",
                          shell=True, cwd=folder, check=True, capture_output=True).stdout  # nosec B602: fixed text
    return (folder / "ca.crt", folder / "localhost.crt", folder / "localhost.key",
            base64.b64encode(hashlib.sha256(spki).digest()).decode())


def caddyfile(proxy_port: int, upstream_port: int, cert: Path, key: Path, storage: Path) -> str:
    """deploy/Caddyfile as shipped, for https://localhost:PORT with the test's certificate instead of an ACME one."""
    shipped = (ROOT / "deploy" / "Caddyfile").read_text()
    assert shipped.count("corridor.example.sch.uk {") == 1 and shipped.count("reverse_proxy 127.0.0.1:8000 ") == 1
    site = shipped.replace("corridor.example.sch.uk {",
                           f"https://localhost:{proxy_port} {{\n\tbind 127.0.0.1\n\ttls {cert} {key}")
    site = site.replace("reverse_proxy 127.0.0.1:8000 ", f"reverse_proxy 127.0.0.1:{upstream_port} ")
    # No admin endpoint, no automatic certificates or port-80 redirects (unprivileged, on a high port).
    return f"{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {storage}\n}}\n\n{site}"


def https_get(url: str, ca: Path):
    return urllib.request.urlopen(url, timeout=2, context=ssl.create_default_context(cafile=str(ca)))  # nosec B310


class Deployed:
    def __init__(self, url: str, env: dict[str, str], log: Path, spki: str) -> None:
        self.url, self.env, self.log, self.spki = url, env, log, spki
        self.serve: subprocess.Popen | None = None

    def start(self) -> None:
        """`corridor serve --workers 2`, as deploy/corridor.service runs it; its log appended to self.log."""
        with open(self.log, "a") as log:
            self.serve = subprocess.Popen([str(BIN / "corridor"), "serve", "--workers", "2"], env=self.env, cwd=ROOT,
                                          stdout=log, stderr=subprocess.STDOUT)
        assert wait_until_healthy(self.serve, int(self.env["PORT"]), seconds=30), self.log.read_text()

    def stop(self, seconds: float) -> float | None:
        """SIGTERM to the main process, as systemd sends it (KillMode=mixed); how long it took, or None."""
        started = time.monotonic()
        self.serve.send_signal(signal.SIGTERM)
        try:
            self.serve.wait(seconds)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def corridor(self, *args: str) -> str:
        return subprocess.run([str(BIN / "corridor"), *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout

    def invite(self, email: str, *roles: str, name: str) -> str:
        return self.corridor("invite", email, *[a for r in roles for a in ("--role", r)], "--name", name).strip()

    def workers(self) -> set[int]:
        """The worker processes uvicorn spawned (not multiprocessing's resource tracker beside them)."""
        children = Path(f"/proc/{self.serve.pid}/task/{self.serve.pid}/children").read_text().split()
        return {int(c) for c in children
                if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}

    def requests(self) -> list[tuple[int, str, str, int]]:
        """(worker pid, method, route template, status) of every request logged so far."""
        return [(int(m[1]), m[2], m[3], int(m[4])) for m in REQUEST_LINE.finditer(self.log.read_text())]

    def a_pupil(self) -> tuple[str, str]:
        code = ("import asyncio, asyncpg, sys\n"
                "async def main():\n"
                "    c = await asyncpg.connect(sys.argv[1])\n"
                "    r = await c.fetchrow('SELECT preferred_first_name, legal_last_name FROM pupil "
                "WHERE left_on IS NULL ORDER BY id LIMIT 1')\n"
                "    print(r[0]); print(r[1])\n"
                "asyncio.run(main())\n")
        first, last = subprocess.run([str(BIN / "python"), "-c", code, PG_URL], capture_output=True, text=True,
                                     check=True).stdout.splitlines()
        return first, last


@pytest.fixture(scope="module")
def deployed():
    if shutil.which("caddy") is None:
        _missing("Caddy is not installed: the HTTPS proxy journey did not run (tools/ensure_proxy.sh installs it)")
    if shutil.which("openssl") is None:
        _missing("openssl is not installed: the HTTPS proxy journey did not run")
    fresh = subprocess.run([str(BIN / "python"), str(ROOT / "tools/pg_test_db.py"), PG_URL], capture_output=True,
                           text=True)
    if fresh.returncode != 0:
        _missing("PostgreSQL is not reachable: the HTTPS proxy journey did not run (" + fresh.stderr.strip() + ")")
    folder = Path(tempfile.mkdtemp(prefix="corridor-e2e-deploy-"))
    ca, cert, key, spki = make_certificate(folder)
    upstream, proxy = _free_port(), _free_port()
    url = f"https://localhost:{proxy}"
    # Secrets from files, as deploy/corridor.env names them (or a container's secrets give them).
    (folder / "secret_key").write_text(uuid.uuid4().hex + uuid.uuid4().hex + "\n")
    _run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "vapid_private.pem", cwd=folder)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder), "LANG": "C.UTF-8",
           "CORRIDOR_DATA_DIR": str(folder / "data"), "DATABASE_URL": PG_URL, "LIVE_BACKEND": "postgres",
           "PUBLIC_URL": url, "HOST": "127.0.0.1", "PORT": str(upstream), "TRUSTED_PROXIES": "127.0.0.1",
           "SECRET_KEY_FILE": str(folder / "secret_key"), "VAPID_PRIVATE_KEY_FILE": str(folder / "vapid_private.pem"),
           "LOG_LEVEL": "DEBUG"}
    subprocess.run([str(BIN / "corridor"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([str(BIN / "corridor"), "seed-demo", "--pupils", "20"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    deployed = Deployed(url, env, folder / "serve.log", spki)
    (folder / "Caddyfile").write_text(caddyfile(proxy, upstream, cert, key, folder / "caddy-storage"))
    caddy_log = open(folder / "caddy.log", "w")
    caddy = subprocess.Popen(["caddy", "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"],
                             env={"PATH": env["PATH"], "HOME": str(folder), "XDG_DATA_HOME": str(folder / "xdg-data"),
                                  "XDG_CONFIG_HOME": str(folder / "xdg-config")},
                             cwd=folder, stdout=caddy_log, stderr=subprocess.STDOUT)
    try:
        deployed.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                with https_get(f"{url}/healthz", ca) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert caddy.poll() is None and time.monotonic() < deadline, (folder / "caddy.log").read_text()
                time.sleep(0.1)
        yield deployed
    finally:
        procs = [p for p in (caddy, deployed.serve) if p is not None]
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        caddy_log.close()


def test_passkey_incident_and_on_call_across_two_workers_through_the_https_proxy(browser_type: BrowserType,
                                                                               deployed: Deployed):
    browser = browser_type.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={deployed.spki}"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        # The responder: enrols with a passkey from an invite link, signs out, signs in again with the passkey.
        responder_context = browser.new_context(base_url=deployed.url, viewport=PHONE)
        responder = responder_context.new_page()
        Authenticator(responder)
        name = f"Rita {uuid.uuid4().hex[:6].upper()}"
        link = deployed.invite(f"responder-{uuid.uuid4().hex[:8]}@oakfield.example", "staff", "responder", name=name)
        assert link.startswith(f"{deployed.url}/enrol/")
        enrol(responder, link, name)
        responder.get_by_role("link", name="Account", exact=True).click()
        responder.locator("#signout").get_by_role("button", name="Sign out").click()
        expect(responder).to_have_url(re.compile(r"/signed-out$"))
        responder.goto("/signin")
        responder.get_by_role("button", name="Sign in with a passkey").click()
        expect(responder.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
        # The page is a secure context on the proxy's origin, and the cookies are the https-only __Host- ones.
        assert responder.evaluate("() => window.isSecureContext && location.origin") == deployed.url
        cookies = {c["name"]: c for c in responder_context.cookies()}
        assert {"__Host-corridor_session", "__Host-corridor_csrf"} <= set(cookies), cookies.keys()
        assert all(c["secure"] and c["httpOnly"] for n, c in cookies.items() if n.startswith("__Host-"))
        assert "corridor_session" not in cookies

        # The teacher: enrols and logs an incident.
        teacher_context = browser.new_context(base_url=deployed.url, viewport=PHONE)
        teacher = teacher_context.new_page()
        Authenticator(teacher)
        teacher_name = f"Tom {uuid.uuid4().hex[:6].upper()}"
        enrol(teacher, deployed.invite(f"teacher-{uuid.uuid4().hex[:8]}@oakfield.example", "staff",
                                       name=teacher_name), teacher_name)
        first, last = deployed.a_pupil()
        teacher.get_by_role("link", name=re.compile("^Log it")).click()
        teacher.get_by_label("Find a pupil").press_sequentially(f"{first[:3]} {last[:3]}", delay=30)
        teacher.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(f"{first} {last}"))).first.click()
        teacher.get_by_text("Low-level disruption").click()
        teacher.get_by_role("button", name="Log it").click()
        expect(teacher.get_by_role("status").filter(has_text="Logged.")).to_be_visible()
        teacher.screenshot(path=str(SHOTS / "deploy-incident-logged.png"), full_page=True)

        # The responder's board streams from one worker; the teacher raises requests until one is served by the
        # other worker (each request to the proxy is spread over both by the kernel), and it arrives live.
        responder.goto("/oncall/board")
        deadline = time.monotonic() + 10
        while not (streams := [r for r in deployed.requests() if r[2] == "/oncall/board/stream"]):
            assert time.monotonic() < deadline, "the board's stream never connected"
            time.sleep(0.05)
        stream_worker = streams[-1][0]
        crossed = None

        def raise_on_call(where: int) -> str:
            teacher.goto("/oncall/new")
            teacher.get_by_label("Where you are").select_option(index=where)
            teacher.get_by_role("button", name="Safeguarding").click()
            expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
            return re.search(r"/oncall/(\d+)$", teacher.url).group(1)

        for attempt in range(12):
            seen = len(deployed.requests())
            request_id = raise_on_call(1 + attempt % 2)
            expect(responder.locator(f"#oncall-{request_id}")).to_be_visible(timeout=10_000)
            deadline = time.monotonic() + 5  # log lines go through a queue and a thread: allow them a moment
            while not (raised := [r for r in deployed.requests()[seen:]
                                  if r[1] == "POST" and r[2].rstrip("/") == "/oncall"]):
                assert time.monotonic() < deadline, "the raise was not logged"
                time.sleep(0.05)
            assert len(raised) == 1 and raised[0][3] == 303, raised
            if raised[0][0] != stream_worker:
                crossed = request_id
                break
        assert crossed, "every request was raised on the board's own worker: the workers do not share the load"
        responder.screenshot(path=str(SHOTS / "deploy-board-live.png"), full_page=True)
        # The board's stream stayed the same one all along (no reconnect to the raising worker).
        assert [r for r in deployed.requests() if r[2] == "/oncall/board/stream"] == streams

        served_by = {r[0] for r in deployed.requests()}
        assert served_by == deployed.workers() and len(served_by) == 2, (served_by, deployed.workers())
        # Every request came through the proxy over https: none was refused, none failed.
        assert all(status < 500 for *_, status in deployed.requests())

        # `systemctl restart corridor` with the board's stream open: SIGTERM to the main process ends the streams
        # at once and both workers shut down cleanly, well within the grace period. The board reconnects by
        # itself to the new processes (Caddy holds requests while nothing listens), and a request raised after
        # the restart arrives on it without a reload.
        before = len(deployed.log.read_text())
        took = deployed.stop(GRACE_SECONDS)
        assert took is not None and took < 5, f"still running {GRACE_SECONDS} s after SIGTERM" if took is None else took
        stopping = deployed.log.read_text()[before:]
        assert stopping.count("Application shutdown complete") == 2, stopping
        assert "Traceback" not in stopping and "ERROR" not in stopping, stopping
        deployed.start()
        request_id = raise_on_call(3)
        expect(responder.locator(f"#oncall-{request_id}")).to_be_visible(timeout=20_000)
    finally:
        browser.close()
    log = deployed.log.read_text()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
    # What the journal would receive, at DEBUG even: no pupil's name, no enrolment token.
    assert f"{first} {last}" not in log and link.rsplit("/", 1)[1] not in log
