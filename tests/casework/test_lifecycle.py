"""A case's states: open ⇄ on hold, either → closed (with an outcome and a closing summary); closed is final."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from tests.casework.kit import case_row, open_case
from tests.conftest import add_pupil, audit_actions, post_form, sign_in


async def test_it_holds_resumes_and_closes_a_case_with_an_outcome(client, settings, cast, frozen_clock):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    assert (await post_form(client, f"/casework/{case_id}/status", {"status": "on_hold"})).status_code == 200
    row = await case_row(case_id)
    assert row["status"] == "on_hold" and row["next_review_on"] is None  # reviews pause
    frozen_clock.advance(days=10)
    await sign_in(client, settings, cast.pastoral)  # the session timed out meanwhile
    await post_form(client, f"/casework/{case_id}/status", {"status": "open"})
    row = await case_row(case_id)
    assert row["status"] == "open" and (row["next_review_on"] - frozen_clock.current.date()).days in (41, 42, 43)
    page = await post_form(client, f"/casework/{case_id}/status", {
        "status": "closed", "outcome": "met", "closing_summary": "Settled back into tutor group."})
    assert "Targets met" in page.text and "Settled back into tutor group." in page.text
    row = await case_row(case_id)
    assert row["status"] == "closed" and row["outcome"] == "met" and row["closed_on"] is not None
    actions = await audit_actions()
    assert [a for a in actions if a.startswith("case.") and a != "case.viewed"] == [
        "case.opened", "case.put_on_hold", "case.resumed", "case.closed"]


async def test_a_closed_case_cannot_be_reopened_held_or_reviewed(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    await post_form(client, f"/casework/{case_id}/status", {"status": "closed", "outcome": "declined",
                                                           "closing_summary": "Family declined support."})
    for to in ("open", "on_hold"):
        response = await post_form(client, f"/casework/{case_id}/status", {"status": to})
        assert response.status_code == 409, to
        assert "cannot be moved" in response.text
    response = await post_form(client, f"/casework/{case_id}/review", {"held_on": "2020-01-01"})
    assert response.status_code == 409
    assert (await case_row(case_id))["status"] == "closed"


async def test_an_on_hold_case_takes_no_review(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    await post_form(client, f"/casework/{case_id}/status", {"status": "on_hold"})
    response = await post_form(client, f"/casework/{case_id}/review", {"held_on": "2020-01-01"})
    assert response.status_code == 409 and "off hold" in response.text


async def test_closing_needs_an_outcome_and_a_summary(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    response = await post_form(client, f"/casework/{case_id}/status", {"status": "closed", "outcome": "bogus",
                                                                      "closing_summary": "  "})
    assert response.status_code == 400
    assert "Choose the outcome." in response.text and "Write a closing summary" in response.text
    assert (await case_row(case_id))["status"] == "open"
    response = await post_form(client, f"/casework/{case_id}/status", {"status": "closed", "outcome": "",
                                                                      "closing_summary": "Typed and kept"})
    assert response.status_code == 400 and "Typed and kept" in response.text
    assert "case.closed" not in await audit_actions()


async def test_the_same_move_sent_twice_is_made_once(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    for _ in range(2):
        assert (await post_form(client, f"/casework/{case_id}/status", {"status": "on_hold"})).status_code == 200
    assert await AuditEvent.count().where(AuditEvent.action == "case.put_on_hold") == 1
