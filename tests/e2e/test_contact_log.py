"""The contact log on a 390x844 phone: a call home logged from a pupil's profile in 3 taps; after a tap-to-call,
coming back offers "Log this call to <name>?" with the contact filled in; a contact logged with no signal is
kept on the phone and arrives once. axe finds no violations on the form (with and without errors)."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, enrolled_page, fresh_email
from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    expect_badge,
    outbox_server,
    query,
    wait_for_control,
    wait_until,
)
from tests.e2e.test_accessibility import PHONE, check


def a_family(server: Server, offset: int = 0) -> dict:
    """A pupil with a contact who may be called (with a phone number), from the demo school."""
    with closing(sqlite3.connect(server.db_path)) as con:
        row = con.execute(
            "SELECT p.id, p.preferred_first_name, p.legal_last_name, c.id, c.name FROM pupil p "
            "JOIN contact c ON c.pupil = p.id WHERE p.left_on IS NULL AND c.no_contact = 0 AND c.phone != '' "
            "AND c.priority = 1 ORDER BY p.id DESC LIMIT 1 OFFSET ?", (offset,)).fetchone()
    return {"id": row[0], "name": f"{row[1]} {row[2]}", "contact": row[3], "contact_name": row[4]}


def shot(page: Page, name: str) -> None:
    page.screenshot(path=f"/work/notes/shots/{name}.png", full_page=True)


def logged(server: Server, summary: str) -> int:
    return query(server, "SELECT count(*) FROM contact_log WHERE summary = ?", summary)[0][0]


def test_a_call_home_is_logged_from_the_profile_in_three_taps(page: Page, server: Server,
                                                              authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    axe = Axe()
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("contacts"), "staff", "pastoral", name=name), name)
    family = a_family(server)
    page.goto(f"/pupils/{family['id']}")
    expect(page.locator("#contact-log")).to_contain_text("Contacts with family and agencies")

    taps = 0
    page.locator(f'a.log-call[href*="contact={family["contact"]}&"]').click()
    taps += 1
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a contact")
    expect(page.get_by_label(family["contact_name"], exact=False).first).to_be_checked()
    expect(page.get_by_label("Phone call")).to_be_checked()
    expect(page.get_by_label("We contacted them")).to_be_checked()
    check(axe, page, "contact_new")
    shot(page, "contact_new")
    page.get_by_label("Spoke to them").check()
    taps += 1
    page.get_by_role("button", name="Save").click()
    taps += 1
    assert taps == 3
    expect(page).to_have_url(f"{server.url}/pupils/{family['id']}#contact-log")
    expect(page.locator("#contact-log")).to_contain_text(f"Phone call to {family['contact_name']}")
    expect(page.locator("#contact-log")).to_contain_text(f"Spoke to them · {name}")
    check(axe, page, "contact_profile")
    shot(page, "contact_profile")

    # A bad try: an agency chosen but not named. The message is by the field, what was typed is kept.
    page.get_by_role("link", name="Log contact").click()
    page.get_by_label("An agency or someone else").check()
    page.get_by_label("What was said").fill("Asked about the referral")
    page.get_by_label("Left a message").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#agency-error")).to_contain_text("Type the agency")
    expect(page.get_by_label("What was said")).to_have_value("Asked about the referral")
    check(axe, page, "contact_new_errors")
    shot(page, "contact_new_errors")


def test_coming_back_from_a_call_offers_to_log_it(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("caller"), "staff", "pastoral", name=name), name)
    family = a_family(server, 1)
    page.goto(f"/pupils/{family['id']}")
    call = page.locator(f'a[data-call-contact="{family["contact"]}"]')
    # The dialler is outside the browser: keep the click from leaving the page, and let its handler run.
    page.evaluate("document.addEventListener('click', (e) => { if (e.target.closest('a[href^=\"tel:\"]')) "
                  "e.preventDefault(); })")
    call.click()
    stored = page.evaluate("sessionStorage.getItem('corridor-call')")
    assert str(family["contact"]) in stored and family["contact_name"] not in stored  # ids only
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    prompt = page.locator("#call-prompt")
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text(f"Log this call to {family['contact_name']}?")
    page.screenshot(path="/work/notes/shots/contact_call_prompt.png", full_page=False)
    prompt.get_by_role("link", name="Log this call").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a contact")
    expect(page.locator(f'input[name="contact_id"][value="{family["contact"]}"]')).to_be_checked()
    expect(page.get_by_label("Phone call")).to_be_checked()
    assert "name" not in page.url and family["contact_name"].split()[0] not in page.url


@pytest.fixture
def pastoral_phone(browser: Browser, outbox_server):  # noqa: F811
    page, _ = enrolled_page(browser, outbox_server, "staff", "pastoral", first_name="Pat", email_prefix="offline")
    wait_for_control(page)
    try:
        yield page, outbox_server
    finally:
        page.context.close()


def test_a_contact_logged_without_signal_arrives_once(pastoral_phone):
    page, server = pastoral_phone
    family = a_family(server, 2)
    summary = f"offline-{uuid.uuid4().hex[:10]}"
    page.goto(f"/contact-log/new?pupil={family['id']}&contact={family['contact']}&method=home_visit")
    page.get_by_label("Spoke to them").check()
    page.get_by_label("What was said").fill(summary)

    page.context.set_offline(True)
    try:
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status").filter(has_text="Saved on this phone, not sent yet")).to_be_visible()
        expect_badge(page, 1)
        entry = page.locator("#outbox-list > li")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text(f"Contact log · {family['name']}")
        page.screenshot(path="/work/notes/shots/contact_offline_queued.png", full_page=True)
        assert logged(server, summary) == 0
    finally:
        page.context.set_offline(False)

    expect_badge(page, 0)
    wait_until(lambda: logged(server, summary) == 1)
    [(method, outcome, contact)] = query(server, "SELECT method, outcome, contact FROM contact_log WHERE summary = ?",
                                         summary)
    assert (method, outcome, contact) == ("home_visit", "spoke", family["contact"])
    page.wait_for_timeout(1500)  # nothing comes twice, even after the later triggers
    assert logged(server, summary) == 1
