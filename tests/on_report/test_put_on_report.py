"""Putting a pupil on report: level, dates, up to five targets in the pupil's words, covered lessons, who sees it."""

from __future__ import annotations

import datetime as dt
import uuid

from app.domain.audit.tables import AuditEvent
from app.domain.casework.tables import Case
from app.domain.on_report.tables import OnReport, OnReportTarget
from tests.conftest import add_pupil, sign_in
from tests.on_report.kit import MONDAY, at, period_ids, put_on_report, report, report_id_of, targets


async def test_it_puts_a_pupil_on_report_with_targets_and_lessons(client, settings, cast, frozen_clock):
    at(frozen_clock)
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/on-report/new?pupil={amy}")
    assert page.status_code == 200 and "Put Amy Archer on report" in page.text
    response = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id)
    assert response.status_code == 200, response.text
    rid = report_id_of(response)
    row = await report(rid)
    ids = await period_ids(cast.school_id)
    assert row["pupil"] == amy and row["level"] == 1 and row["owner"] == cast.pastoral.id
    assert row["starts_on"] == MONDAY and row["ends_on"] == MONDAY + dt.timedelta(days=11)
    assert row["periods"] == ",".join(str(i) for i in sorted([ids["Period 1"], ids["Period 2"], ids["Period 4"]]))
    assert [(t["text"], t["pupil_words"]) for t in await targets(rid)] == [
        ("Arrive on time with equipment", "I will be ready when the bell goes"), ("Stay in my seat", "")]
    assert "I will be ready when the bell goes" in response.text and "Tutor report" in response.text
    assert response.headers["cache-control"] == "no-store"
    event = await AuditEvent.select().where(AuditEvent.action == "on_report.started").first()
    assert event["actor"] == cast.pastoral.id and "Archer" not in str(event) and "bell" not in str(event)


async def test_it_links_a_case_and_refuses_another_pupils(client, settings, cast, frozen_clock):
    at(frozen_clock)
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    ben = await add_pupil(cast.school_id, "Ben", "Baker")
    from app.domain.casework.tables import CaseType
    kind = CaseType(school=cast.school_id, name="Behaviour")
    await kind.save()
    case = Case(school=cast.school_id, pupil=ben, keyworker=cast.pastoral.id, case_type=kind.id, reason="x",
                started_on=MONDAY, opened_by=cast.pastoral.id, created_at=frozen_clock.current,
                updated_at=frozen_clock.current)
    await case.save()
    response = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, case_id=str(case.id))
    assert response.status_code == 400 and "Choose one of this pupil&#39;s cases, or none." in response.text
    response = await put_on_report(client, settings, cast.pastoral, ben, cast.school_id, case_id=str(case.id))
    assert response.status_code == 200
    assert (await report(report_id_of(response)))["case"] == case.id


async def test_it_refuses_bad_dates_and_no_targets_keeping_what_was_typed(client, settings, cast, frozen_clock):
    at(frozen_clock)
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    response = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, starts_on="2026-12-20",
                                   ends_on="2026-12-10", target_1="", words_1="", target_2="", period_ids=[],
                                   words_3="I will try")
    assert response.status_code == 400
    assert "The last day must be on or after the first day." in response.text
    assert "Write the target the pupil&#39;s words are for." in response.text
    assert "Choose the lessons the report covers." in response.text
    assert 'value="2026-12-20"' in response.text and 'value="I will try"' in response.text
    response = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, ends_on="2027-03-01")
    assert "A report runs for at most 8 weeks" in response.text
    response = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, level="9",
                                   starts_on="07/12/2026")
    assert "Choose the level of the report." in response.text and "Enter the first day as a date" in response.text
    assert not await OnReport.exists()


async def test_a_sixth_target_is_not_taken_and_five_are(client, settings, cast, frozen_clock):
    at(frozen_clock)
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    five = {f"target_{i}": f"Target number {i}" for i in range(1, 7)}
    response = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, **five)
    assert response.status_code == 200
    assert await OnReportTarget.count() == 5


async def test_the_same_submission_twice_makes_one_report(client, settings, cast, frozen_clock):
    at(frozen_clock)
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    key = str(uuid.uuid4())
    first = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, key=key)
    second = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, key=key)
    assert report_id_of(first) == report_id_of(second)
    assert await OnReport.count() == 1
    third = await put_on_report(client, settings, cast.pastoral, amy, cast.school_id)  # a new form, same pupil
    assert third.status_code == 400 and "already on report" in third.text
    assert await OnReport.count() == 1


async def test_who_may_put_on_report(client, settings, cast, frozen_clock):
    at(frozen_clock)
    from app.domain.schools.tables import Membership
    await Membership.update({Membership.years: "10,11"}).where(
        (Membership.person == cast.head_of_year.id) & (Membership.role == "head_of_year"))
    amy = await add_pupil(cast.school_id, "Amy", "Archer", year="9")
    cal = await add_pupil(cast.school_id, "Cal", "Cole", year="10", form="10B")
    for member in (cast.teacher, cast.responder, cast.admin, cast.guest, cast.head_of_year, cast.outsider):
        await sign_in(client, settings, member)
        assert (await client.get(f"/on-report/new?pupil={amy}")).status_code == 404
        assert (await put_on_report(client, settings, member, amy, cast.school_id)).status_code == 404
    assert not await OnReport.exists()
    response = await put_on_report(client, settings, cast.head_of_year, cal, cast.school_id)
    assert response.status_code == 200
    response = await put_on_report(client, settings, cast.dsl, amy, cast.school_id)
    assert response.status_code == 200
