"""A physical intervention recorded from an on-call resolution on a 390x844 phone: the teacher raises a call about a
pupil, the responder (also the DSL) resolves it and taps "Record physical intervention"; a first "complete" names
the missing parts and keeps what was typed; the completed record is signed off by a pastoral lead on their phone;
the oversight report shows it. axe finds no violations on any of the screens; screenshots for review."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server
from tests.e2e.test_accessibility import SHOTS as AXE_SHOTS, check
from tests.e2e.test_oncall import first_room, person
from tests.e2e.test_quick_entry import two_pupils

SHOTS = Path("/work/notes/shots")


def shot(page, screen: str) -> None:
    check(Axe(), page, f"restraint-{screen}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(AXE_SHOTS / f"restraint-{screen}.png", SHOTS / f"restraint-{screen}.png")


def test_a_record_from_an_on_call_resolution_is_completed_and_signed_off(browser: Browser, server: Server):
    room_id, room = first_room(server)
    pupil = two_pupils(server)[1]
    responder = person(browser, server, "staff", "responder", "dsl", prefix="Dara")
    teacher = person(browser, server, "staff", prefix="Tom")
    teacher.goto(f"/oncall/new?location={room_id}")
    search = teacher.get_by_label("Find a pupil")
    search.press_sequentially(pupil["typed"], delay=30)
    expect(teacher.locator("#oncall-pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"])))
           .first).to_be_visible()
    search.press("Enter")
    expect(teacher.locator("#oncall-chosen input[name=pupil_id]")).to_have_count(1)
    picked = teacher.locator("#oncall-chosen .name").inner_text()
    teacher.get_by_role("button", name="Remove a pupil").click()
    expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
    request_url = teacher.url
    teacher.context.close()

    responder.goto(request_url)
    responder.get_by_role("button", name="I'll take it").click()
    responder.get_by_role("button", name="I'm there").click()
    responder.get_by_role("button", name="Resolved").click()
    responder.goto(request_url)
    start = responder.get_by_role("button", name="Record physical intervention")
    expect(start).to_be_visible()
    shot(responder, "oncall-resolved")
    start.click()
    expect(responder).to_have_url(re.compile(r"/physical-interventions/\d+$"))
    expect(responder.locator("#record-pupils")).to_contain_text(picked)
    expect(responder.get_by_label("Where")).to_have_value(str(room_id))
    shot(responder, "record-new")

    responder.get_by_label("What led to it").fill("Kicking the door after being sent out; would not stop.")
    responder.get_by_role("button", name="Save and mark complete").click()
    expect(responder.locator("#deescalation-error")).to_be_visible()
    expect(responder.get_by_label("What led to it")).to_have_value(
        "Kicking the door after being sent out; would not stop.")
    shot(responder, "record-errors")

    responder.get_by_label("De-escalation tried first").fill("Calm talk, offered the quiet room, gave space.")
    responder.get_by_label("Escort (single elbow)").check()
    responder.get_by_label("Duration, in minutes").fill("3")
    responder.get_by_label("Injuries to anyone (pupil or staff)").fill("None")
    responder.get_by_label("First aid given").fill("None needed")
    responder.get_by_role("radio", name="Not yet").check()
    responder.get_by_label("If not yet: why").fill("Mum at work until 3; calling then.")
    responder.get_by_label("Debrief with the pupil").fill("Talked at lunch; felt shown up in class.")
    responder.get_by_label("Debrief with staff").fill("Brief with the teacher after school.")
    responder.get_by_role("button", name="Save and mark complete").click()
    expect(responder.locator("#saved")).to_contain_text("the record is complete")
    expect(responder.locator("#awaiting")).to_be_visible()  # the DSL wrote it and was involved: not their sign-off
    shot(responder, "record-complete")
    record_url = responder.url

    lead = person(browser, server, "staff", "pastoral_lead", prefix="Lena")
    lead.goto(record_url)
    lead.get_by_label("Review note (optional)").fill("Proportionate and well recorded.")
    shot(lead, "sign-off")
    lead.get_by_role("button", name="Sign off").click()
    expect(lead.locator("#signed-off")).to_contain_text(lead.display_name)
    shot(lead, "signed-off")

    lead.goto("/physical-interventions/report")
    expect(lead.locator("#total")).not_to_have_text("0")
    expect(lead.locator("#by-pupil")).to_contain_text(picked)
    shot(lead, "report")
    lead.goto("/physical-interventions/")
    shot(lead, "list")
    lead.context.close()
    responder.context.close()
