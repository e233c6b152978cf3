"""Casework on a 390x844 phone: a pastoral officer opens a case from a pupil's profile (a bad first try shows a
message by the field), adds a target, records a review, and finds the pupil in "My caseload" on the home
screen. axe finds no violations on the case form, the case page, the review form and the home screen."""

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


def a_pupil(server: Server) -> dict:
    # The third pupil: other browser tests take the first two.
    with closing(sqlite3.connect(server.db_path)) as con:
        row = con.execute("SELECT id, preferred_first_name, legal_last_name FROM pupil WHERE left_on IS NULL "
                          "ORDER BY id LIMIT 1 OFFSET 2").fetchone()
    return {"id": row[0], "name": f"{row[1]} {row[2]}"}


def test_open_a_case_review_it_and_see_it_on_the_home_screen(page: Page, server: Server,
                                                              authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("keyworker"), "staff", "pastoral", name=name), name)
    pupil = a_pupil(server)
    page.goto(f"/pupils/{pupil['id']}")
    keyworker = page.locator("#casework-keyworker")
    expect(keyworker).to_contain_text("Case keyworker")
    keyworker.get_by_role("link", name="Open a case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case")

    # No type chosen: a message by the field, the typed reason kept, nothing saved.
    page.get_by_label("Reason").fill("Anxious about coming in since the move to Year 8")
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator("#type_id-error")).to_have_text("Choose the type of case.")
    expect(page.get_by_label("Reason")).to_have_value("Anxious about coming in since the move to Year 8")
    page.screenshot(path=str(SHOTS / "case_new_errors.png"), full_page=True)
    check(axe, page, "case-new-errors")

    page.get_by_label("Type of case").select_option(label="Attendance (reviews every 4 weeks)")
    page.get_by_role("button", name="Open the case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{pupil['name']}: Attendance")
    page.get_by_label(re.compile("^Add a target")).fill("Arrive before registration closes")
    page.get_by_label(re.compile("^In the pupil's own words")).fill("I want to walk in with my friends")
    page.get_by_role("button", name="Add target").click()
    expect(page.locator("#targets .target")).to_have_count(1)
    page.get_by_label("Or someone else").fill("Mum")
    page.get_by_label("Will do").fill("Text the office if running late")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.locator("#plan")).to_contain_text("Mum: Text the office if running late")
    page.screenshot(path=str(SHOTS / "case_page.png"), full_page=True)
    check(axe, page, "case-page")

    page.get_by_role("link", name="Record a review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Review: {pupil['name']}")
    page.get_by_label("Rating, 0 to 10").fill("6")
    page.get_by_label("Where it stands").select_option("in_progress")
    page.get_by_label("The pupil's voice").fill("Mornings are easier with the walking bus")
    page.screenshot(path=str(SHOTS / "case_review.png"), full_page=True)
    check(axe, page, "case-review")
    page.get_by_role("button", name="Save the review").click()
    expect(page.locator("#targets")).to_contain_text("In progress · ratings 6 out of 10")

    page.goto("/")
    section = page.locator("#my-caseload")
    expect(section.get_by_role("heading", name="My caseload")).to_be_visible()
    expect(section).to_contain_text(pupil["name"])
    expect(section).to_contain_text("Review due")
    page.screenshot(path=str(SHOTS / "case_home.png"), full_page=True)
    check(axe, page, "case-home")
