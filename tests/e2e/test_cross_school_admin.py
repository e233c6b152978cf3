"""On a phone: the admin of a second school of the trust adds a colleague who already works at the first school.
They get roles here and no enrolment link; their page offers no link, disable or enable, only roles here."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import uuid
from contextlib import closing

from playwright.sync_api import Page, expect

from tests.e2e.conftest import SHOTS, Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE

COLLEAGUE = "teacher@oakfield.example"  # Sam Patel, staff at the demo school


def second_school(server: Server) -> str:
    """School B in the demo school's trust (made in the database: no screen makes a school in a trust yet)."""
    slug = f"juniors-{uuid.uuid4().hex[:6]}"
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con, con:
        trust = con.execute("SELECT trust FROM school WHERE slug = 'oakfield'").fetchone()[0]
        con.execute("INSERT INTO school (trust, name, slug, la_code, establishment_number, created_at) "
                    "VALUES (?, 'Oakfield Juniors', ?, '999', '4321', ?)",
                    (trust, slug, dt.datetime.now(dt.timezone.utc).isoformat(sep=" ")))
    return slug


def test_a_second_schools_admin_adds_a_colleague_without_a_link(server: Server, page: Page,
                                                                authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(exist_ok=True)
    slug = second_school(server)
    name = f"Bea {uuid.uuid4().hex[:6].upper()}"
    link = server.corridor("invite", fresh_email("juniors-admin"), "--role", "admin", "--role", "staff",
                           "--school", slug, "--name", name).strip()
    enrol(page, link, name)
    page.goto("/admin/people")
    page.locator("#display_name").fill("Sam")
    page.locator("#email").fill(COLLEAGUE)
    page.get_by_role("button", name="Invite and get link").click()
    notice = page.locator("#invite-notice")
    expect(notice).to_contain_text("already has a Corridor account at another school of the trust")
    expect(page.locator("body")).not_to_contain_text("/enrol/")
    page.screenshot(path=str(SHOTS / "cross-school-invite.png"), full_page=True)

    page.locator("#people").get_by_role("link", name="Sam Patel", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/people/\d+$"))
    expect(page.locator("#elsewhere-note")).to_contain_text("also works at another school of the trust")
    expect(page.get_by_role("button", name="Issue a new enrolment link")).to_have_count(0)
    expect(page.get_by_role("button", name="Disable and sign out everywhere")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Remove from Oakfield Juniors"))).to_be_visible()
    page.screenshot(path=str(SHOTS / "cross-school-person.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
