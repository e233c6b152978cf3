"""Pupil lookup on a phone: type part of a name, open the profile; tap-to-call only for those who may call."""

from __future__ import annotations

import re
import sqlite3
import uuid
from contextlib import closing

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check


def a_pupil_with_a_callable_contact(server: Server) -> dict:
    """A seeded (synthetic) pupil whose first contact may be called."""
    with closing(sqlite3.connect(server.db_path)) as con:
        row = con.execute(
            "SELECT p.id, p.preferred_first_name, p.legal_last_name, c.phone FROM pupil p JOIN contact c ON c.pupil = p.id"
            " WHERE c.priority = 1 AND c.no_contact = 0 AND p.left_on IS NULL ORDER BY p.id LIMIT 1").fetchone()
    return {"id": row[0], "name": f"{row[1]} {row[2]}", "first": row[1], "phone": row[3]}


def look_up(page: Page, pupil: dict) -> None:
    page.get_by_role("link", name=re.compile("Look up a pupil")).click()
    box = page.get_by_label("Name, form, year or UPN")
    expect(box).to_be_focused()
    box.press_sequentially(pupil["first"][:3] + " " + pupil["name"].split()[-1][:3], delay=40)
    result = page.locator("#result-list").get_by_role("link", name=re.compile(re.escape(pupil["name"])))
    expect(result.first).to_be_visible()
    result.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(pupil["name"])


def test_a_responder_finds_a_pupil_and_can_call_home(page: Page, server: Server, authenticator):
    page.set_viewport_size(PHONE)
    pupil = a_pupil_with_a_callable_contact(server)
    name = f"Rae {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("responder"), "staff", "responder", name=name), name)
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))

    look_up(page, pupil)

    dial = ("+" if pupil["phone"].startswith("+") else "") + re.sub(r"\D", "", pupil["phone"])
    expect(page.locator(f'a[href="tel:{dial}"]')).to_be_visible()
    expect(page.locator(f'a[href="sms:{dial}"]')).to_be_visible()
    # The name typed and the name found never travel in a URL.
    for part in (pupil["first"], pupil["name"].split()[-1]):
        assert not any(part.lower() in url.lower() for url in urls), part


def test_plain_staff_see_no_call_links(page: Page, server: Server, authenticator):
    page.set_viewport_size(PHONE)
    pupil = a_pupil_with_a_callable_contact(server)
    name = f"Sam {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("staff"), "staff", name=name), name)
    look_up(page, pupil)
    expect(page.locator("#care")).to_be_visible()
    expect(page.locator('a[href^="tel:"]')).to_have_count(0)
    expect(page.locator("#contacts")).to_have_count(0)


def test_lookup_and_profile_are_accessible(page: Page, server: Server, authenticator):
    page.set_viewport_size(PHONE)
    axe = Axe()
    pupil = a_pupil_with_a_callable_contact(server)
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("pastoral"), "staff", "pastoral", name=name), name)
    page.get_by_role("link", name=re.compile("Look up a pupil")).click()
    page.get_by_label("Name, form, year or UPN").press_sequentially(pupil["first"][:3], delay=40)
    expect(page.locator("#result-list li").first).to_be_visible()
    check(axe, page, "lookup")
    page.locator("#result-list a").first.click()
    expect(page.locator("#contacts")).to_be_visible()
    check(axe, page, "profile")
