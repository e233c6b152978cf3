"""The visit pack on a 390x844 phone (issue 14, points 2 and 7): a pastoral officer opens their authorised visit
with signal and the pack is kept on the phone; without signal the visit's page shows the address, the pupil's
contacts and the planner's notes from IndexedDB, sealed there, with nothing of it in Cache Storage; "Start visit"
and "I'm safe" tapped without signal are kept and, back online, reach the server once each; "I'm safe" wipes the
pack. A tap that no longer applies when it is replayed (a fourth "15 more minutes") needs attention instead of
holding up the taps after it. axe finds no violations on the offline visit page."""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import closing

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server, enrolled_page
from tests.e2e.test_accessibility import check
from tests.e2e.test_home_visits import a_pupil

ADDRESS = "41 Quarry Road, Oakfield OF3 9ZZ"
NOTES = "Knock at the side door; the bell is broken. Speak to Gran first."

# What Cache Storage holds, as text: every cached response's URL and body.
CACHES_TEXT = """async () => {
  let text = "";
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      text += "\\n" + request.url + "\\n" + (response ? await response.text() : "");
    }
  }
  return text;
}"""

# The visit packs' IndexedDB as stored, with no key: what someone holding the phone's files would see.
RAW_PACKS = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("corridor-visit-pack"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  if (!db.objectStoreNames.contains("packs")) { db.close(); return []; }
  const all = await new Promise((ok, no) => { const r = db.transaction("packs").objectStore("packs").getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  db.close();
  const bytes = (b) => Array.from(new Uint8Array(b), (c) => String.fromCharCode(c)).join("");
  return all.map((p) => JSON.stringify(Object.assign({}, p, { data: undefined, iv: undefined })) + bytes(p.data));
}"""


def _events(server: Server, visit: int) -> list[str]:
    with closing(sqlite3.connect(server.db_path)) as con:
        return [r[0] for r in con.execute("SELECT kind FROM home_visit_event WHERE visit = ? ORDER BY id", (visit,))]


def _first_contact(server: Server, pupil: int) -> str:
    with closing(sqlite3.connect(server.db_path)) as con:
        row = con.execute("SELECT name FROM contact WHERE pupil = ? AND no_contact = 0 ORDER BY priority, id LIMIT 1",
                          (pupil,)).fetchone()
    return row[0] if row else ""


def test_the_pack_is_read_offline_the_taps_replay_once_and_check_out_wipes_it(browser: Browser, server: Server):
    axe = Axe()
    officer, _ = enrolled_page(browser, server, "staff", "pastoral", first_name="Pat", email_prefix="pack")
    lead, _ = enrolled_page(browser, server, "staff", "pastoral_lead", first_name="Lou", email_prefix="packlead")
    officer_ctx, lead_ctx = officer.context, lead.context
    try:
        pupil = a_pupil(server)
        contact = _first_contact(server, pupil)
        officer.goto(f"/home-visits/new?pupil={pupil}")
        officer.get_by_label("Address").fill(ADDRESS)
        officer.get_by_label("Purpose of the visit").fill("Absent three days: check she is safe and well")
        officer.get_by_label("Their mobile on the visit").fill("07700 900111")
        officer.get_by_label("Second staff member (optional)").select_option(label="Priya Kaur")
        officer.get_by_label("The second person's mobile").fill("07700 900222")
        officer.get_by_label("Notes for the staff going").fill(NOTES)
        officer.get_by_role("button", name="Save the plan").click()
        expect(officer).to_have_url(re.compile(r"/home-visits/\d+$"))
        visit_url = officer.url
        visit = int(visit_url.rsplit("/", 1)[1])
        officer.get_by_label("Known adults or dogs at the address").fill("Gran lives there; no dogs")
        officer.get_by_label("Past incidents at the address").fill("None recorded")
        officer.get_by_label("No social worker").check()
        officer.get_by_label("The purpose is agreed with my lead").check()
        officer.get_by_role("button", name="Save the checklist").click()
        expect(officer.locator("#checklist-done")).to_be_visible()
        # Not authorised yet: nothing is kept.
        expect(officer.locator("html")).to_have_attribute("data-visit-pack", "wiped")
        assert officer.evaluate(RAW_PACKS) == []

        lead.goto(visit_url)
        lead.get_by_role("button", name="Authorise this visit").click()
        expect(lead.locator("#visit-state")).to_have_text("Authorised")

        # With signal: the officer opens the visit and the pack is kept, sealed.
        officer.reload()
        expect(officer.locator("html")).to_have_attribute("data-visit-pack", "kept")
        expect(officer.locator("#pack-kept")).to_contain_text("The visit pack is on this phone")
        raw = officer.evaluate(RAW_PACKS)
        assert len(raw) == 1 and "Quarry Road" not in raw[0] and "side door" not in raw[0]

        # No signal: the visit's page comes from the pack.
        officer_ctx.set_offline(True)
        officer.goto(visit_url)
        expect(officer.locator("#address")).to_have_text(ADDRESS)
        expect(officer.locator("#pack-notes")).to_have_text(NOTES)
        expect(officer.locator("#pack-adults")).to_have_text("Gran lives there; no dogs")
        if contact:
            expect(officer.locator("#pack-pupils")).to_contain_text(contact)
        check(axe, officer, "visitpack-offline")
        cached = officer.evaluate(CACHES_TEXT)
        assert "/home-visits/offline" in cached  # the page is there, empty of any visit
        for secret in (ADDRESS, "Quarry Road", "side door", "Gran lives there", f"/home-visits/{visit}/pack"):
            assert secret not in cached, secret
        if contact:
            assert contact not in cached

        officer.get_by_role("button", name="Start visit").click()
        expect(officer.locator("#pack-status")).to_contain_text("Saved on this phone, not sent yet")
        expect(officer.locator("#start-visit")).to_be_hidden()  # the start waits in the outbox
        expect(officer.locator("#address")).to_have_text(ADDRESS)
        officer.get_by_role("button", name="I'm safe").click()
        # Checked out: the pack is gone from the phone at once, though the tap is not sent yet.
        expect(officer.locator("#pack-status")).to_contain_text("no visit pack for this visit on this phone")
        assert officer.evaluate(RAW_PACKS) == []
        check(axe, officer, "visitpack-wiped")
        assert _events(server, visit)[-1] == "authorised"  # nothing has reached the server

        officer_ctx.set_offline(False)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "finished_safe" not in _events(server, visit):
            time.sleep(0.5)
        time.sleep(2)  # any second sending would have landed by now
        events = _events(server, visit)
        assert events.count("started") == 1 and events.count("finished_safe") == 1, events
        officer.goto(visit_url)
        expect(officer.locator("#visit-state")).to_have_text("Finished safe")
        expect(officer.locator("html")).to_have_attribute("data-visit-pack", "wiped")
        assert officer.evaluate(RAW_PACKS) == []
        officer.screenshot(path="/work/notes/shots/visitpack-synced.png", full_page=True)
    finally:
        officer_ctx.close()
        lead_ctx.close()


def _authorised_visit(browser: Browser, server: Server):
    """A visit planned by a new pastoral officer (with Priya Kaur) and authorised by a new pastoral lead."""
    officer, _ = enrolled_page(browser, server, "staff", "pastoral", first_name="Pat", email_prefix="pack")
    lead, _ = enrolled_page(browser, server, "staff", "pastoral_lead", first_name="Lou", email_prefix="packlead")
    officer_ctx, lead_ctx = officer.context, lead.context
    officer.goto(f"/home-visits/new?pupil={a_pupil(server)}")
    officer.get_by_label("Address").fill(ADDRESS)
    officer.get_by_label("Purpose of the visit").fill("Absent three days: check she is safe and well")
    officer.get_by_label("Their mobile on the visit").fill("07700 900111")
    officer.get_by_label("Second staff member (optional)").select_option(label="Priya Kaur")
    officer.get_by_label("The second person's mobile").fill("07700 900222")
    officer.get_by_role("button", name="Save the plan").click()
    expect(officer).to_have_url(re.compile(r"/home-visits/\d+$"))
    visit_url = officer.url
    officer.get_by_label("Known adults or dogs at the address").fill("Gran lives there; no dogs")
    officer.get_by_label("Past incidents at the address").fill("None recorded")
    officer.get_by_label("No social worker").check()
    officer.get_by_label("The purpose is agreed with my lead").check()
    officer.get_by_role("button", name="Save the checklist").click()
    expect(officer.locator("#checklist-done")).to_be_visible()
    lead.goto(visit_url)
    lead.get_by_role("button", name="Authorise this visit").click()
    expect(lead.locator("#visit-state")).to_have_text("Authorised")
    officer.reload()
    expect(officer.locator("html")).to_have_attribute("data-visit-pack", "kept")
    return officer_ctx, lead_ctx, officer, visit_url, int(visit_url.rsplit("/", 1)[1])


def test_a_replayed_tap_that_no_longer_applies_needs_attention_and_holds_nothing_up(browser: Browser, server: Server):
    officer_ctx, lead_ctx, officer, visit_url, visit = _authorised_visit(browser, server)
    try:
        officer_ctx.set_offline(True)
        officer.goto(visit_url)
        officer.get_by_role("button", name="Start visit").click()
        expect(officer.locator("#pack-status")).to_contain_text("Saved on this phone, not sent yet")
        expect(officer.locator("#pack-outcome")).to_be_visible()
        check(Axe(), officer, "visitpack-offline-started")
        # The doorstep outcome, without signal too.
        officer.get_by_label("Seen and spoken to alone").check()
        officer.get_by_label("Who was present").fill("Mum")
        officer.get_by_label("No", exact=True).check()
        officer.get_by_label("Notes (optional)").fill("Ada was well and will be in tomorrow")
        officer.get_by_role("button", name="Save the outcome").click()
        expect(officer.locator("#pack-status")).to_contain_text("Saved on this phone, not sent yet")
        for _ in range(4):  # three extensions are allowed: the fourth will be refused when it arrives
            expect(officer.locator("#extend")).to_be_visible()
            officer.get_by_role("button", name="15 more minutes").click()
            expect(officer.locator("#pack-status")).to_contain_text("Saved on this phone, not sent yet")
        officer.get_by_role("button", name="I'm safe").click()
        expect(officer.locator("#pack-status")).to_contain_text("no visit pack for this visit on this phone")

        officer_ctx.set_offline(False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "finished_safe" not in _events(server, visit):
            time.sleep(0.5)
        time.sleep(2)
        events = _events(server, visit)
        assert (events.count("started"), events.count("extended"), events.count("finished_safe")) == (1, 3, 1), events
        with closing(sqlite3.connect(server.db_path)) as con:
            outcome = con.execute("SELECT outcome, outcome_present, outcome_notes FROM home_visit WHERE id = ?",
                                  (visit,)).fetchone()
        assert outcome == ("seen_alone", "Mum", "Ada was well and will be in tomorrow")
        officer.goto("/outbox/")
        expect(officer.locator("#outbox-list")).to_contain_text("A visit can be extended 3 times at most.")
        expect(officer.locator("#outbox-list")).to_contain_text("15 more minutes")
        check(Axe(), officer, "visitpack-attention")
    finally:
        officer_ctx.close()
        lead_ctx.close()


def test_signing_out_deletes_the_pack_from_the_phone(browser: Browser, server: Server):
    officer_ctx, lead_ctx, officer, visit_url, visit = _authorised_visit(browser, server)
    try:
        assert len(officer.evaluate(RAW_PACKS)) == 1
        officer.goto("/account")
        officer.get_by_role("button", name="Sign out", exact=True).click()
        expect(officer.get_by_role("heading", name="You are signed out")).to_be_visible()
        assert officer.evaluate(RAW_PACKS) == []
        assert "Quarry Road" not in officer.evaluate(CACHES_TEXT)
    finally:
        officer_ctx.close()
        lead_ctx.close()
