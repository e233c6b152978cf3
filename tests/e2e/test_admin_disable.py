"""An admin disables a member of staff; the staff member's open app is signed out at their next tap."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email

DEMO_ADMIN = "Alex Morgan"  # admin@oakfield.example, enrolled with seed-demo's link (used by this test only)


def test_disabling_someone_signs_them_out_everywhere(server: Server, page: Page, authenticator: Authenticator,
                                                     new_context):
    # The member of staff, on their own phone (a separate browser context), with home open.
    staff_name = f"Robin {uuid.uuid4().hex[:6].upper()}"
    staff_link = server.invite(fresh_email("disable"), "staff", name=staff_name)
    staff_page = new_context().new_page()
    Authenticator(staff_page)
    enrol(staff_page, staff_link, staff_name)

    # The admin, on theirs.
    enrol(page, server.admin_link, DEMO_ADMIN)
    page.get_by_role("link", name=re.compile("^Staff and roles")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff and roles")
    page.locator("#people").get_by_role("link", name=staff_name, exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/people/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(staff_name)
    page.locator("#reason").fill("Left the school")
    page.locator("#disable-form").get_by_role("button", name="Disable and sign out everywhere").click()
    expect(page.locator("p.meta").first).to_contain_text("disabled")  # the email and status line (a mobile line follows)
    expect(page.locator("#disable-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Enable")).to_be_visible()

    # The staff member's next request lands on the sign-in page...
    expect(staff_page.get_by_role("heading", level=1)).to_have_text(f"Hello, {staff_name}")
    staff_page.get_by_role("link", name="Account", exact=True).click()
    expect(staff_page).to_have_url(re.compile(r"/signin$"))
    expect(staff_page.get_by_role("heading", level=1)).to_have_text("Sign in")

    # ...and their passkey no longer lets them back in.
    staff_page.get_by_role("button", name="Sign in with a passkey").click()
    expect(staff_page.locator("#passkey-status")).to_contain_text("not active")
    expect(staff_page).to_have_url(re.compile(r"/signin$"))
