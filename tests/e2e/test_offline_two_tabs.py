"""Two tabs open on the phone, each with an entry waiting: the signal comes back and both tabs ask for a
replay at the same moment (the online event, Background Sync and "send now" in each): one record each."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    Phone,
    a_pupil,
    expect_badge,
    fill_quick_entry,
    incidents_with_note,
    outbox_server,
    phone,
    unique_note,
    wait_for_control,
    wait_until,
)


def test_two_tabs_replaying_at_once_make_one_record_each(phone: Phone):  # noqa: F811
    page, server = phone.page, phone.server
    wait_for_control(page)
    tabs = [page, page.context.new_page()]
    notes = [unique_note("tab-a"), unique_note("tab-b")]
    for i, (tab, note) in enumerate(zip(tabs, notes)):
        fill_quick_entry(tab, a_pupil(server, 3 + i), note)
    page.context.set_offline(True)
    for tab in tabs:
        tab.get_by_role("button", name="Log it").click()
        expect(tab.get_by_role("status").filter(has_text="not sent yet")).to_be_visible()
    for tab in tabs:
        tab.reload()  # the offline page, listing both entries
        expect(tab.locator("#outbox-list > li")).to_have_count(2)
    expect_badge(tabs[0], 2)

    page.context.set_offline(False)
    for tab in tabs:
        tab.evaluate("document.getElementById('outbox-send').click()")  # both, without waiting for either
    for tab in tabs:
        expect_badge(tab, 0)
    wait_until(lambda: [incidents_with_note(server, n) for n in notes] == [1, 1])
    page.wait_for_timeout(1500)  # and nothing arrives late, twice
    assert [incidents_with_note(server, n) for n in notes] == [1, 1]
