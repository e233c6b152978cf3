"""The school's day (periods with times) and the rating scale, set by an admin."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from app.domain.on_report import service as on_report
from app.domain.on_report.tables import SchoolPeriod
from tests.conftest import post_form, sign_in


def _form(rows: list[tuple[str, str, str, str]], labels: str = "Poor\nOK\nGood\nExcellent") -> dict:
    form = {"labels": labels}
    for i, (name, starts, ends, kind) in enumerate(rows):
        form.update({f"name_{i}": name, f"starts_{i}": starts, f"ends_{i}": ends, f"kind_{i}": kind})
    return form


async def test_it_starts_with_a_typical_secondary_day(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get("/on-report/day")
    assert page.status_code == 200
    for text in ("Registration", "Period 1", "Break", "Lunch", "Period 5", "08:40", "15:10", "Not met", "Exceeded"):
        assert text in page.text


async def test_it_saves_the_day_and_the_labels_audited(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    await client.get("/on-report/day")
    old = {p["name"]: p["id"] for p in await on_report.periods(cast.school_id)}
    rows = [("Registration", "08:40", "09:00", "registration"), ("Period 1", "09:00", "10:00", "lesson"),
            ("Period 2", "10:00", "11:00", "lesson"), ("Lunch", "11:00", "11:45", "break"),
            ("Period 3", "11:45", "13:00", "lesson")]
    response = await post_form(client, "/on-report/day", _form(rows), page="/on-report/day")
    assert response.status_code == 200 and "Saved." in response.text
    now = await on_report.periods(cast.school_id)
    assert [(p["name"], p["starts"], p["ends"], p["kind"]) for p in now] == rows
    kept = {p["name"]: p["id"] for p in now}
    assert kept["Period 1"] == old["Period 1"]  # unchanged periods keep their id (reports refer to them)
    assert kept["Period 3"] != old["Period 3"]  # a changed one is a new period; the old one is retired, not deleted
    assert await SchoolPeriod.exists().where((SchoolPeriod.id == old["Period 3"]) & SchoolPeriod.retired_at.is_not_null())
    assert await on_report.labels(cast.school_id) == ["Poor", "OK", "Good", "Excellent"]
    event = await AuditEvent.select().where(AuditEvent.action == "on_report.day_changed").first()
    assert event and event["actor"] == cast.admin.id


async def test_it_refuses_overlaps_and_bad_times_keeping_what_was_typed(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    await client.get("/on-report/day")
    rows = [("Period 1", "09:00", "10:00", "lesson"), ("Period 2", "09:45", "10:45", "lesson"),
            ("Period 3", "9am", "11:00", "lesson"), ("Period 4", "13:00", "12:00", "lesson")]
    response = await post_form(client, "/on-report/day", _form(rows, labels="Only one"), page="/on-report/day")
    assert response.status_code == 400
    assert "This overlaps Period 1 (09:00-10:00)." in response.text
    assert "Enter the start as HH:MM" in response.text
    assert "The end must be after the start." in response.text
    assert "List from 2 to 6 labels" in response.text
    assert 'value="9am"' in response.text and 'value="09:45"' in response.text
    assert not await AuditEvent.exists().where(AuditEvent.action == "on_report.day_changed")


async def test_only_an_admin_of_the_school_sets_the_day(client, settings, cast):
    for member in (cast.teacher, cast.pastoral, cast.dsl, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get("/on-report/day")).status_code == 404
        response = await post_form(client, "/on-report/day", _form([("P1", "09:00", "10:00", "lesson")]))
        assert response.status_code == 404
    await sign_in(client, settings, cast.outsider)
    await client.get("/on-report/day")  # the outsider's own school's day, not ours
    assert not await SchoolPeriod.exists().where(SchoolPeriod.school == cast.school_id)
