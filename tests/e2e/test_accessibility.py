"""axe (WCAG 2.0 A/AA, 2.1 AA, 2.2 AA) on the main screens at phone size, with screenshots for review."""

from __future__ import annotations

import json
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, SHOTS, Authenticator, Server, enrol, fresh_email

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
               "resultTypes": ["violations"]}


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def check(axe: Axe, page: Page, screen: str) -> None:
    """Save a screenshot of the screen, then fail with axe's findings if there are any."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{screen}.png"), full_page=True)
    results = axe.run(page, options=AXE_OPTIONS)
    violations = results.response["violations"]
    summary = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]]} for v in violations]
    assert not violations, f"axe found {len(violations)} violation(s) on {screen} ({page.url}):\n" \
                           + json.dumps(summary, indent=2) + "\n" + results.generate_report()


def test_signin_page_is_accessible(page: Page, server: Server, axe: Axe):
    page.set_viewport_size(PHONE)
    page.goto("/signin")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    check(axe, page, "signin")


def test_signed_in_screens_are_accessible(page: Page, server: Server, authenticator: Authenticator, axe: Axe):
    page.set_viewport_size(PHONE)
    # An admin sees the most on the home screen (the admin tiles too).
    name = f"Ada {uuid.uuid4().hex[:6].upper()}"
    link = server.invite(fresh_email("a11y"), "staff", "admin", name=name)

    page.goto(link)
    expect(page.get_by_role("button", name="Create passkey")).to_be_visible()
    check(axe, page, "enrol")

    enrol(page, link, name)
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()
    check(axe, page, "home")

    page.get_by_role("link", name="Account", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("#passkeys > li")).to_have_count(1)
    check(axe, page, "account")


def test_the_audit_log_reads_on_a_phone_without_scrolling_sideways(browser, server: Server, axe: Axe):
    """Each event a block of labelled lines at 390 px: nothing wider than the screen, the action in view."""
    from tests.e2e.conftest import enrolled_page

    page, _ = enrolled_page(browser, server, "admin", "staff", first_name="Ada")
    try:
        page.goto("/admin/audit")
        first = page.locator("#audit tbody tr").first
        expect(first.locator('td[data-label="What"]')).to_be_visible()
        box = first.locator('td[data-label="What"]').bounding_box()
        assert box["x"] + box["width"] <= 390, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("document.querySelector('.scroll-x').scrollWidth <= document.querySelector('.scroll-x').clientWidth")
        check(axe, page, "audit-log-phone")
    finally:
        page.context.close()
