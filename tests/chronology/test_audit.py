"""Every view of a chronology is audited (the page, each filtered view, the CSV), with the filters used and never
what the entries say; the CSV holds the filtered entries and nothing a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json

from app.domain.audit.tables import AuditEvent
from app.domain.chronology import service as chronology
from tests.chronology.kit import actor_for, at, everything, incident
from tests.conftest import sign_in


async def _events(action: str) -> list[dict]:
    return await AuditEvent.select(AuditEvent.action, AuditEvent.subject_type, AuditEvent.subject_id,
                                   AuditEvent.detail, AuditEvent.actor).where(AuditEvent.action == action).order_by(
        AuditEvent.id)


async def test_every_view_of_the_page_is_audited(client, settings, cast):
    ids = await everything(cast)
    await sign_in(client, settings, cast.pastoral)
    await client.get(f"/chronology/pupil/{ids['pupil']}")
    await client.get(f"/chronology/pupil/{ids['pupil']}?start=2026-11-03&source=contact",
                     headers={"HX-Request": "true"})
    events = await _events("chronology.viewed")
    assert len(events) == 2 and all(e["subject_type"] == "pupil" and e["subject_id"] == str(ids["pupil"])
                                    and e["actor"] == cast.pastoral.id for e in events)
    first, second = (json.loads(e["detail"]) for e in events)
    assert first["sources"] == "all" and first["entries"] == 9
    assert second == {"start": "2026-11-03", "end": None, "sources": ["contact"], "significant_only": False,
                      "entries": 1}
    assert all("Brook" not in e["detail"] for e in events)


async def test_the_csv_is_the_filtered_chronology_and_is_audited(client, settings, cast):
    ids = await everything(cast)
    await incident(cast.school_id, cast.teacher.id, at(16), [(ids["pupil"], "instigator")], category="=HYPERLINK(1)",
                   note="@SUM(A1)")
    await sign_in(client, settings, cast.pastoral)
    response = await client.get(f"/chronology/pupil/{ids['pupil']}/csv?source=incident&source=contact")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="chronology-{ids["pupil"]}.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == chronology.CSV_COLUMNS
    assert [r[2] for r in rows[1:]] == ["Incident", "Contact", "Incident"]
    assert rows[1][:2] == ["2026-11-02", "10:00"] and rows[1][7] == "Tara Teacher"
    assert rows[3][3].startswith("'=HYPERLINK") and rows[3][4] == "'@SUM(A1)"
    events = await _events("chronology.exported")
    assert len(events) == 1 and json.loads(events[0]["detail"])["sources"] == ["contact", "incident"]
    assert await _events("chronology.viewed") == []


async def test_entries_audits_when_asked_and_not_otherwise(settings, cast):
    ids = await everything(cast)
    dsl = await actor_for(settings, cast.dsl)
    await chronology.entries(dsl, ids["pupil"], audit=False)
    assert await _events("chronology.viewed") == []
    await chronology.entries(dsl, ids["pupil"])
    assert len(await _events("chronology.viewed")) == 1
