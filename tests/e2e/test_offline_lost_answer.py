"""The case that makes duplicates elsewhere: the server saved the entry but its answer never reached the
phone. The outbox keeps it, sends it again with the same key, and the server answers from its receipt."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    Phone,
    a_pupil,
    expect_badge,
    expect_list,
    fill_quick_entry,
    incidents_with_note,
    outbox_server,
    phone,
    unique_note,
    wait_for_control,
)


def test_an_answer_lost_after_commit_is_replayed_into_one_record(phone: Phone):  # noqa: F811
    page, server = phone.page, phone.server
    wait_for_control(page)
    note = unique_note("lost-answer")
    fill_quick_entry(page, a_pupil(server, 2), note)
    reached = []
    dropping = [True]

    def commit_then_drop(route: Route) -> None:
        if not route.request.service_worker or route.request.method != "POST" or not dropping[0]:
            return route.fallback()
        response = route.fetch(max_redirects=0)  # the server saves it (or answers from its receipt)...
        reached.append(response.status)
        route.abort("connectionreset")  # ...and the answer is lost on the way back

    page.context.route("**/incidents/", commit_then_drop)
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status").filter(has_text="not sent yet")).to_be_visible()
    # While answers keep getting lost (the worker may retry by itself meanwhile), the entry stays queued.
    expect_badge(page, 1)
    assert reached and set(reached) == {303} and incidents_with_note(server, note) == 1  # saved once
    dropping[0] = False

    # Opening the list already tries again; "Send now" makes sure. The entry leaves the phone only because
    # the server answered the replay from its receipt: there is still one record.
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^(Sent\. )?Nothing is waiting"))
    expect_badge(page, 0)
    expect_list(page, 0)
    assert incidents_with_note(server, note) == 1


# The portal's redirect to another origin is refused by the CSP's form-action 'self', and reported: as it should.
@pytest.mark.csp_violation_expected
def test_a_wifi_login_page_in_the_way_does_not_count_as_sent(phone: Phone):  # noqa: F811
    page, server = phone.page, phone.server
    note = unique_note("portal")
    fill_quick_entry(page, a_pupil(server, 3), note)

    # A captive portal answers every request of the worker with its own page, and redirects.
    def portal(route: Route) -> None:
        if not route.request.service_worker:
            return route.fallback()
        if route.request.method == "POST":
            return route.fulfill(status=302, headers={"Location": "http://wifi.example/login"})
        return route.fulfill(status=200, content_type="text/html", body="<h1>Log in to School-Guest</h1>")

    page.context.route("**/*", portal)
    page.get_by_role("button", name="Log it").click()
    page.wait_for_timeout(500)
    page.context.unroute("**/*")
    assert incidents_with_note(server, note) == 0
    page.goto("/outbox/")
    entry = page.locator("#outbox-list > li")
    expect(entry).to_have_count(1)  # kept: neither the redirect nor the page came from Corridor
    page.get_by_role("button", name="Send now").click()
    expect(entry).to_have_count(0)
    expect_badge(page, 0)
    assert incidents_with_note(server, note) == 1
