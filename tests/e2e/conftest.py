"""Browser tests: a real Corridor server (SQLite, demo school) and Debian's Chromium driven by Playwright.

One server runs for the whole session. It listens on 127.0.0.1 but the browser always opens
http://localhost:PORT, so WebAuthn's RP ID is "localhost" (an IP address is rejected as an RP ID).
Passkeys are made by Chromium's virtual authenticator over CDP: real WebAuthn ceremonies, no mocks.
Every test invites its own people with fresh emails, so tests do not depend on one another.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, CDPSession, Page, expect

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
]
SHOTS = Path("/tmp/corridor-shots")
PHONE = {"width": 390, "height": 844}

# Chromium leaves singleton folders in TMPDIR: give this run its own and remove it afterwards.
# This module is imported twice (by pytest as `conftest`, by the tests as `tests.e2e.conftest`): both
# copies must use one folder.
_browser_tmp = os.environ.get("CORRIDOR_E2E_TMP") or tempfile.mkdtemp(prefix="corridor-e2e-browser-")
os.environ["CORRIDOR_E2E_TMP"] = os.environ["TMPDIR"] = _browser_tmp
atexit.register(shutil.rmtree, _browser_tmp, True)
# Every server a browser test starts keeps its data folder (and its log) in there too, so the CSP check
# below reads the logs of every server of this run, and of no other run on the machine.
tempfile.tempdir = _browser_tmp

expect.set_options(timeout=10_000)

# tools/run_tests.sh runs the browser tests in shards side by side (tools/e2e_shards.py splits them by file),
# CORRIDOR_E2E_SHARD naming each. Ports come free from the kernel and data folders are temporary, so the one
# thing shards could share is a PostgreSQL database named in a test file: shard_database() gives each its own.
SHARD = os.environ.get("CORRIDOR_E2E_SHARD", "")


def shard_database(url: str) -> str:
    """A PostgreSQL URL with this shard's number added to the database name (unchanged outside a shard)."""
    if not SHARD:
        return url
    if not SHARD.isdigit():
        raise ValueError(f"CORRIDOR_E2E_SHARD must be a number, not {SHARD!r}")
    base, _, name = url.rpartition("/")
    return f"{base}/{name}_shard{SHARD}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(proc: subprocess.Popen, port: int, seconds: float = 60) -> bool:
    """Wait for a `corridor serve` process to answer /healthz; False if it died or took too long."""
    # 60 s, not 20: a shard runs beside the unit suites (tools/run_tests.sh), and on a busy two-core machine a
    # server took over 20 s to start (measured while eight engineers shared one).
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


# --- CSP violations fail the test that caused them -----------------------------------------------------
# Pages carry `report-uri`; the server logs each report as a `csp-violation` line at WARNING
# (app/controllers/csp.py), and every server of this run logs into a file under _browser_tmp.

REPORT_GRACE = 0.5  # seconds: Chromium sends a report about a quarter of a second after the violation
_LOG_OFFSETS = pytest.StashKey[dict]()
_checked_up_to: dict[Path, int] | None = None  # where the last check stopped reading each log


def server_log_sizes() -> dict[Path, int]:
    return {path: path.stat().st_size for path in Path(_browser_tmp).glob("corridor-e2e-*/*.log")}


def _reports_since(sizes: dict[Path, int]) -> tuple[list[str], dict[Path, int]]:
    found, read_to = [], {}
    for path in sorted(Path(_browser_tmp).glob("corridor-e2e-*/*.log")):
        try:
            with path.open("rb") as log:
                log.seek(sizes.get(path, 0))
                data = log.read()
        except FileNotFoundError:  # a server's folder removed as its fixture ended
            continue
        read_to[path] = sizes.get(path, 0) + len(data)
        text = data.decode(errors="replace")
        found += [f"{path.name}: {line.strip()}" for line in text.splitlines() if "csp-violation" in line]
    return found, read_to


def csp_reports_since(sizes: dict[Path, int]) -> list[str]:
    """The `csp-violation` lines servers of this run have logged since `server_log_sizes()` gave `sizes`."""
    return _reports_since(sizes)[0]


def pytest_configure(config):
    config.addinivalue_line("markers", "csp_violation_expected: the test causes a CSP violation on purpose, "
                            "so the check that fails any test during which a server received a CSP report skips it")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    # From where the previous check stopped: a report that came in after it is this test's failure, not lost.
    # Before the fixtures, so a sign-in done by one is covered too.
    item.stash[_LOG_OFFSETS] = dict(_checked_up_to) if _checked_up_to is not None else server_log_sizes()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # Checked here rather than in a fixture's teardown: the test's pages are still open, so a report the
    # browser is about to send is still sent (closing a context drops it).
    global _checked_up_to
    _checked_up_to = None  # unless the check below runs: a test that failed, or expects reports, starts afresh
    result = yield
    if item.get_closest_marker("csp_violation_expected") is None:
        time.sleep(REPORT_GRACE)
        reports, _checked_up_to = _reports_since(item.stash[_LOG_OFFSETS])
        if reports:
            pytest.fail("The browser reported Content-Security-Policy violations during this test (or just after "
                        "the one before): an inline script or handler, eval, or a resource from another origin.\n  "
                        + "\n  ".join(reports), pytrace=False)
    return result


