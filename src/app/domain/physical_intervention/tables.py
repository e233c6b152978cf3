"""Physical intervention records (issue 16, points 4 and 5): the record, who was held and who held, the school's
list of trained techniques and how long a record may stay incomplete."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.incidents.tables import Incident, Location
from app.domain.oncall.tables import OnCallRequest
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class PhysicalInterventionSettings(Table):
    """A school's deadline for completing a record (defaults when there is no row)."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    complete_within_hours = Integer(default=24)


class RestraintTechnique(Table):
    """A technique the school's staff are trained in (generic names; a retired one stays on past records)."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=80)
    position = Integer(default=0)
    retired_at = Timestamptz(null=True, default=None)


class PhysicalIntervention(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    # Where it was started from; the record outlives a deleted incident or request.
    incident = ForeignKey(references=Incident, on_delete=OnDelete.set_null, null=True)
    oncall_request = ForeignKey(references=OnCallRequest, on_delete=OnDelete.set_null, null=True)
    occurred_at = Timestamptz()
    location = ForeignKey(references=Location, on_delete=OnDelete.set_null, null=True)
    witnesses = Text(default="")
    lead_up = Text(default="")
    deescalation = Text(default="")
    techniques = Text(default="")  # technique names as chosen, one a line (kept if the list changes later)
    duration_minutes = Integer(null=True, default=None)
    injuries = Text(default="")
    first_aid = Text(default="")
    parent_informed = Varchar(length=3, default="")  # yes | no
    parent_informed_at = Timestamptz(null=True, default=None)
    parent_informed_by = Varchar(length=200, default="")
    parent_informed_how = Varchar(length=12, default="")
    parent_not_informed_why = Text(default="")
    debrief_pupil = Text(default="")
    debrief_staff = Text(default="")
    owner = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    due_at = Timestamptz(index=True)
    completed_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)
    signed_off_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    signed_off_at = Timestamptz(null=True, default=None)
    review_note = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PhysicalInterventionPupil(Table):
    record = ForeignKey(references=PhysicalIntervention, on_delete=OnDelete.cascade, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)


class PhysicalInterventionStaff(Table):
    record = ForeignKey(references=PhysicalIntervention, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
