"""A second passkey on another device, then removing the first one after a fresh check (step-up)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server


def passkey_names(page: Page) -> list[str]:
    return [field.input_value() for field in page.locator("#passkeys > li").get_by_label(re.compile("^Name of passkey")).all()]


def test_add_a_spare_passkey_and_remove_the_first(server: Server, page: Page, authenticator: Authenticator,
                                                  signed_in):
    _, email = signed_in
    page.get_by_role("link", name="Account", exact=True).click()
    passkeys = page.locator("#passkeys > li")
    expect(passkeys).to_have_count(1)
    expect(passkeys.get_by_label("Name of passkey “Work phone”", exact=True)).to_have_value("Work phone")
    # With one passkey there is nothing to remove: it would lock the person out.
    expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)

    # The spare is another device: a second authenticator (Chromium allows only one platform
    # authenticator per page, so it is a roaming one). The first one ("this phone") is left untouched
    # by the prompt, as when a person answers on the other device rather than this one.
    phone = authenticator.id
    spare = authenticator.add("usb")
    authenticator.cdp.send("WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": phone, "enabled": False})

    page.locator("#new-passkey-name").fill("Spare phone")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page).to_have_url(re.compile(r"/account\?done=added$"))
    expect(page.get_by_role("status").filter(has_text="Passkey added.")).to_be_visible()
    expect(passkeys).to_have_count(2)
    assert passkey_names(page) == ["Work phone", "Spare phone"]
    assert len(authenticator.credentials(spare)) == 1
    assert len(authenticator.credentials(phone)) == 1

    # Signing in counts as a fresh check for a few minutes; let that lapse, as on a phone used all day,
    # so that removing "Work phone" needs a step-up, which the browser does with the spare.
    server.let_step_up_lapse(email)
    page.reload()
    expect(page.locator("#passkeys form[data-step-up]")).to_have_count(2)
    for form in page.locator("#passkeys form[data-step-up]").all():
        expect(form).to_have_attribute("data-step-up", "needed")
    spare_count_before = authenticator.credentials(spare)[0]["signCount"]
    remove = page.get_by_role("button", name="Remove “Work phone”")
    expect(remove).to_be_visible()
    remove.click()
    expect(page).to_have_url(re.compile(r"/account\?done=removed$"))
    expect(page.get_by_role("status").filter(has_text="Passkey removed.")).to_be_visible()
    expect(passkeys).to_have_count(1)
    expect(passkeys.get_by_label("Name of passkey “Spare phone”", exact=True)).to_have_value("Spare phone")
    expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
    # The fresh check was answered by the spare (the phone was not touched).
    assert authenticator.credentials(spare)[0]["signCount"] > spare_count_before
