"""The support plan: up to five targets with the pupil's words, strategies and who does what; reviews rate each
target 0-10 and set its state, and the ratings build up review by review."""

from __future__ import annotations

import uuid

from app.domain.casework.tables import CaseAction, CaseReview, CaseTarget, TargetRating
from tests.casework.kit import case_row, open_case
from tests.conftest import add_pupil, audit_actions, post_form, sign_in


async def _target(client, case_id, text, words=""):
    return await post_form(client, f"/casework/{case_id}/targets", {
        "target_text": text, "pupil_words": words, "idempotency_key": str(uuid.uuid4())})


async def _review(client, case_id, held_on, scores, key=None, **extra):
    data = {"held_on": held_on, "idempotency_key": key or str(uuid.uuid4()), **extra}
    for target_id, (rating, state) in scores.items():
        data[f"rating_{target_id}"], data[f"state_{target_id}"] = rating, state
    return await post_form(client, f"/casework/{case_id}/review", data)


async def test_targets_are_rated_at_each_review_and_take_its_state(client, settings, cast, frozen_clock):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    start = frozen_clock.current.date()
    case_id = await open_case(client, settings, cast.pastoral, pupil, started=start)
    await _target(client, case_id, "Attend every tutor time", "I want to be on time")
    await _target(client, case_id, "Eat lunch in the canteen")
    first, second = [t["id"] for t in await CaseTarget.select(CaseTarget.id).order_by(CaseTarget.id)]
    assert {t["state"] for t in await CaseTarget.select(CaseTarget.state)} == {"not_started"}

    frozen_clock.advance(weeks=6)
    await sign_in(client, settings, cast.pastoral)  # the session timed out meanwhile
    page = await _review(client, case_id, frozen_clock.current.date().isoformat(),
                         {first: ("3", "in_progress"), second: ("5", "partly_met")}, pupil_voice="It's a bit better")
    assert page.status_code == 200
    frozen_clock.advance(weeks=6)
    await sign_in(client, settings, cast.pastoral)  # the session timed out meanwhile
    page = await _review(client, case_id, frozen_clock.current.date().isoformat(),
                         {first: ("8", "met"), second: ("4", "not_met")})
    assert "3 → 8 out of 10" in page.text and "5 → 4 out of 10" in page.text
    assert "I want to be on time" in page.text and "It&#39;s a bit better" in page.text
    states = {t["id"]: t["state"] for t in await CaseTarget.select()}
    assert states == {first: "met", second: "not_met"}
    assert await TargetRating.count() == 4
    row = await case_row(case_id)
    assert row["next_review_on"] == frozen_clock.current.date() + (row["next_review_on"] - frozen_clock.current.date())
    assert (row["next_review_on"] - frozen_clock.current.date()).days == 42
    assert (await audit_actions()).count("case.reviewed") == 2


async def test_a_plan_has_at_most_five_targets(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    for n in range(5):
        assert (await _target(client, case_id, f"Target {n}")).status_code == 200
    response = await _target(client, case_id, "A sixth")
    assert response.status_code == 400 and "at most 5 targets" in response.text
    assert await CaseTarget.count() == 5


async def test_a_bad_review_gets_messages_per_field_keeps_what_was_typed_and_writes_nothing(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    await _target(client, case_id, "Attend every tutor time")
    target = (await CaseTarget.select(CaseTarget.id).first())["id"]
    before = (await case_row(case_id))["next_review_on"]
    response = await _review(client, case_id, "2099-01-01", {target: ("11", "nearly")}, notes="Kept note")
    assert response.status_code == 400
    assert "Give the date of the review" in response.text and "Rate this target from 0 to 10." in response.text
    assert "Choose where this target stands." in response.text
    assert "Kept note" in response.text and 'value="11"' in response.text and 'value="2099-01-01"' in response.text
    assert await CaseReview.count() == 0 and await TargetRating.count() == 0
    assert (await case_row(case_id))["next_review_on"] == before
    assert "case.reviewed" not in await audit_actions()


async def test_a_double_submitted_review_or_target_is_recorded_once(client, settings, cast, frozen_clock):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, pupil)
    key = str(uuid.uuid4())
    for _ in range(2):
        await post_form(client, f"/casework/{case_id}/targets", {"target_text": "On time", "idempotency_key": key})
    assert await CaseTarget.count() == 1
    target = (await CaseTarget.select(CaseTarget.id).first())["id"]
    key = str(uuid.uuid4())
    for _ in range(2):
        response = await _review(client, case_id, frozen_clock.current.date().isoformat(), {target: ("6", "in_progress")},
                                 key=key)
        assert response.status_code == 200
    assert await CaseReview.count() == 1 and await TargetRating.count() == 1


async def test_the_plan_names_who_does_what_and_a_named_colleague_works_on_the_case(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.dsl, pupil, keyworker=cast.dsl)
    page = await post_form(client, f"/casework/{case_id}/plan", {
        "strategies": "Meet at the gate each morning", "new_person": str(cast.pastoral.id),
        "new_what": "Morning check-in", "idempotency_key": str(uuid.uuid4())})
    assert "Morning check-in" in page.text and "Meet at the gate each morning" in page.text
    page = await post_form(client, f"/casework/{case_id}/plan", {
        "strategies": "Meet at the gate each morning", "new_who": "Mum", "new_what": "Check the planner nightly",
        "idempotency_key": str(uuid.uuid4())})
    assert "Mum: Check the planner nightly" in page.text
    bad = await post_form(client, f"/casework/{case_id}/plan", {"strategies": "x", "new_what": "Something",
                                                               "idempotency_key": str(uuid.uuid4())})
    assert bad.status_code == 400 and "Say who will do it" in bad.text
    assert await CaseAction.count() == 2
    assert (await audit_actions()).count("case.plan_changed") == 2
