"""On-call with a pupil on a 390x844 phone: the teacher finds the pupil on the raise form, the responder's board
shows the pupil's name and form as it arrives, the claimer hands the request over with the button."""

from __future__ import annotations

import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server
from tests.e2e.test_oncall import first_room, open_board, person
from tests.e2e.test_quick_entry import two_pupils
from tests.e2e.test_quick_entry_phone import query
from tests.e2e.test_accessibility import check

SHOTS = Path("/work/notes/shots")


def test_raise_about_a_pupil_then_the_responder_hands_it_over(browser: Browser, server: Server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    room_id, room = first_room(server)
    pupil = two_pupils(server)[0]
    form = query(server, "SELECT tutor_group.name FROM pupil JOIN tutor_group ON tutor_group.id = pupil.tutor_group "
                         "WHERE pupil.id = ?", pupil["id"])[0][0]
    responder = person(browser, server, "staff", "responder", prefix="Rhea")
    colleague = person(browser, server, "staff", "pastoral", prefix="Pax")
    open_board(responder)

    teacher = person(browser, server, "staff", prefix="Tilly")
    teacher.goto(f"/oncall/new?location={room_id}")
    search = teacher.get_by_label("Find a pupil")
    expect(search).to_be_visible()  # shown by oncall-raise.js
    search.press_sequentially(pupil["typed"], delay=30)
    expect(teacher.locator("#oncall-pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"])))
           .first).to_be_visible()
    # Enter picks the first result; it does not send the call (the form's first submit button is a reason).
    search.press("Enter")
    chosen = teacher.locator("#oncall-chosen input[name=pupil_id]")
    expect(chosen).to_have_count(1)
    expect(chosen).to_be_checked()
    expect(teacher).to_have_url(re.compile(r"/oncall/new\?location="))
    picked = teacher.locator("#oncall-chosen .name").inner_text()
    expect(search).to_have_value("")
    assert teacher.evaluate("document.activeElement && document.activeElement.name") == "pupil_id"  # keyboard away
    teacher.screenshot(path=str(SHOTS / "oncall_raise_pupil.png"), full_page=True)
    check(Axe(), teacher, "oncall-raise-pupil")
    teacher.get_by_role("button", name="Remove a pupil").click()
    expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
    expect(teacher.locator("#oncall-live .oncall-pupils")).to_contain_text(picked)

    # The board: the new card arrives live with the pupil's name and form.
    request_id = teacher.url.rsplit("/", 1)[1]
    card = responder.locator(f"#oncall-{request_id}")
    expect(card.locator(".oncall-pupils")).to_have_text(f"Pupil: {picked} {form}")
    responder.screenshot(path=str(SHOTS / "oncall_board_pupil.png"), full_page=True)
    card.get_by_role("link", name=room).click()
    responder.get_by_role("button", name="I'll take it").click()
    hand_over = responder.get_by_role("button", name="Hand over")
    expect(hand_over).to_be_visible()
    responder.get_by_label("Hand over to").select_option(label=colleague.display_name)
    responder.screenshot(path=str(SHOTS / "oncall_hand_over.png"), full_page=True)
    check(Axe(), responder, "oncall-hand-over")
    hand_over.click()
    expect(responder.locator(f"#oncall-{request_id} .state")).to_have_text(f"{colleague.display_name}: claimed")
    expect(responder.get_by_role("button", name="Hand over")).to_have_count(0)

    # The teacher's page follows live; the colleague now has the request and its buttons.
    expect(teacher.locator("#oncall-live .state")).to_have_text(f"{colleague.display_name}: claimed")
    colleague.goto(f"/oncall/{request_id}")
    expect(colleague.locator(".oncall-pupils")).to_contain_text(picked)
    expect(colleague.get_by_role("button", name="On my way")).to_be_visible()
    expect(colleague.get_by_role("button", name="Hand over")).to_be_visible()
    colleague.screenshot(path=str(SHOTS / "oncall_handed_over.png"), full_page=True)
    for page in (teacher, responder, colleague):
        page.context.close()
