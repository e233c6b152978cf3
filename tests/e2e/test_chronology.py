"""A pupil's chronology on a 390x844 phone: a pastoral officer opens it from the pupil's profile, filters it by
source and dates (htmx, and the address keeps only dates and sources), marks an entry significant (the row is
swapped in place) and shows significant entries only; a bad filter says what is wrong by the field. axe finds no
violations on the page, with errors, and after the swap."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check


def shot(page: Page, name: str) -> None:
    page.screenshot(path=f"/work/notes/shots/chron-{name}.png", full_page=True)


def a_pupil_with_a_history(server: Server, recorder_email: str) -> dict:
    """A demo pupil given three incidents and a contact with their family (the demo school starts with none)."""
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con, con:
        pid, first, last, school = con.execute(
            "SELECT id, COALESCE(NULLIF(preferred_first_name, ''), legal_first_name), legal_last_name, school "
            "FROM pupil WHERE left_on IS NULL ORDER BY id LIMIT 1").fetchone()
        person = con.execute("SELECT id FROM person WHERE email = ?", (recorder_email,)).fetchone()[0]
        stamp = con.execute("SELECT at FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()[0]
        category = con.execute("SELECT id FROM category WHERE school = ? AND kind = 'negative' ORDER BY id LIMIT 1",
                               (school,)).fetchone()[0]
        location = con.execute("SELECT id FROM location WHERE school = ? ORDER BY id LIMIT 1", (school,)).fetchone()[0]
        for day, note in (("02", "Shouting in the corridor"), ("09", "Refused to hand over phone"),
                          ("16", "Pushed a classmate")):
            at = f"2026-11-{day} 10:00:00" + stamp[19:] if len(stamp) > 19 else f"2026-11-{day} 10:00:00"
            cur = con.execute("INSERT INTO incident (school, location, occurred_at, note, recorded_by, recorded_at, "
                              "version, outcome, deleted_reason) VALUES (?, ?, ?, ?, ?, ?, 1, '', '')",
                              (school, location, at, note, person, at))
            con.execute("INSERT INTO incident_pupil (incident, pupil, role, category, points, status, "
                        "exclusion_reasons, updated_at) VALUES (?, ?, 'instigator', ?, -1, 'open', '', ?)",
                        (cur.lastrowid, pid, category, at))
        at = "2026-11-03 16:00:00" + (stamp[19:] if len(stamp) > 19 else "")
        con.execute("INSERT INTO contact_log (school, pupil, agency, with_label, method, direction, outcome, "
                    "occurred_at, summary, voice, recorded_by, created_at) VALUES (?, ?, '', 'Mum', 'phone', 'out', "
                    "'spoke', ?, 'Talked about the week', '', ?, ?)", (school, pid, at, person, at))
    return {"id": pid, "name": f"{first} {last}", "incidents": 3}


def test_a_pastoral_officer_opens_filters_and_marks_the_chronology(page: Page, server: Server,
                                                                 authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    axe = Axe()
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    email = fresh_email("chron")
    enrol(page, server.invite(email, "staff", "pastoral", name=name), name)
    pupil = a_pupil_with_a_history(server, email)
    page.goto(f"/pupils/{pupil['id']}")
    page.locator("#open-chronology").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Chronology: {pupil['name']}")
    rows = page.locator("li.chron-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= pupil["incidents"] + 1
    check(axe, page, "chron-page")
    shot(page, "page")

    # Filter to incidents (htmx: the part below the heading is swapped; the address says only what was chosen).
    page.get_by_label("Incident", exact=True).check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#entries-h")).to_contain_text("(filtered)")
    expect(rows).to_have_count(pupil["incidents"])
    assert "source=incident" in page.url and pupil["name"].split()[0] not in page.url
    first_event = rows.first.locator("p strong").first.inner_text()

    # Mark the first significant: just that row changes.
    rows.first.get_by_role("button", name="Mark significant").click()
    expect(rows.first.locator(".significant-flag")).to_have_text("Significant")
    expect(rows.first.get_by_role("button", name="Unmark significant")).to_have_attribute("aria-pressed", "true")
    check(axe, page, "chron-marked")
    shot(page, "marked")
    page.reload()  # the address kept the filter (dates and sources only); the mark is stored
    expect(rows.first.locator(".significant-flag")).to_have_text("Significant")

    # Significant only.
    page.get_by_label("Significant entries only").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#entries-h")).to_contain_text("1 entry (filtered)")
    expect(rows.first).to_contain_text(first_event)
    shot(page, "significant-only")

    # A bad filter: the end before the start. The message is by the field; what was typed stays.
    page.get_by_label("From").fill("2026-11-20")
    page.get_by_label("To").fill("2026-11-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#end-error")).to_contain_text("before the start date")
    expect(page.get_by_label("From")).to_have_value("2026-11-20")
    expect(page.get_by_label("To")).to_have_value("2026-11-01")
    expect(page.get_by_label("Significant entries only")).to_be_checked()
    check(axe, page, "chron-errors")
    shot(page, "errors")

    # Without a filter, the mark is still there after a reload.
    page.goto(f"/chronology/pupil/{pupil['id']}?significant_only=yes")
    expect(page.locator("li.chron-row")).to_have_count(1)
