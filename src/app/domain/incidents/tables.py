from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class Category(Table):
    """What happened, configured per school: negative behaviour (severity, points), a positive reward, or a
    neutral part (a target or witness: no points, no follow-up)."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=10)  # negative | positive | neutral
    name = Varchar(length=80)
    severity = Integer(default=0)  # 1 (low) to 4 (serious) for negative behaviour; 0 for rewards
    points = Integer(default=0)  # negative for behaviour, positive for rewards
    position = Integer(default=0)
    retired_at = Timestamptz(null=True, default=None)  # retired categories stay on past records
    # The part a pupil plays that gets this category unless the person logging chooses otherwise (target,
    # witness): a target or witness of a fight must not take the fight's points. Empty for all others.
    part = Varchar(length=12, default="")


class CategoryWatcher(Table):
    """Someone a category names: they are told about every incident in it, besides the usual routing."""

    category = ForeignKey(references=Category, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade)


class Location(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=80)
    position = Integer(default=0)
    retired_at = Timestamptz(null=True, default=None)


class Incident(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    location = ForeignKey(references=Location, on_delete=OnDelete.restrict, null=True)
    occurred_at = Timestamptz()  # indexed with the school: incident_school_occurred_at (migrations)
    note = Text(default="")
    recorded_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz()  # when the server stored it (a replayed offline entry keeps occurred_at)
    version = Integer(default=1)
    outcome = Text(default="")
    deleted_at = Timestamptz(null=True, default=None)
    deleted_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    deleted_reason = Text(default="")


class IncidentPupil(Table):
    """One pupil in an incident, with their own role, category and follow-up: nothing is copied across."""

    incident = ForeignKey(references=Incident, on_delete=OnDelete.cascade, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=12)  # instigator | target | witness | involved
    category = ForeignKey(references=Category, on_delete=OnDelete.restrict)
    points = Integer(default=0)
    status = Varchar(length=12, default="open")  # open | in_progress | resolved
    exclusion_reasons = Varchar(length=20, default="")  # up to three census codes, comma-separated
    updated_at = Timestamptz()


class FollowUpAction(Table):
    incident_pupil = ForeignKey(references=IncidentPupil, on_delete=OnDelete.cascade, index=True)
    action = Varchar(length=24)
    note = Text(default="")
    by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    at = Timestamptz()


class Statement(Table):
    """A written statement (from a pupil or a member of staff) or an investigation note."""

    incident = ForeignKey(references=Incident, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=12)  # pupil | staff | note
    from_name = Varchar(length=200, default="")
    body = Text()
    author = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    at = Timestamptz()


class IncidentVersion(Table):
    """The incident as it was before each edit: edits never overwrite silently."""

    incident = ForeignKey(references=Incident, on_delete=OnDelete.cascade, index=True)
    version = Integer()
    snapshot = Text()  # JSON
    changed_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    changed_at = Timestamptz()
