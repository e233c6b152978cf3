"""The export: every kind of record held about the pupil, in the PDF (text extracted with pypdf) and the JSON; other
pupils only as Pupil B, Pupil C; a withheld safeguarding record's content absent and its reason present; a released
one present; downloads private and named by number; each export audited with the SHA-256 of exactly its bytes."""

from __future__ import annotations

import hashlib
import json
import re

from app.domain.audit.tables import AuditEvent
from tests.case_pack.kit import detail as detail_of
from tests.subject_access.kit import RELEASED, SECRET, decide_all, pdf_text, request_id, start, story

EVERY_KIND = [
    "A123456789012", "04/03/2012", "Asthma", "Peanuts", "SEN support",  # the pupil record
    "Mrs Brook (Mother)", "07700 900123",  # a contact held for the pupil
    "Fighting",  # an incident
    "Mum worried about sleep",  # the contact log
    "Referral to CAMHS drafted", "Low mood for weeks",  # a referral and its events
    "Calm Minds", "Sleep better", "Baseline measure", "Joined in well",  # intervention, its measure and a session
    "Friendship breakdown", "Eat lunch with a friend", "Going better",  # a case, its target and review
    "Weekly check-in with Pupil B", "Walk her to the gate (Mum)",  # both of the case's agreed actions
    "On-call (urgent): Remove a pupil",  # an on-call request naming her
    "November 2026", "02 AM /, 02 PM M",  # attendance marks
    "14 Elm Road", "Check on attendance",  # a home visit
    "Bruise on arm", "Called social care", RELEASED,  # released safeguarding records and a DSL action
]


async def _ready(client, settings, cast, **fields) -> tuple[dict, int]:
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"], **fields))
    await decide_all(client, ids, number)
    return ids, number


async def test_every_kind_of_record_is_in_the_pdf_and_the_json(client, settings, cast):
    ids, number = await _ready(client, settings, cast)
    pdf = await client.get(f"/subject-access/{number}/export.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(pdf_text(pdf.content).split())
    raw = await client.get(f"/subject-access/{number}/export.json")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/json")
    data = json.loads(raw.content)
    flat = json.dumps(data, ensure_ascii=False)
    for wanted in EVERY_KIND:
        assert wanted in text, wanted
        assert wanted in flat, wanted
    assert "Subject access request" in text and "Pupil: Mia Brook" in text and "Page 1 of" in text
    assert "due by 20/12/2026" in text
    assert data["subject_access_request"]["due_on"] == "2026-12-20"
    assert set(data["sections"]) == {"pupil", "contacts", "records", "casework", "intervention_attendance",
                                     "attendance", "home_visits"}


async def test_other_pupils_never_appear_by_name(client, settings, cast):
    await _ready(client, settings, cast)
    number = (await AuditEvent.select(AuditEvent.detail).where(
        AuditEvent.action == "subject_access.started").first())
    number = detail_of(number)["request"]
    text = pdf_text((await client.get(f"/subject-access/{number}/export.pdf")).content)
    flat = (await client.get(f"/subject-access/{number}/export.json")).content.decode()
    for body in (text, flat):
        for name in ("Sam", "Leo"):
            assert name not in body, name
        assert not re.search(r"\bOther\b(?! pupils)", body)  # Sam's surname ("Other pupils..." is the note)
        assert "Pupil B" in body  # Sam, in the incident, the on-call request and the case's action
        assert "Pupil C" in body  # Leo, on the home visit
        assert "Mia Brook" in body  # the subject keeps her name


async def test_a_withheld_record_is_absent_with_its_reason_and_a_released_one_present(client, settings, cast):
    _, number = await _ready(client, settings, cast)
    text = " ".join(pdf_text((await client.get(f"/subject-access/{number}/export.pdf")).content).split())
    data = json.loads((await client.get(f"/subject-access/{number}/export.json")).content)
    flat = json.dumps(data, ensure_ascii=False)
    for body in (text, flat):
        for hidden in (SECRET, "Don't tell him", "Strategy meeting called", "C-HIDE01"):
            assert hidden not in body, hidden
        assert "withheld under serious harm to the child (DPA 2018)" in body
        assert RELEASED in body and "C-SHOW01" in body
    assert data["withheld"] == ["Safeguarding record 1: withheld under serious harm to the child (DPA 2018)"]


async def test_staff_names_are_redacted_when_chosen(client, settings, cast):
    _, number = await _ready(client, settings, cast, staff_names="redact")
    text = pdf_text((await client.get(f"/subject-access/{number}/export.pdf")).content)
    flat = (await client.get(f"/subject-access/{number}/export.json")).content.decode()
    for body in (text, flat):
        for name in ("Pat Pastoral", "Tara Teacher"):
            assert name not in body, name
        assert "Staff member 1" in body and "Staff member 2" in body
    # The producer's own name is on the file (who answered the request), as it is on the pack.
    assert "Produced by Dee Lead" in text


async def test_staff_names_are_kept_by_default(client, settings, cast):
    _, number = await _ready(client, settings, cast)
    text = pdf_text((await client.get(f"/subject-access/{number}/export.pdf")).content)
    assert "Pat Pastoral" in text and "Staff member 1" not in text


async def test_each_export_is_private_and_audited_with_the_sha256_of_its_bytes(client, settings, cast):
    ids, number = await _ready(client, settings, cast)
    for fmt in ("pdf", "json"):
        response = await client.get(f"/subject-access/{number}/export.{fmt}")
        assert response.headers["content-disposition"] == f'attachment; filename="subject-access-{number}.{fmt}"'
        assert response.headers["cache-control"] == "no-store"
        event = await AuditEvent.select(AuditEvent.detail, AuditEvent.actor, AuditEvent.subject_id).where(
            AuditEvent.action == "subject_access.exported").order_by(AuditEvent.id, ascending=False).first()
        detail = detail_of(event)
        assert detail["sha256"] == hashlib.sha256(response.content).hexdigest()
        assert detail["format"] == fmt and detail["bytes"] == len(response.content) and detail["withheld"] == 1
        assert event["actor"] == cast.dsl.id and event["subject_id"] == str(ids["pupil"])
    events = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action.like("subject_access.%"))
    assert not any(SECRET in json.dumps(detail_of(e)) or "serious harm" in json.dumps(detail_of(e))
                   or "Mrs Brook" in json.dumps(detail_of(e)) for e in events)


async def test_nothing_is_exported_before_every_record_is_decided(client, settings, cast):
    ids = await story(cast)
    number = request_id(await start(client, settings, cast.dsl, ids["pupil"]))
    page = await client.get(f"/subject-access/{number}")
    assert "Decide on every safeguarding record first (3 to go)." in page.text and "download-pdf" not in page.text
    response = await client.get(f"/subject-access/{number}/export.pdf")
    assert response.status_code == 409 and SECRET not in response.text
    assert await AuditEvent.count().where(AuditEvent.action == "subject_access.exported") == 0
