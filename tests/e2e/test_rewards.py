"""Rewards in the browser: a pastoral officer on a 390x844 phone opens the rewards totals for this week, the
leaderboard, and the leaderboard's present mode on a 1280x720 projector (no app bar, first names and initials only,
keyboard: Tab reaches Exit and Full screen, Esc leaves), then prints a milestone certificate (a PDF download) and
finds it under "Already printed". axe finds no violations on any of them; screenshots /work/notes/shots/rewards_*.png."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check as axe_check

SHOTS = Path("/work/notes/shots")
PROJECTOR = {"width": 1280, "height": 720}


def check(axe: Axe, page: Page, screen: str) -> None:
    """axe clean, and a full-page screenshot kept in /work/notes/shots for people to look at."""
    axe_check(axe, page, screen)
    page.screenshot(path=str(SHOTS / f"{screen}.png"), full_page=True)


def rewards_this_week(server: Server) -> dict:
    """A few minutes ago: 55 points for the 21st pupil (a 50-point milestone) and 5 for the 22nd, in a reward
    category (other browser tests take the first and eleventh pupils)."""
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con, con:
        rows = con.execute("SELECT p.id, p.school, p.preferred_first_name, p.legal_first_name, p.legal_last_name, "
                           "p.year_code, t.name FROM pupil p JOIN tutor_group t ON t.id = p.tutor_group "
                           "WHERE p.left_on IS NULL ORDER BY p.id LIMIT 2 OFFSET 20").fetchall()
        school = rows[0][1]
        category = con.execute("SELECT id FROM category WHERE school = ? AND kind = 'positive' ORDER BY id LIMIT 1",
                               (school,)).fetchone()[0]
        person = con.execute("SELECT person FROM membership WHERE school = ? ORDER BY id LIMIT 1",
                             (school,)).fetchone()[0]
        for (pupil, *_), points in zip(rows, (55, 5)):
            at = now.isoformat(sep=" ")
            cur = con.execute("INSERT INTO incident (school, location, occurred_at, note, recorded_by, recorded_at, "
                              "version, outcome, deleted_at, deleted_by, deleted_reason) "
                              "VALUES (?, NULL, ?, '', ?, ?, 1, '', NULL, NULL, '')", (school, at, person, at))
            con.execute("INSERT INTO incident_pupil (incident, pupil, role, category, points, status, "
                        "exclusion_reasons, updated_at) VALUES (?, ?, 'involved', ?, ?, 'resolved', '', ?)",
                        (cur.lastrowid, pupil, category, points, at))
    top = rows[0]
    return {"id": top[0], "first": top[2] or top[3], "last": top[4], "year": top[5], "form": top[6]}


def test_a_pastoral_officer_shows_the_board_in_assembly_and_prints_a_certificate(
        page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    pupil = rewards_this_week(server)
    name = f"Pat {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("rewards-past"), "staff", "pastoral", name=name), name)
    page.get_by_role("link", name=re.compile("^Rewards")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Rewards: year "))
    page.locator("#year").select_option(pupil["year"])
    page.locator("#period").select_option("week")
    page.get_by_role("button", name="Show").click()
    full = f"{pupil['first']} {pupil['last']}"
    expect(page.locator("#pupil-totals tbody tr").first).to_contain_text(full)
    expect(page.locator("#pupil-totals tbody tr").first).to_contain_text("55")
    check(axe, page, "rewards_totals")

    page.get_by_role("link", name="Leaderboard").click()
    short = f"{pupil['first']} {pupil['last'][0]}."
    expect(page.locator("#board-pupils tbody tr").first).to_contain_text(short)
    check(axe, page, "rewards_leaderboard")

    # The projector in the hall.
    page.set_viewport_size(PROJECTOR)
    page.get_by_role("link", name="Present on the hall's screen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Year {pupil['year']} reward points")
    expect(page.locator(".bar")).to_have_count(0)
    first = page.locator("#present-pupils li").first
    expect(first).to_contain_text(short)
    expect(first).to_contain_text("55")
    expect(page.locator("body")).not_to_contain_text(pupil["last"] + " ")  # never the surname in full
    size = first.locator(".who").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 40, f"the board's names are {size}px on a 1280x720 projector"
    check(axe, page, "rewards_present")
    page.keyboard.press("Tab")
    expect(page.locator("#exit-present")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#fullscreen")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Leaderboard: year {pupil['year']}")

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="Certificates").click()
    row = page.locator(f"#cert-{pupil['id']}-50")
    expect(row).to_contain_text(f"{full}, {pupil['form']}: 50 points")
    check(axe, page, "rewards_certificates")
    with page.expect_download() as download:
        row.get_by_role("button", name=f"Print {full}'s 50-point certificate").click()
    assert download.value.suggested_filename.startswith("reward-certificate-")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    page.reload()
    printed = page.locator(f"#printed-{pupil['id']}-50")
    expect(printed).to_contain_text(f"by {name}")
    expect(page.locator(f"#cert-{pupil['id']}-50")).to_have_count(0)
    check(axe, page, "rewards_certificates_printed")

    # Present mode on a phone too (someone checking the board before assembly).
    page.goto(page.url.replace("/rewards/certificates", "/rewards/leaderboard/present"))
    check(axe, page, "rewards_present_phone")
