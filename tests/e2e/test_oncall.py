"""On-call in real browsers: two taps to raise, a live board, who is coming, escalation, catching up."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, enrolled_page
from tests.e2e.test_accessibility import check


def person(browser: Browser, server: Server, *roles: str, prefix: str) -> Page:
    page, name = enrolled_page(browser, server, *roles, first_name=prefix)
    page.display_name = name  # type: ignore[attr-defined]
    return page


def first_room(server: Server) -> tuple[int, str]:
    with closing(sqlite3.connect(server.db_path)) as con:
        return con.execute("SELECT id, name FROM location WHERE name LIKE 'Room %' ORDER BY id LIMIT 1").fetchone()


def open_board(page: Page) -> None:
    page.goto("/oncall/board")
    expect(page.get_by_role("heading", name="On-call board")).to_be_visible()
    page.wait_for_timeout(400)  # the event stream connects


def test_raise_in_two_taps_and_see_who_is_coming(browser: Browser, server: Server):
    room_id, room = first_room(server)
    responder = person(browser, server, "staff", "responder", prefix="Rob")
    open_board(responder)
    teacher = person(browser, server, "staff", prefix="Tia")
    # A QR code on the classroom door opens the form with the room chosen: then one tap on a reason sends it.
    teacher.goto(f"/oncall/new?location={room_id}")
    expect(teacher.get_by_label("Where you are")).to_have_value(str(room_id))
    check(Axe(), teacher, "oncall-raise")
    teacher.get_by_role("button", name="Remove a pupil").click()
    expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
    expect(teacher.locator("#oncall-live .state")).to_have_text("Waiting for a responder")

    card = responder.locator("#oncall-board article").filter(has_text=room)
    expect(card).to_be_visible()  # no reload on the board
    check(Axe(), responder, "oncall-board")
    card.get_by_role("link", name=room).click()
    responder.get_by_role("button", name="I'll take it").click()
    responder.get_by_role("button", name="On my way").click()

    expect(teacher.locator("#oncall-live .state")).to_have_text(f"{responder.display_name}: on the way")
    teacher.context.close()
    responder.context.close()


def test_nobody_claims_it_so_it_escalates(browser: Browser, server: Server):
    with closing(sqlite3.connect(server.db_path)) as con, con:
        con.execute("UPDATE on_call_settings SET ack_seconds = 2")
    try:
        room_id, _ = first_room(server)
        teacher = person(browser, server, "staff", prefix="Tom")
        teacher.goto(f"/oncall/new?location={room_id}")
        teacher.get_by_role("button", name="Behaviour escalation").click()
        expect(teacher.locator("#oncall-live .flag")).to_have_text(re.compile(r"Escalated \(tier 2\)"), timeout=15_000)
        teacher.context.close()
    finally:
        with closing(sqlite3.connect(server.db_path)) as con, con:
            con.execute("UPDATE on_call_settings SET ack_seconds = 60")


def test_a_reconnecting_responder_catches_up(browser: Browser, server: Server):
    room_id, room = first_room(server)
    responder = person(browser, server, "staff", "responder", prefix="Ria")
    open_board(responder)
    responder.context.set_offline(True)
    teacher = person(browser, server, "staff", prefix="Ted")
    teacher.goto(f"/oncall/new?location={room_id}")
    teacher.get_by_role("button", name="Medical").click()
    expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
    request_id = teacher.url.rsplit("/", 1)[1]
    responder.wait_for_timeout(500)
    responder.context.set_offline(False)
    # EventSource reconnects by itself and sends Last-Event-ID: the missed request arrives without a reload.
    expect(responder.locator(f"#oncall-{request_id}")).to_be_visible(timeout=15_000)
    teacher.context.close()
    responder.context.close()
