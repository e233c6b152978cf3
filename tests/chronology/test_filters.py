"""Filtering a chronology by date range (UK dates, both ends included) and by source; a filter that cannot be
used is shown again with a message by each field and what was typed, and reads (and audits) nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.chronology import service as chronology
from app.errors import ValidationFailed
from tests.chronology.kit import actor_for, at, everything, incident
from tests.conftest import sign_in


async def test_it_filters_by_date_range_inclusive_in_uk_dates(settings, cast):
    ids = await everything(cast)
    # 23:30 UK time on 14 Nov in winter is 23:30 UTC: still the 14th.
    await incident(cast.school_id, cast.teacher.id, at(14, 23) + dt.timedelta(minutes=30), [(ids["pupil"], "instigator")])
    dsl = await actor_for(settings, cast.dsl)
    rows = await chronology.entries(dsl, ids["pupil"], start=dt.date(2026, 11, 5), end=dt.date(2026, 11, 10))
    assert [e.source for e in rows] == ["referral", "intervention", "intervention", "case", "case"]
    rows = await chronology.entries(dsl, ids["pupil"], start=dt.date(2026, 11, 14))
    assert len(rows) == 1 and rows[0].source == "incident"
    rows = await chronology.entries(dsl, ids["pupil"], end=dt.date(2026, 11, 2))
    assert [e.source for e in rows] == ["incident"]


async def test_it_filters_by_source(client, settings, cast):
    ids = await everything(cast)
    dsl = await actor_for(settings, cast.dsl)
    rows = await chronology.entries(dsl, ids["pupil"], sources={"contact", "dsl_action"})
    assert [e.source for e in rows] == ["contact", "dsl_action"]
    await sign_in(client, settings, cast.pastoral)
    html = (await client.get(f"/chronology/pupil/{ids['pupil']}?source=referral&source=oncall&start=2026-11-01")).text
    assert "3 entries (filtered)" in html and "Referral to CAMHS" in html and "Mrs Brook" not in html
    assert 'value="referral" checked' in html and 'value="2026-11-01"' in html
    # The CSV link carries the same filter (dates and source keys only).
    assert f'href="/chronology/pupil/{ids["pupil"]}/csv?start=2026-11-01&amp;source=referral&amp;source=oncall"' in html


async def test_htmx_gets_just_the_filtered_part(client, settings, cast):
    ids = await everything(cast)
    await sign_in(client, settings, cast.pastoral)
    response = await client.get(f"/chronology/pupil/{ids['pupil']}?source=contact", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.text.lstrip().startswith('<div id="chronology">')
    assert "<html" not in response.text and "1 entry (filtered)" in response.text


@pytest.mark.parametrize("query, field, message", [
    ("start=2026-11-20&end=2026-11-01", "end", "the end date is before the start date"),
    ("start=20%2F11%2F2026", "start", "enter a date like 2026-11-20"),
    ("end=tomorrow", "end", "enter a date like 2026-11-20"),
    ("source=concern", "source", "Choose sources from the list."),
    ("significant_only=maybe", "significant_only", "Tick the box or leave it empty."),
])
async def test_bad_filters_get_a_message_by_the_field_and_keep_what_was_typed(client, settings, cast, query, field,
                                                                              message):
    ids = await everything(cast)
    await sign_in(client, settings, cast.pastoral)  # a pastoral officer may not filter by concerns
    before = await AuditEvent.count().where(AuditEvent.action == "chronology.viewed")
    response = await client.get(f"/chronology/pupil/{ids['pupil']}?{query}")
    assert response.status_code == 400
    html = response.text
    assert f'id="{field}-error"' in html and message in html and "The filter was not applied" in html
    assert "Phone call to Mrs Brook" not in html  # nothing shown on a filter that could not be used
    for typed in ("2026-11-20", "20/11/2026", "tomorrow"):
        if typed in query.replace("%2F", "/"):
            assert f'value="{typed}"' in html
    assert await AuditEvent.count().where(AuditEvent.action == "chronology.viewed") == before
    # The CSV with the same filter goes back to the page that says what is wrong.
    csv = await client.get(f"/chronology/pupil/{ids['pupil']}/csv?{query}")
    assert csv.status_code == 400 and message in csv.text


def test_parse_filters_reads_the_form(cast):
    from app.domain.schools.service import Actor

    actor = Actor(person_id=1, display_name="P", email="p@x", session_id=0, school_id=1, trust_id=1, school_name="",
                  roles=frozenset({"pastoral"}), verified_at=dt.datetime.now(dt.timezone.utc))
    got = chronology.parse_filters(actor, {"start": "2026-11-01", "end": "", "source": ["incident"],
                                           "significant_only": "yes"})
    assert got == {"start": dt.date(2026, 11, 1), "end": None, "sources": {"incident"}, "significant_only": True}
    with pytest.raises(ValidationFailed):
        chronology.parse_filters(actor, {"source": ["dsl_action"]})
