"""The data review on a 390x844 phone: a pastoral officer opens the review of a year group, sees the charts (SVG
images with a title and description) and opens a chart's table; then, after three negative incidents for one pupil
are recorded (straight into the database, as another server process would), the early-intervention list shows the
pupil with the reason in words, and one tap opens the case form filled in; the case is opened. axe finds no
violations on the review, a table opened, the list and the filled-in form."""

from __future__ import annotations

import datetime as dt
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


def three_negative_incidents(server: Server) -> dict:
    """Yesterday, three incidents in a negative category for the eleventh pupil (other browser tests take the first)."""
    yesterday = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con, con:
        pupil = con.execute("SELECT id, school, preferred_first_name, legal_first_name, legal_last_name FROM pupil "
                            "WHERE left_on IS NULL ORDER BY id LIMIT 1 OFFSET 10").fetchone()
        category = con.execute("SELECT id FROM category WHERE school = ? AND kind = 'negative' ORDER BY id LIMIT 1",
                               (pupil[1],)).fetchone()[0]
        person = con.execute("SELECT person FROM membership WHERE school = ? ORDER BY id LIMIT 1",
                             (pupil[1],)).fetchone()[0]
        for hours in (0, 1, 2):
            at = (yesterday - dt.timedelta(hours=hours)).isoformat(sep=" ")
            cur = con.execute("INSERT INTO incident (school, location, occurred_at, note, recorded_by, recorded_at, "
                              "version, outcome, deleted_at, deleted_by, deleted_reason) "
                              "VALUES (?, NULL, ?, '', ?, ?, 1, '', NULL, NULL, '')", (pupil[1], at, person, at))
            con.execute("INSERT INTO incident_pupil (incident, pupil, role, category, points, status, "
                        "exclusion_reasons, updated_at) VALUES (?, ?, 'instigator', ?, -2, 'open', '', ?)",
                        (cur.lastrowid, pupil[0], category, at))
    return {"id": pupil[0], "name": f"{pupil[2] or pupil[3]} {pupil[4]}"}


def test_a_pastoral_officer_reviews_a_year_and_adds_a_pupil_to_a_caseload(page: Page, server: Server,
                                                                           authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("review-past"), "staff", "pastoral", name=name), name)
    page.get_by_role("link", name=re.compile("^Data review")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Data review")
    charts = page.locator("svg.chart[role=img]")
    expect(charts).to_have_count(7)
    expect(page.locator("#chart-heatmap svg title")).to_have_text(
        "Behaviour incidents by time of day and day of week")
    check(axe, page, "data-review")
    page.screenshot(path=str(SHOTS / "review-page.png"), full_page=True)
    page.locator("#chart-categories summary").click()
    expect(page.locator("#categories-table")).to_be_visible()
    expect(page.locator("#categories-table thead th").first).to_have_text("Category")
    check(axe, page, "data-review-table")
    page.locator("#chart-categories").screenshot(path=str(SHOTS / "review-table.png"))

    pupil = three_negative_incidents(server)
    page.get_by_role("link", name="Early intervention list").click()
    flag = page.locator(f"#flag-{pupil['id']}")
    expect(flag).to_contain_text(pupil["name"])
    expect(flag).to_contain_text(re.compile(r"\d+ negative incidents in the last 7 days \(the threshold is 3\)\."))
    check(axe, page, "early-intervention")
    page.screenshot(path=str(SHOTS / "review-early.png"), full_page=True)
    flag.get_by_role("link", name=f"Add {pupil['name']} to a caseload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case")
    expect(page.locator("#reason")).to_have_value(re.compile(r"^Early intervention: \d+ negative incidents"))
    expect(page.locator("#type_id option:checked")).to_contain_text("Behaviour")
    check(axe, page, "early-intervention-case")
    page.screenshot(path=str(SHOTS / "review-case.png"), full_page=True)
    page.get_by_role("button", name="Open the case").click()
    expect(page).to_have_url(re.compile(r"/casework/\d+$"))
    expect(page.locator("main")).to_contain_text(pupil["name"])
