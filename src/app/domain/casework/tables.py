from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class CaseType(Table):
    """A kind of case a school works: the built-in six, and any the school adds. The review cadence follows it."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=60)
    review_weeks = Integer(default=6)
    position = Integer(default=0)


class Case(Table, tablename="pupil_case"):
    """One pupil's piece of pastoral work, owned by a keyworker."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    keyworker = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    case_type = ForeignKey(references=CaseType, on_delete=OnDelete.restrict)
    reason = Text()
    started_on = Date()
    status = Varchar(length=10, default="open")  # open | on_hold | closed
    review_weeks = Integer(default=6)
    next_review_on = Date(null=True, default=None)  # none while on hold or closed
    strategies = Text(default="")
    outcome = Varchar(length=20, default="")  # set when closed
    closing_summary = Text(default="")
    closed_on = Date(null=True, default=None)
    opened_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CaseAction(Table):
    """Who does what on the plan: a colleague (who then works on the case) or someone named in words."""

    case = ForeignKey(references=Case, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True, index=True)
    who = Varchar(length=120, default="")
    what = Text()
    created_at = Timestamptz()


class CaseTarget(Table):
    case = ForeignKey(references=Case, on_delete=OnDelete.cascade, index=True)
    position = Integer(default=1)
    text = Text()
    pupil_words = Text(default="")
    state = Varchar(length=12, default="not_started")
    created_at = Timestamptz()


class CaseReview(Table):
    case = ForeignKey(references=Case, on_delete=OnDelete.cascade, index=True)
    held_on = Date()
    notes = Text(default="")
    pupil_voice = Text(default="")
    by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class TargetRating(Table):
    """A target's 0-10 rating and state at one review."""

    review = ForeignKey(references=CaseReview, on_delete=OnDelete.cascade, index=True)
    target = ForeignKey(references=CaseTarget, on_delete=OnDelete.cascade, index=True)
    rating = Integer()
    state = Varchar(length=12)
