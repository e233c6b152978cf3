"""Duress without signal on a 390x844 phone (issue 14, points 5 and 7): the offline visit page (from the visit pack)
offers the same second check-out as the online page, as plain as "I'm safe". Tapped with the phone offline, it is
kept in the outbox, listed there as "I'm safe", and the pack is wiped, exactly as after "I'm safe"; back online it
is sent once, and the DSL team's board shows the duress signal live and its alarm page opens, while the officer's
screen reads as after a normal check-out. The DSL sets their mobile on the account page first (the alarm's texts).
axe finds no violations on the screens."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from contextlib import closing

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check
from tests.e2e.test_home_visits import a_pupil

SHOTS = "/work/notes/shots/hvsms"
ADDRESS = "7 Tannery Close, Oakfield OF2 4QT"

RAW_PACKS = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("corridor-visit-pack"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  if (!db.objectStoreNames.contains("packs")) { db.close(); return 0; }
  const n = await new Promise((ok, no) => { const r = db.transaction("packs").objectStore("packs").count(); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  db.close();
  return n;
}"""


def _authenticator(page: Page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})


def _events(server: Server, visit: int) -> list[str]:
    with closing(sqlite3.connect(server.db_path)) as con:
        return [r[0] for r in con.execute("SELECT kind FROM home_visit_event WHERE visit = ? ORDER BY id", (visit,))]


def _escalations(server: Server, visit: int) -> list[int]:
    with closing(sqlite3.connect(server.db_path)) as con:
        return [r[0] for r in con.execute("SELECT tier FROM home_visit_escalation WHERE visit = ? ORDER BY tier",
                                          (visit,))]


