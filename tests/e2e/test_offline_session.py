"""The session ends while an entry waits offline: the entry waits for its maker, is not sent as someone else
who signs in on the same phone meanwhile, and goes as its maker once they sign in again."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import enrol, fresh_email
from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    Phone,
    a_pupil,
    expect_badge,
    fill_quick_entry,
    incidents_with_note,
    outbox_server,
    person_id,
    phone,
    query,
    unique_note,
    wait_for_control,
    wait_until,
)


def test_an_entry_waits_for_its_maker_to_sign_in_again(phone: Phone):  # noqa: F811
    page, server, authenticator, name, email = phone.page, phone.server, phone.authenticator, phone.name, phone.email
    wait_for_control(page)
    note = unique_note("session")
    fill_quick_entry(page, a_pupil(server, 5), note)
    page.context.set_offline(True)
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status").filter(has_text="not sent yet")).to_be_visible()
    server.revoke_sessions(email)  # the session ends while the phone has no signal
    page.context.set_offline(False)

    # Nobody is signed in now: the entry is counted, and nothing of it is shown.
    expect(page.locator("#outbox-others")).to_have_text(
        "1 unsent entry is waiting on this phone. Sign in to see and send it.")
    expect(page.locator("#outbox-list > li")).to_have_count(0)
    expect_badge(page, 1)
    assert incidents_with_note(server, note) == 0

    # Someone else signs in on this phone meanwhile: the entry is not sent as them.
    before = {c["credentialId"] for c in authenticator.credentials()}
    other_email, other = fresh_email("other"), f"Ola {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(other_email, "staff", name=other), other)
    expect_badge(page, 1)
    page.goto("/outbox/")
    expect(page.locator("#outbox-others")).to_contain_text("1 unsent entry made by someone else on this phone")
    expect(page.locator("#outbox-list > li")).to_have_count(0)
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text("still waiting")
    assert incidents_with_note(server, note) == 0

    # Their session ends too; the maker signs in again with their own passkey, and it goes, as theirs.
    server.revoke_sessions(other_email)
    for credential in authenticator.credentials():
        if credential["credentialId"] not in before:
            authenticator.cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator.id,
                                                                 "credentialId": credential["credentialId"]})
    page.goto("/signin")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    expect_badge(page, 0)
    wait_until(lambda: incidents_with_note(server, note) == 1)
    [(recorded_by,)] = query(server, "SELECT recorded_by FROM incident WHERE note = ?", note)
    assert recorded_by == person_id(server, email) != person_id(server, other_email)
