"""Setting up a programme, putting pupils on it, taking a session register and recording measures: the happy
path over HTTP, a message per bad field with what was typed kept, one record per double submission, the audit."""

from __future__ import annotations

import datetime as dt
import uuid

from app.domain.audit.tables import AuditEvent
from app.domain.interventions.tables import Attendance, Instrument, Measure, Participant, Programme, ProgrammeSession
from tests.conftest import add_pupil, audit_actions, post_form, sign_in
from tests.interventions.kit import actor_for, enrol, goals_instrument, http_programme, instrument, measure, programme


async def test_it_runs_a_programme_from_set_up_to_exit_over_http(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    mia = await add_pupil(cast.school_id, "Mia", "Brook", year="9")
    goals = await goals_instrument(cast.school_id)
    response = await http_programme(client, settings, cast.pastoral, goals, starts_on="2026-10-01", kind="one_to_one",
                                    name="Friendship 1:1")
    assert response.status_code == 200 and "Friendship 1:1" in response.text
    programme_id = int(str(response.url).rstrip("/").rsplit("/", 1)[1])
    page = await post_form(client, f"/interventions/{programme_id}/pupils", {
        "pupil_id": str(mia), "goals": "Talk to one new person a week\nEat lunch in the hall",
        "idempotency_key": str(uuid.uuid4())})
    assert "Mia Brook" in page.text
    participant = (await Participant.select().first())["id"]
    base = await post_form(client, f"/interventions/{programme_id}/measures/{participant}", {
        "stage": "baseline", "taken_on": "2026-10-01", "goal_1": "2", "goal_2": "4", "rater": "Pupil",
        "idempotency_key": str(uuid.uuid4())})
    assert base.status_code == 200
    register = await post_form(client, f"/interventions/{programme_id}/register", {
        "held_on": "2026-10-02", f"mark_{participant}": "attended", f"note_{participant}": "Chatty",
        "notes": "Role play", "idempotency_key": str(uuid.uuid4())})
    assert register.status_code == 200 and "Role play" in register.text and "Attended 1 of 1 session held" in register.text
    await post_form(client, f"/interventions/{programme_id}/measures/{participant}", {
        "stage": "exit", "taken_on": "2026-10-19", "goal_1": "7", "goal_2": "6", "rater": "pupil",
        "idempotency_key": str(uuid.uuid4())})
    scores = {m["stage"]: m["score"] for m in await Measure.select()}
    assert scores == {"baseline": 3.0, "exit": 6.5}  # the mean of the pupil's goal ratings
    impact = await client.get(f"/interventions/{programme_id}/impact")
    assert "+3.50" in impact.text
    row = await Attendance.select().first()
    assert row["mark"] == "attended" and row["note"] == "Chatty"
    actions = await audit_actions()
    for action in ("programme.created", "programme.pupil_added", "programme.register_taken", "programme.measured",
                   "programme.viewed"):
        assert action in actions
    details = "".join(e["detail"] + e["subject_label"] for e in await AuditEvent.select())
    assert "Mia" not in details and "Brook" not in details  # no pupil name in the audit log


async def test_bad_programme_input_gets_a_message_per_field_and_keeps_what_was_typed(client, settings, cast):
    goals = await goals_instrument(cast.school_id)
    response = await http_programme(client, settings, cast.pastoral, goals, name="Kept <b>name</b>", kind="trio",
                                    aims="", facilitator_id="999999", planned_sessions="0", cost="12.345",
                                    instrument_id="", starts_on="nope")
    assert response.status_code == 400
    for message in ("Choose 1:1 or group.", "Say what the programme aims", "Choose the facilitator",
                    "Planned sessions: a whole number", "Give the cost in pounds", "Choose how progress is measured",
                    "Give the start date."):
        assert message in response.text
    assert "Kept &lt;b&gt;name&lt;/b&gt;" in response.text and 'value="12.345"' in response.text
    assert await Programme.count() == 0 and "programme.created" not in await audit_actions()


async def test_bad_instrument_input_gets_a_message_per_field(client, settings, cast):
    await sign_in(client, settings, cast.pastoral)
    response = await post_form(client, "/interventions/instruments", {
        "kind": "licensed", "name": "SDQ total", "low": "40", "high": "0", "direction": "sideways",
        "threshold": "99", "licence_holder": "", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400
    for message in ("The highest score must be above the lowest.", "Say whether a higher or a lower score is better.",
                    "The threshold is a score within the range", "Say who holds the licence"):
        assert message in response.text
    assert 'value="SDQ total"' in response.text
    assert await Instrument.count().where(Instrument.name == "SDQ total") == 0
    ok = await post_form(client, "/interventions/instruments", {
        "kind": "licensed", "name": "SDQ total", "low": "0", "high": "40", "direction": "lower", "threshold": "15",
        "licence_holder": "Northbridge Academy", "idempotency_key": str(uuid.uuid4())})
    assert ok.status_code == 200 and "SDQ total" in ok.text and "licence held by Northbridge Academy" in ok.text


async def test_bad_register_and_measure_input_gets_a_message_per_field(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    pastoral = await actor_for(settings, cast.pastoral)
    scale = await instrument(pastoral)
    programme_id = await programme(pastoral, scale, starts_on="2026-10-01")
    mia = await enrol(pastoral, programme_id, await add_pupil(cast.school_id, "Mia", "Brook"))
    await sign_in(client, settings, cast.pastoral)
    response = await post_form(client, f"/interventions/{programme_id}/register", {
        "held_on": "2026-09-01", f"mark_{mia}": "late", f"note_{mia}": "kept note", "notes": "kept notes",
        "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400
    assert "on or after the programme started" in response.text and "Mark this pupil attended" in response.text
    assert 'value="kept note"' in response.text and "kept notes" in response.text
    assert await ProgrammeSession.count() == 0
    response = await post_form(client, f"/interventions/{programme_id}/measures/{mia}", {
        "stage": "exit", "taken_on": "2026-10-02", "score": "21", "rater": "Pupil", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400
    assert "Record the baseline first" in response.text and "from 0 to 20" in response.text
    assert 'value="21"' in response.text and await Measure.count() == 0


async def test_a_baseline_comes_before_the_first_session_and_the_exit_after_the_last(settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    pastoral = await actor_for(settings, cast.pastoral)
    programme_id = await programme(pastoral, await instrument(pastoral), starts_on="2026-10-01")
    mia = await enrol(pastoral, programme_id, await add_pupil(cast.school_id, "Mia", "Brook"))
    from tests.interventions.kit import register
    await register(pastoral, programme_id, dt.date(2026, 10, 5), {mia: "attended"})
    await register(pastoral, programme_id, dt.date(2026, 10, 12), {mia: "attended"})
    from app.domain.interventions.service import ValidationFailed
    import pytest
    with pytest.raises(ValidationFailed) as late:
        await measure(pastoral, programme_id, mia, "baseline", dt.date(2026, 10, 6), 5)
    assert "before the first session" in late.value.errors["taken_on"]
    await measure(pastoral, programme_id, mia, "baseline", dt.date(2026, 10, 5), 5)
    with pytest.raises(ValidationFailed) as early:
        await measure(pastoral, programme_id, mia, "exit", dt.date(2026, 10, 11), 9)
    assert "after the last session" in early.value.errors["taken_on"]
    with pytest.raises(ValidationFailed) as other_rater:
        await measure(pastoral, programme_id, mia, "exit", dt.date(2026, 10, 12), 9, rater="Mum")
    assert "same rater" in other_rater.value.errors["rater"]
    await measure(pastoral, programme_id, mia, "exit", dt.date(2026, 10, 12), 9)
    with pytest.raises(ValidationFailed) as twice:
        await measure(pastoral, programme_id, mia, "exit", dt.date(2026, 10, 13), 9)
    assert "already recorded" in twice.value.errors["stage"]


async def test_double_submissions_make_one_record_each(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    goals = await goals_instrument(cast.school_id)
    key = str(uuid.uuid4())
    first = await http_programme(client, settings, cast.pastoral, goals, key=key, starts_on="2026-10-01")
    again = await http_programme(client, settings, cast.pastoral, goals, key=key, starts_on="2026-10-01")
    assert str(first.url) == str(again.url) and await Programme.count() == 1
    programme_id = (await Programme.select().first())["id"]
    pupil = await add_pupil(cast.school_id, "Mia", "Brook")
    add = {"pupil_id": str(pupil), "goals": "Be on time", "idempotency_key": str(uuid.uuid4())}
    for _ in range(2):
        assert (await post_form(client, f"/interventions/{programme_id}/pupils", add)).status_code == 200
    assert await Participant.count() == 1
    participant = (await Participant.select().first())["id"]
    mark = {"held_on": "2026-10-02", f"mark_{participant}": "attended", "idempotency_key": str(uuid.uuid4())}
    for _ in range(2):
        assert (await post_form(client, f"/interventions/{programme_id}/register", mark)).status_code == 200
    assert await ProgrammeSession.count() == 1 and await Attendance.count() == 1
    measured = {"stage": "baseline", "taken_on": "2026-10-01", "goal_1": "3", "rater": "Pupil",
                "idempotency_key": str(uuid.uuid4())}
    for _ in range(2):
        assert (await post_form(client, f"/interventions/{programme_id}/measures/{participant}", measured)).status_code == 200
    assert await Measure.count() == 1
    actions = await audit_actions()
    for action in ("programme.created", "programme.pupil_added", "programme.register_taken", "programme.measured"):
        assert actions.count(action) == 1


async def test_two_forms_sent_at_once_make_one_session_one_pupil_and_one_measure(settings, cast, frozen_clock):
    """Two colleagues (different forms, so different keys) at the same moment: the unique rows hold."""
    import asyncio

    from app.domain.interventions.service import ValidationFailed
    from tests.interventions.kit import register

    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    pastoral, dsl = await actor_for(settings, cast.pastoral), await actor_for(settings, cast.dsl)
    programme_id = await programme(pastoral, await instrument(pastoral), starts_on="2026-10-01")
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    from app.domain.interventions import service as interventions
    added = await asyncio.gather(*[interventions.add_pupil(a, programme_id, {"pupil_id": str(mia)})
                                   for a in (pastoral, dsl)], return_exceptions=True)
    assert all(r is None or isinstance(r, ValidationFailed) for r in added), added  # no crash
    assert await Participant.count() == 1
    participant = (await Participant.select().first())["id"]
    measured = await asyncio.gather(*[measure(a, programme_id, participant, "baseline", dt.date(2026, 10, 1), s)
                                      for a, s in ((pastoral, 5), (dsl, 6))], return_exceptions=True)
    assert all(r is None or isinstance(r, ValidationFailed) for r in measured), measured
    assert sum(isinstance(r, ValidationFailed) for r in measured) == 1 and await Measure.count() == 1
    await asyncio.gather(register(pastoral, programme_id, dt.date(2026, 10, 2), {participant: "attended"}),
                         register(dsl, programme_id, dt.date(2026, 10, 2), {participant: "excused"}))
    assert await ProgrammeSession.count() == 1 and await Attendance.count() == 1
    assert (await audit_actions()).count("programme.pupil_added") == 1
