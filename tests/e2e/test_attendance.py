"""Attendance on a 390x844 phone: an admin uploads a CSV of register marks, checks the dry-run preview (a bad row
listed by line, nothing changed), applies it and sees the result; a pastoral officer opens the pupil and sees the
Attendance panel with the figures and the missing-education prompt. axe finds no violations on the upload page,
the preview, the result and the profile with its panel."""

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


def a_pupil(server: Server) -> dict:
    # The sixth pupil: other browser tests take the first ones.
    with closing(sqlite3.connect(server.db_path)) as con:
        row = con.execute("SELECT id, preferred_first_name, legal_last_name, upn FROM pupil WHERE left_on IS NULL "
                          "ORDER BY id LIMIT 1 OFFSET 5").fetchone()
    return {"id": row[0], "name": f"{row[1]} {row[2]}", "upn": row[3]}


def weekdays_before(day: dt.date, count: int) -> list[dt.date]:
    out = []
    while len(out) < count:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            out.append(day)
    return sorted(out)


def marks_csv(upn: str) -> bytes:
    """30 school days present, then 10 of N (reason not yet known), up to the last weekday before today."""
    days = weekdays_before(dt.date.today(), 40)
    rows = ["upn,date,session,code,minutes_late"]
    for i, day in enumerate(days):
        absent = i >= 30
        rows.append(f"{upn},{day.isoformat()},AM,{'N' if absent else ('L' if i == 3 else '/')},{'' if i != 3 else 9}")
        rows.append(f"{upn},{day.isoformat()},PM,{'N' if absent else chr(92)},")
    rows.append(f"{upn},{days[0].isoformat()},AM,QQ,")  # a bad code: listed, skipped
    return ("\r\n".join(rows) + "\r\n").encode()


def test_an_admin_imports_marks_and_pastoral_sees_the_panel(page: Page, server: Server, authenticator: Authenticator,
                                                            new_context):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    pupil = a_pupil(server)
    admin = f"Ada {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("att-admin"), "staff", "admin", name=admin), admin)
    page.get_by_role("link", name=re.compile("^Import attendance")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import attendance")
    check(axe, page, "attendance-upload")
    page.screenshot(path=str(SHOTS / "att-upload.png"), full_page=True)

    page.locator("#file").set_input_files(files=[{"name": "marks.csv", "mimeType": "text/csv",
                                                  "buffer": marks_csv(pupil["upn"])}])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the attendance import")
    expect(page.locator("#dry-run")).to_contain_text("nothing has changed yet")
    expect(page.locator("#count-marks td").first).to_have_text("80")
    expect(page.locator("#import-errors")).to_contain_text("'QQ' is not a DfE attendance code (2024 set).")
    page.screenshot(path=str(SHOTS / "att-preview.png"), full_page=True)
    check(axe, page, "attendance-preview")

    page.get_by_role("button", name="Apply this import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attendance imported")
    expect(page.locator("#done-marks td").first).to_have_text("80")
    page.screenshot(path=str(SHOTS / "att-result.png"), full_page=True)
    check(axe, page, "attendance-result")

    # A pastoral officer, on their own phone.
    pastoral = f"Pat {uuid.uuid4().hex[:6].upper()}"
    link = server.invite(fresh_email("att-pastoral"), "staff", "pastoral", name=pastoral)
    phone = new_context(viewport=PHONE).new_page()
    Authenticator(phone)
    enrol(phone, link, pastoral)
    phone.goto(f"/pupils/{pupil['id']}")
    panel = phone.locator("#attendance-panel")
    expect(panel.get_by_role("heading", name="Attendance")).to_be_visible()
    # 80 sessions, 20 of them N: 75.0%.
    expect(panel.locator("#fig-percent td").first).to_have_text("75.0%")
    expect(panel.locator("#fig-band td").first).to_contain_text("Persistent absence")
    expect(panel.locator("#fig-late-l td").first).to_have_text("1")
    expect(panel.locator("#missing-clock")).to_contain_text("10 school days in a row of unexplained absence")
    expect(panel.locator("#penalty-watch")).to_contain_text("Penalty threshold reached")
    panel.scroll_into_view_if_needed()
    phone.screenshot(path=str(SHOTS / "att-panel.png"), full_page=True)
    check(axe, phone, "attendance-panel")
