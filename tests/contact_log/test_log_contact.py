"""Logging a contact with a pupil's family or an agency: every method and outcome, the agency typed in, a message
per field keeping what was typed, one record for a double submission or an outbox replay, and the audit."""

from __future__ import annotations

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.contact_log import service as contact_log
from tests.conftest import sign_in
from tests.contact_log.kit import family, form, logs, post, text_of

pytestmark = pytest.mark.asyncio


async def test_it_logs_every_method_and_outcome(client, settings, cast):
    f = await family(cast)
    for method in contact_log.METHODS:
        for outcome in contact_log.OUTCOMES:
            response = await post(client, settings, cast.pastoral, form(f, method=method, outcome=outcome,
                                                                         direction="in" if method == "letter" else "out"))
            assert response.status_code == 303, response.text
            assert response.headers["location"] == f"/pupils/{f['pupil']}#contact-log"
    rows = await logs(f["pupil"])
    assert {(r["method"], r["outcome"]) for r in rows} == {(m, o) for m in contact_log.METHODS
                                                          for o in contact_log.OUTCOMES}
    first = rows[0]
    assert first["contact"] == f["mother"] and first["with_label"] == "Mary Able (Mother)"
    assert first["voice"] == "She just wants to know who she'll share a room with"
    assert first["recorded_by"] == cast.pastoral.id and first["school"] == cast.school_id

    await sign_in(client, settings, cast.pastoral)
    recent = text_of((await client.get(f"/contact-log/pupil/{f['pupil']}")).text)
    assert recent.count("Mary Able (Mother)") == 10  # the ten most recent
    visit = next(r for r in rows if r["method"] == "home_visit")
    letter = next(r for r in rows if r["method"] == "letter")
    assert "Home visit to Mary Able (Mother)" in text_of((await client.get(f"/contact-log/{visit['id']}")).text)
    assert "Letter from Mary Able (Mother)" in text_of((await client.get(f"/contact-log/{letter['id']}")).text)
    page = text_of((await client.get(f"/contact-log/{first['id']}")).text)
    assert "anxious about the trip" in page and "who she'll share a room with" in page


async def test_it_logs_a_contact_with_an_agency_typed_in(client, settings, cast):
    f = await family(cast)
    response = await post(client, settings, cast.dsl, form(f, contact_id="agency", agency="  CAMHS,   Dr Shah ",
                                                             method="email", outcome="sent",
                                                             follow_up_on="2099-01-05"))
    assert response.status_code == 303, response.text
    row = (await logs(f["pupil"]))[0]
    assert row["contact"] is None and row["agency"] == "CAMHS, Dr Shah" and row["with_label"] == "CAMHS, Dr Shah"
    assert row["follow_up_on"].isoformat() == "2099-01-05"


async def test_bad_input_gets_a_message_per_field_and_keeps_what_was_typed(client, settings, cast):
    f = await family(cast)
    data = form(f, contact_id="agency", agency="", method="pigeon", direction="", outcome="",
                summary="Mum rang about the bus pass", occurred_at="2026-13-45T99:00", follow_up_on="not a date")
    response = await post(client, settings, cast.pastoral, data)
    assert response.status_code == 400
    html = response.text
    for field in ("agency", "method", "direction", "outcome", "occurred_at", "follow_up_on"):
        assert f'id="{field}-error"' in html, field
    assert "Mum rang about the bus pass" in html and "not a date" in html
    assert 'value="agency" checked' in html
    assert data["idempotency_key"] in html  # the corrected form keeps its key
    assert await logs(f["pupil"]) == []

    fixed = {**data, "agency": "School nurse", "method": "phone", "direction": "out", "outcome": "no_answer",
             "occurred_at": "", "follow_up_on": ""}
    assert (await post(client, settings, cast.pastoral, fixed)).status_code == 303
    assert len(await logs(f["pupil"])) == 1


async def test_a_time_in_the_future_or_long_ago_is_refused(client, settings, cast):
    f = await family(cast)
    for when in ("2999-01-01T10:00", "2000-01-01T10:00"):
        response = await post(client, settings, cast.pastoral, form(f, occurred_at=when))
        assert response.status_code == 400 and 'id="occurred_at-error"' in response.text
    assert await logs(f["pupil"]) == []


async def test_a_double_submission_or_an_outbox_replay_makes_one_record(client, settings, cast):
    f = await family(cast)
    data = form(f)
    for _ in range(2):
        assert (await post(client, settings, cast.pastoral, data)).status_code == 303
    # The outbox sends the key as a header and names who made the entry.
    key = data.pop("idempotency_key")
    headers = {"Idempotency-Key": key, "X-Corridor-Person": str(cast.pastoral.id)}
    assert (await post(client, settings, cast.pastoral, data, headers=headers)).status_code == 303
    assert len(await logs(f["pupil"])) == 1
    # The same key with other content is not a replay: refused, nothing saved.
    changed = await post(client, settings, cast.pastoral, {**data, "outcome": "no_answer"}, headers=headers)
    assert changed.status_code == 422
    assert len(await logs(f["pupil"])) == 1


async def test_an_entry_made_by_someone_else_on_the_phone_is_not_sent_as_me(client, settings, cast):
    f = await family(cast)
    headers = {"Idempotency-Key": "k-" + "1" * 30, "X-Corridor-Person": str(cast.dsl.id)}
    data = form(f)
    data.pop("idempotency_key")
    response = await post(client, settings, cast.pastoral, data, headers=headers)
    assert response.status_code in (401, 403, 409)
    assert await logs(f["pupil"]) == []


async def test_it_is_audited_without_names(client, settings, cast):
    f = await family(cast)
    assert (await post(client, settings, cast.pastoral, form(f))).status_code == 303
    row = (await logs(f["pupil"]))[0]
    event = await AuditEvent.select().where(AuditEvent.action == "contact_log.created").first()
    assert event["actor"] == cast.pastoral.id and event["subject_type"] == "pupil"
    assert event["subject_id"] == str(f["pupil"]) and event["school"] == cast.school_id
    assert str(row["id"]) in event["subject_label"]
    flat = repr(event)
    for name in ("Ada", "Able", "Mary", "anxious"):
        assert name not in flat
