"""A responder's on-call board is open on their phone when they are signed out everywhere from elsewhere: the
next request, with a pupil's name, never reaches that board, and the board asks them to sign in."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_oncall import first_room, open_board, person

# Every message the page's event streams receive, kept in sessionStorage so that it survives the page
# reloading itself onto the sign-in page. Injected by Playwright, not by the page (the CSP allows no inline
# script): it records what arrived at the browser, whatever the page then did with it.
RECORD_STREAMS = """(() => {
  const Original = window.EventSource;
  if (!Original) return;
  window.EventSource = function (url, options) {
    const source = new Original(url, options);
    const note = (kind) => (event) => {
      const seen = JSON.parse(sessionStorage.getItem("streamed") || "[]");
      seen.push({ kind, url: String(url), data: event.data || "" });
      sessionStorage.setItem("streamed", JSON.stringify(seen));
    };
    ["request", "notification", "message", "ended"].forEach((kind) => source.addEventListener(kind, note(kind)));
    return source;
  };
  window.EventSource.prototype = Original.prototype;
  Object.assign(window.EventSource, { CONNECTING: 0, OPEN: 1, CLOSED: 2 });
})();"""


def two_pupils(server: Server) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(server.db_path)) as con:
        rows = con.execute("SELECT id, COALESCE(NULLIF(preferred_first_name, ''), legal_first_name) || ' ' || "
                           "legal_last_name FROM pupil ORDER BY id DESC LIMIT 2").fetchall()
    assert len(rows) == 2
    return rows


def email_of(server: Server, name: str) -> str:
    with closing(sqlite3.connect(server.db_path)) as con:
        return con.execute("SELECT email FROM person WHERE display_name = ?", (name,)).fetchone()[0]


def raise_for(teacher: Page, room_id: int, pupil_id: int) -> None:
    teacher.goto(f"/oncall/new?location={room_id}&pupil={pupil_id}")
    teacher.get_by_role("button", name="Remove a pupil").click()
    expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()


def streamed(page: Page) -> list[dict]:
    return json.loads(page.evaluate("() => sessionStorage.getItem('streamed') || '[]'"))


def test_a_board_open_when_its_person_is_signed_out_everywhere_gets_no_more_requests(browser: Browser,
                                                                                    server: Server):
    room_id, room = first_room(server)
    (first_id, first_pupil), (second_id, second_pupil) = two_pupils(server)
    responder = person(browser, server, "staff", "responder", prefix="Sol")
    responder.context.add_init_script(RECORD_STREAMS)
    teacher = person(browser, server, "staff", prefix="Tam")
    open_board(responder)

    # Signed in, the board is live: a request with a pupil's name appears without a reload.
    raise_for(teacher, room_id, first_id)
    expect(responder.locator("#oncall-board article").filter(has_text=first_pupil)).to_be_visible()

    # Their phone is lost: they are signed out everywhere from another device. The board is still open.
    server.revoke_sessions(email_of(server, responder.display_name))
    raise_for(teacher, room_id, second_id)

    # The board's stream ends instead of delivering the request, and the page asks them to sign in.
    expect(responder.get_by_role("heading", level=1)).to_have_text("Sign in", timeout=10_000)
    expect(responder).to_have_url(re.compile(r"/signin$"))
    received = streamed(responder)
    assert any(first_pupil in m["data"] for m in received), received  # the recording works
    assert not any(second_pupil in m["data"] for m in received), received
    assert any(m["kind"] == "ended" for m in received), received
    expect(responder.get_by_text(second_pupil)).to_have_count(0)
    teacher.context.close()
    responder.context.close()
