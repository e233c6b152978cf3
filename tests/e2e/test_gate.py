"""Lates at the gate on a 390x844 phone: the duty member of staff finds a pupil and logs the late in one tap with
the phone offline; the late waits in the outbox ("Late at the gate · <name>"), reaches the server once when the
signal is back, and is in today's list. axe finds no violations on the gate page (empty, with results, with
today's list)."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    Phone,
    expect_badge,
    outbox_server,
    phone,
    query,
    wait_until,
)
from tests.e2e.test_accessibility import check


def lates_of(server, pupil_id: int) -> int:
    return query(server, "SELECT count(*) FROM incident_pupil ip JOIN category c ON c.id = ip.category "
                         "JOIN incident i ON i.id = ip.incident WHERE ip.pupil = ? AND c.name LIKE 'Late to school%' "
                         "AND i.deleted_at IS NULL", pupil_id)[0][0]


def test_a_late_logged_in_one_tap_offline_arrives_once(phone: Phone):
    page, server = phone.page, phone.server
    axe = Axe()
    row = query(server, "SELECT id, preferred_first_name, legal_last_name FROM pupil WHERE left_on IS NULL "
                        "ORDER BY id DESC LIMIT 1")[0]
    pupil = {"id": row[0], "name": f"{row[1]} {row[2]}"}
    before = lates_of(server, pupil["id"])

    page.goto("/gate/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lates at the gate")
    check(axe, page, "gate-empty")
    page.get_by_label("Find a pupil").press_sequentially(row[2], delay=20)
    button = page.locator("#gate-results").get_by_role("button", name=re.compile(re.escape(pupil["name"])))
    expect(button.first).to_be_visible()
    check(axe, page, "gate-results")

    page.context.set_offline(True)
    try:
        button.first.click()  # the one tap
        expect(page.get_by_role("status").filter(has_text="Saved on this phone, not sent yet")).to_be_visible()
        expect_badge(page, 1)
        entry = page.locator("#outbox-list > li")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text(f"Late at the gate · {pupil['name']}")
        page.screenshot(path="/work/notes/shots/gate-offline-queued.png", full_page=True)
        assert lates_of(server, pupil["id"]) == before
    finally:
        page.context.set_offline(False)

    expect_badge(page, 0)
    wait_until(lambda: lates_of(server, pupil["id"]) == before + 1)
    page.wait_for_timeout(1500)  # nothing comes twice, even after the later triggers
    assert lates_of(server, pupil["id"]) == before + 1

    page.goto("/gate/")
    expect(page.locator("#gate-today")).to_contain_text(pupil["name"])
    check(axe, page, "gate-today")


def test_the_first_day_list_on_a_phone(browser, outbox_server):  # noqa: F811
    """After the morning register closes (here: the school closes it at 00:00), a pupil marked N this morning is on
    the pastoral officer's list with their contacts; axe clean."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from tests.e2e.conftest import enrolled_page

    server = outbox_server
    today = dt.datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    row = query(server, "SELECT p.id, p.preferred_first_name, p.legal_last_name, p.school FROM pupil p "
                        "JOIN contact c ON c.pupil = p.id WHERE p.left_on IS NULL ORDER BY p.id LIMIT 1")[0]
    with __import__("sqlite3").connect(server.db_path, timeout=10) as con:
        con.execute("INSERT INTO register_close (school, am_close, pm_close) SELECT ?, '00:00', '13:45' "
                    "WHERE NOT EXISTS (SELECT 1 FROM register_close WHERE school = ?)", (row[3], row[3]))
        con.execute("INSERT INTO attendance_mark (school, pupil, day, session, code, created_at) "
                    "SELECT ?, ?, ?, 'AM', 'N', ? WHERE NOT EXISTS (SELECT 1 FROM attendance_mark "
                    "WHERE pupil = ? AND day = ? AND session = 'AM')",
                    (row[3], row[0], today, dt.datetime.now(dt.timezone.utc).isoformat(), row[0], today))
    page, _ = enrolled_page(browser, server, "staff", "pastoral", first_name="Pat", email_prefix="firstday")
    try:
        page.goto("/attendance/first-day/")
        expect(page.get_by_role("heading", level=1)).to_have_text("First-day absence")
        expect(page.locator("#first-day-list")).to_contain_text(f"{row[1]} {row[2]}")
        expect(page.locator(f"#fd-{row[0]}").get_by_role("link", name="Plan a home visit")).to_be_visible()
        check(Axe(), page, "gate-first-day")
        page.screenshot(path="/work/notes/shots/gate-first-day.png", full_page=True)
    finally:
        page.context.close()
