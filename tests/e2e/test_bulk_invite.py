"""On a phone (390x844): an admin pastes three people, checks the list, invites them, and copies a link with the
Copy button; Share appears only where the browser has Web Share (issue 11, point 15). axe finds nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import AXE_OPTIONS, PHONE

SHOTS = Path("/work/notes/shots")


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than the phone"


def no_violations(page: Page, screen: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"bulk_invite_{screen}.png"), full_page=True)
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def admin_signed_in(server: Server, page: Page) -> None:
    name = f"Ada {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("bulk-admin"), "admin", "staff", name=name), name)


def test_an_admin_invites_three_people_and_copies_a_link(server: Server, page: Page, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    admin_signed_in(server, page)
    tag = uuid.uuid4().hex[:6].upper()
    people = [(fresh_email("nina"), f"Nina {tag}"), (fresh_email("omar"), f"Omar {tag}"),
              (fresh_email("pia"), f"Pia {tag}")]

    page.goto("/admin/people")
    page.get_by_role("link", name="Invite many people at once").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite many people")
    page.get_by_label("One person per line: email, role, name").fill(
        f"{people[0][0]}, staff, pastoral, {people[0][1]}\n"
        f"{people[1][0]}; responder; {people[1][1]}\n"
        f"{people[2][0]}\thead of year\t{people[2][1]}\n")
    page.get_by_role("button", name="Check the list").click()
    expect(page.locator("#preview-lines > li")).to_have_count(3)
    expect(page.locator("#preview-lines")).to_contain_text("new: gets a link")
    fits(page)
    no_violations(page, "preview")

    page.get_by_role("button", name="Invite 3 people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("3 people invited")
    expect(page.locator("#invited > li")).to_have_count(3)
    fits(page)
    no_violations(page, "links")

    omar = page.locator(".invited-person", has_text=people[1][1])
    link = omar.get_by_label(f"Enrolment link for {people[1][1]}").input_value()
    assert link.startswith(server.url + "/enrol/")
    copy = page.get_by_role("button", name=f"Copy the link for {people[1][1]}")
    box = copy.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44
    copy.click()
    expect(omar.get_by_role("status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link

    # Share: only where the browser has Web Share (desktop Chromium on Linux has not).
    has_share = page.evaluate("typeof navigator.share === 'function'")
    share = omar.locator("button[data-share-link]")
    expect(share).to_have_count(1)
    if has_share:
        expect(share).to_be_visible()
    else:
        expect(share).to_be_hidden()

    # The link works: Omar sets up his passkey with it (a fresh browser, as on his phone).
    page.context.clear_cookies()
    enrol(page, link, people[1][1])


def test_the_single_link_page_shares_through_the_share_sheet(server: Server, browser: Browser):
    """Where the browser has Web Share (a phone), Share hands the link to the share sheet. Playwright's Chromium
    has none on Linux, so this page gets a stand-in that records what it was given."""
    context = browser.new_context(base_url=server.url, viewport=PHONE)
    context.add_init_script("navigator.share = function (data) { window.sharedWith = data; return Promise.resolve(); };")
    page = context.new_page()
    try:
        Authenticator(page)
        admin_signed_in(server, page)
        name = f"Sid {uuid.uuid4().hex[:6].upper()}"
        page.goto("/admin/people")
        page.locator("#display_name").fill(name)
        page.locator("#email").fill(fresh_email("sid"))
        page.get_by_role("button", name="Invite and get link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Enrolment link for {name}")
        link = page.get_by_label(f"Enrolment link for {name}").input_value()
        share = page.get_by_role("button", name=f"Share the link for {name}")
        expect(share).to_be_visible()
        box = share.bounding_box()
        assert box and box["height"] >= 44
        share.click()
        expect(page.locator("#link-1-status")).to_have_text("Shared")
        shared = page.evaluate("window.sharedWith")
        assert shared["url"] == link and name in shared["text"]
        fits(page)
        no_violations(page, "single_link")
    finally:
        context.close()
