"""Entries queued on the phone survive the server being killed, the service worker being replaced and the
browser being closed; when all are back, every entry is delivered once, as the person who made it, with a
CSRF token fetched afresh (the browser forgot its CSRF cookie when it closed)."""

from __future__ import annotations

import uuid

from playwright.sync_api import BrowserType, expect

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Authenticator, enrol, fresh_email
from tests.e2e.outbox_kit import (  # noqa: F401
    a_pupil,
    expect_badge,
    fill_quick_entry,
    incidents_with_note,
    outbox_server,
    person_id,
    query,
    unique_note,
    wait_for_control,
    wait_until,
)
from tests.e2e.test_accessibility import PHONE


def launch(browser_type: BrowserType, profile, url: str):
    return browser_type.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                  base_url=url, viewport=PHONE)


def test_entries_survive_a_killed_server_and_a_browser_restart(browser_type: BrowserType, outbox_server,  # noqa: F811
                                                             tmp_path):
    profile = tmp_path / "profile"
    context = launch(browser_type, profile, outbox_server.url)
    page = context.pages[0] if context.pages else context.new_page()
    Authenticator(page)
    email, name = fresh_email("restart"), f"Rae {uuid.uuid4().hex[:6].upper()}"
    enrol(page, outbox_server.invite(email, "staff", name=name), name)
    wait_for_control(page)

    # Three forms filled in while there was signal, sent where there is none.
    notes = [unique_note(f"restart-{i}") for i in range(3)]
    tabs = []
    for i, note in enumerate(notes):
        tab = context.new_page()
        fill_quick_entry(tab, a_pupil(outbox_server, i), note)
        tabs.append(tab)
    context.set_offline(True)
    for tab in tabs:
        tab.get_by_role("button", name="Log it").click()
        expect(tab.get_by_role("status").filter(has_text="not sent yet")).to_be_visible()
    expect_badge(tabs[-1], 3)

    # The signal comes back but the server has been killed: every try fails, and nothing is lost.
    outbox_server.kill()
    context.set_offline(False)
    tabs[-1].get_by_role("button", name="Send now").click()
    expect(tabs[-1].get_by_role("status")).to_have_text("Not sent yet: 3 entries are still waiting.")
    expect(tabs[-1].locator("#outbox-list > li").first).to_contain_text("tried")
    expect_badge(tabs[-1], 3)

    # The worker goes too (as when the browser replaces it with a new version): the outbox does not.
    assert tabs[-1].evaluate("navigator.serviceWorker.getRegistration().then((r) => r.unregister())")
    # The phone's browser is closed, the server restarted; the app is opened again.
    context.close()
    outbox_server.start()
    context = launch(browser_type, profile, outbox_server.url)
    page = context.pages[0] if context.pages else context.new_page()
    kept = {c["name"] for c in context.cookies()}
    assert "corridor_session" in kept and "corridor_csrf" not in kept, kept
    page.goto("/outbox/")
    expect_badge(page, 0)
    wait_until(lambda: all(incidents_with_note(outbox_server, note) == 1 for note in notes))
    makers = {row[0] for row in query(outbox_server, "SELECT recorded_by FROM incident WHERE note LIKE 'restart-%'")}
    assert makers == {person_id(outbox_server, email)}
    page.wait_for_timeout(1000)
    assert [incidents_with_note(outbox_server, note) for note in notes] == [1, 1, 1]
    context.close()
