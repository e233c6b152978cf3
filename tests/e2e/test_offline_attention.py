"""What the server refuses is never dropped: it waits under "needs attention" with the server's message and
the entry's content, to be fixed and sent, sent as a new entry, or discarded after a confirmation."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    Phone,
    a_pupil,
    expect_badge,
    fill_quick_entry,
    incidents_with_note,
    outbox_server,
    phone,
    query,
    unique_note,
    wait_for_control,
)
from tests.e2e.test_accessibility import check

TAKEN = "An entry with the same key but different content was already received. Nothing was saved."


def queue_offline(page: Page) -> None:
    page.context.set_offline(True)
    try:
        page.get_by_role("button", name="Log it").click()
        expect(page.get_by_role("status").filter(has_text="not sent yet")).to_be_visible()
    finally:
        page.context.set_offline(False)


def use_the_key_elsewhere(page: Page, server: Server, note: str) -> None:
    """The same key reaches the server first with other content (a copy of the page sent from elsewhere)."""
    form = page.locator("#quick-entry")
    key = form.locator('input[name="idempotency_key"]').input_value()
    token = form.locator('input[name="_csrf_token"]').input_value()
    category = query(server, "SELECT id FROM category WHERE name = 'Kindness' LIMIT 1")[0][0]
    answer = page.request.post("/incidents/", max_redirects=0, form={
        "_csrf_token": token, "idempotency_key": key, "pupil_id": str(a_pupil(server, 9)["id"]), "role": "involved",
        "category_id": str(category), "note": note})
    assert answer.status == 303


def test_a_422_entry_needs_attention_and_is_sent_as_new_or_discarded(phone: Phone):  # noqa: F811
    page, server = phone.page, phone.server
    wait_for_control(page)
    notes = [unique_note("attention-a"), unique_note("attention-b")]
    for i, note in enumerate(notes):
        fill_quick_entry(page, a_pupil(server, 6 + i), note)
        use_the_key_elsewhere(page, server, note + "-elsewhere")
        queue_offline(page)
    page.goto("/outbox/")
    entries = page.locator("#outbox-list > li")
    expect(entries).to_have_count(2)
    for i, note in enumerate(notes):
        entry = entries.nth(i)
        expect(entry).to_contain_text("Needs attention")
        expect(entry.locator(".entry-message")).to_have_text(TAKEN)
        expect(entry.locator(".entry-content")).to_contain_text(note)  # the content, so the person can judge
        expect(entry.locator(".entry-content dt")).to_have_text(["Pupils", "What", "When", "Note"])
        expect(entry.get_by_role("button")).to_have_text(["Send as a new entry", "Discard"])
    expect_badge(page, 2)
    assert [incidents_with_note(server, n) for n in notes] == [0, 0]
    check(Axe(), page, "outbox-needs-attention")

    # The first goes as a new entry.
    entries.nth(0).get_by_role("button", name="Send as a new entry").click()
    expect(entries).to_have_count(1)
    assert incidents_with_note(server, notes[0]) == 1 and incidents_with_note(server, notes[0] + "-elsewhere") == 1

    # The second is discarded, but only once the person confirms.
    entries.nth(0).get_by_role("button", name="Discard").click()
    confirm = entries.nth(0).locator(".entry-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("deletes it from this phone for good")
    entries.nth(0).get_by_role("button", name="Keep it").click()
    expect(entries).to_have_count(1)
    entries.nth(0).get_by_role("button", name="Discard").click()
    entries.nth(0).get_by_role("button", name="Yes, discard it").click()
    expect(page.get_by_role("status")).to_have_text("Discarded. It was deleted from this phone.")
    expect(entries).to_have_count(0)
    expect_badge(page, 0)
    assert incidents_with_note(server, notes[1]) == 0


def test_a_refused_entry_is_fixed_in_its_form_and_sent(phone: Phone):  # noqa: F811
    page, server = phone.page, phone.server
    wait_for_control(page)
    note = unique_note("fix")
    fill_quick_entry(page, a_pupil(server, 8), note)
    long_ago = dt.datetime.now(ZoneInfo("Europe/London")) - dt.timedelta(days=70)
    page.locator("#occurred_at").fill(long_ago.strftime("%Y-%m-%dT%H:%M"))
    queue_offline(page)
    page.goto("/outbox/")
    entry = page.locator("#outbox-list > li")
    expect(entry.locator(".entry-message")).to_have_text("That is more than 60 days ago. Check the date.")
    expect(entry.get_by_role("button")).to_have_text(["Fix it in the form", "Discard"])
    expect_badge(page, 1)

    entry.get_by_role("button", name="Fix it in the form").click()
    # The form again, with the server's message and what was entered.
    expect(page.get_by_role("alert").filter(has_text="Nothing was saved yet")).to_be_visible()
    expect(page.locator("#occurred_at-error")).to_have_text("That is more than 60 days ago. Check the date.")
    expect(page.get_by_label("Note")).to_have_value(note)
    expect_badge(page, 1)
    page.locator("#occurred_at").fill(dt.datetime.now(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status").filter(has_text="Logged.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/incidents/new\?logged=\d+$"))
    expect_badge(page, 0)
    assert incidents_with_note(server, note) == 1
