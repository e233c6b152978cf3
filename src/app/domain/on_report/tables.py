"""Pupils on report (issue 16, points 1-3): the school's day structure, the scale's labels, a report with its
targets, the ratings lesson by lesson, and the changes of level."""

from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.casework.tables import Case
from app.domain.incidents.tables import Incident
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class SchoolPeriod(Table):
    """A period of the school day (registration, a lesson, break, lunch), times as HH:MM in UK time."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=40)
    starts = Varchar(length=5)
    ends = Varchar(length=5)
    kind = Varchar(length=12, default="lesson")  # lesson | registration | break
    position = Integer(default=0)
    retired_at = Timestamptz(null=True, default=None)  # a retired period stays on the reports that cover it


class OnReportSettings(Table):
    """The labels of a school's rating scale, lowest first, one a line (defaults when there is no row)."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    labels = Text(default="")


class OnReport(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    level = Integer(default=1)
    starts_on = Date()
    ends_on = Date()
    periods = Text(default="")  # ids of the covered periods, comma-separated
    visible_to = Varchar(length=60, default="tutor,head_of_year,pastoral")
    incident = ForeignKey(references=Incident, on_delete=OnDelete.set_null, null=True)
    case = ForeignKey(references=Case, on_delete=OnDelete.set_null, null=True)
    owner = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    end_reason = Text(default="")


class OnReportTarget(Table):
    report = ForeignKey(references=OnReport, on_delete=OnDelete.cascade, index=True)
    position = Integer(default=0)
    text = Varchar(length=200)
    pupil_words = Varchar(length=300, default="")


class OnReportRating(Table):
    """One rating of one target in one period of one day (unique: a second tap updates it)."""

    report = ForeignKey(references=OnReport, on_delete=OnDelete.cascade, index=True)
    target = ForeignKey(references=OnReportTarget, on_delete=OnDelete.cascade)
    period = ForeignKey(references=SchoolPeriod, on_delete=OnDelete.restrict)
    day = Date()
    score = Integer()
    comment = Varchar(length=500, default="")
    rated_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    rated_at = Timestamptz()


class OnReportChange(Table):
    """A change of level or the end of a report, with the reason given."""

    report = ForeignKey(references=OnReport, on_delete=OnDelete.cascade, index=True)
    action = Varchar(length=12)  # escalated | stepped_down | ended
    from_level = Integer()
    to_level = Integer()
    reason = Text()
    by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    at = Timestamptz()