def test_duress_offline_is_kept_as_im_safe_sent_once_and_reaches_the_dsl_team(browser: Browser, server: Server):
    axe = Axe()
    officer_ctx = browser.new_context(base_url=server.url, viewport=PHONE)
    dsl_ctx = browser.new_context(base_url=server.url, viewport=PHONE)
    try:
        officer, dsl = officer_ctx.new_page(), dsl_ctx.new_page()
        for page in (officer, dsl):
            _authenticator(page)
        name = f"Pat {uuid.uuid4().hex[:6].upper()}"
        enrol(officer, server.invite(fresh_email("duressoff"), "staff", "pastoral", name=name), name)
        dsl_name = f"Dee {uuid.uuid4().hex[:6].upper()}"
        enrol(dsl, server.invite(fresh_email("duressdsl"), "staff", "dsl", name=dsl_name), dsl_name)

        # The DSL puts their mobile on their account (for the alarm's texts): a landline is refused, then a mobile.
        dsl.goto("/account")
        dsl.get_by_label("Your UK mobile (leave empty for no texts)").fill("020 7946 0000")
        dsl.get_by_role("button", name="Save mobile").click()
        expect(dsl.locator("#mobile-error")).to_contain_text("Give a UK mobile number")
        expect(dsl.get_by_label("Your UK mobile (leave empty for no texts)")).to_have_value("020 7946 0000")
        check(axe, dsl, "account-mobile-error")
        dsl.get_by_label("Your UK mobile (leave empty for no texts)").fill("07700 900 302")
        dsl.get_by_role("button", name="Save mobile").click()
        expect(dsl.get_by_role("status").filter(has_text="Mobile number saved.")).to_be_visible()
        expect(dsl.get_by_label("Your UK mobile (leave empty for no texts)")).to_have_value("+447700900302")
        check(axe, dsl, "account-mobile")
        dsl.locator("#mobile-card").screenshot(path=f"{SHOTS}_account_mobile.png")

        officer.goto(f"/home-visits/new?pupil={a_pupil(server)}")
        officer.get_by_label("Address").fill(ADDRESS)
        officer.get_by_label("Purpose of the visit").fill("Not seen for a week: check he is safe and well")
        officer.get_by_label("Their mobile on the visit").fill("07700 900111")
        officer.get_by_label("Second staff member (optional)").select_option(label="Priya Kaur")
        officer.get_by_label("The second person's mobile").fill("07700 900222")
        officer.get_by_role("button", name="Save the plan").click()
        expect(officer).to_have_url(re.compile(r"/home-visits/\d+$"))
        visit_url = officer.url
        visit = int(visit_url.rsplit("/", 1)[1])
        officer.get_by_label("Known adults or dogs at the address").fill("None known")
        officer.get_by_label("Past incidents at the address").fill("None recorded")
        officer.get_by_label("No social worker").check()
        officer.get_by_label("The purpose is agreed with my lead").check()
        officer.get_by_role("button", name="Save the checklist").click()
        expect(officer.locator("#checklist-done")).to_be_visible()
        dsl.goto(visit_url)
        dsl.get_by_role("button", name="Authorise this visit").click()
        expect(dsl.locator("#visit-state")).to_have_text("Authorised")

        # With signal: the officer starts the visit; the pack is kept on the phone.
        officer.reload()
        officer.get_by_role("button", name="Start visit").click()
        expect(officer.locator("#visit-state")).to_have_text("Under way")
        expect(officer.locator("html")).to_have_attribute("data-visit-pack", "kept")

        # The DSL watches today's board, live.
        dsl.goto("/home-visits/board")
        card = dsl.locator(f"#visit-{visit}")
        expect(card).to_contain_text("Under way")

        # No signal: the visit page from the pack offers both check-outs, equally plain.
        officer_ctx.set_offline(True)
        officer.goto(visit_url)
        expect(officer.locator("#address")).to_have_text(ADDRESS)
        safe, other = officer.get_by_role("button", name="I'm safe"), officer.get_by_role("button", name="Check out")
        expect(safe).to_be_visible()
        expect(other).to_be_visible()
        assert "duress" not in officer.content().lower()
        check(axe, officer, "offline-duress-before")
        officer.screenshot(path=f"{SHOTS}_offline_visit_page.png", full_page=True)

        other.click()
        # What the screen says is what it says after "I'm safe": kept, not sent yet, and the pack gone.
        expect(officer.locator("#pack-status")).to_contain_text("no visit pack for this visit on this phone")
        assert officer.evaluate(RAW_PACKS) == 0
        shown = officer.locator("main").inner_text()
        assert "duress" not in shown.lower() and "alarm" not in shown.lower() and "help" not in shown.lower()
        check(axe, officer, "offline-duress-after")
        officer.screenshot(path=f"{SHOTS}_offline_after_check_out.png", full_page=True)
        # The list of unsent taps calls it "I'm safe".
        officer.goto("/outbox/")
        outbox = officer.locator("main")
        expect(outbox).to_contain_text("I'm safe")
        assert "check out" not in outbox.inner_text().lower() and "duress" not in officer.content().lower()
        check(axe, officer, "offline-duress-outbox")
        officer.screenshot(path=f"{SHOTS}_offline_outbox.png", full_page=True)
        assert _events(server, visit)[-1] == "started"  # nothing has reached the server
        expect(card).not_to_contain_text("Duress")

        # Signal again: sent by itself, once; the DSL's board shows the duress signal without a reload.
        officer_ctx.set_offline(False)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "duress" not in _events(server, visit):
            time.sleep(0.5)
        time.sleep(2)  # a second sending would have landed by now
        events = _events(server, visit)
        assert events.count("duress") == 1 and events.count("finished_safe") == 1, events
        assert _escalations(server, visit) == [2]
        expect(card).to_contain_text("Duress signal at", timeout=15_000)
        check(axe, dsl, "offline-duress-dsl-board")
        dsl.screenshot(path=f"{SHOTS}_dsl_board_duress.png", full_page=True)
        dsl.goto(f"{visit_url}/alarm")
        expect(dsl.locator("main")).to_contain_text("duress signal")
        expect(dsl.locator("main")).to_contain_text(name)
        check(axe, dsl, "offline-duress-dsl-alarm")
        dsl.screenshot(path=f"{SHOTS}_dsl_alarm.png", full_page=True)

        # The officer's screen, with signal, reads as after a normal check-out.
        officer.goto(visit_url)
        expect(officer.locator("#visit-state")).to_have_text("Finished safe")
        assert "duress" not in officer.content().lower() and "alarm" not in officer.locator("main").inner_text()
        assert officer.evaluate(RAW_PACKS) == 0
        officer.screenshot(path=f"{SHOTS}_officer_synced.png", full_page=True)
        assert officer_ctx.request.get(f"{visit_url}/alarm").status == 404
    finally:
        officer_ctx.close()
        dsl_ctx.close()
