"""Quick entry on a 390x844 phone: the sticky "Log it", the keyboard out of the way, the part's points, the last
place used, the confirmation and its undo."""

from __future__ import annotations

import re
import sqlite3
import uuid
from contextlib import closing

from playwright.sync_api import Page, expect

from tests.e2e.conftest import SHOTS, Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE
from tests.e2e.test_quick_entry import two_pupils


def in_view_and_on_top(page: Page, selector: str) -> bool:
    """The element is inside the viewport, and a tap at its centre lands on it (nothing covers it)."""
    return page.evaluate("""(selector) => {
        const el = document.querySelector(selector);
        const r = el.getBoundingClientRect();
        if (r.top < 0 || r.bottom > window.innerHeight || r.height < 44) return false;
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return hit === el || el.contains(hit);
    }""", selector)


def query(server: Server, sql: str, *args) -> list[tuple]:
    with closing(sqlite3.connect(server.db_path)) as con:
        return con.execute(sql, args).fetchall()


def test_log_a_fight_with_a_target_on_a_phone_then_undo_it(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    name = f"Pia {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("teacher"), "staff", name=name), name)
    page.get_by_role("link", name=re.compile("^Log it")).click()
    first, second = two_pupils(server)
    search = page.get_by_label("Find a pupil")

    search.press_sequentially(first["typed"], delay=30)
    page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(first["name"]))).first.click()
    # The search box lets go of focus, so a phone's keyboard closes and the categories can be seen.
    assert page.evaluate("document.activeElement && document.activeElement.id") != "pick-q"
    expect(page.get_by_text("Fighting / physical aggression")).to_be_in_viewport()
    search.press_sequentially(second["typed"], delay=30)
    page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(second["name"]))).first.click()
    chosen = page.locator("#chosen > li")
    chosen.nth(1).locator("select.role").select_option("target")
    # The target's own line now says they are logged with no sanction, and it can still be changed.
    expect(chosen.nth(1).locator("select.pupil-category option:checked")).to_have_text("Target (no sanction)")
    expect(chosen.nth(0).locator("select.pupil-category")).to_have_value("")

    page.get_by_text("Fighting / physical aggression").click()
    expect(page.locator("#log-summary")).to_have_text("Fighting / physical aggression · 2 pupils")
    assert in_view_and_on_top(page, "#log-it"), "Log it is not reachable without scrolling"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "quick-entry-phone-sticky.png"))
    page.get_by_label("Where").select_option(label="Canteen")
    assert in_view_and_on_top(page, "#log-it")
    page.locator("#log-it").click()

    status = page.locator("#logged")
    expect(status).to_contain_text("Logged. Fighting / physical aggression for")
    expect(status).to_contain_text(f"{first['name']} (instigator, -5 points)")
    expect(status).to_contain_text(f"{second['name']} (target: Target (no sanction), no points)")
    expect(status).to_contain_text("Canteen")
    latest = query(server, "SELECT max(id) FROM incident")[0][0]
    points = dict(query(server, "SELECT pupil, points FROM incident_pupil WHERE incident = ?", latest))
    assert points == {first["id"]: -5, second["id"]: 0}
    # The next entry starts where this person was last.
    expect(page.get_by_label("Where").locator("option:checked")).to_have_text("Canteen")
    page.screenshot(path=str(SHOTS / "quick-entry-phone-logged.png"))

    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#undone")).to_contain_text("Undone")
    assert query(server, "SELECT deleted_at IS NOT NULL FROM incident WHERE id = ?", latest) == [(1,)]
    assert query(server, "SELECT count(*) FROM audit_event WHERE action = 'incident.undone' AND subject_id = ?",
                 str(latest)) == [(1,)]
    page.screenshot(path=str(SHOTS / "quick-entry-phone-undone.png"))


def test_the_undo_button_goes_after_30_seconds(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    page.clock.install()
    name = f"Uma {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("teacher"), "staff", name=name), name)
    page.get_by_role("link", name=re.compile("^Log it")).click()
    pupil = two_pupils(server)[0]
    page.get_by_label("Find a pupil").press_sequentially(pupil["typed"], delay=30)
    page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"]))).first.click()
    page.get_by_text("Low-level disruption").click()
    page.locator("#log-it").click()
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    page.clock.run_for(31_000)
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    expect(page.locator("#logged")).to_contain_text("Logged. Low-level disruption for")
