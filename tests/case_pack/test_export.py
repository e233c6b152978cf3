"""The exported files: an A4 PDF with the school, pupil, producer and time on every page, "Page x of y", a contents
line per source with its count; a CSV; both downloads private (attachment, no-store, named by number only) and each
export audited with the SHA-256 of exactly the bytes returned. "Significant only" and the dates narrow the pack."""

from __future__ import annotations

import hashlib
import io
import re

from pypdf import PdfReader

from app.domain.audit.tables import AuditEvent
from app.domain.chronology import service as chronology
from tests.case_pack.kit import actor_for, at, contact, incident, make_pack, pack_id, pdf_text, story
from tests.case_pack.kit import detail as detail_of
from tests.conftest import add_pupil


async def _exports(number: int) -> list[dict]:
    return await AuditEvent.select(AuditEvent.detail, AuditEvent.actor, AuditEvent.subject_id).where(
        AuditEvent.action == "case_pack.exported").order_by(AuditEvent.id)


async def test_it_exports_a_paginated_pdf_with_contents_and_audits_its_sha256(client, settings, cast):
    people = await story(cast)
    for day in range(1, 29):  # enough entries for several pages
        for hour in (9, 11, 14):
            await incident(cast.school_id, cast.pastoral.id, at(day, hour, month=9), [(people["amy"], "instigator")],
                           f"Left the lesson without permission, day {day} at {hour}.", category="Truancy")
    number = pack_id(await make_pack(client, settings, cast.pastoral, people["amy"]))
    response = await client.get(f"/case-pack/{number}/pack.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="case-pack-{number}.pdf"'
    assert response.headers["cache-control"] == "no-store"

    reader = PdfReader(io.BytesIO(response.content))
    pages = len(reader.pages)
    assert pages >= 3
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    for n, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {n} of {pages}" in text
        assert "Northbridge Academy" in text and "Pupil: Amy Brown · Year 9 · 9A" in text
        assert re.search(r"Produced by Pat Pastoral on \d\d/\d\d/\d{4} at \d\d:\d\d", text)
    text = pdf_text(response.content)
    # A contents line per source, with its count (89 incidents: the story's 5 less its contact, plus 84).
    assert "Incident 88 entries" in text
    assert "Contact 1 entry" in text
    assert "Referral 0 entries" in text
    assert "Total 89 entries" in text

    events = await _exports(number)
    assert len(events) == 1
    assert events[0]["actor"] == cast.pastoral.id and events[0]["subject_id"] == str(people["amy"])
    detail = detail_of(events[0])
    assert detail["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert detail["format"] == "pdf" and detail["entries"] == 89 and detail["bytes"] == len(response.content)
    assert "Amy" not in str(detail) and "Brown" not in str(detail)


async def test_it_exports_a_csv_audited_with_its_sha256(client, settings, cast):
    people = await story(cast)
    number = pack_id(await make_pack(client, settings, cast.pastoral, people["amy"]))
    response = await client.get(f"/case-pack/{number}/pack.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="case-pack-{number}.csv"'
    assert response.headers["cache-control"] == "no-store"
    lines = response.text.splitlines()
    assert lines[0] == "date,time,source,event,detail,action,outcome,recorded_by,significant"
    assert len(lines) == 1 + 5
    assert lines[1].startswith("2026-10-02,10:00,Incident,")
    detail = detail_of((await _exports(number))[0])
    assert detail["format"] == "csv" and detail["sha256"] == hashlib.sha256(response.content).hexdigest()


async def test_it_keeps_only_significant_entries_in_the_chosen_dates(client, settings, cast):
    people = await story(cast)
    dsl = await actor_for(settings, cast.pastoral)
    everything = await chronology.entries(dsl, people["amy"], audit=False)
    november = [e for e in everything if e.at >= at(1)]
    await chronology.set_significant(dsl, people["amy"], november[1].ref, True)  # 5 November, Zoë
    await chronology.set_significant(dsl, people["amy"], everything[0].ref, True)  # 2 October: outside the dates
    preview = await make_pack(client, settings, cast.pastoral, people["amy"], starts_on="2026-11-01",
                              ends_on="2026-11-30", significant_only="1")
    assert "1 entry" in preview.text and "significant entries only" in preview.text
    number = pack_id(preview)
    text = pdf_text((await client.get(f"/case-pack/{number}/pack.pdf")).content)
    assert "Amy argued with Pupil" in text and "pushed Amy" not in text and "took Amy's bag" not in text
    assert "Dates: 1 Nov 2026 to 30 Nov 2026. Significant entries only." in text
    assert "SIGNIFICANT" in text
    assert "Total 1 entry" in text


async def test_it_exports_an_empty_pack_and_a_pupil_with_no_entries(client, settings, cast):
    amy = await add_pupil(cast.school_id, "Amy", "Brown")
    await contact(cast.school_id, amy, cast.pastoral.id, at(3), "Mum rang.")
    number = pack_id(await make_pack(client, settings, cast.pastoral, amy, starts_on="2026-01-01",
                                     ends_on="2026-01-31"))
    response = await client.get(f"/case-pack/{number}/pack.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "No entries in this range." in text and "Page 1 of 1" in text
