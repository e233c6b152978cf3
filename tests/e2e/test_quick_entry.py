"""Quick entry on a phone: two pupils in four taps plus typing; a concern reaches the DSL's open page live."""

from __future__ import annotations

import re
import sqlite3
import uuid
from contextlib import closing

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SHOTS, Authenticator, Server, enrol, enrolled_page, fresh_email
from tests.e2e.test_accessibility import PHONE, check


def two_pupils(server: Server) -> list[dict]:
    with closing(sqlite3.connect(server.db_path)) as con:
        rows = con.execute("SELECT id, preferred_first_name, legal_last_name FROM pupil WHERE left_on IS NULL "
                           "ORDER BY id LIMIT 2").fetchall()
    return [{"id": r[0], "name": f"{r[1]} {r[2]}", "typed": f"{r[1][:3]} {r[2][:3]}"} for r in rows]


def test_log_an_incident_for_two_pupils_in_four_taps(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    name = f"Tess {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("teacher"), "staff", name=name), name)
    page.get_by_role("link", name=re.compile("^Log it")).click()
    first, second = two_pupils(server)
    taps = 0
    search = page.get_by_label("Find a pupil")
    for pupil in (first, second):
        search.press_sequentially(pupil["typed"], delay=30)
        page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"]))).first.click()
        taps += 1
    chosen = page.locator("#chosen > li")
    expect(chosen).to_have_count(2)
    # Each pupil has their own part; the second is not a copy of the first.
    expect(chosen.nth(0).locator("select.role")).to_have_value("instigator")
    expect(chosen.nth(1).locator("select.role")).to_have_value("involved")
    page.get_by_text("Low-level disruption").click()
    taps += 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "quick-entry-filled.png"), full_page=True)
    page.get_by_role("button", name="Log it").click()
    taps += 1
    expect(page.get_by_role("status").filter(has_text="Logged.")).to_be_visible()
    assert taps <= 4
    with closing(sqlite3.connect(server.db_path)) as con:
        latest = con.execute("SELECT max(id) FROM incident").fetchone()[0]
        roles = dict(con.execute("SELECT pupil, role FROM incident_pupil WHERE incident = ?", (latest,)).fetchall())
    assert roles == {first["id"]: "instigator", second["id"]: "involved"}
    check(Axe(), page, "quick-entry-logged")


def test_a_concern_reaches_the_dsls_open_page_without_a_reload(browser: Browser, server: Server):
    pupil = two_pupils(server)[0]
    # The DSL, signed in with the home screen open on their phone.
    dsl_page, _ = enrolled_page(browser, server, "staff", "dsl", first_name="Dee", email_prefix="dsl")
    dsl_page.wait_for_function("() => !!document.getElementById('live-alerts')")
    dsl_page.wait_for_timeout(300)  # the event stream connects

    staff_page, _ = enrolled_page(browser, server, "staff", first_name="Sam", email_prefix="staff")
    staff_page.get_by_role("link", name=re.compile("^Record a concern")).click()
    staff_page.get_by_label("Find the pupil").press_sequentially(pupil["typed"], delay=30)
    staff_page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"]))).first.click()
    staff_page.get_by_label("What did you see or hear? (facts)").fill("Crying in the corridor; said she is scared to go home")
    staff_page.get_by_role("button", name="Send to the DSL").click()
    expect(staff_page.get_by_role("heading", name="Concern sent")).to_be_visible()
    reference = staff_page.locator("#reference").inner_text()
    expect(staff_page.get_by_text("has been alerted")).to_be_visible()
    check(Axe(), staff_page, "concern-receipt")

    alert = dsl_page.locator("#live-alerts").get_by_role("button", name=f"New safeguarding concern {reference}.")
    expect(alert).to_be_visible()
    expect(dsl_page.locator("#alert-count")).to_have_text("1")
    alert.click()
    expect(dsl_page.get_by_role("heading", level=1)).to_have_text(f"Concern {reference}")
    expect(dsl_page.get_by_text("scared to go home")).to_be_visible()
    dsl_page.context.close()
    staff_page.context.close()


def test_the_quick_entry_and_concern_forms_are_accessible(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    name = f"Ali {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("hoy"), "staff", "head_of_year", name=name), name)
    page.goto("/incidents/new")
    check(Axe(), page, "quick-entry")
    page.goto("/concerns/new")
    check(Axe(), page, "concern")
    page.goto("/incidents/follow-up")
    check(Axe(), page, "follow-up")
