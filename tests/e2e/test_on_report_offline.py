"""Rating a pupil on report without signal, on a 390x844 phone: with the 'on report now' list open and the phone
offline, a teacher opens the pupil (tap 1) and taps a rating for each of the two targets (taps 2 and 3); both wait
in the outbox, saying so next to each target. Meanwhile the pastoral officer, online, rates the first target
afresh. Back online, each rating reaches the server once: the teacher's older rating of the first target does not
replace the officer's newer one, the second target has the teacher's; the grid shows them. axe finds no
violations on the list (online, offline with entries kept) and on the report.

The server runs on the real clock: the school's day is set to one period around the current UK time (skipped in the
last hour before midnight, where a period could not fit)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.e2e.outbox_kit import (  # noqa: F401  (fixtures)
    Phone,
    a_pupil,
    expect_badge,
    outbox_server,
    person_id,
    phone,
    query,
    wait_until,
)
from tests.e2e.test_accessibility import check
from tests.e2e.test_oncall import person


def ratings(server, report: int) -> list[tuple]:
    return query(server, "SELECT t.position, r.score, r.rated_by FROM on_report_rating r "
                         "JOIN on_report_target t ON t.id = r.target WHERE r.report = ? ORDER BY t.position", report)


def audited(server, report: int, action: str) -> int:
    return query(server, "SELECT count(*) FROM audit_event WHERE action = ? AND subject_type = 'on_report' "
                         "AND subject_id = ?", action, report)[0][0]


def test_a_teacher_rates_offline_from_the_now_list_and_it_syncs_once(browser: Browser, phone: Phone):
    now = dt.datetime.now(ZoneInfo("Europe/London"))
    if now.hour == 23:
        pytest.skip("no room for a period around now before midnight")
    server, page, axe = phone.server, phone.page, Axe()
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
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#saved")).to_be_visible()
    admin.context.close()

    pupil = a_pupil(server, 3)
    officer = person(browser, server, "staff", "pastoral", prefix="Pat")
    officer.goto(f"/pupils/{pupil['id']}")
    officer.locator("#put-on-report").click()
    officer.get_by_label("Target 1", exact=True).fill("Arrive on time with equipment")
    officer.get_by_label("Target 2 (optional)", exact=True).fill("Stay in my seat")
    officer.get_by_role("button", name="Put on report").click()
    expect(officer).to_have_url(re.compile(r"/on-report/\d+$"))
    report = int(officer.url.rsplit("/", 1)[1])

    page.goto("/on-report/")
    item = page.locator(f"#now-{report}")
    expect(item).to_contain_text(pupil["name"])
    check(axe, page, "onreport-offline-list")
    page.context.set_offline(True)
    try:
        item.locator("summary").click()  # tap 1: the pupil
        first, second = item.locator("form.rate-form").nth(0), item.locator("form.rate-form").nth(1)
        first.get_by_role("button", name="3 · Met").click()  # tap 2
        expect(first.locator(".rate-state")).to_contain_text("Saved on this phone, not sent yet: 3 · Met")
        second.get_by_role("button", name="2 · Partly met").click()  # tap 3
        expect(second.locator(".rate-state")).to_contain_text("Saved on this phone, not sent yet: 2 · Partly met")
        expect_badge(page, 2)
        expect(item.locator(".now-count")).to_have_text("rated")
        check(axe, page, "onreport-offline-kept")
        page.screenshot(path="/work/notes/shots/onreport_offline-kept.png", full_page=True)
        assert ratings(server, report) == []

        # The officer, online, rates the first target after the teacher did: the newer rating.
        page.wait_for_timeout(1100)
        officer.goto(f"/on-report/{report}/rate")
        officer.locator("#target-1").get_by_role("button", name="4 · Exceeded").click()
        expect(officer.locator("#target-1 .rate-state")).to_contain_text("Saved: 4 · Exceeded")
        wait_until(lambda: len(ratings(server, report)) == 1)
    finally:
        page.context.set_offline(False)

    expect_badge(page, 0)
    teacher = person_id(server, phone.email)
    officer_id = ratings(server, report)[0][2]
    wait_until(lambda: len(ratings(server, report)) == 2)
    page.wait_for_timeout(1500)  # nothing comes twice, even after the later triggers
    assert ratings(server, report) == [(0, 4, officer_id), (1, 2, teacher)]
    assert audited(server, report, "on_report.rated") == 2  # the officer's first, the teacher's second
    assert audited(server, report, "on_report.rating_kept_newer") == 1  # the teacher's older first target
    assert audited(server, report, "on_report.rating_changed") == 0

    officer.goto(f"/on-report/{report}")
    grid = officer.locator("#grid")
    expect(grid).to_contain_text("4 · Exceeded")
    expect(grid).to_contain_text("2 · Partly met")
    expect(grid).not_to_contain_text("3 · Met")
    check(axe, officer, "onreport-offline-report")
    officer.screenshot(path="/work/notes/shots/onreport_offline-report.png", full_page=True)
    officer.context.close()
