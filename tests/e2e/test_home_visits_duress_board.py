"""Home visits on 390x844 phones (issue 14, points 5, 6 and 8): the pastoral lead watches today's board while the
officer's visit starts (the card changes live); the officer checks out with the second, equally plain button and
their screen reads exactly as after "I'm safe" (finished safe, nothing else), while the lead's board shows the duress
signal live; the officer records the doorstep outcome (a refused try says why by each field and keeps what was
typed). axe finds no violations on any of the screens."""

from __future__ import annotations

import re
import uuid

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check
from tests.e2e.test_home_visits import a_pupil

SHOTS = "/work/notes/shots/visits2"


def _passkeys(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})


def test_duress_looks_like_im_safe_and_the_board_shows_it_live(browser: Browser, server: Server):
    axe = Axe()
    officer_ctx = browser.new_context(base_url=server.url, viewport=PHONE)
    lead_ctx = browser.new_context(base_url=server.url, viewport=PHONE)
    try:
        officer, lead = officer_ctx.new_page(), lead_ctx.new_page()
        for page in (officer, lead):
            _passkeys(page)
        name = f"Pat {uuid.uuid4().hex[:6].upper()}"
        enrol(officer, server.invite(fresh_email("visits2"), "staff", "pastoral", name=name), name)
        lead_name = f"Lou {uuid.uuid4().hex[:6].upper()}"
        enrol(lead, server.invite(fresh_email("lead2"), "staff", "pastoral_lead", name=lead_name), lead_name)

        officer.goto(f"/home-visits/new?pupil={a_pupil(server)}")
        officer.get_by_label("Purpose of the visit").fill("Absent three days: check she is safe and well")
        officer.get_by_label("Address").fill("12 Mill Lane, Oakfield OF1 2AB")
        officer.get_by_label("Their mobile on the visit").fill("07700 900111")
        officer.get_by_label("Second staff member (optional)").select_option(label="Priya Kaur")
        officer.get_by_label("The second person's mobile").fill("07700 900222")
        officer.get_by_role("button", name="Save the plan").click()
        expect(officer).to_have_url(re.compile(r"/home-visits/\d+$"))
        visit_url = officer.url
        vid = visit_url.rsplit("/", 1)[1]
        officer.get_by_label("Known adults or dogs at the address").fill("None known")
        officer.get_by_label("Past incidents at the address").fill("None recorded")
        officer.get_by_label("No social worker").check()
        officer.get_by_label("The purpose is agreed with my lead").check()
        officer.get_by_role("button", name="Save the checklist").click()
        lead.goto(visit_url)
        lead.get_by_role("button", name="Authorise this visit").click()
        expect(lead.locator("#visit-state")).to_have_text("Authorised")

        lead.goto("/home-visits/")
        lead.get_by_role("link", name="Today's visits board").click()
        card = lead.locator(f"#visit-{vid}")
        expect(card).to_contain_text("Authorised")
        expect(card).to_contain_text("12 Mill Lane")
        check(axe, lead, "visits2-board")

        officer.reload()
        officer.get_by_role("button", name="Start visit").click()
        expect(officer.locator("#visit-state")).to_have_text("Under way")
        expect(lead.locator(f"#visit-{vid}")).to_contain_text("Under way")  # live, no reload
        expect(officer.get_by_role("button", name="I'm safe")).to_be_visible()
        expect(officer.get_by_role("button", name="Check out")).to_be_visible()
        check(axe, officer, "visits2-under-way")
        officer.screenshot(path=f"{SHOTS}-under-way.png", full_page=True)

        officer.get_by_role("button", name="Check out").click()
        expect(officer).to_have_url(visit_url)
        expect(officer.locator("#visit-state")).to_have_text("Finished safe")
        assert "duress" not in officer.content().lower() and "alarm" not in officer.locator("main").inner_text()
        check(axe, officer, "visits2-after-check-out")
        officer.screenshot(path=f"{SHOTS}-after-check-out.png", full_page=True)
        # The lead is SLT here (none named): the board tells them, live.
        expect(lead.locator(f"#visit-{vid}")).to_contain_text("Duress signal at")
        check(axe, lead, "visits2-board-duress")
        lead.screenshot(path=f"{SHOTS}-board-duress.png", full_page=True)

        # The doorstep outcome: a refused try first.
        officer.get_by_label("Notes (optional)").fill("Curtains drawn at noon")
        officer.get_by_role("button", name="Save the outcome").click()
        expect(officer.locator("#outcome-error")).to_have_text("Choose what happened at the door.")
        expect(officer.locator("#outcome_note_left-error")).to_have_text("Say whether you left a note.")
        expect(officer.get_by_label("Notes (optional)")).to_have_value("Curtains drawn at noon")
        check(axe, officer, "visits2-outcome-errors")
        officer.get_by_label("No answer, signs of occupation").check()
        officer.locator("input[name=outcome_note_left][value=yes]").check()
        officer.get_by_role("button", name="Save the outcome").click()
        expect(officer.locator("#outcome-recorded")).to_contain_text("No answer, signs of occupation")
        expect(lead.locator(f"#visit-{vid}")).to_contain_text("(not seen)")
        check(axe, officer, "visits2-outcome")
        officer.screenshot(path=f"{SHOTS}-outcome.png", full_page=True)
    finally:
        officer_ctx.close()
        lead_ctx.close()
