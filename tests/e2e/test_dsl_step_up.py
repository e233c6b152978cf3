"""A DSL whose passkey check has lapsed opens a concern, confirms with the passkey on the "Confirm it's you" page
itself, and lands on the concern, without signing out (issue 11, point 6), on a 390x844 phone."""

from __future__ import annotations

import os
import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email
from tests.e2e.outbox_kit import a_pupil, query

PHONE = {"width": 390, "height": 844}


def test_a_dsl_confirms_on_the_page_and_reaches_the_concern(server: Server, page: Page, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    email, name = fresh_email("dsl"), f"Dee {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(email, "staff", "dsl", name=name), name)
    pupil = a_pupil(server, 3)
    words = f"Dad gets angry {uuid.uuid4().hex[:8]}"
    page.goto(f"/concerns/new?pupil={pupil['id']}")
    page.get_by_label("What did you see or hear? (facts)").fill("Bruise on her wrist, noticed at registration.")
    page.get_by_label("The child's own words, if they told you something").fill(words)
    page.get_by_role("button", name="Send to the DSL").click()
    expect(page.get_by_role("heading", name="Concern sent")).to_be_visible()
    concern_id = query(server, "SELECT id FROM concern WHERE childs_words = ?", words)[0][0]

    server.let_step_up_lapse(email)  # an hour has passed since this phone last checked the passkey
    page.goto(f"/concerns/{concern_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
    expect(page.get_by_text(words)).to_have_count(0)
    button = page.get_by_role("button", name="Confirm with your passkey")
    box = button.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]
    if os.environ.get("CORRIDOR_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["CORRIDOR_SCREENSHOTS"], "step-up.png"), full_page=True)

    button.click()  # the virtual authenticator answers as the phone's screen lock would

    expect(page).to_have_url(re.compile(rf"/concerns/{concern_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Concern C-"))
    expect(page.get_by_text(words)).to_be_visible()
    expect(page.get_by_role("link", name="Account")).to_be_visible()  # still signed in: no sign-out and in again
    if os.environ.get("CORRIDOR_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["CORRIDOR_SCREENSHOTS"], "concern-after-step-up.png"))
    verified = query(server, "SELECT count(*) FROM audit_event WHERE action = 'session.verified' AND actor_label LIKE ?",
                     f"%{email}%")[0][0]
    assert verified == 1


def test_the_dsl_sets_the_speak_to_the_dsl_note_from_the_profile(server: Server, page: Page,
                                                                  authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    email, name = fresh_email("dsl"), f"Dee {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(email, "staff", "dsl", name=name), name)
    pupil = a_pupil(server, 5)
    page.goto(f"/pupils/{pupil['id']}")
    page.get_by_text("Safeguarding marker and note").click()
    page.get_by_label("Staff must speak to the DSL before acting").check()
    if os.environ.get("CORRIDOR_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["CORRIDOR_SCREENSHOTS"], "marker-form.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#safeguarding-marker")).to_contain_text("Staff are told to speak to the DSL before acting.")
    assert query(server, "SELECT speak_to_dsl FROM pupil WHERE id = ?", pupil["id"])[0][0] in (1, True)
