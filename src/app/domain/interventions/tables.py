from __future__ import annotations

from piccolo.columns import (Boolean, Date, DoublePrecision, ForeignKey, Integer, OnDelete, Text, Timestamptz,
                             Varchar)
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class Instrument(Table, tablename="intervention_instrument"):
    """How a school measures: the built-in goal-based ratings, its own scales, or the totals of a licensed
    questionnaire it holds a licence for. Only a name, range, direction and threshold: never item text."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=10)  # goals | scale | licensed
    name = Varchar(length=80)
    low = DoublePrecision(default=0)
    high = DoublePrecision(default=10)
    higher_is_better = Boolean(default=True)
    threshold = DoublePrecision(null=True, default=None)
    licence_holder = Varchar(length=120, default="")
    created_at = Timestamptz()


class Programme(Table, tablename="intervention_programme"):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    kind = Varchar(length=10)  # one_to_one | group
    aims = Text(default="")
    facilitator = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    planned_sessions = Integer(default=6)
    cost_pence = Integer(default=0)
    instrument = ForeignKey(references=Instrument, on_delete=OnDelete.restrict)
    starts_on = Date()
    created_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class Participant(Table, tablename="intervention_participant"):
    """A pupil on a programme, with their own goals (one a line) for goal-based ratings."""

    programme = ForeignKey(references=Programme, on_delete=OnDelete.cascade, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    goals = Text(default="")
    added_at = Timestamptz()


class ProgrammeSession(Table, tablename="intervention_session"):
    programme = ForeignKey(references=Programme, on_delete=OnDelete.cascade, index=True)
    held_on = Date()
    notes = Text(default="")
    by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class Attendance(Table, tablename="intervention_attendance"):
    session = ForeignKey(references=ProgrammeSession, on_delete=OnDelete.cascade, index=True)
    participant = ForeignKey(references=Participant, on_delete=OnDelete.cascade, index=True)
    mark = Varchar(length=10)  # attended | absent | excused
    note = Text(default="")


class Measure(Table, tablename="intervention_measure"):
    """A score at baseline, exit or follow-up, with the programme's instrument (so exit uses the baseline's)."""

    participant = ForeignKey(references=Participant, on_delete=OnDelete.cascade, index=True)
    stage = Varchar(length=10)  # baseline | exit | follow_up
    taken_on = Date()
    score = DoublePrecision()
    ratings = Text(default="")  # goal-based: each goal's 0-10 rating, comma-separated
    rater = Varchar(length=120, default="")
    by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
