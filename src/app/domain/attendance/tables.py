from __future__ import annotations

from piccolo.columns import Bytea, Date, ForeignKey, Integer, OnDelete, Real, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class AttendanceImport(Table):
    """An uploaded file of session marks, kept between the dry-run preview and Apply (then only its counts).

    In the database rather than a temp file so any server process can show the preview or apply it; the bytes
    hold pupil data, so they are cleared once applied, and an upload never applied is removed after a day."""

    key = Varchar(length=64, unique=True)  # random, the only handle in URLs
    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    uploaded_by = ForeignKey(references=Person, on_delete=OnDelete.cascade, null=True)  # empty: the command
    filename = Varchar(length=200)
    data = Bytea(null=True, default=None)
    created_at = Timestamptz()
    applied_at = Timestamptz(null=True, default=None)
    result = Text(default="")  # JSON counts of what was applied, no names


class AttendanceMark(Table):
    """One pupil's register mark for one session (AM or PM) of one day: a DfE code (2024 set).

    Unique per (pupil, day, session); an import that gives another code for it updates the mark and keeps the
    old one in AttendanceMarkChange. Nothing here is ever deleted."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict)
    day = Date()
    session = Varchar(length=2)  # AM or PM
    code = Varchar(length=2)
    minutes_late = Integer(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz(null=True, default=None)


class AttendanceMarkChange(Table):
    """A mark amended by a later import: the old and new code and minutes, when, and which import."""

    mark = ForeignKey(references=AttendanceMark, on_delete=OnDelete.restrict, index=True)
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    old_code = Varchar(length=2)
    new_code = Varchar(length=2)
    old_minutes_late = Integer(null=True, default=None)
    new_minutes_late = Integer(null=True, default=None)
    changed_at = Timestamptz()
    import_batch = ForeignKey(references=AttendanceImport, on_delete=OnDelete.set_null, null=True)


class AttendanceSchoolDay(Table):
    """A day the school was open: some pupil has a mark that counts (statistical) on it. Kept by the import, so
    rolling windows count school days and school weeks without reading a year of marks."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade)
    day = Date()


class AttendanceSettings(Table):
    """One row per school: where its attendance bands start (a school without a row has the defaults)."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    expected_from = Real(default=96.0)  # at or above: expected attendance
    persistent_below = Real(default=90.0)  # below: persistent absence
    severe_at_or_below = Real(default=50.0)  # at or below: severe absence
    updated_at = Timestamptz(null=True, default=None)
