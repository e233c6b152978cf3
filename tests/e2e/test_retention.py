"""Retention on a 390x844 phone: an admin opens the retention page from home, a bad period is refused by the field
with what was typed kept, a good one is saved; a DSL on their own phone sets a legal hold from the pupil's profile
and sees it there. axe finds no violations on the page, the page with errors, the hold page and the profile panel."""

from __future__ import annotations

import re
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check

SHOTS = Path("/work/notes/shots")


def a_pupil(server: Server) -> int:
    # The eighth pupil: other browser tests take the first ones.
    with closing(sqlite3.connect(server.db_path)) as con:
        return con.execute("SELECT id FROM pupil WHERE left_on IS NULL ORDER BY id LIMIT 1 OFFSET 7").fetchone()[0]


def test_an_admin_sets_periods_and_a_dsl_sets_a_legal_hold(page: Page, server: Server, authenticator: Authenticator,
                                                            new_context):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    admin = f"Ada {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("ret-admin"), "staff", "admin", name=admin), admin)
    page.get_by_role("link", name=re.compile("^Retention")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How long records are kept")
    expect(page.locator("#kind-safeguarding")).to_contain_text("Using the default.")
    check(axe, page, "retention-policy")
    page.screenshot(path=str(SHOTS / "retain-policy.png"), full_page=True)

    page.locator("#oncall_years").fill("lots")
    page.locator("#behaviour_basis").select_option("years")
    page.locator("#behaviour_years").fill("6")
    page.get_by_role("button", name="Save retention periods").click()
    expect(page.locator("#oncall_years-error")).to_have_text(
        "On-call requests: give a whole number of years from 1 to 100.")
    expect(page.locator("#oncall_years")).to_have_value("lots")
    expect(page.locator("#behaviour_years")).to_have_value("6")
    check(axe, page, "retention-policy-errors")
    page.screenshot(path=str(SHOTS / "retain-policy-errors.png"), full_page=True)
    page.locator("#oncall_years").fill("4")
    page.get_by_role("button", name="Save retention periods").click()
    expect(page.locator("#policy-saved")).to_be_visible()
    expect(page.locator("#kind-behaviour")).to_contain_text("Changed from the default.")

    # The DSL, on their own phone.
    dsl = f"Dee {uuid.uuid4().hex[:6].upper()}"
    link = server.invite(fresh_email("ret-dsl"), "staff", "dsl", name=dsl)
    phone = new_context(viewport=PHONE).new_page()
    Authenticator(phone)
    enrol(phone, link, dsl)
    pupil = a_pupil(server)
    phone.goto(f"/pupils/{pupil}")
    panel = phone.locator("#legal-hold")
    expect(panel).to_contain_text("No legal hold.")
    panel.get_by_role("link", name="Set a legal hold").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Legal hold:")
    phone.locator("#reason").fill("Police investigation: keep everything until told otherwise")
    phone.get_by_role("button", name="Set the hold").click()
    expect(phone.locator("#hold-current")).to_contain_text("Police investigation")
    check(axe, phone, "retention-hold")
    phone.screenshot(path=str(SHOTS / "retain-hold.png"), full_page=True)
    phone.goto(f"/pupils/{pupil}")
    expect(phone.locator("#legal-hold-on")).to_contain_text("Under a legal hold since")
    phone.locator("#legal-hold").scroll_into_view_if_needed()
    check(axe, phone, "retention-hold-panel")
    phone.screenshot(path=str(SHOTS / "retain-hold-panel.png"))
