"""A pupil on report rated from a 390x844 phone: an admin sets a period running now, a pastoral officer puts a pupil
on report from the profile, a teacher rates a target in two taps from the "on report now" list (the pupil, then the
rating, within the three taps the issue allows), a missed target shows as missing; axe finds no violations;
screenshots for review.

The server runs on the real clock: the admin's period is set around the current UK time (skipped in the last hour
before midnight, where a period could not fit)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server
from tests.e2e.test_accessibility import SHOTS as AXE_SHOTS, check
from tests.e2e.test_oncall import person
from tests.e2e.test_quick_entry import two_pupils

SHOTS = Path("/work/notes/shots")


def shot(page, screen: str) -> None:
    check(Axe(), page, f"report-{screen}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(AXE_SHOTS / f"report-{screen}.png", SHOTS / f"report-{screen}.png")


def test_a_teacher_rates_a_pupil_on_report_from_the_now_list(browser: Browser, server: Server):
    now = dt.datetime.now(ZoneInfo("Europe/London"))
    if now.hour == 23:
        pytest.skip("no room for a period around now before midnight")
    starts = max(now - dt.timedelta(minutes=5), now.replace(hour=0, minute=0))
    ends = min(now + dt.timedelta(minutes=55), now.replace(hour=23, minute=59))
    admin = person(browser, server, "admin", "staff", prefix="Ada")
    admin.goto("/on-report/day")
    for i in range(12):  # the whole day replaced by one period around now
        for field in ("name", "starts", "ends"):
            admin.locator(f"#{field}_{i}").fill("")
    admin.locator("#name_0").fill("Period 1")
    admin.locator("#starts_0").fill(starts.strftime("%H:%M"))
    admin.locator("#ends_0").fill(ends.strftime("%H:%M"))
    admin.locator("#ends_1").fill("25:00")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#ends_1-error")).to_be_visible()  # a bad row is named and what was typed is kept
    expect(admin.locator("#ends_1")).to_have_value("25:00")
    shot(admin, "day-errors")
    admin.locator("#ends_1").fill("")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#saved")).to_be_visible()
    admin.context.close()

    pupil = two_pupils(server)[0]
    officer = person(browser, server, "staff", "pastoral", prefix="Pat")
    officer.goto(f"/pupils/{pupil['id']}")
    officer.locator("#put-on-report").click()
    officer.get_by_label("Target 1", exact=True).fill("Arrive on time with equipment")
    officer.get_by_label("Target 1 in the pupil's words (optional)").fill("I'll be ready when the bell goes")
    officer.get_by_label("Target 2 (optional)", exact=True).fill("Stay in my seat")
    shot(officer, "new")
    officer.get_by_role("button", name="Put on report").click()
    expect(officer).to_have_url(re.compile(r"/on-report/\d+$"))
    expect(officer.locator("#grid")).to_contain_text("Due now")
    report_url = officer.url

    teacher = person(browser, server, "staff", prefix="Tia")
    teacher.goto("/on-report/")
    expect(teacher.locator("#now-list")).to_contain_text(pupil["name"])
    shot(teacher, "now-list")
    item = teacher.locator("#now-list > li").filter(has_text=pupil["name"])
    item.locator("summary").click()  # tap 1: the pupil, whose targets open in the list
    shot(teacher, "rate")
    item.locator("form.rate-form").first.get_by_role("button", name="3 · Met").click()  # tap 2
    expect(item.locator("form.rate-form").first.locator(".rate-state")).to_have_text("Saved: 3 · Met.")
    expect(item.locator(".now-count")).to_have_text("1 of 2 targets rated")
    item.get_by_role("link", name=re.compile(re.escape(pupil["name"]))).click()  # the rating page, as saved
    expect(teacher.get_by_role("heading", level=1)).to_have_text(pupil["name"])
    expect(teacher.locator("#target-1")).to_contain_text("Rated 3 · Met by " + teacher.display_name)
    expect(teacher.locator("#target-2")).to_contain_text("Not rated yet")
    shot(teacher, "rated")

    officer.goto(report_url)
    grid = officer.locator("#grid")
    expect(grid).to_contain_text("3 · Met")
    expect(grid).not_to_contain_text("0 ·")
    expect(officer.locator("#trend")).to_contain_text("1 of 2 rated · average 3.0")
    shot(officer, "report")
    officer.get_by_label("Reason").first.fill("Walked out of the lesson")
    officer.get_by_role("button", name="Change the level").click()
    expect(officer.locator("#level")).to_have_text("Head of year report")
    expect(officer.locator("#changes")).to_contain_text("Walked out of the lesson")
