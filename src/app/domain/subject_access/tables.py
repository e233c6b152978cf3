from __future__ import annotations

from piccolo.columns import Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class SubjectAccessRequest(Table):
    """A subject access request for one pupil: who asked and when (the one-month clock), the staff-names option
    and the DSL's decision on each safeguarding concern, so the review survives a reload. The records themselves
    are read afresh at every export, never copied here."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    requester_name = Varchar(length=200, default="")
    requester_relationship = Varchar(length=60, default="")
    received_on = Date(null=True, default=None)
    staff_names = Varchar(length=6, default="keep")  # keep | redact
    # {"<concern id>": {"decision": "release"|"withhold", "reason", "by", "by_id", "at"}} (JSON). The reasons stay
    # here, readable by the DSL team only; the audit log, which admins read, records the decision, not the reason.
    decisions = Text(default="{}")
    created_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=True, default=None)
