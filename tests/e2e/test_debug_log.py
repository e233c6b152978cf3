"""At LOG_LEVEL=DEBUG the server's log holds no record contents: a whole journey through the browser (sign
in with a passkey, look a pupil up by name, log an incident with a note, record a safeguarding concern
with the child's words, import pupils from the MIS), then every name and every text typed is looked for
in everything the server wrote to stdout and stderr."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import (BIN, ROOT, Authenticator, Server, _free_port, enrol, fresh_email,
                                wait_until_healthy)
from tests.e2e.outbox_kit import fill_quick_entry
from tests.e2e.test_accessibility import PHONE
from tests.imports.files import GROUPS_HEADER, PUPILS_HEADER, table, upn, zip_of


@pytest.fixture(scope="module")
def debug_server():
    """A server of its own at LOG_LEVEL=DEBUG, its stdout and stderr in one file."""
    port = _free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="corridor-e2e-debug-"))
    url = f"http://localhost:{port}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8", "TMPDIR": str(data_dir), "CORRIDOR_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'debug.sqlite3'}", "PUBLIC_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(36), "HOST": "127.0.0.1", "LOG_LEVEL": "DEBUG",
    }
    srv = Server(url=url, env=env, db_path=data_dir / "debug.sqlite3", admin_link="")
    srv.corridor("migrate")
    srv.corridor("seed-demo", "--pupils", "20")
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(BIN / "corridor"), "serve", "--port", str(port)], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
    assert wait_until_healthy(proc, port), log_path.read_text()
    try:
        yield srv, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def a_seeded_pupil(server: Server) -> dict:
    with closing(sqlite3.connect(server.db_path)) as con:
        first, last, legal = con.execute("SELECT preferred_first_name, legal_last_name, legal_first_name FROM pupil "
                                         "WHERE left_on IS NULL ORDER BY id LIMIT 1").fetchone()
    return {"name": f"{first} {last}", "first": first, "last": last, "legal": legal, "typed": f"{first[:3]} {last[:4]}"}


def test_a_debug_log_of_a_whole_journey_holds_no_names_or_texts(browser: Browser, debug_server):
    server, log_path = debug_server
    context = browser.new_context(base_url=server.url, viewport=PHONE)
    page = context.new_page()
    tag = uuid.uuid4().hex[:6]
    email = fresh_email("debuglog")
    name = f"Dara Q{tag.upper()}"
    pupil = a_seeded_pupil(server)
    imported = {"first": f"Ottoline{tag}", "last": f"Quillfeather{tag}"}
    typed = {
        "note": f"Threw a chair at the window in Mr Blackwood's room {tag}",
        "seen": f"Bruising on both forearms, flinched when touched {tag}",
        "words": f"Uncle Rastaban locks me in the shed {tag}",
        "place": f"Behind the sports hall {tag}",
        "present": f"Ms Penhallow {tag}",
        "action": f"Stayed with her and walked her to the office {tag}",
    }

    # Sign in with a passkey: enrol, sign out, sign back in with the passkey alone.
    Authenticator(page)
    enrol(page, server.invite(email, "staff", "admin", name=name), name)
    page.goto("/account")
    page.locator("#signout").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signed-out$"))
    page.goto("/signin")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")

    # Look a pupil up by name and open the profile.
    page.get_by_role("link", name=re.compile("Look up a pupil")).click()
    page.get_by_label("Name, form, year or UPN").press_sequentially(pupil["typed"], delay=30)
    page.locator("#result-list").get_by_role("link", name=re.compile(re.escape(pupil["name"]))).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(pupil["name"])

    # Log an incident with a typed note.
    fill_quick_entry(page, pupil, typed["note"])
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status").filter(has_text="Logged.")).to_be_visible()

    # Record a safeguarding concern with the child's own words.
    page.goto("/concerns/new")
    page.get_by_label("Find the pupil").press_sequentially(pupil["typed"], delay=30)
    page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"]))).first.click()
    page.get_by_label("What did you see or hear? (facts)").fill(typed["seen"])
    page.get_by_label("The child's own words, if they told you something").fill(typed["words"])
    page.get_by_label("Where").fill(typed["place"])
    page.get_by_label("Who else was there").fill(typed["present"])
    page.get_by_label("What you did straight away").fill(typed["action"])
    page.get_by_role("button", name="Send to the DSL").click()
    expect(page.get_by_role("heading", name="Concern sent")).to_be_visible()

    # Import a pupil from the MIS (changes only), then find them.
    export = zip_of({
        "tutor_groups.csv": table(GROUPS_HEADER, [[f"G{tag}", f"8{tag[:2]}", "8", "Mr Tutor"]]),
        "pupils.csv": table(PUPILS_HEADER, [[f"M{tag}", upn(int(tag, 16) % 1000), imported["first"], imported["last"],
                                             "", "2013-03-14", "8", f"G{tag}", "K", "SPLD", "Nut allergy: EpiPen", ""]]),
    })
    page.goto("/admin/import")
    page.locator("#file").set_input_files(files=[{"name": "export.zip", "mimeType": "application/zip",
                                                  "buffer": export}])
    page.get_by_label("What the export holds").select_option("delta")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("button", name="Apply this import")).to_be_visible()
    page.get_by_role("button", name="Apply this import").click()
    expect(page.locator("#import-done")).to_be_visible()
    page.goto("/pupils/")
    page.get_by_label("Name, form, year or UPN").press_sequentially(imported["last"][:9], delay=30)
    expect(page.locator("#result-list").get_by_role("link", name=re.compile(imported["first"]))).to_be_visible()

    page.wait_for_timeout(500)  # the server's log is written by a background thread
    context.close()
    log = log_path.read_text(errors="replace")
    # The log is there and DEBUG is on, so what is looked for below would have been found had it been logged.
    for write in ("POST /pupils/search", "POST /incidents", "POST /concerns", "POST /admin/import"):
        assert re.search(rf"^DEBUG .* {write}", log, re.M), (write, log[-3000:])
    secrets_ = [pupil["first"], pupil["last"], pupil["legal"], imported["first"], imported["last"], pupil["typed"],
                "Nut allergy", email, *typed.values()]
    found = [s for s in secrets_ if s.lower() in log.lower()]
    assert not found, f"the DEBUG log holds {found}:\n" + "\n".join(
        line for line in log.splitlines() if any(s.lower() in line.lower() for s in found))[:5000]
