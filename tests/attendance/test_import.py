"""The import itself: bad rows by line (the rest applies), a dry run writes nothing, the same marks again change
nothing, a changed code keeps the old one, other schools' pupils are never matched, a malformed file changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from app.domain.attendance import service as attendance
from app.domain.attendance.tables import (AttendanceImport, AttendanceMark, AttendanceMarkChange,
                                          AttendanceSchoolDay)
from app.domain.audit.tables import AuditEvent
from app.errors import BadRequest
from tests.attendance.kit import FIXTURE, HEADER, fixture_pupils, import_csv, import_fixture, pupil

D = dt.date


async def test_it_reports_every_bad_row_by_line_and_imports_the_rest(cast, frozen_clock):
    frozen_clock.current = dt.datetime(2025, 12, 19, 16, 0, tzinfo=dt.timezone.utc)
    await fixture_pupils(cast.school_id)
    text = HEADER + "\r\n".join([
        "A801200005001,,2025-12-18,AM,/,",           # 2 good
        "Z999999999999,,2025-12-18,AM,/,",           # 3 unknown UPN
        ",MIS-NOBODY,2025-12-18,AM,/,",              # 4 unknown MIS id
        "A801200005001,,2025-12-18,PM,Q9,",          # 5 not a code
        "A801200005001,,18th December,AM,/,",        # 6 not a date
        "A801200005001,,2025-12-20,AM,/,",           # 7 in the future
        "A801200005001,,2025-12-17,EVE,/,",          # 8 not a session
        "A801200005001,,2025-12-17,AM,L,late",       # 9 minutes not a number
        "A801200005001,,2025-12-18,AM,N,",           # 10 a second mark for line 2's session
        ",,2025-12-18,AM,/,",                        # 11 no pupil
        ",MIS-BEN,18/12/2025,pm,l,7",                # 12 good: DD/MM/YYYY, lower case
        "A801200005001,,2025-12-17,AM,-,",           # 13 no mark yet: left out, not an error
    ]) + "\r\n"
    plan = await import_csv(cast.school_id, text)
    assert [(p.line, p.reason) for p in plan.errors] == [
        (3, "No pupil at this school has UPN Z999999999999."),
        (4, "No pupil at this school has MIS id MIS-NOBODY."),
        (5, "'Q9' is not a DfE attendance code (2024 set)."),
        (6, "The date '18th December' is not a date: write YYYY-MM-DD (or DD/MM/YYYY)."),
        (7, "The date 2025-12-20 is in the future."),
        (8, "The session 'EVE' is not AM or PM."),
        (9, "Minutes late 'late' is not a whole number from 0 to 300."),
        (10, "A second mark for the same pupil on 2025-12-18 AM: only the first is imported."),
        (11, "The pupil is missing: give their UPN or MIS id."),
    ]
    assert (plan.marks_added, plan.no_mark, plan.pupils) == (2, 1, 2)
    marks = await AttendanceMark.select(AttendanceMark.session, AttendanceMark.code,
                                        AttendanceMark.minutes_late).order_by(AttendanceMark.session)
    assert marks == [{"session": "AM", "code": "/", "minutes_late": None},
                     {"session": "PM", "code": "L", "minutes_late": 7}]
    event = await AuditEvent.select().where(AuditEvent.action == "attendance.imported").first()
    assert event["actor_label"] == "corridor command" and '"rows_skipped": 9' in event["detail"]
    assert "Z999999999999" not in event["detail"] and "MIS-" not in event["detail"]


async def test_a_dry_run_writes_nothing(cast):
    await fixture_pupils(cast.school_id)
    plan = await attendance.preview_upload("marks.csv", FIXTURE.read_bytes(), school_id=cast.school_id)
    assert (plan.marks_added, plan.marks_changed, plan.marks_unchanged, plan.applied_at) == (750, 0, 0, None)
    for table in (AttendanceMark, AttendanceMarkChange, AttendanceSchoolDay, AttendanceImport):
        assert await table.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "attendance.imported") == 0
    # And a dry run over marks already there sees them as unchanged.
    await import_fixture(cast.school_id)
    again = await attendance.preview_upload("marks.csv", FIXTURE.read_bytes(), school_id=cast.school_id)
    assert (again.marks_added, again.marks_changed, again.marks_unchanged) == (0, 0, 750)


async def test_importing_the_same_marks_again_changes_nothing(cast):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    before = await attendance.figures(cast.school_id, p["ava"], D(2025, 12, 19))
    again = await import_fixture(cast.school_id)
    assert (again.marks_added, again.marks_changed, again.marks_unchanged) == (0, 0, 750)
    assert await AttendanceMark.count() == 750 and await AttendanceMarkChange.count() == 0
    assert await AttendanceMark.count().where(AttendanceMark.updated_at.is_not_null()) == 0
    assert await AttendanceSchoolDay.count() == 74  # 75 weekdays of term, less the closure
    assert await attendance.figures(cast.school_id, p["ava"], D(2025, 12, 19)) == before


async def test_a_changed_code_updates_the_mark_and_keeps_the_old_one(cast):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    # Ava's N on Mon 15 Dec turns out to be illness, and a late gets its minutes corrected.
    first = await import_csv(cast.school_id, HEADER + "A801200005001,,2025-12-15,AM,I,\r\n"
                                                      "A801200005001,,2025-12-16,AM,L,20\r\n"
                                                      "A801200005001,,2025-12-17,AM,/,\r\n")
    assert (first.marks_added, first.marks_changed, first.marks_unchanged) == (0, 2, 1)
    mark = await AttendanceMark.select().where((AttendanceMark.pupil == p["ava"])
                                               & (AttendanceMark.day == D(2025, 12, 15))
                                               & (AttendanceMark.session == "AM")).first()
    assert mark["code"] == "I" and mark["updated_at"] is not None
    history = await AttendanceMarkChange.select().order_by(AttendanceMarkChange.id)
    assert sorted((h["old_code"], h["new_code"], h["old_minutes_late"] or 0, h["new_minutes_late"] or 0)
                  for h in history) == [("L", "L", 12, 20), ("N", "I", 0, 0)]
    batch = await AttendanceImport.select(AttendanceImport.id).order_by(AttendanceImport.id, ascending=False).first()
    assert {h["import_batch"] for h in history} == {batch["id"]}
    ava = await attendance.figures(cast.school_id, p["ava"], D(2025, 12, 19))
    assert (ava.year.authorised, ava.year.unauthorised, ava.year.minutes_late) == (5, 2, 75)
    assert await AttendanceMark.count() == 750  # nothing added, nothing deleted


async def test_daily_deltas_add_to_what_is_there(cast):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    # A day of the spring term, for two pupils: a delta, not a whole export; nothing else is touched.
    plan = await import_csv(cast.school_id, HEADER + "A801200005001,,2026-01-05,AM,/,\r\n"
                                                     "A801200005001,,2026-01-05,PM,\\,\r\n"
                                                     ",MIS-DEE,2026-01-05,AM,N,\r\n")
    assert (plan.marks_added, plan.marks_unchanged, plan.first_day, plan.last_day) == (
        3, 0, D(2026, 1, 5), D(2026, 1, 5))
    assert await AttendanceMark.count() == 753
    dee = await attendance.figures(cast.school_id, p["dee"], D(2026, 1, 5))
    assert (dee.year.possible, dee.year.unauthorised) == (149, 41)


async def test_a_closure_day_is_not_a_school_day(cast):
    await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    days = {r["day"] for r in await AttendanceSchoolDay.select(AttendanceSchoolDay.day)}
    assert D(2025, 10, 24) not in days and D(2025, 10, 23) in days and D(2025, 10, 27) not in days


async def test_pupils_of_another_school_are_never_matched(cast):
    await pupil(cast.other_school_id, "Olu", "Other", upn="O801200005009", mis_id="MIS-OLU")
    await fixture_pupils(cast.school_id)
    plan = await import_csv(cast.school_id, HEADER + "O801200005009,,2025-12-18,AM,N,\r\n"
                                                     ",MIS-OLU,2025-12-18,PM,N,\r\n")
    assert [p.reason for p in plan.errors] == ["No pupil at this school has UPN O801200005009.",
                                               "No pupil at this school has MIS id MIS-OLU."]
    assert await AttendanceMark.count() == 0


@pytest.mark.parametrize("text, reason", [
    ("upn,date,session\r\nA801200005001,2025-12-18,AM\r\n", "Missing required column: code."),
    ("date,session,code\r\n2025-12-18,AM,/\r\n", "Missing required column: upn or mis_id."),
    ("", "The file is empty."),
    ("upn,upn,date,session,code\r\n", "The column upn appears twice."),
])
async def test_a_malformed_file_changes_nothing(cast, text, reason):
    await fixture_pupils(cast.school_id)
    plan = await attendance.preview_upload("marks.csv", text.encode(), school_id=cast.school_id)
    assert [p.reason for p in plan.fatal] == [reason]
    if text:
        with pytest.raises(BadRequest, match="nothing was changed"):
            await import_csv(cast.school_id, text)
    assert await AttendanceMark.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "attendance.imported") == 0


async def test_two_imports_of_the_same_marks_at_once_make_one_set(cast):
    import asyncio

    await fixture_pupils(cast.school_id)
    first, second = await asyncio.gather(import_fixture(cast.school_id), import_fixture(cast.school_id))
    assert first.marks_added + second.marks_added == 750
    assert first.marks_unchanged + second.marks_unchanged == 750
    assert await AttendanceMark.count() == 750 and await AttendanceSchoolDay.count() == 74