@dataclass
class Server:
    url: str
    env: dict
    db_path: Path
    admin_link: str  # the seed-demo link for admin@oakfield.example (single use: only one test may use it)

    def corridor(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "corridor"), *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, f"corridor {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def invite(self, email: str, *roles: str, name: str) -> str:
        role_args = [a for r in (roles or ("staff",)) for a in ("--role", r)]
        # At the demo school by name: a test may add a second school to the trust on this shared server.
        link = self.corridor("invite", email, *role_args, "--school", "oakfield", "--name", name).strip()
        assert link.startswith(self.url + "/enrol/"), link
        return link

    def revoke_sessions(self, email: str) -> str:
        return self.corridor("revoke-sessions", email)

    def let_step_up_lapse(self, email: str) -> None:
        """Make a person's sessions look as if their last passkey check was an hour ago.

        A new session counts as freshly verified for STEP_UP_MINUTES (at least 1), so without this a
        test would have to wait a minute before a sensitive action asks for a step-up. This is the
        browser tests' only reach into the database: time passing, not a short cut around a check.
        """
        an_hour_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat(sep=" ")
        with closing(sqlite3.connect(self.db_path, timeout=10)) as con, con:
            changed = con.execute(
                "UPDATE session SET verified_at = ? WHERE ended_at IS NULL AND person = "
                "(SELECT id FROM person WHERE email = ?)", (an_hour_ago, email)).rowcount
        assert changed, f"no open session for {email}"


@pytest.fixture(scope="session")
def server() -> Server:
    port = _free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="corridor-e2e-data-"))
    url = f"http://localhost:{port}"
    # Built from scratch: nothing from the outer environment (or the unit tests' conftest) leaks in.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8", "TMPDIR": str(data_dir),
        "CORRIDOR_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'e2e.sqlite3'}",  # the file let_step_up_lapse() opens
        "PUBLIC_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
        "HOST": "127.0.0.1",
    }
    srv = Server(url=url, env=env, db_path=data_dir / "e2e.sqlite3", admin_link="")
    srv.corridor("migrate")
    # Without the demo's term of incidents: tests count the incidents they make for a pupil.
    seeded = srv.corridor("seed-demo", "--pupils", "40", "--no-incidents")
    match = re.search(r"(http://localhost:\d+/enrol/\S+)", seeded)
    assert match, seeded
    srv.admin_link = match.group(1)

    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen([str(BIN / "corridor"), "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    if not wait_until_healthy(proc, port):
        proc.kill()
        log.close()
        pytest.fail("Corridor did not start:\n" + (data_dir / "server.log").read_text(), pytrace=False)
    try:
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


# --- pytest-playwright wiring ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return server.url


@pytest.fixture(autouse=True)
def clean():
    """Override the unit tests' autouse async `clean` fixture: the browser tests use their own server
    and database, and an async fixture cannot share the process with sync Playwright."""
    yield


# --- people and passkeys -----------------------------------------------------------------------------

def fresh_email(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@oakfield.example"


class Authenticator:
    """A Chromium virtual authenticator on one page: a phone with a platform passkey and a screen lock."""

    def __init__(self, page: Page):
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self.add()

    def add(self, transport: str = "internal") -> str:
        """Chromium allows one "internal" (platform) authenticator per page; others can be "usb" or "nfc"."""
        return self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": transport, "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
        }})["authenticatorId"]

    def credentials(self, authenticator_id: str | None = None) -> list[dict]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id or self.id})["credentials"]

    def remove(self, authenticator_id: str) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator_id})


@pytest.fixture
def authenticator(page: Page) -> Authenticator:
    return Authenticator(page)


def enrol(page: Page, link: str, name: str, passkey_name: str = "Work phone") -> None:
    """Open an enrolment link, create a passkey and land on the home screen."""
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {name}")
    page.locator("#passkey-name").fill(passkey_name)
    page.get_by_role("button", name="Create passkey").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")


def enrolled_page(browser: Browser, server: Server, *roles: str, first_name: str, email_prefix: str = "",
                  viewport: dict | None = None) -> tuple[Page, str]:
    """A phone of its own (a new browser context, 390x844 unless `viewport` says) with a virtual authenticator, on
    which a person invited with `roles` and a fresh email has enrolled a passkey and sees the home screen.
    Returns (the page, their name: `first_name` and six letters). Close it with `page.context.close()`."""
    page = browser.new_context(base_url=server.url, viewport=viewport or PHONE).new_page()
    Authenticator(page)
    name = f"{first_name} {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email(email_prefix or first_name.lower()), *roles, name=name), name)
    return page, name


@pytest.fixture
def signed_in(server: Server, page: Page, authenticator: Authenticator):
    """A staff member enrolled in the browser and looking at the home screen. Returns (name, email)."""
    email = fresh_email("staff")
    name = f"Sam {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(email, "staff", name=name), name)
    return name, email
