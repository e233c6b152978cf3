"""Home visits walked at 390x844 by everyone who meets them: the officer who goes, the pastoral lead who is their
buddy, the DSL, and a member of staff with no pastoral role (who is told "not found" everywhere).

What it holds that the other home-visit browser tests do not: once a visit is under way its header says when it
really started (the clock runs from the tap, not from the plan), with the planned time beside it, and the office's
alert time still follows from the real start; the alarm's "I'm dealing with it" does not touch the card below it;
the board's cards start at the names; nothing on these pages is wider than the phone. axe finds no violations on
any page opened. Screenshots: /work/notes/shots/hvpolish_*.png.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check
from tests.e2e.test_home_visits import a_pupil

UK = ZoneInfo("Europe/London")
SHOTS = Path("/work/notes/shots")


def _phone(browser: Browser, server: Server, role: str, first: str) -> tuple[Page, str]:
    page = browser.new_context(base_url=server.url, viewport=PHONE).new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    name = f"{first} {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email(f"hvpolish-{first.lower()}"), "staff", *([role] if role else []),
                              name=name), name)
    return page, name


def _look(axe: Axe, page: Page, name: str) -> None:
    """axe clean, nothing wider than the phone, and a screenshot to look at."""
    check(axe, page, f"hvpolish-{name}")
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"{name}: the page is {wide} px wide on a {PHONE['width']} px phone"
    page.screenshot(path=str(SHOTS / f"hvpolish_{name}.png"), full_page=True)


def _box(page: Page, selector: str) -> dict:
    box = page.locator(selector).bounding_box()
    assert box, selector
    return box


def test_the_visit_page_says_when_it_really_started_and_the_alarm_and_board_are_laid_out(
        browser: Browser, server: Server):
    axe = Axe()
    SHOTS.mkdir(parents=True, exist_ok=True)
    officer, officer_name = _phone(browser, server, "pastoral", "Pat")
    lead, lead_name = _phone(browser, server, "pastoral_lead", "Lou")
    dsl, _ = _phone(browser, server, "dsl", "Dee")
    plain, _ = _phone(browser, server, "", "Sam")
    try:
        officer.goto(f"/home-visits/new?pupil={a_pupil(server)}")
        _look(axe, officer, "officer_plan")
        officer.get_by_label("Address").fill("7 Weir Close, Oakfield OF3 4CD")
        officer.get_by_label("Purpose of the visit").fill("Not in school since Monday: check he is safe and well")
        officer.get_by_label("Their mobile on the visit").fill("07700 900111")
        officer.get_by_label("Second staff member (optional)").select_option(label="Priya Kaur")
        officer.get_by_label("The second person's mobile").fill("07700 900222")
        officer.get_by_label("Buddy: who expects you back (not going)").select_option(label=lead_name)
        now = dt.datetime.now(UK)
        if officer.get_by_label("Day").input_value() != now.date().isoformat():
            # The form suggests a start 5-10 minutes on, which after 23:50 is tomorrow: not on today's board, which
            # this test reads. Plan it for this five minutes of today instead (a start up to 30 minutes past is
            # allowed), so the test does not depend on the hour it runs.
            officer.get_by_label("Day").fill(now.date().isoformat())
            officer.get_by_label("Start (UK time)").fill(now.replace(minute=now.minute - now.minute % 5).strftime("%H:%M"))
        planned_at = officer.get_by_label("Start (UK time)").input_value()  # the form's own suggestion: 5-10 minutes on
        officer.get_by_role("button", name="Save the plan").click()
        expect(officer).to_have_url(re.compile(r"/home-visits/\d+$"))
        visit_url = officer.url
        vid = visit_url.rsplit("/", 1)[1]
        officer.get_by_label("Known adults or dogs at the address").fill("None known")
        officer.get_by_label("Past incidents at the address").fill("None recorded")
        officer.get_by_label("No social worker").check()
        officer.get_by_label("The purpose is agreed with my lead").check()
        officer.get_by_role("button", name="Save the checklist").click()
        expect(officer.locator("#visit-when")).to_contain_text(planned_at)  # not started: the plan's time
        expect(officer.locator("#visit-when")).not_to_contain_text("started")
        _look(axe, officer, "officer_planned")
        officer.goto("/home-visits/")
        assert _box(officer, "#mine a")["height"] >= 44  # a list of visits: a thumb-sized tap each
        _look(axe, officer, "officer_index")

        lead.goto("/home-visits/")
        _look(axe, lead, "lead_index")
        lead.goto(visit_url)
        _look(axe, lead, "lead_authorise")
        lead.get_by_role("button", name="Authorise this visit").click()
        expect(lead.locator("#visit-state")).to_have_text("Authorised")
        lead.goto("/home-visits/board")
        expect(lead.locator(f"#visit-{vid}")).to_contain_text("Authorised")

        officer.goto(visit_url)
        _look(axe, officer, "officer_authorised")
        officer.get_by_role("button", name="Start visit").click()
        started = dt.datetime.now(UK)
        expect(officer.locator("#visit-state")).to_have_text("Under way")
        # The header: when it really started (this minute, or the one before if the minute turned), then the plan.
        when = officer.locator("#visit-when").inner_text()
        tapped = {started.strftime("%H:%M"), (started - dt.timedelta(minutes=1)).strftime("%H:%M")}
        match = re.search(r"started (\d\d:\d\d) \(planned (\d\d:\d\d)\)", when)
        assert match, f"the header does not say when the visit started: {when!r}"
        assert match.group(1) in tapped and match.group(2) == planned_at, when
        expect(officer.locator("#started-at")).to_have_text(match.group(1))
        expect(officer.locator("#planned-when")).to_contain_text(planned_at)
        # Due back and the office's alert follow from the real start: 45 minutes on, then tier 1's 5.
        due = officer.locator("#due-back").inner_text()
        real = dt.datetime.strptime(match.group(1), "%H:%M")
        assert due == (real + dt.timedelta(minutes=45)).strftime("%H:%M"), due
        expect(officer.locator("#office-alert")).to_have_text(
            "If you can't check out, the office will be alerted at "
            f"{(real + dt.timedelta(minutes=50)).strftime('%H:%M')}.")
        _look(axe, officer, "officer_under_way")

        expect(lead.locator(f"#visit-{vid}")).to_contain_text("Under way")  # live
        lead.goto(visit_url)
        expect(lead.locator("#visit-when")).to_contain_text(f"started {match.group(1)}")
        _look(axe, lead, "lead_visit_under_way")
        lead.goto("/home-visits/board")
        card = lead.locator(f"#visit-{vid}")
        expect(card).to_contain_text("Under way")
        # The card begins at the names: only its own padding above them (16 px, and its 1 px border).
        gap = _box(lead, f"#visit-{vid} strong")["y"] - _box(lead, f"#visit-{vid}")["y"]
        assert gap <= 24, f"{gap} px of blank space above the names on the board's card"
        open_link = _box(lead, f"#visit-{vid} a")
        assert open_link["height"] >= 44, open_link
        _look(axe, lead, "lead_board_under_way")

        # Everyone without a pastoral role: not found, whichever page.
        for path in ("/home-visits/", "/home-visits/board", "/home-visits/ladder", f"/home-visits/{vid}",
                     f"/home-visits/{vid}/alarm", f"/home-visits/new?pupil={a_pupil(server)}"):
            answer = plain.goto(path)
            assert answer.status == 404, (path, answer.status)
        _look(axe, plain, "plain_not_found")

        # The second check-out: the alarm reaches the buddy (a pastoral lead) and the DSL.
        officer.goto(visit_url)
        officer.get_by_role("button", name="Check out").click()
        expect(officer.locator("#visit-state")).to_have_text("Finished safe")
        expect(officer.locator("#visit-when")).to_contain_text(f"started {match.group(1)}")
        _look(axe, officer, "officer_after_check_out")

        expect(lead.locator(f"#visit-{vid}")).to_contain_text("Duress signal at")
        _look(axe, lead, "lead_board_duress")
        dsl.goto("/home-visits/board")
        expect(dsl.locator(f"#visit-{vid}")).to_contain_text("Duress signal at")
        _look(axe, dsl, "dsl_board_duress")
        dsl.goto("/home-visits/")
        dsl.get_by_role("link", name="The alarm ladder").click()
        expect(dsl.get_by_role("heading", level=1)).to_have_text("The alarm ladder")
        _look(axe, dsl, "dsl_ladder")
        dsl.goto(visit_url)
        _look(axe, dsl, "dsl_visit_after_duress")

        lead.goto(f"/home-visits/{vid}/alarm")
        expect(lead.locator("#duress")).to_be_visible()
        # "I'm dealing with it" keeps a gap from the "Who went" card below it.
        below = _box(lead, "#who")["y"] - (_box(lead, "#acknowledge")["y"] + _box(lead, "#acknowledge")["height"])
        assert below >= 8, f"the acknowledge button is {below} px from the card below it"
        _look(axe, lead, "lead_alarm")
        dsl.goto(f"/home-visits/{vid}/alarm")
        dsl.get_by_role("button", name="I'm dealing with it").click()
        expect(dsl.locator("#owner")).to_contain_text("is dealing with it")
        _look(axe, dsl, "dsl_alarm_acknowledged")
        lead.reload()
        expect(lead.locator("#owner")).to_be_visible()
        _look(axe, lead, "lead_alarm_acknowledged")
        officer.goto("/home-visits/offline")
        _look(axe, officer, "officer_offline_page")
    finally:
        for page in (officer, lead, dsl, plain):
            page.context.close()
