"""Reviews on a cadence (6 weeks; 4 for attendance; a school's own types with their own): the lists of reviews
due in the next 14 days and overdue move with the clock, and "My caseload" shows each pupil's next review."""

from __future__ import annotations

import uuid

from app.domain.casework.tables import CaseTarget
from tests.casework.kit import open_case
from tests.conftest import add_pupil, post_form, sign_in


def section(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


async def lists(client) -> tuple[str, str, str]:
    html = (await client.get("/casework/")).text
    return (section(html, 'id="overdue-h"', "</section>"), section(html, 'id="due-h"', "</section>"),
            section(html, 'id="mine-h"', "</section>"))


async def test_due_and_overdue_lists_follow_each_cases_cadence(client, settings, cast, frozen_clock):
    start = frozen_clock.current.date()
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    leo = await add_pupil(cast.school_id, "Leo", "Stone")
    await open_case(client, settings, cast.pastoral, mia, kind="Attendance", started=start)  # due in 4 weeks
    await open_case(client, settings, cast.pastoral, leo, kind="Behaviour", started=start)  # due in 6 weeks
    overdue, due, mine = await lists(client)
    assert "Mia Brook" not in due + overdue and "Leo Stone" not in due + overdue  # 28 and 42 days away
    assert "Mia Brook" in mine and "Leo Stone" in mine

    frozen_clock.advance(days=14)  # Mia's review in 14 days: due; Leo's in 28: not yet
    await sign_in(client, settings, cast.pastoral)
    overdue, due, _ = await lists(client)
    assert "Mia Brook" in due and "in 14 days" in due and "Leo Stone" not in due and not ("Brook" in overdue)

    frozen_clock.advance(days=15)  # Mia's a day overdue; Leo's due in 13 days
    await sign_in(client, settings, cast.pastoral)
    overdue, due, _ = await lists(client)
    assert "Mia Brook" in overdue and "Mia Brook" not in due
    assert "Leo Stone" in due and "in 13 days" in due


async def test_a_review_moves_the_next_one_a_cadence_on_and_off_the_overdue_list(client, settings, cast,
                                                                                  frozen_clock):
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, mia, kind="Attendance")
    await post_form(client, f"/casework/{case_id}/targets", {"target_text": "On time", "idempotency_key": "t1"})
    target = (await CaseTarget.select(CaseTarget.id).first())["id"]
    frozen_clock.advance(days=35)
    await sign_in(client, settings, cast.pastoral)
    overdue, _, _ = await lists(client)
    assert "Mia Brook" in overdue
    await post_form(client, f"/casework/{case_id}/review", {
        "held_on": frozen_clock.current.date().isoformat(), f"rating_{target}": "6", f"state_{target}": "in_progress",
        "idempotency_key": str(uuid.uuid4())})
    overdue, due, mine = await lists(client)
    assert "Mia Brook" not in overdue + due and "Mia Brook" in mine  # next review in 4 weeks


async def test_on_hold_and_closed_cases_are_never_due(client, settings, cast, frozen_clock):
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    leo = await add_pupil(cast.school_id, "Leo", "Stone")
    held = await open_case(client, settings, cast.pastoral, mia, kind="Attendance")
    closed = await open_case(client, settings, cast.pastoral, leo, kind="Attendance")
    await post_form(client, f"/casework/{held}/status", {"status": "on_hold"})
    await post_form(client, f"/casework/{closed}/status", {"status": "closed", "outcome": "met",
                                                           "closing_summary": "Done"})
    frozen_clock.advance(days=60)
    await sign_in(client, settings, cast.pastoral)
    overdue, due, mine = await lists(client)
    assert "Brook" not in overdue + due and "Stone" not in overdue + due
    assert "Mia Brook" in mine and "On hold" in mine and "Leo Stone" not in mine


async def test_my_caseload_on_the_home_screen_shows_each_pupil_with_the_next_thing_due(client, settings, cast,
                                                                                       frozen_clock):
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    await open_case(client, settings, cast.pastoral, mia, kind="Attendance")
    home = (await client.get("/")).text
    assert 'hx-get="/casework/mine"' in home
    frozen_clock.advance(days=20)
    await sign_in(client, settings, cast.pastoral)
    mine = (await client.get("/casework/mine", headers={"HX-Request": "true"})).text
    assert "My caseload" in mine and "Mia Brook" in mine and "in 8 days" in mine
    assert "0 reviews overdue, 1 due in the next 14 days" in mine
    await sign_in(client, settings, cast.teacher)
    assert "/casework/mine" not in (await client.get("/")).text
    assert (await client.get("/casework/mine")).status_code == 404


async def test_a_school_adds_its_own_case_type_with_its_cadence(client, settings, cast, frozen_clock):
    await sign_in(client, settings, cast.admin)
    bad = await post_form(client, "/casework/types", {"name": "", "review_weeks": "0", "idempotency_key": "k1"})
    assert bad.status_code == 400 and "Give the type a name" in bad.text and "Reviews are every 1 to 26" in bad.text
    page = await post_form(client, "/casework/types", {"name": "Young carer", "review_weeks": "3",
                                                       "idempotency_key": "k2"})
    assert "Young carer" in page.text and "every 3 weeks" in page.text
    again = await post_form(client, "/casework/types", {"name": "Young carer", "review_weeks": "3",
                                                        "idempotency_key": "k2"})
    assert again.status_code == 200 and again.text.count("Young carer") == 1
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    await open_case(client, settings, cast.pastoral, mia, kind="Young carer")
    frozen_clock.advance(days=21)
    await sign_in(client, settings, cast.pastoral)
    _, due, _ = await lists(client)
    assert "Mia Brook" in due and "today" in due
    assert (await client.get("/casework/types")).status_code == 404  # a pastoral officer does not set types
