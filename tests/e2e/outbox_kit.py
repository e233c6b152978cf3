"""Shared by the offline outbox's browser tests: a server that can be killed and restarted, and small helpers
to make an entry on the quick-entry page, look at the badge and count what reached the server."""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import (BIN, ROOT, Authenticator, Server, _free_port, enrol, fresh_email,
                                wait_until_healthy)
from tests.e2e.test_accessibility import PHONE

# Reads the outbox's IndexedDB as stored, with no key: what someone holding the phone's files would see.
RAW_OUTBOX = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("corridor-outbox"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const read = (store) => new Promise((ok, no) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const entries = await read("entries");
  const [key] = await read("secrets");
  let exported = "refused";
  try { await crypto.subtle.exportKey("raw", key); exported = "exported"; } catch (e) { exported = e.name; }
  db.close();
  const bytes = (b) => Array.from(new Uint8Array(b), (c) => String.fromCharCode(c)).join("");
  return { exported, extractable: key.extractable, algorithm: key.algorithm.name,
           entries: entries.map((e) => ({ plain: JSON.stringify(Object.assign({}, e, { data: undefined, iv: undefined })),
                                          sealed: bytes(e.data) })) };
}"""


class RestartableServer(Server):
    """Its own SQLite database and port, so it can be killed and started again without touching the
    session's server."""

    def __init__(self) -> None:
        port = _free_port()
        self.port = port
        self.data_dir = Path(tempfile.mkdtemp(prefix="corridor-e2e-outbox-"))
        url = f"http://localhost:{port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8", "TMPDIR": str(self.data_dir), "CORRIDOR_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": f"sqlite:///{self.data_dir / 'outbox.sqlite3'}", "PUBLIC_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(36), "HOST": "127.0.0.1", "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
        }
        super().__init__(url=url, env=env, db_path=self.data_dir / "outbox.sqlite3", admin_link="")
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.corridor("migrate")
        self.corridor("seed-demo", "--pupils", "20")
        self.start()

    def start(self) -> None:
        log = open(self.data_dir / f"server-{self.starts}.log", "w")  # noqa: SIM115  (the server writes to it)
        self.proc = subprocess.Popen([str(BIN / "corridor"), "serve", "--port", str(self.port)], env=self.env,
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        assert wait_until_healthy(self.proc, self.port), "Corridor did not start"

    def kill(self) -> None:
        """SIGKILL, as a crash or a pulled plug: no request gets to finish."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def query(server: Server, sql: str, *args) -> list[tuple]:
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con:
        return con.execute(sql, args).fetchall()


def incidents_with_note(server: Server, note: str) -> int:
    return query(server, "SELECT count(*) FROM incident WHERE note = ?", note)[0][0]


def person_id(server: Server, email: str) -> int:
    return query(server, "SELECT id FROM person WHERE email = ?", email.lower())[0][0]


def a_pupil(server: Server, offset: int = 0) -> dict:
    row = query(server, "SELECT id, preferred_first_name, legal_last_name FROM pupil WHERE left_on IS NULL "
                        "ORDER BY id LIMIT 1 OFFSET ?", offset)[0]
    return {"id": row[0], "name": f"{row[1]} {row[2]}", "typed": f"{row[1][:3]} {row[2][:3]}"}


CONTROLLED = "() => navigator.serviceWorker.controller !== null"


def wait_for_control(page: Page, seconds: float = 60) -> None:
    """Until the service worker controls the page (so its form posts go through the outbox).

    Polled with a deadline rather than awaited in the page: on a loaded machine a page could miss the moment
    the worker claimed it and wait for ever (two CI runs hung here). Halfway, the page is loaded again, which
    a worker that is active always controls."""
    deadline = time.monotonic() + seconds
    reloaded = False
    while not page.evaluate(CONTROLLED):
        now = time.monotonic()
        assert now < deadline, "the service worker never took control of the page"
        if not reloaded and now > deadline - seconds / 2:
            page.reload()
            reloaded = True
        time.sleep(0.1)


def fill_quick_entry(page: Page, pupil: dict, note: str, category: str = "Low-level disruption") -> None:
    """On the quick-entry page: pick the pupil, tap what happened, write a note (left ready to send)."""
    page.goto("/incidents/new")
    page.get_by_label("Find a pupil").press_sequentially(pupil["typed"], delay=20)
    page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"]))).first.click()
    expect(page.locator("#chosen > li")).to_have_count(1)
    page.get_by_text(category).click()
    page.get_by_label("Note").fill(note)


def expect_badge(page: Page, count: int) -> None:
    # data-outbox-count is set once the service worker has answered: "hidden" alone could mean "not asked yet".
    expect(page.locator("html")).to_have_attribute("data-outbox-count", str(count))
    if count:
        expect(page.locator("#outbox-badge")).to_be_visible()
        expect(page.locator("#outbox-count")).to_have_text(str(count))
    else:
        expect(page.locator("#outbox-badge")).to_be_hidden()


def expect_list(page: Page, count: int) -> None:
    """The list of unsent entries, once filled in from the outbox."""
    expect(page.locator("#outbox[data-loaded]")).to_have_count(1)
    expect(page.locator("#outbox-list > li")).to_have_count(count)
    if not count:
        expect(page.locator("#outbox-empty")).to_be_visible()


def wait_until(check, timeout: float = 20.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def cut_worker_posts(context: BrowserContext, path: str = "**/incidents/") -> None:
    """The service worker's posts fail as if the signal were gone (pages still load)."""
    context.route(path, lambda route: route.abort() if route.request.service_worker else route.fallback())


def unique_note(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


_shared: RestartableServer | None = None


def shared_server() -> RestartableServer:
    """One server for every outbox test in the run (started on first use, removed at exit). Its own sign-in
    rate limit, so these tests' enrolments do not use up the session server's."""
    global _shared
    if _shared is None:
        _shared = RestartableServer()
        atexit.register(_shared.close)
    return _shared


@pytest.fixture
def outbox_server() -> RestartableServer:
    server = shared_server()
    if server.proc is None or server.proc.poll() is not None:
        server.start()  # a test that killed it and failed before restarting it
    return server


@dataclass
class Phone:
    page: Page
    authenticator: Authenticator
    server: RestartableServer
    name: str
    email: str


@pytest.fixture
def phone(browser: Browser, outbox_server: RestartableServer):
    """A phone (its own browser context) with a member of staff enrolled and on the home screen."""
    context = browser.new_context(base_url=outbox_server.url, viewport=PHONE)
    page = context.new_page()
    authenticator = Authenticator(page)
    email, name = fresh_email("staff"), f"Sam {uuid.uuid4().hex[:6].upper()}"
    enrol(page, outbox_server.invite(email, "staff", name=name), name)
    wait_for_control(page)
    try:
        yield Phone(page, authenticator, outbox_server, name, email)
    finally:
        context.close()
