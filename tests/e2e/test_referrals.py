"""Referrals on a 390x844 phone: a pastoral officer refers a pupil from the profile, marks it sent, and finds it on
the chase list once its day has come. axe finds no violations on the form, the referral and the chase list."""

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
from tests.e2e.test_quick_entry import two_pupils

SHOTS = Path("/work/notes/shots")


def test_refer_a_pupil_send_it_and_see_it_to_chase(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("pastoral"), "staff", "pastoral", name=name), name)
    pupil = two_pupils(server)[0]
    page.goto(f"/pupils/{pupil['id']}")
    page.get_by_role("link", name="Referrals", exact=True).click()
    page.get_by_role("link", name="New referral").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New referral")

    # Nothing chosen: a message by each field, and the typed reason kept.
    page.get_by_label("Reason for the referral").fill("Low mood since October; asked for help")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator("#service_id-error")).to_have_text("Choose the service you are referring to.")
    expect(page.get_by_label("Reason for the referral")).to_have_value("Low mood since October; asked for help")
    page.screenshot(path=str(SHOTS / "ref_new_errors.png"), full_page=True)
    check(Axe(), page, "ref-new-errors")

    page.get_by_label("Service").select_option(label="CAMHS")
    page.get_by_label("Consent was given").check()
    page.get_by_label("Who gave consent").fill("Mother, by phone")
    page.get_by_label("When").fill(dt.date.today().isoformat())
    page.get_by_label("How").select_option(label="By phone")
    page.screenshot(path=str(SHOTS / "ref_new.png"), full_page=True)
    check(Axe(), page, "ref-new")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral to CAMHS")
    referral_id = int(re.search(r"/referrals/(\d+)$", page.url).group(1))

    page.get_by_label("Note").fill("Sent through the CAMHS portal")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#referral-state")).to_have_text("Sent")
    expect(page.locator("#history")).to_contain_text("Sent through the CAMHS portal")
    page.screenshot(path=str(SHOTS / "ref_view.png"), full_page=True)
    check(Axe(), page, "ref-view")

    # Ten school days pass (time passing, not a short cut around a check).
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con, con:
        con.execute("UPDATE referral SET chase_due_on = ? WHERE id = ?", (yesterday, referral_id))
    page.goto("/referrals/")
    page.get_by_role("link", name=re.compile(r"To chase \(\d+\)")).click()
    expect(page.locator("#chase-list")).to_contain_text(pupil["name"])
    page.screenshot(path=str(SHOTS / "ref_chase.png"), full_page=True)
    check(Axe(), page, "ref-chase")


def test_the_admins_service_list_is_accessible(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    name = f"Ada {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("admin"), "staff", "admin", name=name), name)
    page.goto("/admin/referrals/")
    expect(page.locator("#services")).to_contain_text("Young Carers")
    page.get_by_label("Add a service").fill("Youth offending team")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#services")).to_contain_text("Youth offending team")
    page.screenshot(path=str(SHOTS / "ref_admin.png"), full_page=True)
    check(Axe(), page, "ref-admin")
