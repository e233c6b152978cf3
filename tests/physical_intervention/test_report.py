"""The oversight report: figures by pupil, staff, technique, place and time, the repeat-pattern flag (three times
within four weeks), and the CSV, on a fixture with known answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from app.domain.physical_intervention import service as pi
from app.domain.physical_intervention.tables import (PhysicalIntervention, PhysicalInterventionPupil,
                                                     PhysicalInterventionStaff)
from tests.conftest import add_pupil, sign_in
from tests.physical_intervention.kit import place

LONDON = ZoneInfo("Europe/London")
BASE = dt.datetime(2026, 9, 7, 10, 15, tzinfo=LONDON)  # Monday 7 September 2026, 10:15


async def _add(cast, pupil: int, days: int, *, staff: list[int], techniques: str, where: str, hour: int = 10):
    at = (BASE + dt.timedelta(days=days)).replace(hour=hour).astimezone(dt.timezone.utc)
    rec = PhysicalIntervention(school=cast.school_id, occurred_at=at, location=await place(cast.school_id, where),
                               techniques=techniques, owner=cast.dsl.id, due_at=at + dt.timedelta(hours=24),
                               completed_at=at, created_at=at, updated_at=at, duration_minutes=3, injuries="None")
    await rec.save()
    await PhysicalInterventionPupil.insert(PhysicalInterventionPupil(record=rec.id, pupil=pupil))
    await PhysicalInterventionStaff.insert(*[PhysicalInterventionStaff(record=rec.id, person=s) for s in staff])


async def _fixture(cast):
    three_in_four = await add_pupil(cast.school_id, "Amy", "Archer", year="8")
    two = await add_pupil(cast.school_id, "Ben", "Baker", year="9")
    three_in_five = await add_pupil(cast.school_id, "Cal", "Cole", year="10")
    for d in (0, 13, 27):  # 27 days from first to third: within four weeks
        await _add(cast, three_in_four, d, staff=[cast.responder.id], techniques="Escort (single elbow)",
                   where="Science corridor")
    for d in (1, 5):
        await _add(cast, two, d, staff=[cast.responder.id, cast.head_of_year.id], techniques="Seated hold",
                   where="Canteen", hour=12)
    for d in (2, 19, 37):  # 35 days from first to third: across five weeks
        await _add(cast, three_in_five, d, staff=[cast.head_of_year.id],
                   techniques="Guide (open hand)\nSeated hold", where="Canteen", hour=12)
    return three_in_four, two, three_in_five


def test_the_repeat_rule():
    t = [BASE + dt.timedelta(days=d) for d in (0, 13, 27)]
    assert pi.repeats(t)
    assert not pi.repeats(t[:2])
    assert not pi.repeats([BASE + dt.timedelta(days=d) for d in (0, 14, 28)])  # exactly four weeks: not within
    assert not pi.repeats([BASE + dt.timedelta(days=d) for d in (0, 17, 34)])


async def test_the_report_counts_and_flags_only_three_within_four_weeks(client, settings, cast):
    amy, ben, cal = await _fixture(cast)
    await sign_in(client, settings, cast.dsl)
    response = await client.get("/physical-interventions/report?start=2026-09-01&end=2026-10-31")
    assert response.status_code == 200
    text = response.text
    assert '<dd id="total">8</dd>' in text and '<dd id="repeat-count">1</dd>' in text
    assert f'<tr data-pupil="{amy}" class="flagged">' in text
    assert f'<tr data-pupil="{ben}">' in text and f'<tr data-pupil="{cal}">' in text
    data = await pi.report(await _actor(cast), dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    assert [(p["name"], p["count"], p["repeat"]) for p in data["pupils"]] == [
        ("Amy Archer", 3, True), ("Cal Cole", 3, False), ("Ben Baker", 2, False)]
    assert dict(data["staff"]) == {"Ravi Responder": 5, "Hana Head": 5}
    assert dict(data["techniques"]) == {"Seated hold": 5, "Escort (single elbow)": 3, "Guide (open hand)": 3}
    assert dict(data["places"]) == {"Canteen": 5, "Science corridor": 3}
    assert dict(data["hours"]) == {"10:00": 3, "12:00": 5}
    assert sum(n for _, n in data["weekdays"]) == 8


async def test_a_narrower_period_counts_only_its_interventions(client, settings, cast):
    await _fixture(cast)
    data = await pi.report(await _actor(cast), dt.date(2026, 9, 7), dt.date(2026, 9, 8))
    assert data["total"] == 2  # Amy on the 7th, Ben on the 8th


async def test_the_csv_has_a_row_per_intervention_with_the_flag(client, settings, cast):
    await _fixture(cast)
    await sign_in(client, settings, cast.dsl)
    response = await client.get("/physical-interventions/report.csv?start=2026-09-01&end=2026-10-31")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert "Archer" not in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == pi.CSV_COLUMNS and len(rows) == 9
    assert rows[1][:5] == ["2026-09-07", "10:15", "Science corridor", "Amy Archer", "yes"]
    flags = {r[3]: r[4] for r in rows[1:]}
    assert flags == {"Amy Archer": "yes", "Ben Baker": "no", "Cal Cole": "no"}


async def test_bad_dates_are_named_and_kept(client, settings, cast):
    await sign_in(client, settings, cast.dsl)
    response = await client.get("/physical-interventions/report?start=soon&end=2026-01-01")
    assert response.status_code == 400
    assert 'id="start-error"' in response.text and 'value="soon"' in response.text


async def _actor(cast, member=None):
    from app.domain.schools.service import Actor, roles_at

    member = member or cast.dsl
    return Actor(person_id=member.id, display_name=member.name, email=member.email, session_id=0,
                 school_id=cast.school_id, trust_id=None, school_name="Northbridge Academy",
                 roles=await roles_at(member.id, cast.school_id), verified_at=dt.datetime.now(dt.timezone.utc))
