from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class Concern(Table):
    """A safeguarding concern, as KCSIE asks it to be recorded. Seen by the DSL team only."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    reference = Varchar(length=20, unique=True)
    author = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    occurred_at = Timestamptz()
    place = Varchar(length=200, default="")
    seen_or_said = Text()
    childs_words = Text(default="")
    present = Text(default="")
    action_taken = Text(default="")
    recorded_at = Timestamptz()
    status = Varchar(length=12, default="new")  # new | open | closed
    outcome = Text(default="")


class ConcernEntry(Table):
    """The DSL team's record: an action, a decision with its reason, or the outcome."""

    concern = ForeignKey(references=Concern, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=10)  # action | decision | outcome
    body = Text()
    reason = Text(default="")
    by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    at = Timestamptz()
