"""An unsent safeguarding concern is shown to the person who made it and to nobody else: not after their
session is revoked (a lost phone), not to someone else who signs in on the phone. It still waits, and goes,
exactly once, when its maker signs in again."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import enrol, fresh_email
from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    Phone,
    a_pupil,
    cut_worker_posts,
    expect_badge,
    outbox_server,
    person_id,
    phone,
    query,
    wait_for_control,
    wait_until,
)
from tests.e2e.test_small_screens import OVERFLOW


def concerns_saying(server, words: str) -> int:
    return query(server, "SELECT count(*) FROM concern WHERE childs_words = ?", words)[0][0]


def nothing_of_it_on(page: Page, *secrets: str) -> None:
    page.wait_for_timeout(300)  # the list is filled in by the worker: give it the chance to show too much
    text = page.locator("body").inner_text()
    for secret in secrets:
        assert secret not in text, f"{secret!r} is on {page.url}"


def test_an_unsent_concern_is_shown_to_its_maker_only(phone: Phone):  # noqa: F811
    page, server, authenticator, name, email = phone.page, phone.server, phone.authenticator, phone.name, phone.email
    pupil = a_pupil(server, 7)
    words = f"He said he is scared to go home {uuid.uuid4().hex[:8]}"
    page.goto(f"/concerns/new?pupil={pupil['id']}")
    page.get_by_label("What did you see or hear? (facts)").fill("Bruise on his arm, noticed at break.")
    page.get_by_label("The child's own words, if they told you something").fill(words)
    page.context.set_offline(True)
    page.get_by_role("button", name="Send to the DSL").click()
    expect(page.get_by_role("status").filter(has_text="Saved on this phone, not sent yet")).to_be_visible()
    # Its maker, still signed in as far as the phone last heard, sees it in the list.
    expect(page.locator("#outbox-list > li")).to_contain_text(f"Safeguarding concern · {pupil['name']}")

    # The phone is reported lost: every session of its maker is revoked. The signal comes back.
    server.revoke_sessions(email)
    page.context.set_offline(False)
    expect(page.locator("#outbox-list > li")).to_have_count(0)
    expect(page.locator("#outbox-others")).to_contain_text("1 unsent entry is waiting on this phone")

    # The list page asks for a session; the offline page (which carries the list) shows a count only.
    page.goto("/outbox/")
    expect(page).to_have_url(re.compile(r"/signin$"))
    nothing_of_it_on(page, words, pupil["name"])
    page.goto("/offline")
    expect(page.locator("#outbox-others")).to_contain_text("1 unsent entry is waiting on this phone")
    nothing_of_it_on(page, words, pupil["name"])
    assert concerns_saying(server, words) == 0

    # Someone else signs in on this phone: they see that an entry of someone else waits, nothing of it.
    before = {c["credentialId"] for c in authenticator.credentials()}
    other_email, other = fresh_email("other"), f"Ola {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(other_email, "staff", name=other), other)
    wait_for_control(page)
    expect_badge(page, 1)
    page.goto("/outbox/")
    expect(page.locator("#outbox-others")).to_have_text(
        "1 unsent entry made by someone else on this phone: it waits for them to sign in here again.")
    expect(page.locator("#outbox-list > li")).to_have_count(0)
    nothing_of_it_on(page, words, pupil["name"])
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text("still waiting")
    assert concerns_saying(server, words) == 0  # not sent as them either

    # They sign out (a shared phone): its maker signs in again with their own passkey, sees it and sends it.
    server.revoke_sessions(other_email)
    for credential in authenticator.credentials():
        if credential["credentialId"] not in before:
            authenticator.cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator.id,
                                                                 "credentialId": credential["credentialId"]})
    cut_worker_posts(page.context, "**/concerns/")  # held back a moment, so the maker can see it first
    page.goto("/signin")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    page.goto("/outbox/")
    expect(page.locator("#outbox-list > li")).to_contain_text(f"Safeguarding concern · {pupil['name']}")
    expect(page.locator("#outbox-others")).to_be_hidden()
    # With an entry waiting the bar carries "Unsent 1" as well: the page still fits the 390 px phone (the small
    # screens crawl sees every page with nothing waiting, so the badge is hidden there).
    expect_badge(page, 1)
    fits = page.evaluate(OVERFLOW)
    assert fits["scrollWidth"] <= fits["innerWidth"] == 390 and not fits["off"], fits
    page.context.unroute("**/concerns/")
    page.get_by_role("button", name="Send now").click()
    expect_badge(page, 0)
    wait_until(lambda: concerns_saying(server, words) == 1)
    page.wait_for_timeout(1500)  # nothing comes twice, even after the later triggers
    assert concerns_saying(server, words) == 1
    [(author,)] = query(server, "SELECT author FROM concern WHERE childs_words = ?", words)
    assert author == person_id(server, email)
