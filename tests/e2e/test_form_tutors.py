"""Form tutors on a 390x844 phone: an admin opens Form tutors from the On report page, names a member of staff as a
form's tutor and sees it saved as named here; axe finds no violations on the page before and after."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server
from tests.e2e.test_accessibility import SHOTS as AXE_SHOTS, check
from tests.e2e.test_oncall import person

SHOTS = Path("/work/notes/shots")


def test_an_admin_names_a_forms_tutor(browser: Browser, server: Server):
    teacher = person(browser, server, "staff", prefix="Tom")
    teacher.context.close()
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con:
        group, name = con.execute("SELECT id, name FROM tutor_group ORDER BY id LIMIT 1").fetchone()
    admin = person(browser, server, "admin", "staff", prefix="Ada")
    admin.goto("/on-report/")
    admin.locator("#tutors-link").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Form tutors")
    axe = Axe()
    check(axe, admin, "onreport_tutors-admin")
    card = admin.locator(f"#form-{group}")
    card.get_by_label("Tutor", exact=True).select_option(label=teacher.display_name)
    card.get_by_role("button", name=f"Save {name}'s tutors").click()
    card = admin.locator(f"#form-{group}")
    expect(card.locator(f"#saved-{group}")).to_have_text("Saved.")
    expect(card).to_contain_text(f"{teacher.display_name} (named here)")
    check(axe, admin, "onreport_tutors-saved")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for screen in ("onreport_tutors-admin", "onreport_tutors-saved"):
        shutil.copy(AXE_SHOTS / f"{screen}.png", SHOTS / f"{screen}.png")
    # Back as it was: no tutor named (the demo school is shared by the session's other browser tests).
    card.get_by_label("Tutor", exact=True).select_option(value="")
    card.get_by_role("button", name=f"Save {name}'s tutors").click()
    expect(admin.locator(f"#form-{group}")).not_to_contain_text("(named here)")
    admin.context.close()
