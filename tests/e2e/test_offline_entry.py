"""An entry made without signal: kept on the phone (encrypted, nothing in Cache Storage), shown as queued
with a badge, sent by itself when the signal is back, exactly once; and signing out with entries still
waiting warns first and offers to send them."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    RAW_OUTBOX,
    Phone,
    a_pupil,
    cut_worker_posts,
    expect_badge,
    expect_list,
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
from tests.e2e.test_pwa import CACHED_URLS


def test_an_entry_made_offline_is_queued_then_sent_once(phone: Phone):  # noqa: F811
    page, server, email = phone.page, phone.server, phone.email
    wait_for_control(page)
    pupil = a_pupil(server)
    note = unique_note("offline")
    fill_quick_entry(page, pupil, note)
    made = page.locator("#occurred_at").input_value()

    page.context.set_offline(True)
    try:
        page.get_by_role("button", name="Log it").click()
        # At once, and without signal: queued, not sent; the badge says one is waiting.
        expect(page.get_by_role("status").filter(has_text="Saved on this phone, not sent yet")).to_be_visible()
        expect_badge(page, 1)
        entry = page.locator("#outbox-list > li")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text(f"Incident: Low-level disruption · {pupil['name']}")
        expect(entry).to_contain_text("Waiting for signal")
        assert incidents_with_note(server, note) == 0

        # On the phone: sealed with a key that cannot be exported; nothing about the pupil in the clear,
        # and nothing but the shell in Cache Storage.
        raw = page.evaluate(RAW_OUTBOX)
        assert raw["exported"] == "InvalidAccessError" and raw["extractable"] is False and raw["algorithm"] == "AES-GCM"
        [stored] = raw["entries"]
        for secret in (note, pupil["name"], "pupil_id", "Low-level"):
            assert secret not in stored["plain"] and secret not in stored["sealed"], secret
        cached = page.evaluate(CACHED_URLS)
        assert cached and all(re.search(r"/(offline|manifest\.webmanifest|static/.+)$", url) for url in cached), cached
    finally:
        page.context.set_offline(False)

    # The signal is back: it goes by itself (Background Sync, the online event), and the badge clears.
    expect_badge(page, 0)
    expect(page.locator("#outbox-list > li")).to_have_count(0)
    wait_until(lambda: incidents_with_note(server, note) == 1)
    [(recorded_by, occurred_at)] = query(server, "SELECT recorded_by, occurred_at FROM incident WHERE note = ?", note)
    assert recorded_by == person_id(server, email)
    # It keeps the time it was made (the form's time, UK time), not the time it arrived.
    made_utc = dt.datetime.fromisoformat(made).replace(tzinfo=ZoneInfo("Europe/London")).astimezone(dt.UTC)
    assert dt.datetime.fromisoformat(occurred_at) == made_utc
    page.wait_for_timeout(1500)  # nothing comes twice, even after the later triggers
    assert incidents_with_note(server, note) == 1


def test_signing_out_with_entries_waiting_warns_and_sends_them_first(phone: Phone):  # noqa: F811
    page, server = phone.page, phone.server
    wait_for_control(page)
    note = unique_note("signout")
    fill_quick_entry(page, a_pupil(server, 1), note)
    cut_worker_posts(page.context)  # no signal for the outbox, whatever happens next
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status").filter(has_text="not sent yet")).to_be_visible()

    page.goto("/account")
    expect_badge(page, 1)
    page.get_by_role("button", name="Sign out", exact=True).click()
    warning = page.locator("#signout-warning")
    expect(warning).to_have_role("alert")
    expect(warning).to_contain_text("1 entry on this phone has not been sent")
    expect(page).to_have_url(re.compile(r"/account$"))  # not signed out
    page.get_by_role("button", name="Send them now").click()
    expect(warning).to_contain_text("still not sent")
    assert incidents_with_note(server, note) == 0

    page.context.unroute("**/incidents/")  # the signal is back
    page.get_by_role("button", name="Send them now").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    assert incidents_with_note(server, note) == 1


def test_signing_out_anyway_deletes_the_unsent_entries_from_the_phone(phone: Phone):  # noqa: F811
    page, server, name = phone.page, phone.server, phone.name
    wait_for_control(page)
    note = unique_note("deleted")
    fill_quick_entry(page, a_pupil(server, 4), note)
    cut_worker_posts(page.context)
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status").filter(has_text="not sent yet")).to_be_visible()
    page.goto("/account")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.locator("#signout-warning")).to_contain_text("1 entry on this phone has not been sent")
    page.get_by_role("button", name="Sign out and delete them").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()

    # Back with signal and signed in again: nothing of it is left on the phone, and it never arrives.
    page.context.unroute("**/incidents/")
    page.goto("/signin")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    wait_for_control(page)
    page.goto("/outbox/")
    expect_list(page, 0)
    expect_badge(page, 0)
    assert incidents_with_note(server, note) == 0
