"""Enrol from an invite link, sign out, sign back in with the passkey alone, and the link is spent."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email


def test_enrol_sign_out_and_sign_in_with_the_passkey(server: Server, page: Page, authenticator: Authenticator):
    email = fresh_email("enrol")
    name = f"Priya {uuid.uuid4().hex[:6].upper()}"
    link = server.invite(email, "staff", name=name)

    enrol(page, link, name)
    assert len(authenticator.credentials()) == 1, "the passkey should live on the device (a resident key)"

    page.get_by_role("link", name="Account", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    page.locator("#signout").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signed-out$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")

    # Signed out means signed out: home sends us to the sign-in page.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin$"))

    # Usernameless: one button, no email or username field anywhere.
    expect(page.get_by_role("textbox")).to_have_count(0)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")

    # The enrolment link was single use.
    response = page.goto(link)
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link can no longer be used")
    expect(page.locator("#enrol-form")).to_have_count(0)
