"""Interventions on a 390x844 phone: a pastoral officer sets up a group from the home screen, puts two pupils on
it with their goals, takes a session register (a first try without marks shows the message by each pupil and
keeps the typed note), and reads the impact page. axe finds no violations on the register (with and without
errors) and the impact page. Screenshots in /work/notes/shots/interv_*.png."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check

SHOTS = Path("/work/notes/shots")


def two_pupils(server: Server) -> list[dict]:
    with closing(sqlite3.connect(server.db_path)) as con:
        rows = con.execute("SELECT id, preferred_first_name, legal_first_name, legal_last_name, year_code FROM pupil "
                           "WHERE left_on IS NULL ORDER BY id LIMIT 2 OFFSET 5").fetchall()
    return [{"id": r[0], "name": f"{r[1] or r[2]} {r[3]}", "year": r[4]} for r in rows]


def test_take_a_session_register_and_read_the_impact(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    name = f"Pip {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("interventions"), "staff", "pastoral", name=name), name)
    page.goto("/")
    page.get_by_role("link", name="Interventions").click()
    page.get_by_role("link", name="Set up a programme").click()
    page.get_by_label("Name").fill("Friendship group")
    page.get_by_label("Group").check()
    page.get_by_label("Aims").fill("Fewer lunchtimes alone")
    page.get_by_label("How progress is measured").select_option(index=1)
    page.get_by_label("Cost in pounds").fill("240")
    page.get_by_role("button", name="Set up the programme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Friendship group")

    pupils = two_pupils(server)
    for i, pupil in enumerate(pupils):
        page.get_by_label("Add a pupil").select_option(value=str(pupil["id"]))
        page.get_by_label("The pupil's own goals").fill(f"Sit with a friend at lunch\nJoin a club {i}")
        page.get_by_role("button", name="Add to the programme").click()
        expect(page.locator("#participants")).to_contain_text(pupil["name"])

    page.get_by_role("link", name="Take a register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register: Friendship group")
    page.get_by_label(f"Note on {pupils[0]['name']}").fill("Brought a friend")
    page.get_by_role("button", name="Save the register").click()
    expect(page.locator(".field-error").first).to_have_text("Mark this pupil attended, absent or excused.")
    expect(page.get_by_label(f"Note on {pupils[0]['name']}")).to_have_value("Brought a friend")
    page.screenshot(path=str(SHOTS / "interv_register_errors.png"), full_page=True)
    check(axe, page, "interv_register_errors")

    first, second = (page.locator("fieldset.register-row").nth(i) for i in range(2))
    first.get_by_label("Attended").check()
    second.get_by_label("Absent").check()
    page.get_by_label("Session notes").fill("Board games; talked about lunch plans")
    page.screenshot(path=str(SHOTS / "interv_register.png"), full_page=True)
    check(axe, page, "interv_register")
    page.get_by_role("button", name="Save the register").click()
    expect(page.locator("#sessions")).to_contain_text("Board games; talked about lunch plans")
    rows = page.locator("#participants li")
    expect(rows.nth(0)).to_contain_text("Attended 1 of 1 session held (100%)")
    expect(rows.nth(1)).to_contain_text("Below 80% attendance")
    page.screenshot(path=str(SHOTS / "interv_programme.png"), full_page=True)
    check(axe, page, "interv_programme")

    page.get_by_role("link", name="Impact report").click()
    expect(page.locator("[data-figure=pupils]")).to_have_text("2")
    expect(page.locator("[data-figure=cost_per_pupil]")).to_have_text("£120.00")
    expect(page.locator("[data-figure=completion_attended]")).to_contain_text("1 of 2 (50%)")
    page.screenshot(path=str(SHOTS / "interv_impact.png"), full_page=True)
    check(axe, page, "interv_impact")
